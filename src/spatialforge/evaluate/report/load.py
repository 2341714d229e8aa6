"""Reading an evaluation output folder (evaluate/run.py) for the reports, checking what the reports rely on.

The folder holds eval.json, tables.json, predictions.jsonl, failures.jsonl and score/items.jsonl. A missing
file, a line that is not a JSON object or a field of the wrong type raises RecordError naming the file, the
line and the field: a report is never drawn from numbers it could not read. Optional inputs (failures,
the benchmark's questions) that cannot be read are reported in the page, not guessed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from spatialforge.errors import RecordError

EVAL_FILE = "eval.json"
TABLES_FILE = "tables.json"
PREDICTIONS_FILE = "predictions.jsonl"
FAILURES_FILE = "failures.jsonl"
DECISIONS_FILE = "score/items.jsonl"
BENCH_ITEMS_FILE = "items.jsonl"
NO_LEVEL = 10**9  # sorts tasks without a level after every level


@dataclass(frozen=True)
class Row:
    """One line of a per-level or per-group table (scores 0..1)."""

    key: str
    n: int
    score: float
    ci: tuple[float, float] | None


@dataclass(frozen=True)
class TaskRow:
    task: str
    level: int | None
    group: str | None
    metric: str
    n: int
    score: float
    ci: tuple[float, float] | None
    chance: float | None
    frequency: float | None
    parse_status: dict[str, int]

    @property
    def sort_key(self) -> tuple[int, str]:
        return (NO_LEVEL if self.level is None else self.level, self.task)


@dataclass(frozen=True)
class Tables:
    n_items: int
    answered: int
    unanswered: int
    totals: dict[str, float]
    tasks: list[TaskRow]  # sorted by level, then name
    levels: list[Row]
    groups: list[Row]


@dataclass
class EvalFolder:
    """What the reports read of one evaluation folder."""

    path: Path
    meta: dict[str, Any]  # eval.json
    tables: Tables
    failures: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be shown, and why

    def section(self, key: str) -> dict[str, Any]:
        value = self.meta.get(key)
        return value if isinstance(value, dict) else {}


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError(
            "missing_file", "not found (is this an evaluation output folder?)", file=str(path)
        ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordError("invalid_json", str(e), file=str(path)) from None
    if not isinstance(value, dict):
        raise RecordError("wrong_type", "must hold a JSON object", file=str(path))
    return value


def _decode_line(line: bytes, path: Path, n: int) -> Any:
    """orjson for speed; the json module for what Python's encoder writes and orjson refuses (NaN)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RecordError("invalid_json", str(e), file=str(path), record=f"line {n}") from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; RecordError for a line that is not a JSON object."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise RecordError("missing_file", "not found", file=str(path)) from None
    with fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            value = _decode_line(line, path, n)
            if not isinstance(value, dict):
                raise RecordError(
                    "wrong_type", "each line must be a JSON object", file=str(path), record=f"line {n}"
                )
            yield n, value


def _fraction(value: Any, *, file: Path, record: str, name: str, optional: bool = False) -> float | None:
    """A score in 0..1 (a small float tolerance for rounding)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(
            "wrong_type",
            f"{name} must be a finite number, got {value!r}",
            file=str(file),
            record=record,
            field=name,
        )
    if not -1e-9 <= value <= 1 + 1e-9:
        raise RecordError(
            "invalid_value",
            f"{name} must lie in 0..1 (scores are fractions), got {value!r}",
            file=str(file),
            record=record,
            field=name,
        )
    return float(value)


def _count(value: Any, *, file: Path, record: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(
            "wrong_type", f"{name} must be a count, got {value!r}", file=str(file), record=record, field=name
        )
    return value


def _ci(value: Any, *, file: Path, record: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RecordError(
            "wrong_shape", f"ci must be [low, high], got {value!r}", file=str(file), record=record, field="ci"
        )
    lo = _fraction(value[0], file=file, record=record, name="ci")
    hi = _fraction(value[1], file=file, record=record, name="ci")
    assert lo is not None and hi is not None
    return (lo, hi)


def _task_row(entry: Any, file: Path, i: int) -> TaskRow:
    record = f"tasks[{i}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("task"), str):
        raise RecordError(
            "wrong_shape", "each task entry needs a task name", file=str(file), record=record, field="task"
        )
    record = f"tasks[{i}] ({entry['task']})"
    level = entry.get("level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
        raise RecordError(
            "wrong_type",
            f"level must be an integer, got {level!r}",
            file=str(file),
            record=record,
            field="level",
        )
    statuses = entry.get("parse_status") or {}
    if not isinstance(statuses, dict):
        raise RecordError(
            "wrong_type",
            "parse_status must map status to count",
            file=str(file),
            record=record,
            field="parse_status",
        )
    score = _fraction(entry.get("score"), file=file, record=record, name="score")
    assert score is not None
    return TaskRow(
        task=entry["task"],
        level=level,
        group=None if entry.get("group") is None else str(entry["group"]),
        metric=str(entry.get("metric", "")),
        n=_count(entry.get("n"), file=file, record=record, name="n"),
        score=score,
        ci=_ci(entry.get("ci"), file=file, record=record),
        chance=_fraction(entry.get("chance"), file=file, record=record, name="chance", optional=True),
        frequency=_fraction(
            entry.get("frequency"), file=file, record=record, name="frequency", optional=True
        ),
        parse_status={
            str(k): _count(v, file=file, record=record, name=f"parse_status.{k}") for k, v in statuses.items()
        },
    )


def _rows(entries: Any, key: str, file: Path) -> list[Row]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise RecordError("wrong_type", f"{key}s must be a list", file=str(file), field=f"{key}s")
    rows = []
    for i, entry in enumerate(entries):
        record = f"{key}s[{i}]"
        if not isinstance(entry, dict) or entry.get(key) is None:
            raise RecordError(
                "wrong_shape", f"each entry needs {key!r}", file=str(file), record=record, field=key
            )
        score = _fraction(entry.get("score"), file=file, record=record, name="score")
        assert score is not None
        rows.append(
            Row(
                key=str(entry[key]),
                n=_count(entry.get("n"), file=file, record=record, name="n"),
                score=score,
                ci=_ci(entry.get("ci"), file=file, record=record),
            )
        )
    return rows


def read_tables(path: Path) -> Tables:
    data = _read_json_object(path)
    totals_raw = data.get("totals") or {}
    if not isinstance(totals_raw, dict):
        raise RecordError("wrong_type", "totals must be an object", file=str(path), field="totals")
    totals = {}
    for k, v in totals_raw.items():
        value = _fraction(v, file=path, record="totals", name=str(k), optional=True)
        if value is not None:
            totals[str(k)] = value
    tasks_raw = data.get("tasks")
    if not isinstance(tasks_raw, list):
        raise RecordError("missing_field", "no tasks list", file=str(path), field="tasks")
    tasks = sorted((_task_row(e, path, i) for i, e in enumerate(tasks_raw)), key=lambda t: t.sort_key)
    levels = _rows(data.get("levels"), "level", path)
    levels.sort(key=lambda r: (int(r.key) if r.key.lstrip("-").isdigit() else NO_LEVEL, r.key))
    return Tables(
        n_items=_count(data.get("n_items"), file=path, record="", name="n_items"),
        answered=_count(data.get("answered"), file=path, record="", name="answered"),
        unanswered=_count(data.get("unanswered"), file=path, record="", name="unanswered"),
        totals=totals,
        tasks=tasks,
        levels=levels,
        groups=_rows(data.get("groups"), "group", path),
    )


def read_eval_folder(path: Path) -> EvalFolder:
    """eval.json, tables.json and failures.jsonl (optional) of an evaluation folder."""
    path = Path(path)
    if not path.is_dir():
        raise RecordError("missing_file", "not a folder", file=str(path))
    folder = EvalFolder(
        path=path, meta=_read_json_object(path / EVAL_FILE), tables=read_tables(path / TABLES_FILE)
    )
    failures = path / FAILURES_FILE
    if failures.is_file():
        folder.failures = [record for _, record in iter_jsonl(failures)]
    return folder


@dataclass(frozen=True)
class Decision:
    """One line of score/items.jsonl, checked: the fields every report uses, plus the raw record."""

    item_id: str
    task: str
    score: float
    parse_status: str
    record: dict[str, Any]


def iter_decisions(folder: Path) -> Iterator[Decision]:
    path = Path(folder) / DECISIONS_FILE
    for n, record in iter_jsonl(path):
        where = f"line {n}"
        item_id, task, status = record.get("id"), record.get("task"), record.get("parse_status")
        for name, value in (("id", item_id), ("task", task), ("parse_status", status)):
            if not isinstance(value, str):
                raise RecordError(
                    "missing_field", f"no {name} (string)", file=str(path), record=where, field=name
                )
        score = _fraction(record.get("score"), file=path, record=f"{where} (id {item_id})", name="score")
        assert (
            score is not None
            and isinstance(item_id, str)
            and isinstance(task, str)
            and isinstance(status, str)
        )
        yield Decision(item_id=item_id, task=task, score=score, parse_status=status, record=record)


def lookup_field(path: Path, ids: Iterable[str], key: str) -> dict[str, Any]:
    """record[key] of the records of path whose "id" is in ids (one pass; later lines win)."""
    wanted = set(ids)
    found: dict[str, Any] = {}
    if not wanted:
        return found
    for _, record in iter_jsonl(path):
        item_id = record.get("id")
        if isinstance(item_id, str) and item_id in wanted:
            found[item_id] = record.get(key)
    return found


def answered_ids(folder: Path) -> set[str]:
    """Ids with a reply in predictions.jsonl (items whose backend failed are not there)."""
    path = Path(folder) / PREDICTIONS_FILE
    ids = set()
    for n, record in iter_jsonl(path):
        item_id = record.get("id")
        if not isinstance(item_id, str):
            raise RecordError(
                "missing_field", "no id (string)", file=str(path), record=f"line {n}", field="id"
            )
        ids.add(item_id)
    return ids


def benchmark_items_path(folder: EvalFolder) -> Path | None:
    """The benchmark's items.jsonl named by eval.json (as recorded, or relative to the eval folder)."""
    recorded = folder.section("benchmark").get("path")
    if not isinstance(recorded, str) or not recorded:
        return None
    for base in (Path(recorded), folder.path / recorded):
        if (base / BENCH_ITEMS_FILE).is_file():
            return base / BENCH_ITEMS_FILE
    return None


def read_questions(folder: EvalFolder, ids: Iterable[str]) -> dict[str, str]:
    """Question texts of the given items from the benchmark folder; a note on the folder when not readable
    (the report then shows ids only)."""
    wanted = set(ids)
    if not wanted:
        return {}
    path = benchmark_items_path(folder)
    if path is None:
        recorded = folder.section("benchmark").get("path")
        folder.notes.append(f"benchmark items not found at {recorded!r}: questions are not shown, ids only")
        return {}
    try:
        found = lookup_field(path, wanted, "question")
    except RecordError as e:
        folder.notes.append(f"benchmark items could not be read ({e}): questions are not shown, ids only")
        return {}
    return {k: str(v) for k, v in found.items() if v is not None}
