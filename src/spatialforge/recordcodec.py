"""Strict reading of JSON records: every field checked for presence, type and shape; extras refused.

Scene and QA records (and anything else versioned) read their dicts through `FieldReader`, so a missing,
extra or mistyped field is always a RecordError naming its full path (`objects[3].box.rotation`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spatialforge.errors import RecordError

_ABSENT = object()  # a key missing from the record (distinct from a null value)


def float_array(raw: list) -> np.ndarray | None:
    """A JSON array of numbers (nested to any regular shape) as float64, or None when it holds anything else:
    strings ("2" would otherwise convert silently), booleans, nulls, objects or ragged rows."""
    try:
        a = np.asarray(raw)
    except (TypeError, ValueError):  # ragged nesting
        return None
    if a.dtype.kind not in "iuf":
        return None
    return a.astype(float, copy=False)


class FieldReader:
    """Reads one JSON object's fields, raising RecordError with the full field path."""

    def __init__(self, data: Any, path: str, record: str | None, *, schema: str = "") -> None:
        if not isinstance(data, dict):
            raise RecordError(
                "wrong_type",
                f"expected an object, got {type(data).__name__}",
                record=record,
                field=path or None,
            )
        self.data = data
        self.path = path
        self.record = record
        self.seen: set[str] = set()
        self.schema = schema  # named in "unexpected field" messages, e.g. "scene schema v1"

    def _field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, reason: str, key: str, message: str) -> RecordError:
        return RecordError(reason, message, record=self.record, field=self._field(key))

    def get(self, key: str, types: type | tuple[type, ...], optional: bool = False) -> Any:
        self.seen.add(key)
        value = self.data.get(key, _ABSENT)
        # The common case first, in one test: a present value of an accepted type that is not a stray bool
        # (bool is an int subclass; it passes only where bool itself is asked for).
        if isinstance(value, types) and (value.__class__ is not bool or types is bool):
            return value
        if value is _ABSENT:
            raise self.error("missing_field", key, "required field is missing")
        if value is None:
            if optional:
                return None
            raise self.error("missing_field", key, "required field is null")
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise self.error("wrong_type", key, f"expected {types}, got bool")
        if not isinstance(value, types):
            raise self.error("wrong_type", key, f"expected {types}, got {type(value).__name__}")
        return value

    def number(self, key: str, optional: bool = False) -> float | None:
        v = self.get(key, (int, float), optional)
        return None if v is None else float(v)

    def array(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        a = float_array(self.get(key, list))
        if a is None:
            raise self.error("wrong_type", key, "expected numbers")
        if a.shape != shape:
            raise self.error("wrong_shape", key, f"expected shape {shape}, got {a.shape}")
        return a

    def child(self, key: str, optional: bool = False) -> FieldReader | None:
        v = self.get(key, dict, optional)
        return None if v is None else FieldReader(v, self._field(key), self.record, schema=self.schema)

    def children(self, key: str) -> list[FieldReader]:
        items = self.get(key, list)
        return [
            FieldReader(item, f"{self._field(key)}[{i}]", self.record, schema=self.schema)
            for i, item in enumerate(items)
        ]

    def done(self) -> None:
        extra = sorted(set(self.data) - self.seen)
        if extra:
            raise self.error(
                "unknown_field",
                extra[0],
                f"unexpected field(s) {extra}" + (f" ({self.schema})" if self.schema else ""),
            )


def open_record(
    data: Any, record: str | None, *, schema_name: str, version: int, id_key: str
) -> tuple[FieldReader, str]:
    """Start reading a versioned record: check `schema_version`, read its id, and name the record by that id
    when the caller gave no better name (a file line). Returns the reader and the id."""
    r = FieldReader(data, "", record, schema=f"{schema_name} v{version}")
    found = r.get("schema_version", int)
    if found != version:
        raise r.error(
            "unsupported_schema_version",
            "schema_version",
            f"this spatialforge reads {schema_name} v{version}, record is v{found}",
        )
    record_id = r.get(id_key, str)
    r.record = record or record_id
    return r, record_id
