"""Run an adapter over its input and write validated scenes; count every skip by reason."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from spatialforge.errors import RecordError
from spatialforge.scene.io import SceneWriter
from spatialforge.scene.records import Scene
from spatialforge.scene.validate import check_scene
from spatialforge.sources.base import SourceAdapter
from spatialforge.sources.registry import get_source


@dataclass
class IngestReport:
    source: str
    input: str
    output: str
    skip_invalid: bool
    check_files: bool
    written: int = 0
    objects: int = 0
    skipped: Counter = field(default_factory=Counter)
    first_error: dict[str, str] = field(default_factory=dict)
    fatal: str | None = None
    seconds: float = 0.0
    # The adapter options used, and what the adapter counted (frames read / kept / skipped by reason, ...).
    options: dict[str, str] = field(default_factory=dict)
    source_stats: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = dict(sorted(self.skipped.items()))
        d["source_stats"] = dict(sorted(self.source_stats.items()))
        return d


def open_adapter(
    source: str,
    input_path: str | Path,
    options: Mapping[str, str] | None = None,
    output_path: str | Path | None = None,
) -> SourceAdapter:
    """The source's adapter for this input, options checked (RecordError unknown_option / bad_option)."""
    return get_source(source).open(input_path, options or {}, output_path=output_path)


def validated_items(
    source: str,
    input_path: str | Path,
    check_files: bool = True,
    *,
    options: Mapping[str, str] | None = None,
    adapter: SourceAdapter | None = None,
) -> Iterator[Scene | RecordError]:
    """The adapter's stream with each scene passed through the validator."""
    if adapter is None:
        adapter = open_adapter(source, input_path, options)
    for item in adapter.iter_items():
        if isinstance(item, RecordError):
            yield item
            continue
        try:
            yield check_scene(item, check_files=check_files, file=str(input_path))
        except RecordError as e:
            yield e


def ingest(
    source: str,
    input_path: str | Path,
    output_path: str | Path,
    *,
    skip_invalid: bool = False,
    check_files: bool = True,
    on_item: Callable[[IngestReport], None] | None = None,
    options: Mapping[str, str] | None = None,
) -> IngestReport:
    """Write every valid scene to output_path (JSONL) and a `<output>.report.json` beside it.

    Without skip_invalid the first bad record raises its RecordError and nothing is renamed into place
    (the `.partial` file keeps what was written). With skip_invalid bad records are counted by reason,
    and an error that ends the input early is recorded as `fatal` after every good record is written.
    `options` go to the adapter (sources.base: unknown names raise before anything is written).
    """
    report = IngestReport(
        source, str(input_path), str(output_path), skip_invalid, check_files, options=dict(options or {})
    )
    adapter = open_adapter(source, input_path, options, output_path)
    start = time.perf_counter()
    with SceneWriter(output_path) as writer:
        try:
            for item in validated_items(source, input_path, check_files, adapter=adapter):
                if isinstance(item, RecordError):
                    if not skip_invalid:
                        raise item
                    report.skipped[item.reason] += 1
                    report.first_error.setdefault(item.reason, str(item))
                else:
                    writer.write(item)
                    report.written += 1
                    report.objects += len(item.objects)
                if on_item is not None:
                    on_item(report)
        except RecordError as e:
            if not skip_invalid:
                raise
            # The input itself broke (e.g. a truncated JSON file): keep what we have, say so.
            report.fatal = str(e)
            report.skipped[e.reason] += 1
            report.first_error.setdefault(e.reason, str(e))
    report.seconds = round(time.perf_counter() - start, 3)
    report.source_stats = {str(k): int(v) for k, v in adapter.stats.items()}
    Path(str(output_path) + ".report.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return report
