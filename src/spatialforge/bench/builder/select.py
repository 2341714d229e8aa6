"""Choosing benchmark items from generated QA: preset filter, ambiguity filter, dedup, answer balance, quotas.

Pure functions over QA record dicts (qa/records.py schema); every record left out is counted under a named
reason. In order:
1. `candidate_reason`: the record must belong to a preset task (`not_in_preset`), in one of its formats
   (`format_not_in_preset`) and template variants (`variant_not_in_preset`), be scorable by rule
   (`free_category_needs_judge`: a free-form categorical answer needs a judge model; the preset asks those
   tasks as multiple choice or yes/no), name its objects as the preset requires (`needs_text_reference`).
2. Ambiguity (beyond the margins every task already applies when it makes a fact, docs/TASKS.md): a numeric
   answer below the floor a relative metric can judge (`answer_below_floor`: 0.1 m, SPAR's "indistinguishable"
   distance; 0.001 m^3), options whose texts repeat (`duplicate_options`), and the same question on the same
   images with two different answers (`conflicting_answers`, both dropped).
3. Dedup: one item per question text and images (`duplicate_question`) and one per fact - the same task about
   the same objects in the same views, whatever the format or polarity (`duplicate_fact`).
4. Balance and quotas, per preset task: candidates are grouped by answer class (qa/answer_classes.py: the
   correct letter or option text, yes / no, a quarter-decade magnitude bin, a direction's dominant axis, a
   45-degree angle sector) and taken round robin across classes - and within a class round robin across
   captures - in a seeded order, until the task's quota is met. The classes reached and any shortfall are
   reported.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from spatialforge.bench.builder.presets import Preset, PresetTask
from spatialforge.bench.rules import ScoringRule
from spatialforge.qa.answer_classes import task_answer_classes
from spatialforge.tasks.banks import DERIVED_FORMATS, bank_of
from spatialforge.tasks.registry import get_task

# Length units a question may ask its answer in, as metres -> that unit (the renderer's human units).
DISPLAY_LENGTH_UNITS = {"m": 1.0, "cm": 100.0, "mm": 1000.0, "ft": 1 / 0.3048, "in": 1 / 0.0254}
_FIRST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Smallest numeric answers a relative metric can judge, per unit (see the module docstring).
ANSWER_FLOORS = {"m": 0.1, "m^3": 0.001}


@cache
def question_variants(task: str, template_id: str) -> tuple[str, ...] | None:
    """The variants a record's question template serves (None: every variant), from the task's bank.

    template_id is "<task>/<format>/<question id>[+<answer id>]@<bank version>"."""
    try:
        _, fmt, rest = template_id.split("/", 2)
    except ValueError:
        return None
    question_id = rest.split("@", 1)[0].split("+", 1)[0]
    spec = get_task(task)
    bank = bank_of(spec)
    for template in bank.questions.get(DERIVED_FORMATS.get(fmt, fmt), ()):
        if template.id == question_id:
            return template.variants
    return None


def scoring_rule(record: dict[str, Any], override: ScoringRule | None) -> ScoringRule:
    """The scoring core's rule for a QA record: its tolerance (metric, answer_type, params) as a rule."""
    if override is not None:
        if override.parse.get("default_unit") and display_unit(record) is not None:
            # A bare number is read in the unit the question asked for ("... in feet").
            return ScoringRule(
                override.answer_type,
                override.metric,
                {**override.parse, "default_unit": display_unit(record)},
                dict(override.params),
            )
        return override
    tolerance = record["tolerance"]
    params = dict(tolerance.get("params") or {})
    answer_type = params.pop("answer_type", None) or ("yes_no" if record["format"] == "tf" else "choice")
    parse: dict[str, Any] = {}
    for key in ("to_unit", "default_unit"):  # parser options, not metric parameters
        if key in params:
            parse[key] = params.pop(key)
    if answer_type == "number" and record.get("unit") is None:
        parse["to_unit"] = "none"  # counts: a bare number
    if answer_type == "number" and "to_unit" in parse and parse["to_unit"] != "none":
        parse.setdefault("default_unit", None)  # free answers state their unit; fill ones say it
    return ScoringRule(answer_type, tolerance["metric"], parse, params)


def display_unit(record: dict[str, Any]) -> str | None:
    """The length unit a numeric record's answer text is written in, from the ratio of the shown number to
    the SI answer_value (nearest in log scale; the units are 3x or more apart). None for other answers."""
    value = record["answer_value"]
    if (
        record.get("unit") != "m"
        or isinstance(value, bool)
        or not isinstance(value, (int, float))
        or value <= 0
    ):
        return None
    match = _FIRST_NUMBER.search(record["answer"].replace(",", ""))
    if match is None or float(match.group()) <= 0:
        return None
    ratio = float(match.group()) / value
    return min(DISPLAY_LENGTH_UNITS, key=lambda u: abs(math.log(ratio / DISPLAY_LENGTH_UNITS[u])))


def candidate_reason(record: dict[str, Any], entry: PresetTask | None) -> str | None:
    """Why a record cannot be a candidate of its preset task (None: it can)."""
    if entry is None:
        return "not_in_preset"
    if record["format"] not in entry.formats:
        return "format_not_in_preset"
    if entry.variants:
        variants = question_variants(record["task"], record["template_id"])
        if variants is None or not set(variants) <= set(entry.variants):
            return "variant_not_in_preset"
    if entry.display_units and display_unit(record) not in entry.display_units:
        return "unit_not_in_preset"
    answer_type = (record["tolerance"].get("params") or {}).get("answer_type")
    if record["format"] in ("free", "fill", "sentence") and answer_type == "category":
        return "free_category_needs_judge"
    if entry.text_references is not None:
        marked = len(record.get("markers") or ())
        named = len(record.get("objects") or ())
        if entry.text_references == "all" and marked:
            return "needs_text_reference"
        if entry.text_references == "one" and named and marked >= named:
            return "needs_text_reference"
    return None


def ambiguity_reason(record: dict[str, Any]) -> str | None:
    value = record["answer_value"]
    floor = ANSWER_FLOORS.get(record.get("unit") or "")
    if (
        floor is not None
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value < floor
    ):
        return "answer_below_floor"
    texts = [c["text"].strip().lower() for c in record.get("choices") or ()]
    if len(set(texts)) != len(texts):
        return "duplicate_options"
    return None


_SPACES = re.compile(r"\s+")


def question_key(record: dict[str, Any]) -> tuple[Any, ...]:
    images = tuple(im["path"] for im in record["images"])
    return (record["scene_id"], images, _SPACES.sub(" ", record["question"].strip().lower()))


def fact_key(record: dict[str, Any]) -> tuple[Any, ...]:
    views = tuple(im["view_id"] for im in record["images"])
    objects = tuple((o["object_id"], o["role"]) for o in record.get("objects") or ())
    return (record["task"], record["scene_id"], views, objects, record.get("frame"))


@dataclass
class Selection:
    """The chosen records per preset task, and why every other record was left out."""

    chosen: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejected: Counter = field(default_factory=Counter)
    candidates: Counter = field(default_factory=Counter)  # per preset task, after filters and dedup
    classes: dict[str, dict[str, int]] = field(default_factory=dict)  # per task: answer class -> chosen
    shortfall: dict[str, int] = field(default_factory=dict)


def _round_robin(queues: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The first of every queue, then the second of every queue, ..."""
    out: list[dict[str, Any]] = []
    depth = 0
    while any(depth < len(q) for q in queues):
        out.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return out


def _seeded_keys(groups: dict[str, Any], rng: random.Random) -> list[str]:
    keys = sorted(groups)
    rng.shuffle(keys)
    return keys


def _interleave(groups: dict[str, list[dict[str, Any]]], rng: random.Random) -> list[dict[str, Any]]:
    """Round robin over the groups (in a seeded order), each group's records in a seeded order."""
    queues = []
    for key in _seeded_keys(groups, rng):
        members = list(groups[key])
        rng.shuffle(members)
        queues.append(members)
    return _round_robin(queues)


def _balanced(
    records: list[dict[str, Any]], n: int, rng: random.Random
) -> tuple[list[dict[str, Any]], Counter]:
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    class_of: dict[int, str] = {}
    for r, cls in zip(records, task_answer_classes(records), strict=True):
        by_class[cls].append(r)
        class_of[id(r)] = cls
    # Within a class, spread over captures: round robin across them.
    class_queues = {}
    for cls, members in by_class.items():
        by_capture: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in members:
            by_capture[r["capture_id"]].append(r)
        class_queues[cls] = _interleave(by_capture, rng)
    # Across classes keep each class's capture round robin: its order is not shuffled again.
    chosen = _round_robin([class_queues[k] for k in _seeded_keys(class_queues, rng)])[:n]
    return chosen, Counter(class_of[id(r)] for r in chosen)


def select_items(
    records: Iterable[dict[str, Any]], preset: Preset, quotas: dict[str, int], seed: int
) -> Selection:
    """Filter, dedup and balance `records` into at most quotas[task] items per preset task."""
    by_source: dict[str, list[PresetTask]] = defaultdict(list)
    for entry in preset.tasks:
        by_source[entry.source_task].append(entry)
    sel = Selection()
    pools: dict[str, list[dict[str, Any]]] = {t.name: [] for t in preset.tasks}
    answers_by_question: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    seen_facts: set[tuple[Any, ...]] = set()
    kept: list[tuple[str, dict[str, Any]]] = []
    for record in records:
        entries = by_source.get(record["task"], [])
        reason, entry = "not_in_preset", None
        for candidate in entries:  # the first preset task that takes the record
            reason = candidate_reason(record, candidate)
            if reason is None:
                entry = candidate
                break
        reason = reason or ambiguity_reason(record)
        if reason is not None or entry is None:
            sel.rejected[reason or "not_in_preset"] += 1
            continue
        answers_by_question[question_key(record)].add(repr(record["answer_value"]))
        kept.append((entry.name, record))
    seen_questions: set[tuple[Any, ...]] = set()
    for name, record in kept:
        qkey, fkey = question_key(record), fact_key(record)
        if len(answers_by_question[qkey]) > 1:
            sel.rejected["conflicting_answers"] += 1
        elif qkey in seen_questions:
            sel.rejected["duplicate_question"] += 1
        elif fkey in seen_facts:
            sel.rejected["duplicate_fact"] += 1
        else:
            seen_questions.add(qkey)
            seen_facts.add(fkey)
            pools[name].append(record)
    for entry in preset.tasks:
        pool = pools[entry.name]
        sel.candidates[entry.name] = len(pool)
        want = quotas[entry.name]
        chosen, classes = _balanced(pool, want, random.Random(f"{seed}/{entry.name}"))
        sel.chosen[entry.name] = chosen
        sel.rejected["over_quota"] += len(pool) - len(chosen)
        sel.classes[entry.name] = dict(sorted(classes.items()))
        if len(chosen) < want:
            sel.shortfall[entry.name] = want - len(chosen)
    return sel


def quotas_for(preset: Preset, scale: float = 1.0, n_per_task: int | None = None) -> dict[str, int]:
    """Items wanted per preset task: the preset's counts times `scale` (at least 1), or n_per_task for all."""
    if n_per_task is not None:
        if n_per_task < 1:
            raise ValueError("n_per_task must be >= 1")
        return {t.name: n_per_task for t in preset.tasks}
    if not scale > 0:
        raise ValueError("scale must be > 0")
    return {t.name: max(1, round(t.n * scale)) for t in preset.tasks}


def source_tasks(preset: Preset) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.source_task for t in preset.tasks))


def preset_formats(preset: Preset) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for t in preset.tasks for f in t.formats))


def task_weights(preset: Preset, quotas: dict[str, int]) -> tuple[tuple[str, float], ...]:
    """Generation weights per source task, proportional to the quotas it serves."""
    weights: Counter = Counter()
    for t in preset.tasks:
        weights[t.source_task] += quotas[t.name]
    return tuple((name, float(w)) for name, w in weights.items())


def _entry_for(preset: Preset, name: str) -> PresetTask:
    return next(t for t in preset.tasks if t.name == name)


def chosen_in_order(sel: Selection, preset: Preset) -> Sequence[tuple[PresetTask, dict[str, Any]]]:
    """(preset task, record) pairs in preset order, then selection order."""
    return [
        (_entry_for(preset, name), r) for name in (t.name for t in preset.tasks) for r in sel.chosen[name]
    ]
