"""Import a published benchmark from its released files into a benchmark folder `spatialforge eval` runs.

    import_published("cvbench", data="~/data/CV-Bench", out="runs/cvbench/benchmark")

The folder has the layout of the benchmarks we build (bench/builder/items.py): items.jsonl, images/ by content
hash, benchmark.json. What differs:
- an item's `question` is the benchmark's official prompt (options and instruction included), so the
  `plain` prompt style sends it verbatim - the default for published benchmarks; the released question
  alone is kept in `extra.question`;
- `level` is None (a published task is not on our level scale);
- benchmark.json names the scoring spec whose totals are the official ones (`scoring`), the loader and its
  version, the data folder and the options (`published`), and the rows not imported, by reason (`skipped`).

An import is an identity (benchmark, loader version, data folder, options): importing again into a folder
that holds the same import does nothing; a folder holding another import is refused, never overwritten.
items.jsonl and benchmark.json are written only when every row has been read, so a failed import leaves
no folder that looks complete.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from spatialforge.bench.benchmarks import get_benchmark
from spatialforge.bench.builder.items import (
    BENCH_ITEMS_FILE,
    BENCH_MANIFEST_FILE,
    BenchItem,
    item_from_json,
)
from spatialforge.bench.builder.pipeline import ImageStore
from spatialforge.bench.published import get_published
from spatialforge.bench.published.base import (
    ImageData,
    LoaderContext,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
)
from spatialforge.errors import RecordError
from spatialforge.files import write_atomic

PUBLISHED_FORMAT_VERSION = 1
# Examples of skipped rows kept per reason in benchmark.json (the counts are complete).
SKIP_EXAMPLES_PER_REASON = 5
# answer_type -> the item's format, as our own benchmarks name formats.
_FORMAT_OF = {"choice": "mcq", "yes_no": "tf"}


@dataclass
class ImportReport:
    name: str
    output: Path
    n_items: int
    per_task: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    images: int = 0
    reused: bool = False
    seconds: float = 0.0


def import_identity(benchmark: PublishedBenchmark, ctx: LoaderContext) -> dict[str, Any]:
    """What makes two imports the same: a folder holding this identity is reused as it is."""
    return {
        "benchmark": benchmark.name,
        "loader_version": benchmark.version,
        "format_version": PUBLISHED_FORMAT_VERSION,
        "data": str(ctx.root),
        "options": dict(sorted(ctx.options.items())),
    }


def _existing(out: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest of the same import already in `out`, None when `out` holds no benchmark; a different
    import (or a benchmark we built) is refused."""
    manifest_path = out / BENCH_MANIFEST_FILE
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text())
    previous = manifest.get("published", {}).get("identity")
    if previous != identity:
        differing = sorted(k for k in identity if (previous or {}).get(k) != identity[k])
        raise ValueError(
            f"{out} already holds another benchmark import (differs in {', '.join(differing) or 'kind'}); "
            "import into a new folder or delete this one"
        )
    if not (out / BENCH_ITEMS_FILE).is_file():
        raise RecordError(
            "missing_file", "benchmark.json without items.jsonl", file=str(out / BENCH_ITEMS_FILE)
        )
    return manifest


def _bench_item(item: PublishedItem, benchmark: PublishedBenchmark, images: list[str]) -> BenchItem:
    extra: dict[str, Any] = {"published": benchmark.name, "question": item.question}
    if item.score_group is not None:
        extra["score_group"] = item.score_group
    if item.score_meta:
        extra["score_meta"] = dict(item.score_meta)
    if item.extra:
        extra["released"] = dict(item.extra)
    return BenchItem(
        id=item.id,
        task=item.task,
        level=None,
        format=_FORMAT_OF.get(item.scoring.answer_type, "free"),
        question=item.prompt,
        images=tuple(images),
        choices=item.choices,
        answer=item.answer,
        answer_value=item.answer_value,
        unit=item.unit,
        scoring=item.scoring,
        group=item.report_group,
        source=benchmark.title,
        license=benchmark.license,
        extra=extra,
    )


def _check_rule(item: BenchItem, benchmark: PublishedBenchmark) -> None:
    """The item's rule is the one the scoring spec gives it: `spatialforge score --benchmark <spec>` on the
    same replies then scores exactly as eval does. A mismatch is a loader bug, not bad data."""
    spec = get_benchmark(benchmark.scoring, benchmark.variant)
    expected = spec.rule_for(item.prediction_item(""))
    if expected != item.scoring:
        raise RuntimeError(
            f"{benchmark.name} loader gave item {item.id} the rule {item.scoring}, "
            f"but the {benchmark.scoring} spec scores it with {expected}"
        )


def _validated(item: BenchItem, position: int) -> tuple[BenchItem, bytes]:
    """The item as items.jsonl will hold it, read back through the reader eval uses, and its line."""
    line = orjson.dumps(item.to_json())
    return item_from_json(orjson.loads(line), file=BENCH_ITEMS_FILE, line=position), line


def import_published(
    name: str, data: str | Path, out: str | Path, options: Mapping[str, str] | None = None
) -> ImportReport:
    """Read benchmark `name` from its released files in `data` into the benchmark folder `out`."""
    start = time.perf_counter()
    benchmark = get_published(name)
    ctx = LoaderContext(benchmark, Path(data).expanduser(), options or {})
    out = Path(out)
    identity = import_identity(benchmark, ctx)
    manifest = _existing(out, identity)
    if manifest is not None:
        return ImportReport(
            name,
            out,
            manifest["n_items"],
            Counter({t["name"]: t["items"] for t in manifest["tasks"]}),
            Counter(manifest.get("skipped", {})),
            images=manifest.get("images", 0),
            reused=True,
            seconds=round(time.perf_counter() - start, 3),
        )
    out.mkdir(parents=True, exist_ok=True)
    store = ImageStore(out)
    items: list[BenchItem] = []
    lines: list[bytes] = []
    seen: set[str] = set()
    skipped: Counter = Counter()
    examples: dict[str, list[dict[str, str]]] = {}

    def skip(item_id: str, reason: str, detail: str) -> None:
        skipped[reason] += 1
        kept = examples.setdefault(reason, [])
        if len(kept) < SKIP_EXAMPLES_PER_REASON:
            kept.append({"id": item_id, "detail": detail})

    for entry in benchmark.load(ctx):
        if isinstance(entry, LoaderSkip):
            skip(entry.item_id, entry.reason, entry.detail)
            continue
        if entry.id in seen:
            skip(entry.id, "duplicate_id", "the id appeared earlier in the released files; the first is kept")
            continue
        try:
            paths = [_store_image(store, image) for image in entry.images]
        except OSError as e:
            skip(entry.id, "unreadable_image", str(e))
            continue
        item = _bench_item(entry, benchmark, paths)
        _check_rule(item, benchmark)
        try:
            # A released gold the rule cannot read (a letter no option has, a NaN) is the row's fault.
            item, line = _validated(item, len(items) + 1)
        except RecordError as e:
            skip(entry.id, e.reason, e.detail)
            continue
        seen.add(entry.id)
        items.append(item)
        lines.append(line + b"\n")
    if not items:
        raise RecordError(
            "no_items",
            f"no {benchmark.title} item could be imported (skipped: {dict(skipped) or 'none'}); "
            f"expected the released files {', '.join(benchmark.files)}",
            file=str(ctx.root),
        )
    per_task = Counter(i.task for i in items)
    write_atomic(out / BENCH_ITEMS_FILE, b"".join(lines))
    manifest = _manifest(benchmark, ctx, identity, items, per_task, skipped, examples, len(store.written))
    write_atomic(out / BENCH_MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
    return ImportReport(
        name,
        out,
        len(items),
        per_task,
        skipped,
        images=len(store.written),
        seconds=round(time.perf_counter() - start, 3),
    )


def _store_image(store: ImageStore, image: Path | ImageData) -> str:
    if isinstance(image, ImageData):
        return store.put(image.data, image.suffix)
    return store.original(image)


def _manifest(
    benchmark: PublishedBenchmark,
    ctx: LoaderContext,
    identity: dict[str, Any],
    items: list[BenchItem],
    per_task: Counter,
    skipped: Counter,
    examples: dict[str, list[dict[str, str]]],
    n_images: int,
) -> dict[str, Any]:
    return {
        "format_version": PUBLISHED_FORMAT_VERSION,
        "name": benchmark.name,
        "preset": None,
        "description": benchmark.title,
        "source": benchmark.upstream,
        "notes": list(benchmark.notes),
        # The spec's own totals are the official numbers (evaluate/tables.py).
        "totals_rule": "official",
        "scoring": {"benchmark": benchmark.scoring, "variant": benchmark.variant},
        "published": {
            "title": benchmark.title,
            "upstream": benchmark.upstream,
            "license": benchmark.license,
            "size": benchmark.size,
            "files": list(benchmark.files),
            "loader_version": benchmark.version,
            "options": dict(ctx.options),
            "identity": identity,
        },
        "n_items": len(items),
        "images": n_images,
        "tasks": [{"name": task, "items": n} for task, n in sorted(per_task.items())],
        "skipped": dict(sorted(skipped.items())),
        "skipped_examples": examples,
    }
