"""Scoring specifications of the benchmarks `spatialforge score` knows: task -> rule, official totals.

Each spec cites where its rules come from. Totals come from the pure functions in `aggregate.py`, from the
per-task scores; variants (SPAR-Bench "as_released" / "corrected") are named, never silently chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from spatialforge.bench import aggregate, metrics
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.rules import ScoringRule

CHOICE = ScoringRule("choice", "accuracy")
YES_NO = ScoringRule("yes_no", "accuracy")


@dataclass(frozen=True)
class TaskScore:
    """One task's result. chance: expected score of a uniform random choice (choice / yes-no tasks);
    frequency: score of always giving the task's most frequent gold answer (VSI-Bench section 4.1)."""

    task: str
    n: int
    score: float  # mean item score, 0..1
    parse_status: dict[str, int]
    metric: str
    chance: float | None
    frequency: float | None


@dataclass(frozen=True)
class ScoredLine:
    """A scored item as it travels back from a worker process: small and picklable.

    meta: the item's values of the spec's keep_meta keys; n_options: offered options (choice / yes-no).
    """

    item_id: str
    task: str
    metric: str
    score: float
    correct: bool | None
    group: str | None
    status: str
    gold_value: object
    n_options: int | None
    meta: dict
    decision_json: str


@dataclass
class ScoreColumns:
    """What totals need of every item, kept as columns so a million items stay small in memory.

    meta holds, per key a spec lists in `keep_meta`, that field of every item (None where absent).
    """

    item_id: list[str] = field(default_factory=list)
    task: list[str] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    gold: list = field(default_factory=list)  # gold values as the metric compares them
    n_options: list[int | None] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    correct: list[bool | None] = field(default_factory=list)
    group: list[str | None] = field(default_factory=list)
    meta: dict[str, list] = field(default_factory=dict)

    def add_row(self, line: ScoredLine) -> None:
        self.item_id.append(line.item_id)
        self.task.append(line.task)
        self.metric.append(line.metric)
        self.gold.append(line.gold_value)
        self.n_options.append(line.n_options)
        self.score.append(line.score)
        self.correct.append(line.correct)
        self.group.append(line.group)
        for key, value in line.meta.items():
            self.meta.setdefault(key, []).append(value)


Totals = Callable[[Mapping[str, TaskScore], ScoreColumns], dict[str, float]]


def _mean_of_tasks(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
    return {"overall": aggregate.macro_mean({t: s.score for t, s in tasks.items()})}


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    description: str
    source: str  # where the scoring rules are defined (repo path / paper section)
    rule_for: Callable[[PredictionItem], ScoringRule]
    totals: Totals = _mean_of_tasks
    variant: str | None = None
    keep_meta: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _generic_rule(item: PredictionItem) -> ScoringRule:
    """From the item: meta answer_type/metric when given, else choice / yes-no / MRA by the gold's form."""
    if "answer_type" in item.meta:
        return ScoringRule(
            item.meta["answer_type"],
            item.meta.get("metric", "accuracy"),
            dict(item.meta.get("parse", {})),
            dict(item.meta.get("params", {})),
        )
    if item.options:
        return CHOICE
    if isinstance(item.gold, bool) or str(item.gold).strip().lower() in ("yes", "no", "true", "false"):
        return YES_NO
    return ScoringRule("number", "mra", {"to_unit": "none"})


# --- VSI-Bench (vision-x-nyu/thinking-in-space, lmms_eval/tasks/vsibench/utils.py): numerical answers by
# MRA, multiple choice by exact match; units as the benchmark states them (sizes cm, distances m, area m^2).
VSI_NUMERIC_UNITS = {
    "object_counting": "none",
    "object_abs_distance": "m",
    "object_size_estimation": "cm",
    "room_size_estimation": "none",  # square metres: the number is read, area units are not lengths
}


def _vsibench_rule(item: PredictionItem) -> ScoringRule:
    return _VSIBENCH_RULES.get(item.task, CHOICE)


def _vsi_numeric_rule(unit: str) -> ScoringRule:
    default = None if unit == "none" else unit
    # VSI-Bench reads the number at the start of the reply (utils.py fuzzy_matching: the first word).
    return ScoringRule("number", "mra", {"to_unit": unit, "default_unit": default, "pick": "first"})


# Built once: rules are looked up per item, a million times a minute.
_VSIBENCH_RULES = {task: _vsi_numeric_rule(unit) for task, unit in VSI_NUMERIC_UNITS.items()}


def _vsibench_totals(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
    return {"overall": aggregate.vsibench_overall({t: s.score for t, s in tasks.items()})}


# --- CV-Bench (nyu-visionx/CV-Bench): all multiple choice; total = ((ADE20K + COCO) / 2 + Omni3D) / 2 where
# each term is the accuracy over the items from that source image set.
def _cvbench_totals(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
    by_source: dict[str, list[float]] = {}
    for source, score in zip(columns.meta.get("source", []), columns.score, strict=True):
        by_source.setdefault(str(source), []).append(score)
    acc = {k: float(np.mean(v)) for k, v in by_source.items()}
    missing = {"ADE20K", "COCO", "Omni3D"} - set(acc)
    if missing:
        raise ValueError(
            f"CV-Bench total needs items from ADE20K, COCO and Omni3D; missing {sorted(missing)}"
        )
    out = {f"accuracy_{k}": v for k, v in sorted(acc.items())}
    out["accuracy_2d"] = (acc["ADE20K"] + acc["COCO"]) / 2
    out["accuracy_3d"] = acc["Omni3D"]
    out["overall"] = aggregate.cvbench_total(acc["ADE20K"], acc["COCO"], acc["Omni3D"])
    return out


# --- SPAR-Bench (aggregate.SPARBENCH_*): depth and distance tasks by MRA on plain numbers in metres, choice
# tasks by accuracy, view_change_infer by the mean MRA of its 5 signed components.
def _sparbench_spec(variant: str) -> BenchmarkSpec:
    # view_change_infer has two item metrics; the sample-weighted total scores its items as released.
    vc_variant = "corrected" if variant == "corrected" else "as_released"

    view_change = ScoringRule("view_change", "view_change_mra", params={"variant": vc_variant})
    # The released process_na takes the first number for single-view tasks, the last for *_mv ones.
    numeric = {
        pick: ScoringRule("number", "mra", {"to_unit": "m", "default_unit": "m", "pick": pick})
        for pick in ("first", "last")
    }

    def rule(item: PredictionItem) -> ScoringRule:
        metric = aggregate.SPARBENCH_TASK_METRICS.get(item.task)
        if metric == "view_change_mra":
            return view_change
        if metric == "mra":
            return numeric["last" if item.task.endswith("_mv") else "first"]
        if metric == "accuracy" or item.options:
            return CHOICE
        raise ValueError(f"item {item.item_id}: {item.task!r} is not a SPAR-Bench task")

    def totals(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
        scores = {t: s.score for t, s in tasks.items()}
        counts = {t: s.n for t, s in tasks.items()}
        out = {"overall": aggregate.sparbench_overall(scores, variant, counts=counts)}
        out.update(aggregate.sparbench_levels(scores, variant, counts))
        return out

    return BenchmarkSpec(
        name="sparbench",
        description="SPAR-Bench (20 tasks; MRA / accuracy; low/medium/high levels)",
        source="SPAR paper (003) Table 4; released lmms_eval/tasks/sparbench/utils.py (see aggregate.py)",
        rule_for=rule,
        totals=totals,
        variant=variant,
    )


QSPATIAL_RULE = ScoringRule("qspatial", "qspatial", {"to_unit": "m"}, {"delta": 2.0})


def _qspatial_rule(item: PredictionItem) -> ScoringRule:
    return QSPATIAL_RULE


def _qspatial_totals(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
    """Q-Spatial-Bench reports each split on its own (the evaluator takes one split; VLMEvalKit scores
    QSpatial_plus and QSpatial_scannet as two datasets): the success rate per task (split). "overall", the
    unweighted mean of the task scores, is no upstream number; it is kept so that earlier reports compare."""
    if not tasks:
        raise ValueError("Q-Spatial total needs at least one split")
    per_task = {task: score.score for task, score in sorted(tasks.items())}
    return {**per_task, "overall": aggregate.macro_mean(per_task)}


SPATIALRGPT_CLOCK = ScoringRule("clock", "clock_hour", {}, {"tolerance": 1})
SPATIALRGPT_NUMBER = ScoringRule("number", "spatialrgpt", {"to_unit": "m"})
# SpatialRGPT-Bench result groups (AnjieCheng/SpatialRGPT scripts/srgpt/eval/evaluate_spatial_with_gpt4.py)
# and the question type each belongs to; "Qual Overall Acc" / "Quan Overall Acc" are accuracies over the
# items of each type.
SPATIALRGPT_TASK_TYPE: dict[str, str] = {
    **dict.fromkeys(
        ("tall_short", "left_right", "below_above", "behind_front", "big_small", "wide_thin"), "qualitative"
    ),
    **dict.fromkeys(
        ("direct_distance", "horizontal_distance", "vertical_distance", "width", "height", "direction"),
        "quantitative",
    ),
}


def _spatialrgpt_rule(item: PredictionItem) -> ScoringRule:
    if item.meta.get("answer_type") == "clock" or item.task == "direction":
        return SPATIALRGPT_CLOCK
    if item.options:
        return CHOICE
    if isinstance(item.gold, bool) or str(item.gold).strip().lower() in ("yes", "no"):
        return YES_NO
    return SPATIALRGPT_NUMBER


def _spatialrgpt_totals(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
    """Qualitative and quantitative accuracy, each over its items (the released script's "Qual Overall Acc"
    and "Quan Overall Acc"); the type of an item comes from its task (SPATIALRGPT_TASK_TYPE)."""
    by_type: dict[str, list[float]] = {}
    for task, score in zip(columns.task, columns.score, strict=True):
        kind = SPATIALRGPT_TASK_TYPE.get(task)
        if kind is not None:
            by_type.setdefault(kind, []).append(score)
    missing = {"qualitative", "quantitative"} - set(by_type)
    if missing:
        raise ValueError(
            f"SpatialRGPT-Bench totals need qualitative and quantitative items; missing {sorted(missing)}"
        )
    return {kind: float(np.mean(scores)) for kind, scores in sorted(by_type.items())}


def _threedsrbench_totals(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
    """3DSRBench (ccvl/3DSRBench compute_3drbench_results_circular.py).

    "overall" (= "released") is the number the released script prints and the paper's tables report: it
    groups rows by qid less a trailing "-<one char>", so every option rotation of a question must be right
    (CircularEval) while the mirrored rows form questions of their own. "joint_circular_flip" is stricter: a
    question counts only if all its presentations are right, rotations and the mirrored image together. The
    question of a row is item.group when given, else the released rule on its id (metrics.base_question_id).
    """
    flipped = columns.meta.get("flipped") or [None] * len(columns.task)
    rotation = columns.meta.get("rotation") or [None] * len(columns.task)
    presentations = [
        metrics.Presentation(
            question_id=group if group is not None else metrics.base_question_id(item_id),
            correct=bool(correct),
            flipped=bool(flip),
            rotation=int(rot or 0),
        )
        for item_id, group, correct, flip, rot in zip(
            columns.item_id, columns.group, columns.correct, flipped, rotation, strict=True
        )
    ]
    out = {
        "joint_circular_flip": metrics.threedsrbench_eval(presentations, circular=True, flip=True),
        "circular_eval": metrics.threedsrbench_eval(presentations, circular=True, flip=False),
        "flip_eval": metrics.threedsrbench_eval(presentations, circular=False, flip=True),
        "plain_accuracy": float(np.mean([p.correct for p in presentations])),
    }
    out.update(_threedsrbench_released(presentations, columns.task))
    return {"overall": out["released"], **out}


def _threedsrbench_released(presentations: list[metrics.Presentation], tasks: list[str]) -> dict[str, float]:
    """The number compute_3drbench_results_circular.py prints: it groups rows by qid less a trailing
    "-<one char>", so the mirrored rows ("<q>-flip", "<q>-flip-<n>") form a question of their own; every row
    of a question must be right; types and subtypes are means over questions. "released" plus, when every
    task is a 3DSRBench subtype, "released_<type>" and "released_<subtype>" (threedsrbench_breakdown)."""
    released = [
        metrics.Presentation(
            f"{p.question_id}-flip" if p.flipped else p.question_id, p.correct, False, p.rotation
        )
        for p in presentations
    ]
    correct = metrics.threedsrbench_question_correct(released, circular=True, flip=True)
    out = {"released": sum(correct.values()) / len(correct)}
    known = {sub for subs in aggregate.THREEDSRBENCH_TYPES.values() for sub in subs}
    if set(tasks) <= known:
        subtype_of = {p.question_id: task for p, task in zip(released, tasks, strict=True)}
        breakdown = aggregate.threedsrbench_breakdown(correct, subtype_of)
        out.update({f"released_{k}": v for k, v in breakdown.items() if k != "overall"})
    return out


def _generic_spec(variant: str | None) -> BenchmarkSpec:
    return BenchmarkSpec(
        "generic",
        "any benchmark: rule from each item (options: choice; yes/no; else number by MRA)",
        "SPEC section 5",
        _generic_rule,
    )


def _vsibench_spec(variant: str | None) -> BenchmarkSpec:
    return BenchmarkSpec(
        "vsibench",
        "VSI-Bench (8 tasks; MRA for numeric, accuracy for multiple choice)",
        "vision-x-nyu/thinking-in-space lmms_eval/tasks/vsibench/utils.py",
        _vsibench_rule,
        _vsibench_totals,
    )


def _cvbench_spec(variant: str | None) -> BenchmarkSpec:
    return BenchmarkSpec(
        "cvbench",
        "CV-Bench (2D: ADE20K + COCO, 3D: Omni3D; multiple choice)",
        "nyu-visionx/CV-Bench README (overall accuracy formula)",
        lambda item: CHOICE,
        _cvbench_totals,
        keep_meta=("source",),
    )


def _blink_spec(variant: str | None) -> BenchmarkSpec:
    return BenchmarkSpec(
        "blink",
        "BLINK (multiple choice; macro mean over subtasks)",
        "zeyofu/BLINK_Benchmark eval/evaluate.py",
        lambda item: CHOICE,
    )


def _embspatial_totals(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
    """EmbSpatial-Bench (arXiv 2406.05756, Table 1): accuracy over all questions; the unweighted mean over the
    six relations is reported beside it."""
    if not columns.score:
        raise ValueError("EmbSpatial-Bench total needs at least one scored item")
    return {
        "overall": float(np.mean(columns.score)),
        "relation_mean": aggregate.macro_mean({t: s.score for t, s in tasks.items()}),
    }


def _embspatial_spec(variant: str | None) -> BenchmarkSpec:
    return BenchmarkSpec(
        "embspatial",
        "EmbSpatial-Bench (6 egocentric relations; multiple choice; overall accuracy)",
        "EmbSpatial-Bench paper (arXiv 2406.05756) Table 1; lmms-eval embspatial_aggregate_results",
        lambda item: CHOICE,
        _embspatial_totals,
    )


def _threedsrbench_spec(variant: str | None) -> BenchmarkSpec:
    return BenchmarkSpec(
        "3dsrbench",
        "3DSRBench (multiple choice; CircularEval and FlipEval)",
        "ccvl/3DSRBench compute_3drbench_results_circular.py",
        lambda item: CHOICE,
        _threedsrbench_totals,
        keep_meta=("flipped", "rotation"),
    )


def _qspatial_spec(variant: str | None) -> BenchmarkSpec:
    return BenchmarkSpec(
        "qspatial",
        "Q-Spatial-Bench (\\scalar{} and \\distance_unit{}; success iff max ratio < 2)",
        "Q-Spatial-Bench official evaluation (SPEC section 5)",
        _qspatial_rule,
        _qspatial_totals,
    )


def _spatialrgpt_spec(variant: str | None) -> BenchmarkSpec:
    return BenchmarkSpec(
        "spatialrgpt",
        "SpatialRGPT-Bench quantitative (0.75-1.25 band in metres; clock hours within 1)",
        "SpatialRGPT paper section 5 (SPEC section 5); AnjieCheng/SpatialRGPT evaluate_spatial_with_gpt4.py",
        _spatialrgpt_rule,
        _spatialrgpt_totals,
    )


# --- RoboSpatial-Home (chanhee-luke/RoboSpatial-Eval, evaluation.py and main.py; README leaderboard): the
# categories configuration and compatibility are yes/no questions, context is pointing scored by whether the
# reply's first point lies in the released polygon (metrics.points_in_region). The variant names the polygon
# test: "as_released" (the released ray casting, which mishandles vertical edges) reproduces published
# numbers, "corrected" is the geometric test.
ROBOSPATIAL_CATEGORIES: tuple[str, ...] = ("configuration", "compatibility", "context")
ROBOSPATIAL_VQA_CATEGORIES: tuple[str, ...] = ("configuration", "compatibility")


def _robospatial_spec(variant: str | None) -> BenchmarkSpec:
    variant = variant or "as_released"
    pointing = ScoringRule("points", "point_in_polygon", {}, {"points": "first", "variant": variant})

    def rule(item: PredictionItem) -> ScoringRule:
        if item.task == "context":
            return pointing
        if item.task in ROBOSPATIAL_VQA_CATEGORIES:
            return YES_NO
        raise ValueError(f"item {item.item_id}: {item.task!r} is not a RoboSpatial-Home category")

    def totals(tasks: Mapping[str, TaskScore], columns: ScoreColumns) -> dict[str, float]:
        # README leaderboard: "VQA avg" = mean of configuration and compatibility, "Total" = mean of the three
        # categories; main.py's overall_accuracy is over all items (as VLMEvalKit's "ALL" row).
        scores = {t: s.score for t, s in tasks.items()}
        unknown = sorted(set(scores) - set(ROBOSPATIAL_CATEGORIES))
        if unknown:
            raise ValueError(f"RoboSpatial-Home has no categories {unknown}")
        out = {}
        if all(t in scores for t in ROBOSPATIAL_VQA_CATEGORIES):
            out["vqa_average"] = aggregate.macro_mean({t: scores[t] for t in ROBOSPATIAL_VQA_CATEGORIES})
        out["all_items"] = float(np.mean(columns.score)) if columns.score else 0.0
        out["overall"] = aggregate.macro_mean(scores)
        return out

    return BenchmarkSpec(
        name="robospatial",
        description="RoboSpatial-Home (yes/no configuration, compatibility; context: first point in polygon)",
        source="chanhee-luke/RoboSpatial-Eval evaluation.py, main.py and README leaderboard",
        rule_for=rule,
        totals=totals,
        variant=variant,
    )


_SPECS: dict[str, Callable[[str | None], BenchmarkSpec]] = {
    "generic": _generic_spec,
    "vsibench": _vsibench_spec,
    "cvbench": _cvbench_spec,
    "blink": _blink_spec,
    "embspatial": _embspatial_spec,
    "3dsrbench": _threedsrbench_spec,
    "qspatial": _qspatial_spec,
    "spatialrgpt": _spatialrgpt_spec,
    "sparbench": lambda variant: _sparbench_spec(variant or "as_released"),
    "robospatial": _robospatial_spec,
}

VARIANTS: dict[str, tuple[str, ...]] = {
    "sparbench": tuple(aggregate.SPARBENCH_VARIANTS),
    "robospatial": metrics.POINT_IN_POLYGON_VARIANTS,
}


def available_benchmarks() -> list[str]:
    return sorted(_SPECS)


def get_benchmark(name: str, variant: str | None = None) -> BenchmarkSpec:
    if name not in _SPECS:
        raise KeyError(f"unknown benchmark {name!r}; available: {', '.join(available_benchmarks())}")
    allowed = VARIANTS.get(name, ())
    if variant is not None and variant not in allowed:
        raise KeyError(f"benchmark {name!r} has no variant {variant!r}; variants: {list(allowed) or 'none'}")
    return _SPECS[name](variant)
