"""`spatialforge export`: a finished generate run -> training-ready files, shard by shard, resumable.

Layout of the export directory:
    config.json                    what decides the files (run dir, its config, ExportOptions); a resume
                                   with another config is refused
    shards/shard-00007.done.json   marker of a finished shard: each writer's ShardStats and the shard's counts
    <writer>/...                   each writer's files (export/<writer>.py)
    marked/                        image copies with markers drawn (shared by LLaVA and chat)
    manifest.json                  every writer's files, samples, records, skips and finalize summary
    datasheet.md / datasheet.json  the dataset's datasheet (export/datasheet.py)

A shard is a bucket of the generate run (engine/runner.py): the bucket's scenes and QA records are read in
lockstep (export/groups.py) and fed to every requested writer. Shards run on the local process pool or on
Ray Data (engine/backends.py); a shard's files depend only on its bucket and the options, so the output is
the same on any backend and for any number of workers. A scene whose image cannot be read is left out of
every writer (counted as "scene_<reason>" with its records), never half written.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spatialforge.export.writers  # noqa: F401 - registers every writer (also in spawned workers)
from spatialforge.engine.backends import Backend, run_jobs
from spatialforge.engine.runner import _bucket_done, _check_or_save_config, _write_json_atomic
from spatialforge.errors import RecordError
from spatialforge.export.base import EXPORT_FORMAT, WRITERS, ExportOptions, ShardContext, ShardStats
from spatialforge.export.datasheet import write_datasheet
from spatialforge.export.groups import SceneGroup, iter_run_bucket
from spatialforge.export.media import MediaCache

SHARDS_DIR = "shards"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ShardJob:
    run_dir: str
    output_dir: str
    bucket: int
    options: ExportOptions


def shard_marker(output_dir: Path, bucket: int) -> Path:
    return output_dir / SHARDS_DIR / f"shard-{bucket:05d}.done.json"


def _load_views(media: MediaCache, group: SceneGroup) -> None:
    """Open every image the group's records show (header and size), so that a missing or foreign file fails
    before any writer wrote; a file whose pixels are corrupt past its header fails in the writer that decodes
    it (the WebDataset writer counts it, the others name it)."""
    for record in group.records:
        for image in record["images"]:
            media.check(image["view_id"])


def export_shard(job: ShardJob) -> dict[str, Any]:
    """Write one shard with every writer of the options; returns (and saves) its marker."""
    output_dir = Path(job.output_dir)
    media = MediaCache(job.options.max_side, job.options.jpeg_quality)
    ctx = ShardContext(output_dir, job.bucket, job.options, media)
    writers = [WRITERS[name](ctx) for name in job.options.writers]
    scenes, records = 0, 0
    skipped: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    try:
        for group in iter_run_bucket(job.run_dir, job.bucket):
            media.start(group.scene)
            try:
                _load_views(media, group)
            except (RecordError, KeyError) as err:
                reason = err.reason if isinstance(err, RecordError) else "unknown_view"
                skipped[f"scene_{reason}"] += len(group.records)
                continue
            scenes += 1
            records += len(group.records)
            sources.update(json.dumps([r["source"], r["license"]]) for r in group.records)
            for writer in writers:
                writer.add(group)
        stats = [writer.close() for writer in writers]
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    marker = {
        "shard": job.bucket,
        "scenes": scenes,
        "records": records,
        "skipped": dict(sorted(skipped.items())),
        "sources": dict(sorted(sources.items())),
        "writers": {s.writer: s.as_dict() for s in stats},
    }
    path = shard_marker(output_dir, job.bucket)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(path, marker)
    return marker


@dataclass(frozen=True)
class ExportReport:
    output_dir: str
    shards: int
    shards_resumed: int
    scenes: int
    records: int
    skipped: dict[str, int]
    writers: dict[str, dict[str, Any]]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _finished_run(run_dir: Path) -> dict[str, Any]:
    config_path = run_dir / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a generate output directory (no config.json)")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    missing = [b for b in range(config["n_buckets"]) if not _bucket_done(run_dir, b)]
    if missing:
        raise ValueError(
            f"{run_dir}: the generate run is not finished ({len(missing)} of {config['n_buckets']} buckets "
            "missing); resume it with the same command first"
        )
    return config


def _summarise(markers: list[dict[str, Any]]) -> tuple[int, int, Counter[str], dict[str, list[ShardStats]]]:
    scenes = sum(m["scenes"] for m in markers)
    records = sum(m["records"] for m in markers)
    skipped: Counter[str] = Counter()
    per_writer: dict[str, list[ShardStats]] = {}
    for m in markers:
        skipped.update(m["skipped"])
        for name, data in m["writers"].items():
            per_writer.setdefault(name, []).append(ShardStats.from_dict(data))
    return scenes, records, skipped, per_writer


def _writer_summary(stats: list[ShardStats], final: dict[str, Any]) -> dict[str, Any]:
    skipped: Counter[str] = Counter()
    extra: dict[str, Any] = {}
    for s in stats:
        skipped.update(s.skipped)
        for key, value in s.extra.items():
            if isinstance(value, dict):
                bucket = extra.setdefault(key, {})
                for k, v in value.items():
                    bucket[k] = bucket.get(k, 0) + v
            elif isinstance(value, (int, float)):
                extra[key] = extra.get(key, 0) + value
    return {
        "samples": sum(s.samples for s in stats),
        "records": sum(s.records for s in stats),
        "bytes": sum(s.bytes for s in stats),
        "skipped": dict(sorted(skipped.items())),
        "extra": extra,
        "files": [f for s in sorted(stats, key=lambda s: s.shard) for f in s.files],
        "final": final,
    }


def run_export(
    run_dir: str | Path,
    output_dir: str | Path,
    options: ExportOptions,
    *,
    backend: Backend | None = None,
) -> ExportReport:
    """Export a finished generate run into output_dir with options.writers (see the module docstring)."""
    start = time.perf_counter()
    run_dir, output_dir = Path(run_dir).resolve(), Path(output_dir).resolve()
    run_config = _finished_run(run_dir)
    if options.image_root is not None and not output_dir.is_relative_to(options.image_root):
        raise ValueError(
            f"--image-root {options.image_root} must contain the export directory {output_dir} "
            "(marked image copies are written there and named relative to the image root)"
        )
    resolved = {
        "export_format": EXPORT_FORMAT,
        "run": {"path": str(run_dir), "config": run_config},
        "options": options.as_dict(),
    }
    _check_or_save_config(output_dir, resolved)
    n = run_config["n_buckets"]
    todo = [b for b in range(n) if not shard_marker(output_dir, b).exists()]
    jobs = [ShardJob(str(run_dir), str(output_dir), b, options) for b in todo]
    run_jobs(export_shard, jobs, backend or Backend())
    markers = [json.loads(shard_marker(output_dir, b).read_text(encoding="utf-8")) for b in range(n)]
    scenes, records, skipped, per_writer = _summarise(markers)
    writers = {}
    for name in options.writers:
        stats = per_writer.get(name, [])
        final = WRITERS[name].finalize(output_dir, options, stats)
        writers[name] = _writer_summary(stats, final)
    report = ExportReport(
        output_dir=str(output_dir),
        shards=n,
        shards_resumed=n - len(todo),
        scenes=scenes,
        records=records,
        skipped=dict(sorted(skipped.items())),
        writers=writers,
        seconds=round(time.perf_counter() - start, 3),
    )
    manifest = {**report.as_dict(), "sources": _sources(markers)}
    _write_json_atomic(output_dir / MANIFEST, manifest)
    write_datasheet(run_dir, output_dir, export=manifest)
    return report


def _sources(markers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for m in markers:
        counts.update(m["sources"])
    out = []
    for key, n in sorted(counts.items()):
        source, license_ = json.loads(key)
        out.append({"source": source, "license": license_, "records": n})
    return out
