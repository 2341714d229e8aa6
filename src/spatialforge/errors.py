"""One error type for bad input, naming the file, the record and the field.

Every adapter, reader and validator raises `RecordError` (or yields it, for a record that can be
skipped) so that the CLI can either stop with a clear message or count the record under `reason`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class RecordError(ValueError):
    """A record that cannot be turned into a trustworthy Scene.

    reason: a short snake_case code, stable across versions, used as the skip counter's key.
    file / record / field: where the problem is; any may be None when it does not apply.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        file: str | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.detail = message
        self.file = file
        self.record = record
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.field is not None:
            where.append(f"field {self.field}")
        location = ", ".join(where) if where else "input"
        return f"{location}: {self.detail} [{self.reason}]"

    def located(self, *, file: str | None = None, record: str | None = None) -> RecordError:
        """Return a copy that fills in the file / record where they were not known yet."""
        return RecordError(
            self.reason,
            self.detail,
            file=self.file if self.file is not None else file,
            record=self.record if self.record is not None else record,
            field=self.field,
        )


def refuse_unknown_keys(data: Mapping[str, Any], known: Iterable[str], *, file: str | None = None) -> None:
    """RecordError unknown_field naming the first key of `data` not in `known` (a config typo would
    otherwise be ignored silently)."""
    known = set(known)
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecordError(
            "unknown_field", f"unknown keys {unknown}; known: {sorted(known)}", file=file, field=unknown[0]
        )
