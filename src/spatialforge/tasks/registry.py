"""The task registry (one per kind, SPEC section 2) and the default task mix (HiSpatial Table 7, SPEC 6).

`@register(...)` turns a candidates function into a registered TaskSpec; `TASKS` maps names to specs in the
order of TASK_MODULES, then of definition (whichever module a program imports first), which is the order tasks
run in for every scene. Task modules are imported here, so importing this module registers them all;
`register` and `TASKS` live in tasks.registration, which task modules import, so that no cycle runs through
this module.

Weights: HiSpatial (paper 002, Table 7) samples its training data by task family: point query 10.5 %,
depth order 2.7 %, orientation 3.5 %, size 11.6 %, localisation 8.3 %, relative direction 26.1 %, relative
distance 13.5 %, relational comparison 11.5 %, perspective taking 4.2 %, counting 7.5 %, problem solving
0.6 %. A family's weight is shared equally by its registered tasks; families with no registered task drop
out and the rest are renormalised (task_weights() says what is in effect). Both are configurable.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

from spatialforge.tasks.registration import (  # re-exported: the registry's public names
    DEFAULT_FAMILY_WEIGHTS,
    HISPATIAL_FAMILY_WEIGHTS,
    MULTI_VIEW_FAMILY_WEIGHT,
    TASK_MODULES,
    TASKS,
    register,
)
from spatialforge.tasks.spec import TaskSpec

__all__ = [
    "DEFAULT_FAMILY_WEIGHTS",
    "HISPATIAL_FAMILY_WEIGHTS",
    "MULTI_VIEW_FAMILY_WEIGHT",
    "TASKS",
    "TASK_MODULES",
    "get_task",
    "register",
    "task_weights",
]


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


# Importing the task modules registers them all.
for _module in TASK_MODULES:
    importlib.import_module(f"spatialforge.tasks.{_module}")
