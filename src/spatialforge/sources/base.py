"""The adapter interface.

An adapter turns one dataset on disk into a stream of `Scene | RecordError`: a bad record is *yielded* as
a RecordError (so the caller can stop or skip-and-count), a problem that makes the whole input unreadable
is *raised*. Adapters never load a whole dataset into memory: they walk it record by record.

Options: an adapter may accept `key=value` options (`spatialforge ingest --option key=value`), declared in
its `OPTIONS` (name -> one line of help). `SourceAdapter.open` checks the keys before the adapter is built:
an unknown key is a RecordError ("unknown_option") listing the known ones; each adapter checks its own
values ("bad_option"). Adapters without options keep the one-argument constructor. An adapter that writes
files of its own (extracted frames) finds the scenes file being written in `output_path` (None when it is
not run by `ingest`), and may count what it did in `stats` (copied into the ingest report).
"""

from __future__ import annotations

from abc import ABC
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

from spatialforge.errors import RecordError
from spatialforge.scene.records import Scene

UNKNOWN_OPTION = "unknown_option"
BAD_OPTION = "bad_option"


class SourceAdapter(ABC):
    """Base class. Subclasses set `name` and implement `iter_items`, or `record_keys` + `load_record`."""

    name: ClassVar[str]
    # What the source is, in a few words.
    description: ClassVar[str]
    # One line naming the input layout the adapter expects (shown by `spatialforge sources`).
    input_layout: ClassVar[str]
    # Options the adapter understands: name -> help (shown by `spatialforge sources`).
    OPTIONS: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        input_path: str | Path,
        options: Mapping[str, str] | None = None,
        *,
        output_path: str | Path | None = None,
    ) -> None:
        self.input_path = Path(input_path)
        self.options: dict[str, str] = check_option_names(type(self), options or {})
        self.output_path: Path | None = None if output_path is None else Path(output_path)
        self.stats: Counter = Counter()

    @classmethod
    def open(
        cls,
        input_path: str | Path,
        options: Mapping[str, str] | None = None,
        *,
        output_path: str | Path | None = None,
    ) -> SourceAdapter:
        """Build the adapter for an input, checking option names first (see the module docstring)."""
        checked = check_option_names(cls, options or {})
        if not cls.OPTIONS:
            adapter = cls(input_path)  # adapters without options keep their one-argument constructor
        else:
            adapter = cls(input_path, checked, output_path=output_path)
        adapter.output_path = None if output_path is None else Path(output_path)
        return adapter

    def iter_items(self) -> Iterator[Scene | RecordError]:
        """Default: one record per key; errors from `load_record` are yielded with the key as record."""
        for key in self.record_keys():
            try:
                yield self.load_record(key)
            except RecordError as e:
                yield e.located(record=key)

    def record_keys(self) -> Iterator[str]:
        raise NotImplementedError(f"{type(self).__name__} must implement record_keys or iter_items")

    def load_record(self, key: str) -> Scene:
        raise NotImplementedError(f"{type(self).__name__} must implement load_record or iter_items")


def check_option_names(cls: type[SourceAdapter], options: Mapping[str, str]) -> dict[str, str]:
    """The options as a dict; RecordError("unknown_option") naming the known ones for any other key."""
    known = cls.OPTIONS
    for key, value in options.items():
        if key not in known:
            listed = ", ".join(sorted(known)) if known else "none (this source takes no options)"
            raise RecordError(
                UNKNOWN_OPTION,
                f"unknown option {key!r} for source {getattr(cls, 'name', cls.__name__)!r}; known: {listed}",
                field=f"option {key}",
            )
        if not isinstance(value, str):
            raise RecordError(BAD_OPTION, f"option values are strings, got {value!r}", field=f"option {key}")
    return dict(options)


def parse_option_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """["key=value", ...] (the CLI's repeatable --option) -> dict; RecordError if malformed or repeated."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecordError(BAD_OPTION, f"expected key=value, got {pair!r}", field="option")
        if key in out:
            raise RecordError(BAD_OPTION, f"option {key!r} given twice", field=f"option {key}")
        out[key] = value.strip()
    return out


def option_float(
    options: Mapping[str, str], key: str, default: float, *, minimum: float = 0.0, source: str = ""
) -> float:
    """A finite number >= minimum from the options, or the default; RecordError("bad_option") otherwise."""
    raw = options.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value == value and abs(value) != float("inf") and value >= minimum):
        raise RecordError(
            BAD_OPTION,
            f"{source} option {key} must be a number >= {minimum}, got {raw!r}".strip(),
            field=f"option {key}",
        )
    return value


def option_int(
    options: Mapping[str, str], key: str, default: int, *, minimum: int = 1, source: str = ""
) -> int:
    """An integer >= minimum from the options, or the default; RecordError("bad_option") otherwise."""
    raw = options.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise RecordError(
            BAD_OPTION,
            f"{source} option {key} must be an integer >= {minimum}, got {raw!r}".strip(),
            field=f"option {key}",
        )
    return value


def option_choice(options: Mapping[str, str], key: str, choices: tuple[str, ...], *, source: str = "") -> str:
    """One of `choices` (the first is the default); RecordError("bad_option") listing them otherwise."""
    raw = options.get(key, choices[0])
    if raw not in choices:
        raise RecordError(
            BAD_OPTION,
            f"{source} option {key} must be one of {', '.join(choices)}, got {raw!r}".strip(),
            field=f"option {key}",
        )
    return raw
