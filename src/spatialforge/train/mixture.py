"""The task-mixture sampler: which example each global sample index trains on.

`MixtureSampler(datasets, config, seed).draw(g)` maps a global sample index g to (dataset index, example
index). It is a pure function of (seed, g): the trainer draws g = ((step * accum + micro) * world + rank) *
micro_batch + j, so resuming at a step, changing the number of ranks or replaying one batch needs no sampler
state. Sampling is i.i.d. with replacement (an epoch has no meaning here: a mixture of weighted sources is a
distribution, as in HiSpatial's sampling by task weight).

How the probability of an example is made (SPEC section 6, HiSpatial Table 7 and appendix 6.3):
1. Kinds: `spatial_general_ratio` [s, g] gives spatial draws s / (s + g) and general draws g / (s + g);
   None means spatial only (general sources are then used only to backfill excluded levels, see 4).
2. Spatial tasks: `task_weights` None - proportional to example counts (times source weights);
   "hispatial" - HiSpatial's family weights (tasks/registry.py DEFAULT_FAMILY_WEIGHTS: Table 7 plus the
   registry's multi_view family), each family's weight shared equally by its tasks present in the data,
   families absent from the data renormalised away; a dict - raw weights of tasks or families (below).
3. Within a task, every example of every dataset holding it is equally likely, times its dataset's weight;
   general examples likewise (a general example's probability is proportional to its source's weight).
4. `exclude_levels`: spatial examples of those levels are never drawn and their draws become general draws,
   so every other task keeps exactly the absolute rate it has without the exclusion (HiSpatial appendix 6.3).
5. `answer_balance` b in [0, 1] (default 0: as generated): within each spatial task and answer format, the
   categorical answer classes (qa/answer_classes.py: the correct option's text, yes / no, a free-form value
   such as "behind"; the benchmark builder balances its items over the same classes) are drawn with weight
   mass^(1 - b) instead of mass (a class's mass: its examples times their datasets' weights). b = 1 draws
   every class of a format equally often; 0.5 is halfway in log terms. A task's rate, each format's share of
   it, and the share of its numeric answers (magnitudes, counts, angles, positions, numeric options) stay as
   generated: those follow the world's metric prior, and balancing their bins would repeat rare magnitudes
   many times over (on 400 synthetic rooms at b = 1: one position class 96 times, counts 48 times). So do
   examples whose data has no answer class (chat exports). Why: generated categorical answers follow the
   world (objects in rooms face inwards more often than not, most things "would fit"), a model learns those
   priors from the question text, and a benchmark that balances its answers scores such a prior at or below
   chance. describe() reports, per task, the largest class's share as generated and as drawn, and the largest
   factor by which a class is drawn more often than generated (a rare class drawn many times more often
   repeats its few examples, which a model can memorise: the reason b can stay below 1).

A dict of task_weights names tasks or families. A bare name that is both a task and a family of several
tasks (relative_direction, perspective_taking, problem_solving) must be written "task:NAME" or
"family:NAME"; relative_distance, a family of one task, means the same either way. A family's weight is
shared equally by its present tasks that are not named themselves; a present task named by neither gets
weight 0 (listed under "zero_weight_tasks" in describe()): an explicit mix says everything it wants.

Implementation: examples with the same (dataset, task, level, kind) form a group of equally likely members;
the groups' probabilities become one cumulative table (searchsorted: O(log groups) per draw) and a member
is picked uniformly. The two uniforms per draw come from SplitMix64 at counters 2g and 2g + 1 of a stream
keyed by the seed: stateless, vectorised over numpy arrays, the same on every platform.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spatialforge.errors import RecordError, refuse_unknown_keys

if TYPE_CHECKING:  # data.py is the data helper's; only its protocol is read here
    from spatialforge.train.data import TrainDataset

log = logging.getLogger(__name__)

SPATIAL = "spatial"
GENERAL = "general"
KINDS = (SPATIAL, GENERAL)
HISPATIAL = "hispatial"
LEVELS = (0, 1, 2, 3)
WHERE = "mixture config"  # the file name errors carry when the config did not come from a file

_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53  # 53 high bits -> a double in [0, 1)


# -- config -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MixtureConfig:
    """How draws are split between kinds, tasks and levels (module docstring). Validated on construction;
    errors are RecordErrors naming the field."""

    spatial_general_ratio: list[float] | None = None
    task_weights: str | dict[str, float] | None = None
    exclude_levels: list[int] = field(default_factory=list)
    answer_balance: float = 0.0

    def __post_init__(self) -> None:
        balance = self.answer_balance
        if isinstance(balance, bool) or not isinstance(balance, int | float) or not 0.0 <= balance <= 1.0:
            raise _config_error("answer_balance", f"must be a number in [0, 1], got {balance!r}")
        object.__setattr__(self, "answer_balance", float(balance))
        ratio = self.spatial_general_ratio
        if ratio is not None:
            if isinstance(ratio, str | bytes) or not isinstance(ratio, Sequence) or len(ratio) != 2:
                raise _config_error("spatial_general_ratio", f"must be [spatial, general], got {ratio!r}")
            values = [_weight(v, "spatial_general_ratio") for v in ratio]
            if sum(values) <= 0:
                raise _config_error("spatial_general_ratio", f"must not be all zero, got {ratio!r}")
            object.__setattr__(self, "spatial_general_ratio", values)
        weights = self.task_weights
        if isinstance(weights, str):
            if weights != HISPATIAL:
                raise _config_error(
                    "task_weights", f"{weights!r} is not {HISPATIAL!r}, a mapping or null (by example counts)"
                )
        elif isinstance(weights, Mapping):
            clean = {}
            for name, value in weights.items():
                if not isinstance(name, str) or not name:
                    raise _config_error("task_weights", f"names must be non-empty strings, got {name!r}")
                clean[name] = _weight(value, f"task_weights.{name}")
            if clean and sum(clean.values()) <= 0:
                raise _config_error("task_weights", "all weights are zero")
            if not clean:
                raise _config_error("task_weights", "an empty mapping selects nothing (use null for counts)")
            object.__setattr__(self, "task_weights", clean)
        elif weights is not None:
            raise _config_error("task_weights", f"must be null, {HISPATIAL!r} or a mapping, got {weights!r}")
        levels = self.exclude_levels
        if isinstance(levels, str | bytes) or not isinstance(levels, Sequence):
            raise _config_error("exclude_levels", f"must be a list of levels, got {levels!r}")
        for level in levels:
            if isinstance(level, bool) or level not in LEVELS:
                raise _config_error("exclude_levels", f"{level!r} is not one of the levels {LEVELS}")
        object.__setattr__(self, "exclude_levels", sorted({int(v) for v in levels}))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, source: str = WHERE) -> MixtureConfig:
        """From JSON data; unknown keys are refused (a typo would otherwise be ignored)."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise RecordError("wrong_type", "the mixture config must be an object", file=source)
        refuse_unknown_keys(
            data, {"spatial_general_ratio", "task_weights", "exclude_levels", "answer_balance"}, file=source
        )
        try:
            return cls(
                spatial_general_ratio=data.get("spatial_general_ratio"),
                task_weights=data.get("task_weights"),
                exclude_levels=data.get("exclude_levels") or [],
                answer_balance=data.get("answer_balance", 0.0),
            )
        except RecordError as error:
            raise RecordError(error.reason, error.detail, file=source, field=error.field) from None

    def to_dict(self) -> dict[str, Any]:
        weights = self.task_weights
        return {
            "spatial_general_ratio": (
                list(self.spatial_general_ratio) if self.spatial_general_ratio is not None else None
            ),
            "task_weights": dict(weights) if isinstance(weights, Mapping) else weights,
            "exclude_levels": list(self.exclude_levels),
            "answer_balance": self.answer_balance,
        }


def _config_error(field_name: str, message: str, reason: str = "bad_value") -> RecordError:
    return RecordError(reason, message, file=WHERE, field=field_name)


def _weight(value: Any, field_name: str) -> float:
    """A finite non-negative float, or a RecordError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise _config_error(field_name, f"must be a finite number >= 0, got {value!r}")
    return float(value)


# -- counter-based randomness -------------------------------------------------------------------------


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser over a uint64 array (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def counter_uniforms(seed: int, counters: np.ndarray) -> np.ndarray:
    """Uniform doubles in [0, 1), one per uint64 counter: SplitMix64 output number `counter` of the stream
    keyed by `seed` (the key itself mixed, so nearby seeds give unrelated streams)."""
    with np.errstate(over="ignore"):
        key = _mix64(np.array([int(seed) & _MASK64], dtype=np.uint64))
        state = key + (counters.astype(np.uint64) + np.uint64(1)) * _GOLDEN
        bits = _mix64(state) >> np.uint64(11)
    return bits.astype(np.float64) * _TO_UNIT


# -- the sampler --------------------------------------------------------------------------------------


@dataclass
class _Group:
    """Equally likely examples: one dataset, task, level and kind (and, under answer balance, one answer
    format and class)."""

    dataset: int
    task: str
    level: int | None
    kind: str
    family: str | None
    members: np.ndarray  # int64 example indices into the dataset
    probability: float = 0.0
    answer_format: str | None = None
    answer_class: str | None = None  # after the object rule (qa/answer_classes.py group_answer_classes)


class MixtureSampler:
    """Maps global sample indices to (dataset index, example index); see the module docstring.

    datasets: TrainDataset-like objects (len, info(i) -> ExampleInfo, name). weights: per-dataset weights
    (SourceConfig.weight); default: each dataset's `weight` attribute, else 1.
    """

    def __init__(
        self,
        datasets: Sequence[TrainDataset],
        config: MixtureConfig,
        seed: int,
        *,
        weights: Sequence[float] | None = None,
    ) -> None:
        if not datasets:
            raise ValueError("the mixture has no datasets")
        if weights is not None and len(weights) != len(datasets):
            raise ValueError(f"{len(weights)} weights for {len(datasets)} datasets")
        self.config = config
        self.seed = int(seed)
        self.names = [str(getattr(d, "name", f"dataset{i}")) for i, d in enumerate(datasets)]
        raw_weights = weights if weights is not None else [getattr(d, "weight", 1.0) for d in datasets]
        self.weights = [_dataset_weight(w, self.names[i]) for i, w in enumerate(raw_weights)]
        self.sizes = [len(d) for d in datasets]
        for name, size in zip(self.names, self.sizes, strict=True):
            if size == 0:
                raise ValueError(f"dataset {name!r} is empty: nothing to draw from it")
        self._groups = _build_groups(datasets, self.names, by_answer=config.answer_balance > 0)
        self._notes: dict[str, Any] = {}
        self._assign_probabilities()
        self._build_table()

    # -- probabilities ----------------------------------------------------------------------------
    def _assign_probabilities(self) -> None:
        config = self.config
        spatial = [g for g in self._groups if g.kind == SPATIAL]
        general = [g for g in self._groups if g.kind == GENERAL]
        # Mass a group can hold at all: its examples times its dataset's weight (weight 0 = source off).
        mass = {id(g): self.weights[g.dataset] * len(g.members) for g in self._groups}

        task_mass: dict[str, float] = {}
        families: dict[str, str | None] = {}
        for group in spatial:
            task_mass[group.task] = task_mass.get(group.task, 0.0) + mass[id(group)]
            families.setdefault(group.task, group.family)
        available = {t: m for t, m in task_mass.items() if m > 0}
        task_p = self._task_probabilities(available, families)

        if config.spatial_general_ratio is None:
            spatial_share, general_share = 1.0, 0.0
        else:
            s, g = config.spatial_general_ratio
            spatial_share, general_share = s / (s + g), g / (s + g)
        if spatial_share > 0 and not task_p:
            field_name = (
                "spatial_general_ratio" if config.spatial_general_ratio is not None else "task_weights"
            )
            raise _config_error(
                field_name, "the mixture asks for spatial draws but no spatial example can be drawn"
            )

        excluded = set(config.exclude_levels)
        backfill = 0.0
        shares = _within_task_shares(spatial, mass, task_mass, config.answer_balance)
        for group in spatial:
            p_task = task_p.get(group.task, 0.0)
            share = shares[id(group)] if p_task > 0 else 0.0
            p = spatial_share * p_task * share
            if group.level in excluded:
                backfill += p  # HiSpatial 6.3: the draw goes to general data instead
                p = 0.0
            group.probability = p

        general_total = general_share + backfill
        general_mass = sum(mass[id(g)] for g in general)
        if general_total > 0 and general_mass <= 0:
            if backfill > 0:
                raise _config_error(
                    "exclude_levels",
                    f"levels {sorted(excluded)} are excluded and their draws go to general data, "
                    "but the mixture has no general source (kind: general)",
                )
            raise _config_error(
                "spatial_general_ratio",
                f"asks for general draws ({config.spatial_general_ratio}) but no general source has examples",
            )
        for group in general:
            group.probability = general_total * mass[id(group)] / general_mass if general_total > 0 else 0.0
        self._notes.update(
            spatial_share=spatial_share,
            general_share=general_share,
            backfilled_general=backfill,
            general_unused=bool(general) and general_total == 0,
        )
        if config.answer_balance > 0:
            self._notes["answer_balance_by_task"] = _balance_report(spatial, mass, task_mass, shares)

    def _task_probabilities(
        self, available: Mapping[str, float], families: Mapping[str, str | None]
    ) -> dict[str, float]:
        """Probability of each spatial task (summing to 1 over the drawable ones) under `task_weights`."""
        weights = self.config.task_weights
        if not available:
            return {}
        if weights is None:
            total = sum(available.values())
            return {t: m / total for t, m in available.items()}
        if weights == HISPATIAL:
            raw = self._hispatial_raw(available, families)
        else:
            assert isinstance(weights, Mapping)
            raw = self._dict_raw(weights, available, families)
        total = sum(raw.values())
        if total <= 0:
            raise _config_error(
                "task_weights", f"gives zero weight to every spatial task in the data ({sorted(available)})"
            )
        zero = sorted(t for t in available if raw.get(t, 0.0) <= 0)
        if zero:
            self._notes["zero_weight_tasks"] = zero
        return {t: w / total for t, w in raw.items() if w > 0}

    def _hispatial_raw(
        self, available: Mapping[str, float], families: Mapping[str, str | None]
    ) -> dict[str, float]:
        from spatialforge.tasks.registry import DEFAULT_FAMILY_WEIGHTS

        per_family: dict[str | None, list[str]] = {}
        for task in available:
            per_family.setdefault(families[task], []).append(task)
        raw: dict[str, float] = {}
        unknown = []
        for family, tasks in per_family.items():
            weight = DEFAULT_FAMILY_WEIGHTS.get(family, 0.0) if family is not None else 0.0
            if weight <= 0:
                unknown.extend(tasks)
            for task in tasks:
                raw[task] = weight / len(tasks)
        if unknown:
            log.warning(
                "task_weights %r: tasks %s have no HiSpatial family weight; never drawn", HISPATIAL, unknown
            )
        present = {families[t] for t in available}
        absent = {f: w for f, w in DEFAULT_FAMILY_WEIGHTS.items() if f not in present}
        self._notes["family_weights"] = dict(DEFAULT_FAMILY_WEIGHTS)
        self._notes["absent_families"] = sorted(absent)
        self._notes["absent_mass_renormalised"] = sum(absent.values()) / sum(DEFAULT_FAMILY_WEIGHTS.values())
        return raw

    def _dict_raw(
        self, weights: Mapping[str, float], available: Mapping[str, float], families: Mapping[str, str | None]
    ) -> dict[str, float]:
        from spatialforge.tasks.registry import DEFAULT_FAMILY_WEIGHTS, TASKS

        known_tasks = set(TASKS) | set(available)
        known_families = set(DEFAULT_FAMILY_WEIGHTS) | {f for f in families.values() if f is not None}
        family_tasks: dict[str, set[str]] = {}
        for spec in TASKS.values():
            family_tasks.setdefault(spec.family, set()).add(spec.name)
        for task, family in families.items():
            if family is not None:
                family_tasks.setdefault(family, set()).add(task)
        task_w: dict[str, float] = {}
        family_w: dict[str, float] = {}
        for key, value in weights.items():
            prefix, _, name = key.partition(":") if ":" in key else ("", "", key)
            if not prefix and family_tasks.get(name) == {name}:
                prefix = "task"  # a family whose only task has its name: both readings mean the same
            if name.startswith(f"{GENERAL}/"):
                raise _config_error(
                    f"task_weights.{key}",
                    "weights apply to spatial tasks; general data is split by source weight",
                )
            if prefix == "task" or (not prefix and name in known_tasks and name not in known_families):
                if name not in known_tasks:
                    raise _config_error(f"task_weights.{key}", f"unknown task {name!r}")
                task_w[name] = value
            elif prefix == "family" or (not prefix and name in known_families and name not in known_tasks):
                if name not in known_families:
                    raise _config_error(f"task_weights.{key}", f"unknown family {name!r}")
                family_w[name] = value
            elif not prefix and name in known_tasks:
                raise _config_error(
                    f"task_weights.{key}",
                    f"{name!r} is both a task and a family: write 'task:{name}' or 'family:{name}'",
                )
            elif prefix:
                raise _config_error(f"task_weights.{key}", f"unknown prefix {prefix!r} (task: or family:)")
            else:
                raise _config_error(
                    f"task_weights.{key}",
                    f"{name!r} is neither a registered task or family nor a task in the data",
                )
        raw: dict[str, float] = {}
        unnamed_by_family: dict[str, list[str]] = {}
        for task in available:
            if task in task_w:
                raw[task] = task_w[task]
            else:
                family = families[task]
                if family is not None and family in family_w:
                    unnamed_by_family.setdefault(family, []).append(task)
                raw.setdefault(task, 0.0)
        for family, tasks in unnamed_by_family.items():
            for task in tasks:
                raw[task] = family_w[family] / len(tasks)
        present_families = {families[t] for t in available}
        self._notes["unused_names"] = sorted(
            [f"task:{t}" for t in task_w if t not in available]
            + [f"family:{f}" for f in family_w if f not in present_families or f not in unnamed_by_family]
        )
        return raw

    # -- the draw table -----------------------------------------------------------------------------
    def _build_table(self) -> None:
        live = [g for g in self._groups if g.probability > 0]
        # Zero-probability groups are left out of the table, so no rounding can ever land on them.
        probabilities = np.array([g.probability for g in live], dtype=np.float64)
        cumulative = np.cumsum(probabilities)
        self._cumulative = cumulative / cumulative[-1]
        self._group_dataset = np.array([g.dataset for g in live], dtype=np.int64)
        self._group_size = np.array([len(g.members) for g in live], dtype=np.int64)
        self._group_start = np.concatenate([[0], np.cumsum(self._group_size)[:-1]]).astype(np.int64)
        self._members = np.concatenate([g.members for g in live]).astype(np.int64)

    def draw_many(self, indices: np.ndarray | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised draw: global sample indices (non-negative ints) -> (dataset indices, example indices),
        two int64 arrays of the same shape."""
        index = np.asarray(indices)
        if index.dtype.kind not in "iu":
            raise TypeError(f"sample indices must be integers, got dtype {index.dtype}")
        if index.size and int(index.min()) < 0:
            raise ValueError("sample indices must be >= 0")
        flat = index.reshape(-1).astype(np.uint64)
        u_group = counter_uniforms(self.seed, flat * np.uint64(2))
        u_member = counter_uniforms(self.seed, flat * np.uint64(2) + np.uint64(1))
        group = np.searchsorted(self._cumulative, u_group, side="right")
        group = np.minimum(group, len(self._cumulative) - 1)  # u < 1 = cumulative[-1]; guard anyway
        size = self._group_size[group]
        member = np.minimum((u_member * size).astype(np.int64), size - 1)
        example = self._members[self._group_start[group] + member]
        return self._group_dataset[group].reshape(index.shape), example.reshape(index.shape)

    def draw(self, index: int) -> tuple[int, int]:
        """Global sample index -> (dataset index, example index); a pure function of (seed, index)."""
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"sample index must be an int, got {index!r}")
        datasets, examples = self.draw_many(np.array([int(index)], dtype=np.int64))
        return int(datasets[0]), int(examples[0])

    # -- report -------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Effective probabilities per kind, source, task, family and level (JSON-ready, written beside the
        run), with what the config left out and why."""
        kinds = dict.fromkeys(KINDS, 0.0)
        levels: dict[str, float] = {}
        tasks: dict[str, dict[str, Any]] = {}
        family_p: dict[str, float] = {}
        sources: list[dict[str, Any]] = [
            {
                "name": name,
                "examples": size,
                "weight": weight,
                "probability": 0.0,
                "examples_by_kind": dict.fromkeys(KINDS, 0),
            }
            for name, size, weight in zip(self.names, self.sizes, self.weights, strict=True)
        ]
        for group in self._groups:
            p = group.probability
            kinds[group.kind] += p
            source = sources[group.dataset]
            source["probability"] += p
            source["examples_by_kind"][group.kind] += len(group.members)
            level_key = GENERAL if group.kind == GENERAL else str(group.level)
            levels[level_key] = levels.get(level_key, 0.0) + p
            entry = tasks.setdefault(
                group.task,
                {"kind": group.kind, "family": group.family, "levels": [], "examples": 0, "probability": 0.0},
            )
            entry["examples"] += len(group.members)
            entry["probability"] += p
            if group.level not in entry["levels"]:
                entry["levels"].append(group.level)
            family = group.family if group.family is not None else "unknown"
            family_p[family] = family_p.get(family, 0.0) + p
        for entry in tasks.values():
            entry["levels"] = sorted(entry["levels"], key=lambda v: -1 if v is None else v)
        return {
            "sampling": "i.i.d. with replacement; draw(g) is a pure function of (seed, g)",
            "seed": self.seed,
            "config": self.config.to_dict(),
            "kinds": kinds,
            "sources": sources,
            "tasks": dict(sorted(tasks.items())),
            "families": dict(sorted(family_p.items())),
            "levels": dict(sorted(levels.items())),
            "excluded_levels": list(self.config.exclude_levels),
            **self._notes,
        }


def _dataset_weight(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise RecordError(
            "bad_value",
            f"weight must be a finite number >= 0, got {value!r}",
            file=f"source {name}",
            field="weight",
        )
    return float(value)


def _within_task_shares(
    groups: Sequence[_Group], mass: Mapping[int, float], task_mass: Mapping[str, float], balance: float
) -> dict[int, float]:
    """Each spatial group's share of its task's draws (summing to 1 over a task's groups of positive mass):
    its mass over the task's (task_mass: the groups' masses summed per task), or under answer balance (module
    docstring, 5) the format's share as generated, times the class's tempered weight within the format, times
    the group's part of the class."""
    class_mass: dict[tuple[str, str | None, str], float] = {}
    for g in groups:
        if g.answer_class is not None:
            key = (g.task, g.answer_format, g.answer_class)
            class_mass[key] = class_mass.get(key, 0.0) + mass[id(g)]
    classed: dict[tuple[str, str | None], float] = {}
    tempered: dict[tuple[str, str | None], float] = {}
    for (task, fmt, _), m in class_mass.items():
        if m > 0:  # a class of weight-0 sources only is not drawn at all (0 ** 0 would be 1)
            classed[(task, fmt)] = classed.get((task, fmt), 0.0) + m
            tempered[(task, fmt)] = tempered.get((task, fmt), 0.0) + m ** (1.0 - balance)
    shares: dict[int, float] = {}
    for g in groups:
        m, total = mass[id(g)], task_mass[g.task]
        if total <= 0 or m <= 0:
            shares[id(g)] = 0.0
        elif g.answer_class is None:
            shares[id(g)] = m / total
        else:
            fmt = (g.task, g.answer_format)
            cm = class_mass[(g.task, g.answer_format, g.answer_class)]
            shares[id(g)] = (classed[fmt] / total) * (cm ** (1.0 - balance) / tempered[fmt]) * (m / cm)
    return shares


def _balance_report(
    groups: Sequence[_Group],
    mass: Mapping[int, float],
    task_mass: Mapping[str, float],
    shares: Mapping[int, float],
) -> dict[str, dict[str, Any]]:
    """Per task: categorical answer classes, the largest class's share of the task as generated and as drawn,
    the largest ratio drawn / as generated of a class, and the examples drawn as generated (numeric answers,
    data without answer fields)."""
    per_task: dict[str, dict[tuple[str | None, str], list[float]]] = {}
    as_generated: dict[str, int] = {}
    for g in groups:
        if g.answer_class is None:
            as_generated[g.task] = as_generated.get(g.task, 0) + len(g.members)
            continue
        total = task_mass[g.task]
        entry = per_task.setdefault(g.task, {}).setdefault((g.answer_format, g.answer_class), [0.0, 0.0])
        entry[0] += mass[id(g)] / total if total > 0 else 0.0
        entry[1] += shares[id(g)]
    report: dict[str, dict[str, Any]] = {}
    for task in sorted(set(per_task) | set(as_generated)):
        classes = per_task.get(task, {})
        live = [(before, after) for before, after in classes.values() if before > 0]
        report[task] = {
            "classes": len(live),
            "largest_class_share_generated": max((b for b, _ in live), default=0.0),
            "largest_class_share_drawn": max((a for _, a in live), default=0.0),
            "max_oversampling": max((a / b for b, a in live), default=1.0),
            "examples_as_generated": as_generated.get(task, 0),
        }
    return report


GroupKey = tuple[str, int | None, str, str | None, str | None]  # task, level, kind, answer format, class


def _build_groups(
    datasets: Sequence[TrainDataset], names: Sequence[str], *, by_answer: bool = False
) -> list[_Group]:
    """Read every example's metadata once and group equal (task, level, kind) examples per dataset; by_answer:
    spatial examples also by answer format and class, the object rule applied per task and format over all
    datasets (qa/answer_classes.py)."""
    from spatialforge.qa.answer_classes import is_categorical

    groups: list[_Group] = []
    for d, dataset in enumerate(datasets):
        keys: dict[GroupKey, int] = {}
        key_list: list[GroupKey] = []
        family_of: dict[str, str | None] = {}
        codes = np.empty(len(dataset), dtype=np.int64)
        for i in range(len(dataset)):
            info = dataset.info(i)
            if info.kind not in KINDS:
                raise RecordError(
                    "bad_value",
                    f"kind {info.kind!r} is not one of {KINDS}",
                    file=f"source {names[d]}",
                    record=str(info.id),
                    field="kind",
                )
            key: GroupKey = (info.task, info.level, info.kind, None, None)
            if by_answer and info.kind == SPATIAL:
                # getattr: a dataset of another make may give infos without answer fields.
                fmt, cls = getattr(info, "answer_format", None), getattr(info, "answer_class", None)
                if cls is not None and not is_categorical(cls):
                    cls = None  # numeric answers are drawn as generated (module docstring, 5)
                key = (info.task, info.level, info.kind, fmt, cls)
            code = keys.get(key)
            if code is None:
                code = keys[key] = len(key_list)
                key_list.append(key)
            family_of.setdefault(info.task, info.family if info.family is not None else _family(info.task))
            codes[i] = code
        order = np.argsort(codes, kind="stable")  # members of each group in example order
        bounds = np.searchsorted(codes[order], np.arange(len(key_list) + 1))
        for code, (task, level, kind, fmt, cls) in enumerate(key_list):
            members = order[bounds[code] : bounds[code + 1]].astype(np.int64)
            groups.append(_Group(d, task, level, kind, family_of[task], members, 0.0, fmt, cls))
    if by_answer:
        _apply_object_rule(groups)
    return groups


def _apply_object_rule(groups: Sequence[_Group]) -> None:
    """Relabel the classes of each (task, format) whose option texts or free values name objects."""
    from spatialforge.qa.answer_classes import group_answer_classes

    classes: dict[tuple[str, str | None], set[str]] = {}
    for g in groups:
        if g.answer_class is not None:
            classes.setdefault((g.task, g.answer_format), set()).add(g.answer_class)
    relabel: dict[tuple[str, str | None], dict[str, str]] = {}
    for key, names in classes.items():
        ordered = sorted(names)
        relabel[key] = dict(zip(ordered, group_answer_classes(ordered), strict=True))
    for g in groups:
        if g.answer_class is not None:
            g.answer_class = relabel[(g.task, g.answer_format)][g.answer_class]


def _family(task: str) -> str | None:
    """The registry's family of a task the metadata did not label; None for an unregistered task."""
    from spatialforge.tasks.registry import TASKS

    spec = TASKS.get(task)
    return spec.family if spec is not None else None
