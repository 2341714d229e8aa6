"""Leakage report between any two datasets: what a training set and a benchmark share.

A dataset is read as the identities it holds, whatever its form:
- a scene file (`*.scenes.jsonl` / any Scene JSONL),
- a QA file or generate run (our QA records: `data.jsonl`, or the run folder holding it),
- a benchmark folder (`items.jsonl` + `images/`),
- an exclusion list (exclusions.py: capture ids, scene ids, images).

Overlaps are reported per kind: capture ids (the split unit: any shared capture is leakage), scene ids, image
keys (last path parts, exclusions.image_key: the same photo read by two adapters) and, with `hash_images`,
image content (sha256 of the file bytes: the same pixels under different names). The report lists counts
and up to `MAX_EXAMPLES` examples per kind; `leaked` is true when any kind overlaps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from spatialforge.bench.builder.exclusions import image_key, load_exclusion_list
from spatialforge.bench.builder.items import BENCH_ITEMS_FILE, iter_bench_items
from spatialforge.errors import RecordError
from spatialforge.files import sha256_of
from spatialforge.scene.io import iter_scene_lines

MAX_EXAMPLES = 20
KINDS = ("capture_id", "scene_id", "image_key", "image_sha256")


@dataclass
class DatasetIds:
    path: str
    form: str
    ids: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    skipped: dict[str, int] = field(default_factory=dict)
    unreadable_images: int = 0

    def count_skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _add_hash(ds: DatasetIds, path: Path) -> None:
    try:
        ds.ids["image_sha256"].add(sha256_of(path))
    except OSError:
        ds.unreadable_images += 1


def _read_scenes(path: Path, hash_images: bool) -> DatasetIds:
    ds = DatasetIds(str(path), "scenes")
    for entry in iter_scene_lines(path):
        if isinstance(entry, RecordError):
            ds.count_skip(entry.reason)
            continue
        ds.ids["capture_id"].add(entry.capture_id)
        ds.ids["scene_id"].add(entry.scene_id)
        for view in entry.views:
            ds.ids["image_key"].add(image_key(view.image_path))
            if hash_images:
                try:
                    _add_hash(ds, entry.resolve(view.image_path))
                except ValueError:
                    ds.unreadable_images += 1
    return ds


def _json_lines(path: Path) -> Iterator[dict[str, Any] | None]:
    with open(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield None
                continue
            yield record if isinstance(record, dict) else None


def _read_qa(path: Path) -> DatasetIds:
    ds = DatasetIds(str(path), "qa")
    for record in _json_lines(path):
        if record is None or "capture_id" not in record:
            ds.count_skip("not_a_qa_record")
            continue
        ds.ids["capture_id"].add(str(record["capture_id"]))
        ds.ids["scene_id"].add(str(record.get("scene_id")))
        for image in record.get("images") or []:
            if isinstance(image, dict) and isinstance(image.get("path"), str):
                ds.ids["image_key"].add(image_key(image["path"]))
    return ds


def _read_benchmark(folder: Path, hash_images: bool) -> DatasetIds:
    ds = DatasetIds(str(folder), "benchmark")
    for item in iter_bench_items(folder):
        if item.capture_id:
            ds.ids["capture_id"].add(item.capture_id)
        if item.scene_id:
            ds.ids["scene_id"].add(item.scene_id)
        for original in item.extra.get("source_images", []):
            ds.ids["image_key"].add(image_key(original))
        if hash_images:
            for rel in item.images:
                if not item.extra.get("marked"):
                    _add_hash(ds, folder / rel)
    return ds


def _read_exclusions(path: Path) -> DatasetIds:
    lst = load_exclusion_list(path)
    ds = DatasetIds(str(path), "exclusion_list")
    ds.ids["capture_id"] |= set(lst.capture_ids)
    ds.ids["scene_id"] |= set(lst.scene_ids)
    ds.ids["image_key"] |= set(lst.image_keys)
    return ds


def read_dataset_ids(path: str | Path, *, hash_images: bool = False) -> DatasetIds:
    """Identities of a scene file, QA file / generate run, benchmark folder or exclusion list (by content)."""
    p = Path(path)
    if p.is_dir():
        if (p / BENCH_ITEMS_FILE).is_file() and (p / "benchmark.json").is_file():
            return _read_benchmark(p, hash_images)
        if (p / "data.jsonl").is_file():
            return _read_qa(p / "data.jsonl")
        raise RecordError("unknown_dataset", "a folder must be a benchmark or a generate run", file=str(p))
    if not p.is_file():
        raise RecordError("missing_file", "no such file", file=str(p))
    if p.suffix in (".txt", ".json"):
        return _read_exclusions(p)
    first = next(_json_lines(p), None)
    if first is not None and "views" in first:
        return _read_scenes(p, hash_images)
    if first is not None and "question" in first:
        return _read_qa(p)
    raise RecordError("unknown_dataset", "neither scenes nor QA records", file=str(p))


def leakage_report(a: DatasetIds, b: DatasetIds) -> dict[str, Any]:
    overlaps = {}
    for kind in KINDS:
        shared = a.ids[kind] & b.ids[kind]
        overlaps[kind] = {
            "a": len(a.ids[kind]),
            "b": len(b.ids[kind]),
            "shared": len(shared),
            "examples": sorted(shared)[:MAX_EXAMPLES],
        }
    return {
        "a": {"path": a.path, "form": a.form, "skipped": a.skipped, "unreadable_images": a.unreadable_images},
        "b": {"path": b.path, "form": b.form, "skipped": b.skipped, "unreadable_images": b.unreadable_images},
        "overlaps": overlaps,
        "leaked": any(o["shared"] for o in overlaps.values()),
    }
