"""Reference baselines as model backends: chance, frequency and a blind text-only prior.

They answer from the benchmark item alone (`Request.item`), never from an image, and write replies in the
form our parsers read back exactly ("B", "yes", "2.41 m", "0.52 cubic meters", "(0.1, -0.2, 0.97)",
"35 degrees", "3"), so they are scored by the same path as any model and give a report its reference rows:

    chance[:seed=0]               a uniform guess per item (VSI-Bench "Chance Level (Random)")
    frequency                     per task, always the most frequent gold answer (VSI-Bench "Chance Level
                                  (Frequency)")
    blind[:prior=PATH][,folds=2]  a text-only prior: answers from what the question says (task, answer type,
                                  the object categories it names, the option texts), fitted on a QA file or
                                  cross-fitted on the benchmark itself

Definitions: VSI-Bench (Yang et al., "Thinking in Space", section 4.1, "Chance Level Baselines"), quoted in
bench/baselines.py, which computes the same two baselines as scores; SPAR-Bench reports both rows (paper 003,
Table 4). "Chance Level (Random) is the random selection accuracy for MCA tasks (and is inapplicable for NA
tasks)", so `chance` leaves numeric, vector and angle items unanswered and names those tasks in describe().

Answer types: choice, yes_no, number (unit from the rule's parse to_unit; items without a unit are counts,
answered with a bare number), vector (unit directions, positions in metres) and angle (radians in the item,
degrees in the reply). Any other answer type gets "" (scored as no answer) and is counted in
describe()["unsupported"]. Every count in describe() is computed from the items the factory receives, so it is
the same on every resume of a run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spatialforge.bench import metrics
from spatialforge.bench.builder.items import BenchItem
from spatialforge.bench.parsers.numbers import parse_number
from spatialforge.bench.parsers.units import NO_UNIT, SI_UNIT, canonical_quantity_unit, convert, dimension
from spatialforge.bench.rules import gold_value
from spatialforge.errors import RecordError
from spatialforge.evaluate.models.base import (
    ModelBackend,
    ModelError,
    Reply,
    Request,
    int_option,
    register_model,
    reject_unknown,
    take_option,
)
from spatialforge.files import sha256_of
from spatialforge.qa.io import iter_qa_lines
from spatialforge.qa.records import QARecord

SUPPORTED_ANSWER_TYPES: tuple[str, ...] = ("choice", "yes_no", "number", "vector", "angle")
# VSI-Bench 4.1: random chance "is inapplicable for NA tasks" (numeric answers); vectors and angles alike.
CHANCE_NOT_APPLICABLE: tuple[str, ...] = ("number", "vector", "angle")
# The baselines answer instantly and hold no connection; the runner's thread pool is the only limit.
BASELINE_MAX_CONCURRENCY = 64
DEFAULT_FOLDS = 2
# Most candidate x gold cells scored at once by the frequency search: 4 Mi cells, 32 MiB of float64.
_MAX_CELLS = 1 << 22
# A mean of unit vectors (or of angles on the circle) shorter than this has no direction.
_MIN_RESULTANT = 1e-9
# Written unit of a reply for the rule's to_unit; the others are written as their canonical symbol, which
# parse_number reads ("cm", "ft", "L", "cu ft" ...).
_UNIT_WORDS = {"m^2": "square meters", "m^3": "cubic meters"}

CHANCE_DEFINITION = (
    "VSI-Bench 4.1 Chance Level (Random): a uniform random guess per item (an offered letter; yes/no by a "
    "fair coin), seeded by (seed, item id); inapplicable to numeric, vector and angle answers"
)
FREQUENCY_DEFINITION = (
    "VSI-Bench 4.1 Chance Level (Frequency): per task always the most frequent gold answer; numeric tasks "
    "the gold value with the best mean score under the item's metric (ties: the smallest); directions the "
    "normalised mean direction, positions the component-wise median; angles the circular mean (circular) "
    "or the median"
)
BLIND_DEFINITION = (
    "text-only prior: numbers the median per (task, unit, categories) -> (task, unit) -> unit; yes/no the "
    "majority per (task, question template) -> task -> all; choices whose options are all lengths (areas, "
    "volumes) the option nearest in ratio to the median SI value per (task, categories) -> task, fitted on "
    "free answers and correct options; other choices the option text with the highest smoothed rate of being "
    "correct when offered in the task, (correct + 1) / (offered + k) for k options (ties: the letter most "
    "often correct, then the first letter); directions the mean direction "
    "and positions the median per (task, objects with roles) -> task -> all; angles the circular mean "
    "(circular) or the median, likewise"
)


# ---------------------------------------------------------------- replies our parsers read back exactly


def plain_number(value: float) -> str:
    """The shortest text that reads back as exactly `value` (no exponent, no "-0"): "2.41", "3", "0.00012"."""
    return np.format_float_positional(float(value) + 0.0, trim="-")


def quantity_reply(value: float, to_unit: str, *, count: bool) -> str:
    """A number in the rule's unit: "2.41 m", "0.52 cubic meters"; a count or a unit-less rule: "3"."""
    if count or to_unit == NO_UNIT:
        return plain_number(value)
    return f"{plain_number(value)} {_UNIT_WORDS.get(to_unit, to_unit)}"


def vector_reply(vector: Sequence[float]) -> str:
    """ "(0.1, -0.2, 0.97)" (parse_vector's bracketed form)."""
    return "(" + ", ".join(plain_number(c) for c in vector) + ")"


def angle_reply(value: float, unit: str) -> str:
    """An angle given in `unit` ("rad" or "deg") written in degrees: "35 degrees"."""
    degrees = math.degrees(value) if unit == "rad" else float(value)
    return f"{plain_number(degrees)} degrees"


def yes_no_reply(answer: bool) -> str:
    return "yes" if answer else "no"


# ---------------------------------------------------------------- shared helpers


def _rule_to_unit(item: BenchItem) -> str:
    """The unit the scoring rule compares in (bench.rules: numbers default to metres, angles to radians)."""
    default = "rad" if item.scoring.answer_type == "angle" else "m"
    return str(item.scoring.parse.get("to_unit", default))


def _gold(item: BenchItem) -> Any:
    """The gold answer as the scoring core compares it (letter, bool, float in the rule's unit ...)."""
    return gold_value(item.prediction_item(""), item.scoring)


def _check_items(items: Sequence[BenchItem]) -> None:
    """A choice item without options cannot be answered or scored: the benchmark file is wrong."""
    for item in items:
        if item.scoring.answer_type == "choice" and not item.choices:
            raise ValueError(
                f"benchmark item {item.id!r} (task {item.task}) is multiple choice without options"
            )


def _unsupported(items: Iterable[BenchItem]) -> dict[str, int]:
    counts = Counter(
        i.scoring.answer_type for i in items if i.scoring.answer_type not in SUPPORTED_ANSWER_TYPES
    )
    return dict(sorted(counts.items()))


def _unit_vectors(vectors: Iterable[Sequence[float]]) -> np.ndarray:
    """The non-zero finite 3-vectors scaled to length 1, shape (n, 3) (zero vectors carry no direction)."""
    array = np.asarray([list(v) for v in vectors], dtype=np.float64).reshape(-1, 3)
    norms = np.linalg.norm(array, axis=1)
    keep = np.isfinite(norms) & (norms > 0.0)
    return array[keep] / norms[keep, None]


def mean_direction(vectors: Iterable[Sequence[float]]) -> tuple[float, float, float] | None:
    """The normalised mean of the unit directions; None when they cancel out (no mean direction)."""
    units = _unit_vectors(vectors)
    if units.shape[0] == 0:
        return None
    mean = units.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm < _MIN_RESULTANT:
        return None
    return tuple(float(c) for c in mean / norm)  # type: ignore[return-value]


def median_vector(vectors: Iterable[Sequence[float]]) -> tuple[float, float, float] | None:
    array = np.asarray([list(v) for v in vectors], dtype=np.float64).reshape(-1, 3)
    if array.shape[0] == 0:
        return None
    return tuple(float(c) for c in np.median(array, axis=0))  # type: ignore[return-value]


def circular_mean(angles_rad: Iterable[float]) -> float | None:
    """atan2(mean sin, mean cos) in (-pi, pi]; None when the angles cancel out (e.g. 0 and pi)."""
    a = np.asarray(list(angles_rad), dtype=np.float64)
    if a.size == 0:
        return None
    s, c = float(np.sin(a).mean()), float(np.cos(a).mean())
    if math.hypot(s, c) < _MIN_RESULTANT:
        return None
    return math.atan2(s, c)


def _angle_centre(values: Sequence[float], circular: bool) -> float | None:
    """Circular angles (azimuths): the circular mean, else (a resultant of zero) the median; bounded ones
    (elevations): the median."""
    if not values:
        return None
    if circular:
        centre = circular_mean(values)
        if centre is not None:
            return centre
    return float(np.median(np.asarray(values, dtype=np.float64)))


def _is_position(metric: str) -> bool:
    """Vectors scored by angle are directions; other vector metrics (position_within) compare positions."""
    return metric != "direction_angle"


def _vector_centre(vectors: Sequence[Sequence[float]], metric: str) -> tuple[float, float, float] | None:
    return median_vector(vectors) if _is_position(metric) else mean_direction(vectors)


class _Baseline(ModelBackend):
    """What the three baselines share: answer from `request.item`, never fail slowly, count what they skip."""

    max_concurrency = BASELINE_MAX_CONCURRENCY

    def answer(self, request: Request) -> Reply:
        if request.item is None:
            raise ModelError(
                "no_item",
                f"{self.kind}: request {request.item_id} carries no benchmark item",
                retryable=False,
            )
        start = time.perf_counter()
        text = self.reply_text(request.item)
        return Reply(text=text, model=self.kind, latency_s=time.perf_counter() - start)

    def reply_text(self, item: BenchItem) -> str:
        """The reply for one item ("" for an item this baseline does not answer)."""
        raise NotImplementedError


# ---------------------------------------------------------------- chance


class ChanceBaseline(_Baseline):
    """A uniform random guess per item, seeded by (seed, item id): the same reply whatever the order or
    concurrency of the run (random.Random seeded with a string hashes it with SHA-512, so the stream does
    not depend on PYTHONHASHSEED or the machine)."""

    kind = "chance"

    def __init__(self, items: Sequence[BenchItem], seed: int = 0) -> None:
        _check_items(items)
        self.seed = seed
        self._not_applicable = dict(
            sorted(Counter(i.task for i in items if i.scoring.answer_type in CHANCE_NOT_APPLICABLE).items())
        )
        self._unsupported = _unsupported(items)
        self._n_items = len(items)

    def _rng(self, item: BenchItem) -> random.Random:
        return random.Random(f"{self.seed}\x1f{item.id}")

    def reply_text(self, item: BenchItem) -> str:
        answer_type = item.scoring.answer_type
        if answer_type == "choice":
            return self._rng(item).choice([label for label, _ in item.choices])
        if answer_type == "yes_no":
            return yes_no_reply(self._rng(item).random() < 0.5)
        return ""

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seed": self.seed,
            "definition": CHANCE_DEFINITION,
            "n_items": self._n_items,
            "not_applicable_tasks": self._not_applicable,
            "unsupported": self._unsupported,
        }


# ---------------------------------------------------------------- frequency


@dataclass(frozen=True)
class _NumericScorer:
    """A metric as integer hits per (candidate, gold) cell, so that tied totals compare exactly: MRA in
    tenths (its values are k/10), success bands as 0/1."""

    hits: Callable[[np.ndarray, np.ndarray, dict[str, Any]], np.ndarray]
    resolution: int


def _mra_tenths(pred: np.ndarray, gold: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    return np.rint(metrics.mean_relative_accuracy_array(pred, gold) * 10).astype(np.int64)


def _qspatial_hits(pred: np.ndarray, gold: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    delta = float(params.get("delta", metrics.QSPATIAL_DELTA))
    return metrics.qspatial_success_array(pred, gold, delta=delta)


# The numeric metrics of bench.rules, vectorised with bench.metrics' array twins (same results as the scalar
# functions score_item applies).
NUMERIC_SCORERS: dict[str, _NumericScorer] = {
    "mra": _NumericScorer(_mra_tenths, 10),
    "spatialrgpt": _NumericScorer(lambda p, g, _: metrics.spatialrgpt_success_array(p, g), 1),
    "qspatial": _NumericScorer(_qspatial_hits, 1),
    "hispatial_qspatial_paper": _NumericScorer(
        lambda p, g, _: metrics.hispatial_qspatial_success_array(p, g, variant="paper"), 1
    ),
    "hispatial_qspatial_released": _NumericScorer(
        lambda p, g, _: metrics.hispatial_qspatial_success_array(p, g, variant="released"), 1
    ),
    "accuracy": _NumericScorer(lambda p, g, _: p == g, 1),  # counts
}


def best_constant(
    golds: Sequence[float], metric: str, params: dict[str, Any] | None = None
) -> tuple[float, float]:
    """The gold value that, answered for every item, scores best on average under `metric`, and that mean.

    Candidates are the distinct gold values (VSI-Bench's frequency row predicts a gold answer;
    bench/baselines.py picks the best of the tied most frequent ones, here every gold value competes). Ties go
    to the smallest value. Scored as a chunked candidate x gold matrix: O(distinct x n) cells, _MAX_CELLS at
    a time.
    """
    scorer = NUMERIC_SCORERS.get(metric)
    if scorer is None:
        raise ValueError(
            f"no vectorised scorer for numeric metric {metric!r}; known: {sorted(NUMERIC_SCORERS)}"
        )
    gold = np.asarray(golds, dtype=np.float64)
    if gold.ndim != 1 or gold.size == 0 or not np.all(np.isfinite(gold)):
        raise ValueError("best_constant needs a non-empty list of finite gold values")
    candidates = np.unique(gold)  # ascending: argmax's first maximum is the smallest tied value
    totals = np.empty(candidates.size, dtype=np.int64)
    step = max(1, _MAX_CELLS // gold.size)
    for start in range(0, candidates.size, step):
        block = candidates[start : start + step, None]
        totals[start : start + step] = (
            scorer.hits(block, gold[None, :], params or {}).astype(np.int64).sum(axis=1)
        )
    best = int(np.argmax(totals))
    return float(candidates[best]), float(totals[best]) / (scorer.resolution * gold.size)


def _frequency_key(item: BenchItem) -> tuple[str, ...]:
    """Items answered by one constant: same task and answer type and, where it changes the answer, the same
    metric, parameters and unit."""
    rule = item.scoring
    if rule.answer_type in ("choice", "yes_no"):
        return (item.task, rule.answer_type)
    params = json.dumps(rule.params, sort_keys=True, default=str)
    return (item.task, rule.answer_type, rule.metric, params, _rule_to_unit(item), str(item.unit is None))


@dataclass(frozen=True)
class _Constant:
    """One frequency answer: a letter ranking (choice), a bool, a number, a vector or an angle (None when
    undefined), with the mean score it earns on its items where that is known."""

    answer_type: str
    value: Any
    n: int
    mean_score: float | None = None
    rule: str = ""


def _fit_constant(items: list[BenchItem]) -> _Constant:
    first = items[0]
    answer_type, metric = first.scoring.answer_type, first.scoring.metric
    golds = [_gold(i) for i in items]
    n = len(items)
    if answer_type == "choice":
        counts = Counter(golds)
        ranking = tuple(sorted(counts, key=lambda letter: (-counts[letter], letter)))
        return _Constant(answer_type, ranking, n, counts[ranking[0]] / n, "most frequent gold letter")
    if answer_type == "yes_no":
        yes = sum(bool(g) for g in golds)
        majority = yes * 2 >= n  # a tie answers yes
        return _Constant(answer_type, majority, n, max(yes, n - yes) / n, "majority (ties: yes)")
    if answer_type == "number":
        if metric in NUMERIC_SCORERS:
            value, score = best_constant(golds, metric, first.scoring.params)
            return _Constant(answer_type, value, n, score, f"best constant under {metric}")
        value = float(np.median(np.asarray(golds, dtype=np.float64)))
        return _Constant(answer_type, value, n, None, f"median (no vectorised scorer for {metric})")
    if answer_type == "vector":
        rule = "component-wise median" if _is_position(metric) else "normalised mean direction"
        return _Constant(answer_type, _vector_centre(golds, metric), n, None, rule)
    circular = bool(first.scoring.params.get("circular", False))
    rule = "circular mean" if circular else "median"
    in_degrees = _rule_to_unit(first) == "deg"  # the circular mean needs radians
    radians = [math.radians(float(g)) if in_degrees else float(g) for g in golds]
    return _Constant(answer_type, _angle_centre(radians, circular), n, None, f"{rule} (radians)")


class FrequencyBaseline(_Baseline):
    """Per task, always the most frequent gold answer of that task in the benchmark (VSI-Bench 4.1). It reads
    every gold answer of the benchmark: it is the score an answer prior alone reaches, not a model."""

    kind = "frequency"

    def __init__(self, items: Sequence[BenchItem]) -> None:
        _check_items(items)
        groups: dict[tuple[str, ...], list[BenchItem]] = defaultdict(list)
        for item in items:
            if item.scoring.answer_type in SUPPORTED_ANSWER_TYPES:
                groups[_frequency_key(item)].append(item)
        self._constants = {key: _fit_constant(group) for key, group in groups.items()}
        self._unsupported = _unsupported(items)
        self._undefined = sum(c.n for c in self._constants.values() if c.value is None)
        self._n_items = len(items)

    def reply_text(self, item: BenchItem) -> str:
        answer_type = item.scoring.answer_type
        if answer_type not in SUPPORTED_ANSWER_TYPES:
            return ""
        constant = self._constants.get(_frequency_key(item))
        if constant is None:
            raise ModelError(
                "unknown_task",
                f"frequency: item {item.id} (task {item.task}, {answer_type}) is not in the benchmark it was "
                "fitted on",
                retryable=False,
            )
        if constant.value is None:
            return ""
        if answer_type == "choice":
            offered = {label for label, _ in item.choices}
            # The most frequent gold letter this item offers (its own gold letter is in the ranking).
            return next((letter for letter in constant.value if letter in offered), "")
        if answer_type == "yes_no":
            return yes_no_reply(constant.value)
        if answer_type == "number":
            return quantity_reply(constant.value, _rule_to_unit(item), count=item.unit is None)
        if answer_type == "vector":
            return vector_reply(constant.value)
        return angle_reply(constant.value, "rad")

    def describe(self) -> dict[str, Any]:
        constants = []
        for key, c in sorted(self._constants.items()):
            value = list(c.value) if isinstance(c.value, tuple) else c.value
            entry = {"task": key[0], "answer_type": c.answer_type, "n": c.n, "rule": c.rule, "value": value}
            if c.mean_score is not None:
                entry["mean_score"] = c.mean_score
            constants.append(entry)
        return {
            "kind": self.kind,
            "definition": FREQUENCY_DEFINITION,
            "n_items": self._n_items,
            "constants": constants,
            "undefined": self._undefined,
            "unsupported": self._unsupported,
        }


# ---------------------------------------------------------------- blind text-only prior


@dataclass(frozen=True)
class Observation:
    """What the blind prior learns from one answered question (a QA record or a benchmark item): the text
    side (task, answer type, format, template, objects, option texts) and the answer.

    value: letter (choice), bool (yes_no), number in `unit` (number), 3-vector (vector), radians (angle)."""

    task: str
    answer_type: str
    metric: str
    template: str
    objects: tuple[tuple[str, str], ...]  # (role, category), sorted
    choices: tuple[tuple[str, str], ...]
    value: Any
    unit: str | None
    circular: bool


def template_family(template_id: str | None, task: str) -> str:
    """The question template without answer template and version: "distance/tf/q3+a1@2" -> "distance/tf/q3"
    (tasks/banks.py: "<task>/<format>/<question id>[+<answer id>]@<version>"); the task when there is none."""
    if not template_id:
        return task
    return template_id.split("@", 1)[0].split("+", 1)[0]


def option_key(text: str) -> str:
    """Option texts compared case- and space-insensitively, without a closing full stop."""
    return " ".join(text.casefold().split()).rstrip(".")


def _objects_key(objects: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(objects))


def _categories(obs: Observation) -> tuple[str, ...]:
    return tuple(sorted(category for _, category in obs.objects))


def _finite_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _usable_value(answer_type: str, value: Any, unit: str | None, labels: set[str]) -> Any:
    """The answer in the prior's form, or None when it is not one (counted by the caller)."""
    if answer_type == "choice":
        return value if isinstance(value, str) and value in labels else None
    if answer_type == "yes_no":
        return value if isinstance(value, bool) else None
    if answer_type == "number":
        return _finite_number(value)
    if answer_type == "vector":
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            return None
        comps = [_finite_number(c) for c in value]
        return None if any(c is None for c in comps) else tuple(comps)
    number = _finite_number(value)  # angle
    if number is None or unit not in (None, "rad", "deg"):
        return None
    return convert(number, "deg", "rad") if unit == "deg" else number


# A QA record's tolerance names its answer type (tasks/render.py); older files only have the format / metric.
_ANSWER_TYPE_BY_METRIC = {
    "direction_angle": "vector",
    "position_within": "vector",
    "angle_within": "angle",
    **dict.fromkeys(("mra", "spatialrgpt", "qspatial"), "number"),
}


def _record_answer_type(rec: QARecord) -> str | None:
    declared = rec.tolerance.params.get("answer_type")
    if isinstance(declared, str):
        return declared
    if rec.format == "mcq":
        return "choice"
    if rec.format == "tf":
        return "yes_no"
    return _ANSWER_TYPE_BY_METRIC.get(rec.tolerance.metric)


def observation_from_record(rec: QARecord) -> Observation | str:
    """A QA record as a prior observation, or the reason it is not one."""
    answer_type = _record_answer_type(rec)
    if answer_type not in SUPPORTED_ANSWER_TYPES:
        return "unsupported_answer_type"
    choices = tuple((c.label, c.text) for c in rec.choices)
    value = _usable_value(answer_type, rec.answer_value, rec.unit, {label for label, _ in choices})
    if value is None:
        return "unusable_answer_value"
    return Observation(
        task=rec.task,
        answer_type=answer_type,
        metric=rec.tolerance.metric,
        template=template_family(rec.template_id, rec.task),
        objects=_objects_key((o.role, o.category) for o in rec.objects),
        choices=choices,
        value=value,
        unit=None if answer_type == "angle" else rec.unit,
        circular=rec.tolerance.params.get("circular") is True,
    )


def _item_objects(item: BenchItem) -> tuple[tuple[str, str], ...]:
    return _objects_key((str(o.get("role", "")), str(o.get("category", ""))) for o in item.objects)


def prior_task(item: BenchItem) -> str:
    """The QA task an item was made by (a preset may rename it, e.g. SPAR-Bench's depth_prediction_oc is our
    object_depth): prior files hold QA records, keyed by our task names."""
    return str(item.extra.get("source_task") or item.task)


def observation_from_item(item: BenchItem, *, with_answer: bool) -> Observation | str:
    """A benchmark item as an observation (with_answer) or as a question to answer (value None)."""
    answer_type = item.scoring.answer_type
    if answer_type not in SUPPORTED_ANSWER_TYPES:
        return "unsupported_answer_type"
    value: Any = None
    if with_answer:
        raw = _gold(item) if answer_type in ("choice", "yes_no") else item.answer_value
        value = _usable_value(answer_type, raw, item.unit, {label for label, _ in item.choices})
        if value is None:
            return "unusable_answer_value"
    task = prior_task(item)
    return Observation(
        task=task,
        answer_type=answer_type,
        metric=item.scoring.metric,
        template=template_family(item.template_id, task),
        objects=_item_objects(item),
        choices=item.choices,
        value=value,
        unit=None if answer_type == "angle" else item.unit,
        circular=item.scoring.params.get("circular") is True,
    )


def _majority(counts: Counter) -> bool:
    return counts[True] >= counts[False]  # a tie answers yes, as the frequency baseline


def _lower_median(values: list[float]) -> float:
    """A median that is an observed value (counts stay whole numbers)."""
    return sorted(values)[(len(values) - 1) // 2]


# The SI units an option's quantity is read in; parse_number reads a stated unit of that dimension only.
_SI_QUANTITY_UNITS = tuple(SI_UNIT[d] for d in sorted(SI_UNIT) if SI_UNIT[d] != "rad")


@functools.lru_cache(maxsize=1 << 16)
def option_quantity(text: str) -> tuple[float, str] | None:
    """(value in SI units, SI unit) when an option text states one positive length, area or volume with its
    unit ("3.80 meters", "6.2 feet", "0.52 cubic meters"); None otherwise (a bare number, a range, words)."""
    for si_unit in _SI_QUANTITY_UNITS:
        parsed = parse_number(text, to_unit=si_unit, ranges="reject")
        if parsed.ok and parsed.unit is not None and isinstance(parsed.value, float) and parsed.value > 0:
            return parsed.value, si_unit
    return None


def _si_quantity(obs: Observation) -> tuple[float, str] | None:
    """What an observation says of a positive quantity in SI units: a free numeric answer with a length
    (area, volume) unit, or the correct option of a choice whose text states one."""
    if obs.answer_type == "choice":
        return option_quantity(dict(obs.choices)[obs.value])
    if obs.answer_type != "number" or obs.unit is None or obs.value <= 0:
        return None
    unit = canonical_quantity_unit(obs.unit)
    if unit is None:
        return None
    si_unit = SI_UNIT[dimension(unit)]
    return convert(obs.value, unit, si_unit), si_unit


class BlindPrior:
    """Answer tables fitted on observations, looked up from most to least specific key.

    Lookup levels (the first key present wins; the level is reported):
    number  (task, unit, categories) -> (task, unit) -> (unit)         median (counts: the lower median)
    yes_no  (task, question template) -> (task) -> all                 majority, ties yes
    choice  options all lengths (areas, volumes): the one nearest in ratio to the median SI value per
            (task, SI unit, categories) -> (task, SI unit), fitted on free answers and correct options
            (numeric distractors spread out from the truth, so a typical value gives the truth away);
            other choices: per task, the option text with the highest rate of being correct when offered,
            (correct + 1) / (offered + k) for an item of k options (a text never seen scores 1 / k; a
            rate, not a count: a text offered in most items can be correct in most of them and still lose
            more often than not); ties by the correct letter's count
    vector  (task, metric, objects with roles) -> (task, metric) -> metric   mean direction / median position
    angle   (task, circular, objects with roles) -> (task, circular) -> circular   circular mean / median
    """

    def __init__(self, observations: Iterable[Observation]) -> None:
        numbers: dict[tuple, list[float]] = defaultdict(list)
        yes_no: dict[tuple, Counter] = defaultdict(Counter)
        vectors: dict[tuple, list[tuple[float, ...]]] = defaultdict(list)
        angles: dict[tuple, list[float]] = defaultdict(list)
        quantities: dict[tuple, list[float]] = defaultdict(list)
        self.option_counts: dict[str, Counter] = defaultdict(Counter)  # times correct, per task and text
        self.option_offered: dict[str, Counter] = defaultdict(Counter)  # times offered, likewise
        self.letter_counts: dict[str, Counter] = defaultdict(Counter)
        for obs in observations:
            quantity = _si_quantity(obs)
            if quantity is not None:
                for key in self._quantity_keys(obs, quantity[1]):
                    quantities[key].append(quantity[0])
            for key in self._keys(obs):
                if obs.answer_type == "number":
                    numbers[key].append(obs.value)
                elif obs.answer_type == "yes_no":
                    yes_no[key][obs.value] += 1
                elif obs.answer_type == "vector":
                    vectors[key].append(obs.value)
                elif obs.answer_type == "angle":
                    angles[key].append(obs.value)
            if obs.answer_type == "choice":
                text = dict(obs.choices)[obs.value]
                self.option_counts[obs.task][option_key(text)] += 1
                self.option_offered[obs.task].update(option_key(t) for _, t in obs.choices)
                self.letter_counts[obs.task][obs.value] += 1
        self.numbers = {
            key: _lower_median(v) if key[1] is None else float(np.median(v)) for key, v in numbers.items()
        }
        self.quantities = {key: float(np.median(v)) for key, v in quantities.items()}
        self.yes_no = {key: _majority(c) for key, c in yes_no.items()}
        self.vectors = {key: _vector_centre(v, key[1]) for key, v in vectors.items()}
        self.angles = {key: _angle_centre(v, key[1]) for key, v in angles.items()}

    @staticmethod
    def _keys(obs: Observation) -> list[tuple]:
        """The lookup keys of an observation, most specific first; the first element of every key is the level
        name, so one dict per answer type holds all levels."""
        if obs.answer_type == "number":
            return [
                ("task+categories", obs.unit, obs.task, _categories(obs)),
                ("task", obs.unit, obs.task),
                ("unit", obs.unit),
            ]
        if obs.answer_type == "yes_no":
            return [("template", obs.task, obs.template), ("task", obs.task), ("all",)]
        if obs.answer_type == "vector":
            return [
                ("task+objects", obs.metric, obs.task, obs.objects),
                ("task", obs.metric, obs.task),
                ("all", obs.metric),
            ]
        if obs.answer_type == "angle":
            return [
                ("task+objects", obs.circular, obs.task, obs.objects),
                ("task", obs.circular, obs.task),
                ("all", obs.circular),
            ]
        return []

    @staticmethod
    def _quantity_keys(obs: Observation, si_unit: str) -> list[tuple]:
        return [("task+categories", si_unit, obs.task, _categories(obs)), ("task", si_unit, obs.task)]

    def _lookup(
        self, table: dict[tuple, Any], obs: Observation, keys: list[tuple] | None = None
    ) -> tuple[Any, str]:
        """The value of the first of `keys` (default: the observation's _keys) in `table`, with its level."""
        for key in self._keys(obs) if keys is None else keys:
            value = table.get(key)
            if value is not None:
                return value, key[0]
        return None, "none"

    def answer(self, obs: Observation) -> tuple[Any, str]:
        """(answer, level it came from) for a question; (None, "none") when the prior has nothing fitting."""
        if obs.answer_type == "number":
            return self._lookup(self.numbers, obs)
        if obs.answer_type == "yes_no":
            return self._lookup(self.yes_no, obs)
        if obs.answer_type == "vector":
            return self._lookup(self.vectors, obs)
        if obs.answer_type == "angle":
            return self._lookup(self.angles, obs)
        return self._choose(obs)

    def _choose(self, obs: Observation) -> tuple[str, str]:
        quantities = [option_quantity(text) for _, text in obs.choices]
        si_units = {q[1] for q in quantities if q is not None}
        if quantities and None not in quantities and len(si_units) == 1:
            (si_unit,) = si_units
            centre, level = self._lookup(self.quantities, obs, self._quantity_keys(obs, si_unit))
            if centre is not None:
                # nearest in ratio; ties to the first letter
                ratios = [abs(math.log(q[0] / centre)) for q in quantities if q is not None]
                best = min(range(len(ratios)), key=lambda i: (ratios[i], obs.choices[i][0]))
                return obs.choices[best][0], f"quantity:{level}"
        texts, letters = self.option_counts.get(obs.task), self.letter_counts.get(obs.task)
        level = "task" if texts else "none"
        texts, letters = texts or Counter(), letters or Counter()
        offered, k = self.option_offered.get(obs.task) or Counter(), len(obs.choices)

        def rate(text: str) -> float:
            key = option_key(text)
            return (texts[key] + 1) / (offered[key] + k)

        label, _ = min(obs.choices, key=lambda c: (-rate(c[1]), -letters[c[0]], c[0]))
        return label, level

    def key_counts(self) -> dict[str, dict[str, int]]:
        """How many keys each table holds per level."""
        out: dict[str, dict[str, int]] = {}
        for name, table in (
            ("number", self.numbers),
            ("yes_no", self.yes_no),
            ("vector", self.vectors),
            ("angle", self.angles),
        ):
            out[name] = dict(sorted(Counter(key[0] for key in table).items()))
        out["choice"] = {"task": len(self.option_counts)}
        out["quantity"] = dict(sorted(Counter(key[0] for key in self.quantities).items()))
        return out


def capture_fold(key: str, folds: int) -> int:
    """The cross-fitting fold of a capture: a stable hash (BLAKE2b, not Python's salted hash) modulo folds."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % folds


def fold_key(item: BenchItem) -> str:
    """What keeps an item's answers out of its own prior: its capture, else its scene, else the item."""
    return item.capture_id or item.scene_id or f"item:{item.id}"


@dataclass
class PriorFile:
    """The observations read from a QA JSONL file, with what was skipped and why."""

    path: str
    sha256: str
    observations: list[Observation]
    ignored: Counter
    bad_lines: Counter

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "records_used": len(self.observations),
            "ignored": dict(sorted(self.ignored.items())),
            "bad_lines": dict(sorted(self.bad_lines.items())),
        }


def read_prior(path: str, tasks: set[str]) -> PriorFile:
    """QA records of `tasks` from a QA JSONL file (qa/records.py schema). Lines that are not valid records are
    counted by RecordError reason; records of other tasks or answer types are counted as ignored."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"blind: prior file {path!r} does not exist")
    observations: list[Observation] = []
    ignored: Counter = Counter()
    bad_lines: Counter = Counter()
    try:
        for entry in iter_qa_lines(file):
            if isinstance(entry, RecordError):
                bad_lines[entry.reason] += 1
            elif entry.task not in tasks:
                ignored["other_task"] += 1
            else:
                obs = observation_from_record(entry)
                if isinstance(obs, str):
                    ignored[obs] += 1
                else:
                    observations.append(obs)
    except UnicodeDecodeError as e:
        raise ValueError(f"blind: prior file {path!r} is not UTF-8 text ({e})") from None
    if not observations:
        raise ValueError(
            f"blind: prior file {path!r} has no usable QA record for the benchmark's tasks {sorted(tasks)} "
            f"(ignored {dict(ignored)}, bad lines {dict(bad_lines)})"
        )
    return PriorFile(path, sha256_of(file), observations, ignored, bad_lines)


def _format_answer(item: BenchItem, value: Any) -> str:
    """A prior's answer for `item` as a reply: numbers converted from the item's unit to the rule's."""
    answer_type = item.scoring.answer_type
    if answer_type in ("choice",):
        return str(value)
    if answer_type == "yes_no":
        return yes_no_reply(value)
    if answer_type == "number":
        to_unit = _rule_to_unit(item)
        if item.unit is not None and to_unit != NO_UNIT:
            value = convert(value, item.unit, to_unit)
        return quantity_reply(value, to_unit, count=item.unit is None)
    if answer_type == "vector":
        return vector_reply(value)
    to_unit = _rule_to_unit(item)
    return angle_reply(value if to_unit == "rad" else math.degrees(value), to_unit)


class BlindBaseline(_Baseline):
    """A text-only prior that never looks at the image (see BlindPrior for what it reads and how).

    With a prior file it is fitted once on that file. Without, it is cross-fitted on the benchmark: items are
    split into `folds` folds by a hash of their capture_id, and each fold is answered by the prior fitted on
    the other folds, so no capture ever sees its own answers.
    """

    kind = "blind"

    def __init__(
        self, items: Sequence[BenchItem], prior: str | None = None, folds: int = DEFAULT_FOLDS
    ) -> None:
        _check_items(items)
        self.folds = folds
        self._prior_file: PriorFile | None = None
        if prior is not None:
            self._prior_file = read_prior(prior, {prior_task(i) for i in items})
            self._priors = [BlindPrior(self._prior_file.observations)]
            self._fold_sizes: list[int] = []
            self._skipped: Counter = Counter()
        else:
            self._priors, self._fold_sizes, self._skipped = self._cross_fit(items)
        self._fallbacks = self._count_levels(items)
        self._unsupported = _unsupported(items)
        self._n_items = len(items)

    def _cross_fit(self, items: Sequence[BenchItem]) -> tuple[list[BlindPrior], list[int], Counter]:
        by_fold: list[list[Observation]] = [[] for _ in range(self.folds)]
        sizes = [0] * self.folds
        skipped: Counter = Counter()
        for item in items:
            fold = capture_fold(fold_key(item), self.folds)
            sizes[fold] += 1
            if not item.capture_id:
                skipped["no_capture_id"] += 1
            obs = observation_from_item(item, with_answer=True)
            if isinstance(obs, str):
                skipped[obs] += 1
            else:
                by_fold[fold].append(obs)
        priors = [
            BlindPrior(obs for other, group in enumerate(by_fold) if other != fold for obs in group)
            for fold in range(self.folds)
        ]
        return priors, sizes, skipped

    def _prior_for(self, item: BenchItem) -> BlindPrior:
        if self._prior_file is not None:
            return self._priors[0]
        return self._priors[capture_fold(fold_key(item), self.folds)]

    def answer_with_level(self, item: BenchItem) -> tuple[str, str]:
        """(reply, lookup level used); ("", "unsupported") for an answer type the prior does not know."""
        obs = observation_from_item(item, with_answer=False)
        if isinstance(obs, str):
            return "", "unsupported"
        value, level = self._prior_for(item).answer(obs)
        if value is None:
            return "", level
        return _format_answer(item, value), level

    def reply_text(self, item: BenchItem) -> str:
        return self.answer_with_level(item)[0]

    def _count_levels(self, items: Sequence[BenchItem]) -> dict[str, dict[str, int]]:
        levels: dict[str, Counter] = defaultdict(Counter)
        for item in items:
            if item.scoring.answer_type in SUPPORTED_ANSWER_TYPES:
                levels[item.scoring.answer_type][self.answer_with_level(item)[1]] += 1
        return {t: dict(sorted(c.items())) for t, c in sorted(levels.items())}

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "definition": BLIND_DEFINITION, "n_items": self._n_items}
        if self._prior_file is not None:
            out["fit"] = "prior file"
            out["prior"] = self._prior_file.describe()
            out["keys"] = self._priors[0].key_counts()
        else:
            out["fit"] = (
                f"cross-fit: {self.folds} folds by a hash of capture_id; each item is answered by the prior "
                "fitted on the other folds"
            )
            out["prior"] = "cross-fit"
            out["folds"] = self.folds
            out["fold_sizes"] = self._fold_sizes
            out["skipped"] = dict(sorted(self._skipped.items()))
            out["keys_per_fold"] = [p.key_counts() for p in self._priors]
        out["fallbacks"] = self._fallbacks
        out["unsupported"] = self._unsupported
        return out


# ---------------------------------------------------------------- registry


@register_model("chance")
def build_chance(options: dict[str, str], items: Sequence[BenchItem]) -> ModelBackend:
    options = dict(options)
    seed = int_option("chance", options, "seed") or 0
    reject_unknown("chance", options)
    return ChanceBaseline(items, seed=seed)


@register_model("frequency")
def build_frequency(options: dict[str, str], items: Sequence[BenchItem]) -> ModelBackend:
    reject_unknown("frequency", dict(options))
    return FrequencyBaseline(items)


@register_model("blind")
def build_blind(options: dict[str, str], items: Sequence[BenchItem]) -> ModelBackend:
    options = dict(options)
    prior = take_option(options, "prior") or None
    folds = int_option("blind", options, "folds", 2) or DEFAULT_FOLDS
    reject_unknown("blind", options)
    return BlindBaseline(items, prior=prior, folds=folds)
