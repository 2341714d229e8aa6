"""The task registry (one per kind, SPEC section 2) and the default task mix (HiSpatial Table 7, SPEC 6).

`@register(...)` turns a candidates function into a registered TaskSpec; `TASKS` maps names to specs in
registration order, which is the order tasks run in for every scene. Task modules are imported here, so
importing this module registers them all.

Weights: HiSpatial (paper 002, Table 7) samples its training data by task family: point query 10.5 %,
depth order 2.7 %, orientation 3.5 %, size 11.6 %, localisation 8.3 %, relative direction 26.1 %, relative
distance 13.5 %, relational comparison 11.5 %, perspective taking 4.2 %, counting 7.5 %, problem solving
0.6 %. A family's weight is shared equally by its registered tasks; families with no registered task drop
out and the rest are renormalised (task_weights() says what is in effect). Both are configurable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
        return fn

    return wrap


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; registered: {', '.join(TASKS)}") from None


def task_weights(
    names: Sequence[str] | None = None,
    family_weights: Mapping[str, float] = DEFAULT_FAMILY_WEIGHTS,
    overrides: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Sampling weight of each selected task (summing to 1): its family's weight split equally among the
    family's selected tasks, renormalised over the families present; `overrides` sets a task's raw weight
    (same scale as family_weights) before normalising."""
    selected = [get_task(n) for n in (names or list(TASKS))]
    per_family: dict[str, int] = {}
    for spec in selected:
        per_family[spec.family] = per_family.get(spec.family, 0) + 1
    raw = {}
    for spec in selected:
        weight = family_weights.get(spec.family, 0.0) / per_family[spec.family]
        raw[spec.name] = float((overrides or {}).get(spec.name, weight))
    total = sum(raw.values())
    if total <= 0:
        raise ValueError(f"the selected tasks {list(raw)} have zero total weight")
    return {name: w / total for name, w in raw.items()}


# Importing the task modules registers them (kept last: they use `register`). Registration order is the order
# tasks run in for every scene and are listed in: by level, then family.
from spatialforge.tasks import level0  # noqa: E402, F401, I001
from spatialforge.tasks import level1  # noqa: E402, F401
from spatialforge.tasks import viewpoint  # noqa: E402, F401
from spatialforge.tasks import level2  # noqa: E402, F401
from spatialforge.tasks import perspective  # noqa: E402, F401
from spatialforge.tasks import counting  # noqa: E402, F401
from spatialforge.tasks import problem_solving  # noqa: E402, F401
from spatialforge.tasks import multiview_variants  # noqa: E402, F401
from spatialforge.tasks import multiview_tasks  # noqa: E402, F401
