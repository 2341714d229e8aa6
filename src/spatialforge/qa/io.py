"""QA JSONL files: one QA record per line, streamed both ways (atomic writes, named bad lines: jsonl.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from spatialforge.errors import RecordError
from spatialforge.jsonl import JsonlWriter, iter_jsonl
from spatialforge.qa.records import QARecord, qa_from_dict, qa_to_dict


class QAWriter(JsonlWriter[QARecord]):
    """QA records as JSONL (schema v1), atomic."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, qa_to_dict)


def write_qa(path: str | Path, records: Iterable[QARecord]) -> int:
    """Write all records; returns how many."""
    with QAWriter(path) as w:
        w.write_all(records)
    return w.count


def iter_qa_lines(path: str | Path) -> Iterator[QARecord | RecordError]:
    """Each line's QARecord, or the RecordError for a bad line."""
    return iter_jsonl(path, qa_from_dict)


def read_qa(path: str | Path) -> Iterator[QARecord]:
    """Yield QA records; raise the first RecordError."""
    for item in iter_qa_lines(path):
        if isinstance(item, RecordError):
            raise item
        yield item


def _located_record(data: Any, where: str) -> tuple[str, dict[str, Any]]:
    """(where, record) of one decoded line; a line that is not a QA record raises RecordError."""
    if not isinstance(data, dict) or not isinstance(data.get("scene_id"), str):
        raise RecordError("invalid_value", "not a QA record", record=where, field="scene_id")
    return where, data


def iter_scene_runs(path: str | Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(scene_id, its records as dicts) for each run of consecutive records of one scene of a QA JSONL file.

    Streams: memory holds one scene's records. generate writes a scene's records together, so a scene id seen
    again after another scene is an error (RecordError naming the line), not a silent split; so is a bad line.
    """
    seen: set[str] = set()
    current: str | None = None
    batch: list[dict[str, Any]] = []
    for item in iter_jsonl(path, _located_record):
        if isinstance(item, RecordError):
            raise item
        where, record = item
        scene_id = record["scene_id"]
        if scene_id != current:
            if current is not None:
                yield current, batch
            if scene_id in seen:
                raise RecordError(
                    "invalid_value",
                    f"records of scene {scene_id!r} are not contiguous (generate keeps a scene together)",
                    file=str(path),
                    record=where,
                    field="scene_id",
                )
            seen.add(scene_id)
            current, batch = scene_id, []
        batch.append(record)
    if current is not None:
        yield current, batch
