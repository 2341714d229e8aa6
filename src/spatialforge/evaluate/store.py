"""The on-disk cache of an evaluation run's replies: an append-only JSONL file, one line per answered item.

Every reply is written and flushed as it arrives, so a killed run keeps all of them (the operating system
holds flushed bytes even when the process dies; an fsync at most every `FSYNC_SECONDS` and on close bounds
what a power cut could take). A run killed in the middle of a write leaves a torn last line: `load` cuts it
off (the item is then asked again) and counts it, so a resumed run never reads half a record or appends
after one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson

from spatialforge.errors import RecordError

FSYNC_SECONDS = 1.0


class PredictionStore:
    """predictions.jsonl of one run: `load` what is there, then `append` replies (one thread writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.torn_lines = 0
        self._fh: Any = None
        self._last_sync = 0.0

    def load(self) -> dict[str, dict[str, Any]]:
        """The records already on disk by item id; cuts off a torn tail. A complete line that is not a
        record, or an id written twice, means the file was edited by hand: RecordError naming the line."""
        records: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return records
        data = self.path.read_bytes()
        good_end = 0
        for n, line in enumerate(data.splitlines(keepends=True), start=1):
            complete = line.endswith(b"\n")
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                if not complete:  # the write a kill interrupted
                    self.torn_lines += 1
                    break
                raise RecordError(
                    "invalid_json", "not a JSON line", file=str(self.path), record=f"line {n}"
                ) from None
            if not complete:  # parsed, but without its newline: rewrite it whole
                self.torn_lines += 1
                break
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                raise RecordError(
                    "missing_field", "a prediction needs an id", file=str(self.path), record=f"line {n}"
                )
            if record["id"] in records:
                raise RecordError(
                    "duplicate_id",
                    f"item {record['id']!r} answered twice",
                    file=str(self.path),
                    record=f"line {n}",
                )
            records[record["id"]] = record
            good_end += len(line)
        if good_end < len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(good_end)
        return records

    def append(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            self._fh = open(self.path, "ab")
        self._fh.write(orjson.dumps(record) + b"\n")
        self._fh.flush()
        now = time.monotonic()
        if now - self._last_sync >= FSYNC_SECONDS:
            os.fsync(self._fh.fileno())
            self._last_sync = now

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
