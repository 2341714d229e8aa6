"""Registering tasks: `TASKS`, `@register` and the family weights it checks against (SPEC sections 2 and 6).

Task modules import `register` from here, not from `tasks.registry`: this module imports no task module, so a
program may import any task module first without an import cycle. `tasks.registry` imports them all (in
TASK_MODULES order) and is where the full registry is read from.
"""

from __future__ import annotations

from collections.abc import Sequence

from spatialforge.tasks.banks import DERIVED_FORMATS
from spatialforge.tasks.spec import Candidates, Peers, TaskSpec

# HiSpatial Table 7, percent of training samples per task family.
HISPATIAL_FAMILY_WEIGHTS: dict[str, float] = {
    "point_query": 10.5,
    "depth_order": 2.7,
    "orientation": 3.5,
    "size": 11.6,
    "localisation": 8.3,
    "relative_direction": 26.1,
    "relative_distance": 13.5,
    "relational_comparison": 11.5,
    "perspective_taking": 4.2,
    "counting": 7.5,
    "problem_solving": 0.6,
}

# Multi-view tasks (SPAR) form one family of their own, outside HiSpatial's table. Its weight is our choice:
# 100, the size of the whole HiSpatial table, so half the QA of a multi-view scene asks across views (SPAR-7M
# covers single-view, multi-view and video inputs, paper 003 sec. 3.2, without a share we could carry over).
# One-view scenes leave the family out of their mix (engine/generate.py), so their mix stays HiSpatial's.
MULTI_VIEW_FAMILY_WEIGHT = 100.0
DEFAULT_FAMILY_WEIGHTS: dict[str, float] = {
    **HISPATIAL_FAMILY_WEIGHTS,
    "multi_view": MULTI_VIEW_FAMILY_WEIGHT,
}

TASKS: dict[str, TaskSpec] = {}

# The task modules, in the order their tasks are listed and run: by level, then family (tasks.registry imports
# them); a task registered from anywhere else (a plugin, a test) follows them in registration order.
TASK_MODULES = (
    "level0",
    "level1",
    "viewpoint",
    "level2",
    "perspective",
    "counting",
    "problem_solving",
    "multiview_variants",
    "multiview_tasks",
)
# name -> (rank of its module in TASK_MODULES, registration count): TASKS is kept in this order, so it does
# not depend on which module was imported first (a task module imported before tasks.registry registers its
# tasks before those of the modules before it in TASK_MODULES).
_ORDER: dict[str, tuple[int, int]] = {}


def _keep_canonical_order() -> None:
    last = (len(TASK_MODULES) + 1, 0)  # an entry put into TASKS without `register` stays after the rest
    ordered = sorted(TASKS, key=lambda name: _ORDER.get(name, last))
    if list(TASKS) != ordered:
        specs = dict(TASKS)
        TASKS.clear()
        TASKS.update((name, specs[name]) for name in ordered)


def register(
    *,
    name: str,
    level: int,
    family: str,
    requires: Sequence[str],
    formats: Sequence[str],
    metric: str,
    definition: str,
    variants: Sequence[str] = ("",),
    scale_free: bool = False,
    scope: str = "view",
    bank: str | None = None,
    peers: Peers | None = None,
):
    """Decorator: register `fn(ctx, rng) -> Iterator[Fact | reason]` as task `name`. `formats` lists the
    formats with their own templates (free, mcq, tf); SPAR's fill and sentence, which are rendered from the
    free templates, are added to every task that declares free. Every task needs metric lengths
    ("metric_scale" is added to `requires`) unless it is `scale_free`: its answers and the facts it judges
    hold without lengths in metres (orientation relative to the viewer, which ImageNet3D poses serve).
    scope: what the task looks at (spec.SCOPES: one view, a pair of views, a keyframe sequence); bank: render
    with another task's template bank (a multi-view variant asks what its single-view task asks); peers: the
    same quantity on the view's other objects, for numeric options (TaskSpec.peers)."""

    def wrap(fn: Candidates) -> Candidates:
        if name in TASKS:
            raise ValueError(f"task {name!r} is registered twice")
        if family not in DEFAULT_FAMILY_WEIGHTS:
            raise ValueError(f"task {name!r}: unknown family {family!r}")
        derived = tuple(f for f, base in DERIVED_FORMATS.items() if base in formats and f not in formats)
        module = fn.__module__.rpartition(".")[2]
        rank = TASK_MODULES.index(module) if module in TASK_MODULES else len(TASK_MODULES)
        _ORDER[name] = (rank, len(_ORDER))
        TASKS[name] = TaskSpec(
            name,
            level,
            family,
            tuple(requires) if scale_free else (*requires, "metric_scale"),
            (*formats, *derived),
            metric,
            tuple(variants),
            definition,
            fn,
            scope,
            bank,
            peers,
        )
        _keep_canonical_order()
        return fn

    return wrap
