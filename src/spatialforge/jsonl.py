"""JSONL files of typed records, streamed both ways; shared by scene and QA files.

Writing goes to `<path>.partial`, renamed into place only when the writer closes cleanly, so a killed run
never leaves a file that looks complete. Reading yields the parsed record or the RecordError of a bad line
(file and line named), so callers can stop or skip and count.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

import orjson

from spatialforge.errors import RecordError

T = TypeVar("T")

# One encoder for all lines (json.dumps with options builds one per call; a few percent on a 1 KB line).
# allow_nan=False: a NaN must fail loudly, not become invalid JSON; compact separators keep lines short;
# ensure_ascii=False writes UTF-8 text as is (files are UTF-8).
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)
encode_line: Callable[[Any], str] = _ENCODER.encode


def encode_line_fast(record: Any) -> str:
    """orjson's encoding of a plain dict/list record: about 8x faster than encode_line on QA records, which
    is a quarter of generation time. orjson writes NaN and infinity as null instead of failing, so only
    producers that check their numbers are finite may use it (the QA renderer does, tasks/render.py)."""
    return orjson.dumps(record).decode("utf-8")


# Lines joined into one file write by JsonlWriter.write_all.
WRITE_CHUNK = 1024


class JsonlWriter(Generic[T]):
    """Context manager writing records as JSONL through `to_dict`; atomic rename on clean exit."""

    def __init__(
        self,
        path: str | Path,
        to_dict: Callable[[T], dict[str, Any]],
        encode: Callable[[Any], str] = encode_line,
    ) -> None:
        self.path = Path(path)
        self.encode = encode
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.to_dict = to_dict
        self.count = 0
        self._fh: Any = None

    def __enter__(self) -> JsonlWriter[T]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.partial, "w", encoding="utf-8")
        return self

    def write(self, record: T) -> None:
        assert self._fh is not None, "use the writer as a context manager"
        self._fh.write(self.encode(self.to_dict(record)) + "\n")
        self.count += 1

    def write_all(self, records: Iterable[T]) -> None:
        """Write records in order, WRITE_CHUNK lines per file write (bounded memory for any iterable)."""
        assert self._fh is not None, "use the writer as a context manager"
        encode, to_dict = self.encode, self.to_dict
        it = iter(records)
        while lines := [encode(to_dict(record)) for record in islice(it, WRITE_CHUNK)]:
            self._fh.write("\n".join(lines) + "\n")
            self.count += len(lines)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._fh is not None
        self._fh.close()
        if exc_type is None:
            os.replace(self.partial, self.path)


def _decode_reason(line: str, e: json.JSONDecodeError) -> str:
    """ "truncated_line" for a line cut short (a killed writer), else "invalid_json"."""
    cut = not line.endswith("\n") or "Unterminated" in e.msg
    return (
        "truncated_line" if cut or ("Expecting" in e.msg and e.pos >= len(line.rstrip())) else "invalid_json"
    )


def decode_line(line: str) -> Any:
    """One JSON line: orjson (several times faster on scene lines), else the stdlib parser, which also reads
    NaN and Infinity literals (orjson refuses them) and names the fault of a bad line. Raises
    json.JSONDecodeError. Integers beyond 64 bits come back as floats (orjson's reading), which the strict
    record readers refuse wherever they expect an integer."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def iter_jsonl(path: str | Path, from_dict: Callable[[Any, str], T]) -> Iterator[T | RecordError]:
    """Yield from_dict(line, "line N") for each non-blank line, or the RecordError of a bad line."""
    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"line {line_no}"
            try:
                data = decode_line(line)
            except json.JSONDecodeError as e:
                yield RecordError(
                    _decode_reason(line, e),
                    f"not valid JSON ({e.msg} at column {e.colno})",
                    file=str(path),
                    record=where,
                )
                continue
            try:
                yield from_dict(data, where)
            except RecordError as e:
                yield e.located(file=str(path))
