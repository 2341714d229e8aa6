"""A benchmark item: one question as a model sees it, its reference answer and how it is scored.

A benchmark folder (written by `spatialforge bench build`, bench/builder/pipeline.py) holds

    benchmark.json   manifest: name, preset, item count per task, totals definition, build config
    items.jsonl      one BenchItem per line (this module)
    images/          the images the items show, named by content hash (plain and marked copies)
    captures.json    the capture ids the benchmark uses (the leakage guard's list for training runs)
    datasheet.md     composition, sources, licences, answer balance, what was filtered and why

An item is self-contained: the question text already lists the options of a multiple-choice question, the
images are paths relative to the benchmark folder, and `scoring` is the rule the scoring core applies
(bench/rules.py). A multi-image item lists its images in the order the question numbers them ("image 1" is
images[0], the main view of a multi-view question); a model is shown them in that order. An image with
markers is a copy showing that image's markers only; `extra.marked_images` holds the indices of those
copies, `extra.view_ids` the scene view of every image. `prediction_item` turns a model reply into the
scoring core's PredictionItem.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from spatialforge.bench.items import PredictionItem
from spatialforge.bench.rules import ANSWER_TYPES, ScoringRule
from spatialforge.errors import RecordError

BENCH_ITEMS_FILE = "items.jsonl"
BENCH_MANIFEST_FILE = "benchmark.json"
BENCH_CAPTURES_FILE = "captures.json"
BENCH_ITEM_VERSION = 1


@dataclass(frozen=True)
class BenchItem:
    """One benchmark question.

    question: the text shown to the model (options included for multiple choice); images: paths relative to
    the benchmark folder, in the order the question refers to them; choices: (label, text) pairs, () unless
    the question is multiple choice; answer: the reference answer as text; answer_value: the machine value
    (option letter, bool, SI number - metres, cubic metres, radians - a count, or a list for vectors); unit:
    the unit of answer_value ("m", "m^3", "rad") or None; scoring: the rule the scoring core applies;
    group: the preset's reporting column ("3D distance", ...), None when the preset has none;
    objects: {"category", "role"} of each object the question names.
    """

    id: str
    task: str
    level: int | None  # None: a published benchmark's item (its tasks are not on our level scale)
    format: str
    question: str
    images: tuple[str, ...]
    choices: tuple[tuple[str, str], ...]
    answer: str
    answer_value: Any
    unit: str | None
    scoring: ScoringRule
    group: str | None = None
    difficulty: str | None = None
    source: str | None = None
    license: str | None = None
    capture_id: str | None = None
    scene_id: str | None = None
    qa_id: str | None = None
    template_id: str | None = None
    objects: tuple[dict[str, str], ...] = ()
    version: int = BENCH_ITEM_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def options(self) -> dict[str, str] | None:
        return {label: text for label, text in self.choices} or None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "id": self.id,
            "task": self.task,
            "level": self.level,
            "format": self.format,
            "group": self.group,
            "difficulty": self.difficulty,
            "question": self.question,
            "images": list(self.images),
            "choices": [{"label": label, "text": text} for label, text in self.choices],
            "answer": self.answer,
            "answer_value": list(self.answer_value)
            if isinstance(self.answer_value, tuple)
            else self.answer_value,
            "unit": self.unit,
            "scoring": {
                "answer_type": self.scoring.answer_type,
                "metric": self.scoring.metric,
                "parse": self.scoring.parse,
                "params": self.scoring.params,
            },
            "source": self.source,
            "license": self.license,
            "capture_id": self.capture_id,
            "scene_id": self.scene_id,
            "qa_id": self.qa_id,
            "template_id": self.template_id,
            "objects": [dict(o) for o in self.objects],
            "extra": self.extra,
        }

    def prediction_item(self, reply: str) -> PredictionItem:
        """The scoring core's view of this item answered by `reply` (bench/rules.py reads its gold)."""
        gold: Any = self.answer_value
        if isinstance(gold, list):
            gold = tuple(gold)
        return PredictionItem(
            item_id=self.id,
            task=self.task,
            prediction=reply,
            gold=gold,
            options=self.options,
            gold_unit=self.unit if self.scoring.answer_type in ("number", "angle") else None,
            # A published benchmark's scoring group (3DSRBench CircularEval / FlipEval) and the fields its
            # official totals read (CV-Bench "source"): bench/published/importer.py writes them into extra.
            group=self.extra.get("score_group"),
            meta={
                "level": self.level,
                "group": self.group,
                "format": self.format,
                **self.extra.get("score_meta", {}),
            },
        )


def _require(record: dict[str, Any], key: str, kinds: type | tuple[type, ...], where: dict[str, str]) -> Any:
    if key not in record:
        raise RecordError("missing_field", f"no {key!r}", field=key, **where)
    value = record[key]
    if not isinstance(value, kinds) or isinstance(value, bool) and bool not in _as_tuple(kinds):
        raise RecordError("wrong_type", f"{key!r} has type {type(value).__name__}", field=key, **where)
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _check_finite(value: Any, where: dict[str, str]) -> None:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            raise RecordError("invalid_value", "answer_value is not finite", field="answer_value", **where)


def _check_image_path(path: str, where: dict[str, str]) -> None:
    """Images must stay inside the benchmark folder: relative POSIX paths without '..' (hostile files)."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or ":" in parts[0] or ".." in parts or "" in parts:
        raise RecordError(
            "invalid_value",
            f"image path {path!r} must be relative and inside the benchmark folder",
            field="images",
            **where,
        )


def _check_shapes(record: dict[str, Any], scoring: dict[str, Any], where: dict[str, str]) -> None:
    """Optional fields of the wrong shape would fail later as a TypeError naming neither file nor line."""
    for key, value in (
        ("extra", record.get("extra")),
        ("scoring.parse", scoring.get("parse")),
        ("scoring.params", scoring.get("params")),
    ):
        if value is not None and not isinstance(value, dict):
            raise RecordError("wrong_type", f"{key} must be an object", field=key, **where)
    objects = record.get("objects")
    if objects is not None and (
        not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects)
    ):
        raise RecordError("wrong_shape", "objects must be a list of objects", field="objects", **where)


def _check_scorable(item: BenchItem, where: dict[str, str]) -> None:
    """The scoring core can use the item's metric and gold: a bad benchmark is refused when it is read,
    before a model is asked anything, not when the run is scored."""
    from spatialforge.bench.rules import gold_value, known_metric

    if not known_metric(item.scoring.metric):
        raise RecordError(
            "invalid_value", f"unknown metric {item.scoring.metric!r}", field="scoring.metric", **where
        )
    if len(dict(item.choices)) != len(item.choices):
        raise RecordError("invalid_value", "choice labels repeat", field="choices", **where)
    try:
        gold_value(item.prediction_item(""), item.scoring)
    except ValueError as e:
        raise RecordError("invalid_value", str(e), field="answer_value", **where) from None


def item_from_json(record: Any, *, file: str, line: int) -> BenchItem:
    """Parse one items.jsonl line (already decoded); RecordError names the file, line and field."""
    where = {"file": file, "record": f"line {line}"}
    if not isinstance(record, dict):
        raise RecordError("wrong_type", "each line must be a JSON object", **where)
    item_id = _require(record, "id", str, where)
    where = {"file": file, "record": f"line {line} (id {item_id})"}
    if record.get("version", BENCH_ITEM_VERSION) != BENCH_ITEM_VERSION:
        raise RecordError(
            "unsupported_version", f"item version {record.get('version')!r}", field="version", **where
        )
    scoring = _require(record, "scoring", dict, where)
    answer_type = scoring.get("answer_type")
    if answer_type not in ANSWER_TYPES:
        raise RecordError(
            "invalid_value",
            f"scoring.answer_type {answer_type!r} is not one of {sorted(ANSWER_TYPES)}",
            field="scoring.answer_type",
            **where,
        )
    if not isinstance(scoring.get("metric"), str) or not scoring["metric"]:
        raise RecordError("missing_field", "no scoring.metric", field="scoring.metric", **where)
    images = _require(record, "images", list, where)
    if not images or not all(isinstance(p, str) for p in images):
        raise RecordError(
            "invalid_value", "images must be a non-empty list of paths", field="images", **where
        )
    for path in images:
        _check_image_path(path, where)
    choices_raw = record.get("choices") or []
    try:
        choices = tuple((str(c["label"]), str(c["text"])) for c in choices_raw)
    except (TypeError, KeyError):
        raise RecordError(
            "wrong_shape", "choices must be [{label, text}, ...]", field="choices", **where
        ) from None
    if "answer_value" not in record or record["answer_value"] is None:
        raise RecordError("missing_field", "no answer_value", field="answer_value", **where)
    _check_finite(record["answer_value"], where)
    _check_shapes(record, scoring, where)
    item = BenchItem(
        id=item_id,
        task=_require(record, "task", str, where),
        level=_require(record, "level", (int, type(None)), where),
        format=_require(record, "format", str, where),
        question=_require(record, "question", str, where),
        images=tuple(images),
        choices=choices,
        answer=str(record.get("answer", "")),
        answer_value=record["answer_value"],
        unit=record.get("unit"),
        scoring=ScoringRule(
            answer_type,
            scoring["metric"],
            dict(scoring.get("parse") or {}),
            dict(scoring.get("params") or {}),
        ),
        group=record.get("group"),
        difficulty=record.get("difficulty"),
        source=record.get("source"),
        license=record.get("license"),
        capture_id=record.get("capture_id"),
        scene_id=record.get("scene_id"),
        qa_id=record.get("qa_id"),
        template_id=record.get("template_id"),
        objects=tuple(dict(o) for o in record.get("objects") or ()),
        extra=dict(record.get("extra") or {}),
    )
    _check_scorable(item, where)
    return item


def iter_bench_items(bench_dir: str | Path) -> Iterator[BenchItem]:
    """Every item of a benchmark folder, in file order; a bad line raises RecordError (file, line, field),
    as does an id seen twice."""
    path = Path(bench_dir) / BENCH_ITEMS_FILE
    if not path.is_file():
        raise RecordError("missing_file", "not a benchmark folder (no items.jsonl)", file=str(path))
    seen: set[str] = set()
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as e:
                raise RecordError("invalid_json", str(e), file=str(path), record=f"line {n}") from None
            item = item_from_json(record, file=str(path), line=n)
            if item.id in seen:
                raise RecordError(
                    "duplicate_id", f"item id {item.id!r} appears twice", file=str(path), record=f"line {n}"
                )
            seen.add(item.id)
            yield item


def read_bench_items(bench_dir: str | Path) -> list[BenchItem]:
    return list(iter_bench_items(bench_dir))


def read_manifest(bench_dir: str | Path) -> dict[str, Any]:
    path = Path(bench_dir) / BENCH_MANIFEST_FILE
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise RecordError(
            "missing_file", "not a benchmark folder (no benchmark.json)", file=str(path)
        ) from None
    except orjson.JSONDecodeError as e:
        raise RecordError("invalid_json", str(e), file=str(path)) from None
