"""Run a per-scene function over a scenes JSONL file in scene-hash buckets; resumable and worker-agnostic.

Layout of `output_dir`:
    config.json                   the resolved run config; a resume with another config is refused
    split/bucket-00007.scenes.jsonl   the input lines of bucket 7, in input order (one streaming pass)
    split/done.json               marker of a finished split, with the split pass's rejections
    buckets/bucket-00007.jsonl    bucket 7's records (written as .partial, renamed when complete)
    buckets/bucket-00007.done.json    marker of a finished bucket: its counts and rejections
    data.jsonl                    optional merge: the bucket files concatenated in bucket order
    report.json                   records per key value, rejections per reason, totals

A bucket's output depends only on its scenes (input order) and the per-scene function, never on which
worker ran it, so the data is identical for any `workers`; a killed run resumed with the same config skips
buckets with a marker and redoes the rest. Memory is constant in the number of scenes: scenes are streamed
one at a time and records go straight to disk.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spatialforge.engine.backends import Backend, run_jobs
from spatialforge.engine.seeds import bucket_of
from spatialforge.errors import RecordError
from spatialforge.jsonl import JsonlWriter, decode_line, encode_line, encode_line_fast, iter_jsonl
from spatialforge.scene.io import iter_scene_lines
from spatialforge.scene.records import Scene

# Bump when the on-disk layout or the meaning of a bucket changes: old output dirs then refuse to resume.
ENGINE_FORMAT = 1
DEFAULT_BUCKETS = 64
# A record without one of the count keys is counted under this value (never silently dropped).
MISSING = "<missing>"


class ConfigMismatchError(ValueError):
    """output_dir holds a run made with another config; resuming would mix two datasets."""


@dataclass(frozen=True)
class SceneResult:
    """What the per-scene function returns: its records, how many candidates it rejected by reason, and
    any other counts it keeps (tallies: group -> key -> count, summed over the run into the report)."""

    records: Sequence[dict[str, Any]] = ()
    rejected: Mapping[str, int] = field(default_factory=dict)
    tallies: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunReport:
    output_dir: str
    buckets: int
    buckets_resumed: int
    scenes: int
    records: int
    counts: dict[str, dict[str, int]]
    rejected: dict[str, int]
    tallies: dict[str, dict[str, int]]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


ProcessFn = Callable[[Scene, Any], SceneResult]


def dotted_path(fn: ProcessFn | str) -> str:
    """`module:qualname` of a top-level function (what a spawned worker can import), checked."""
    if isinstance(fn, str):
        resolve_function(fn)
        return fn
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if module is None or "." in qualname or "<" in qualname:
        raise ValueError(f"per-scene function must be a top-level function of a module, got {fn!r}")
    path = f"{module}:{qualname}"
    if resolve_function(path) is not fn:
        raise ValueError(f"{path} does not import back to {fn!r}")
    return path


def resolve_function(path: str) -> ProcessFn:
    """Import `module:name` (or `module.name`)."""
    module, sep, name = path.partition(":")
    if not sep:
        module, _, name = path.rpartition(".")
    fn = getattr(importlib.import_module(module), name, None)
    if not callable(fn):
        raise ValueError(f"{path} is not a callable")
    return fn


def _config_dict(config: Any) -> Any:
    if config is None:
        return None
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    raise TypeError(f"config must be a dataclass instance or None, got {type(config).__name__}")


def resolved_config(
    scenes_path: Path,
    process: str,
    n_buckets: int,
    count_keys: Sequence[str],
    config: Any,
    fast_json: bool = False,
) -> dict[str, Any]:
    """Everything that decides the output. Workers and merge do not; the scenes file is named by absolute
    path and size (not hashed: that would cost a full pass on every resume)."""
    return json.loads(
        json.dumps(
            {
                "engine_format": ENGINE_FORMAT,
                "scenes": {"path": str(scenes_path.resolve()), "bytes": scenes_path.stat().st_size},
                "process_scene": process,
                "n_buckets": n_buckets,
                "count_keys": list(count_keys),
                "fast_json": fast_json,
                "params": _config_dict(config),
            },
            allow_nan=False,
        )
    )


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _check_or_save_config(output_dir: Path, resolved: dict[str, Any]) -> bool:
    """Save the config on a fresh dir; on an existing one refuse a different config. True if resuming."""
    path = output_dir / "config.json"
    if not path.exists():
        output_dir.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(path, resolved)
        return False
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved != resolved:
        keys = sorted(k for k in saved.keys() | resolved.keys() if saved.get(k) != resolved.get(k))
        raise ConfigMismatchError(
            f"{output_dir} holds a run with a different config (differs in: {', '.join(keys)}); "
            f"use a new output dir, or delete {output_dir} to start over"
        )
    return True


def split_path(output_dir: Path, bucket: int) -> Path:
    return output_dir / "split" / f"bucket-{bucket:05d}.scenes.jsonl"


def bucket_path(output_dir: Path, bucket: int) -> Path:
    return output_dir / "buckets" / f"bucket-{bucket:05d}.jsonl"


def _marker(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".jsonl") + ".done.json")


def _scene_id_of(line: str) -> str | None:
    """The scene_id of a raw scene line, or None if the line cannot name one (counted, then skipped)."""
    try:
        data = decode_line(line)
    except json.JSONDecodeError:
        return None
    scene_id = data.get("scene_id") if isinstance(data, dict) else None
    return scene_id if isinstance(scene_id, str) else None


def split_scenes(scenes_path: Path, output_dir: Path, n_buckets: int) -> dict[str, int]:
    """One streaming pass copying each scene line to its bucket's input file; returns rejections by reason.

    Lines are copied verbatim (decoded only for scene_id), so a bucket sees exactly the input's scenes in
    input order. Idempotent: a finished split (its marker) is reused, an unfinished one is redone.
    """
    marker = output_dir / "split" / "done.json"
    if marker.exists():
        return json.loads(marker.read_text(encoding="utf-8"))["rejected"]
    marker.parent.mkdir(parents=True, exist_ok=True)
    rejected: Counter[str] = Counter()
    partials = [
        split_path(output_dir, b).with_name(split_path(output_dir, b).name + ".partial")
        for b in range(n_buckets)
    ]
    handles = [open(p, "w", encoding="utf-8") for p in partials]
    try:
        with open(scenes_path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                scene_id = _scene_id_of(line)
                if scene_id is None:
                    rejected["scene_line_without_id"] += 1
                    continue
                handles[bucket_of(scene_id, n_buckets)].write(line if line.endswith("\n") else line + "\n")
    finally:
        for h in handles:
            h.close()
    for b, p in enumerate(partials):
        os.replace(p, split_path(output_dir, b))
    _write_json_atomic(marker, {"rejected": dict(sorted(rejected.items()))})
    return dict(rejected)


@dataclass(frozen=True)
class _BucketJob:
    output_dir: str
    bucket: int
    process: str
    params: Any
    count_keys: tuple[str, ...]
    fast_json: bool = False
    items: str = "scenes"


# What the per-scene function is handed: "scenes" decodes each input line into a Scene record (QA
# generation); "lines" hands the decoded JSON object itself (a work item that is not yet a scene, e.g. the
# index of a synthetic scene to make).
ITEM_KINDS = ("scenes", "lines")


def _iter_items(path: Path, items: str) -> Iterator[Any]:
    if items == "scenes":
        return iter_scene_lines(path)
    return iter_jsonl(path, lambda data, where: data)


def run_bucket(job: _BucketJob) -> dict[str, Any]:
    """Process one bucket's scenes into its data file and marker; returns the marker's content."""
    output_dir = Path(job.output_dir)
    fn = resolve_function(job.process)
    out = bucket_path(output_dir, job.bucket)
    counts: dict[str, Counter[str]] = {k: Counter() for k in job.count_keys}
    rejected: Counter[str] = Counter()
    tallies: dict[str, Counter[str]] = {}
    scenes = 0
    encode = encode_line_fast if job.fast_json else encode_line
    with JsonlWriter(out, lambda r: r, encode) as writer:
        for item in _iter_items(split_path(output_dir, job.bucket), job.items):
            if isinstance(item, RecordError):
                rejected[f"scene_{item.reason}"] += 1
                continue
            scenes += 1
            result = fn(item, job.params)
            writer.write_all(result.records)
            for k in job.count_keys:
                counts[k].update(str(record.get(k, MISSING)) for record in result.records)
            rejected.update(result.rejected)
            for group, c in result.tallies.items():
                tallies.setdefault(group, Counter()).update(c)
    done = {
        "bucket": job.bucket,
        "scenes": scenes,
        "records": writer.count,
        "counts": {k: dict(sorted(c.items())) for k, c in counts.items()},
        "rejected": dict(sorted(rejected.items())),
        "tallies": {g: dict(sorted(c.items())) for g, c in sorted(tallies.items())},
    }
    _write_json_atomic(_marker(out), done)
    return done


def _bucket_done(output_dir: Path, bucket: int) -> bool:
    out = bucket_path(output_dir, bucket)
    return out.exists() and _marker(out).exists()


def iter_records(output_dir: str | Path) -> Iterator[dict[str, Any]]:
    """The finished dataset as records, bucket files in bucket order (no merge needed)."""
    output_dir = Path(output_dir)
    n_buckets = json.loads((output_dir / "config.json").read_text(encoding="utf-8"))["n_buckets"]
    for b in range(n_buckets):
        with open(bucket_path(output_dir, b), encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)


def merge_buckets(output_dir: Path, n_buckets: int, target: Path) -> None:
    """Concatenate the bucket files in bucket order into `target` (atomic rename)."""
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as dst:
        for b in range(n_buckets):
            with open(bucket_path(output_dir, b), "rb") as src:
                shutil.copyfileobj(src, dst)
    os.replace(partial, target)


def _aggregate(markers: list[dict[str, Any]], split_rejected: Mapping[str, int]) -> tuple[Any, ...]:
    counts: dict[str, Counter[str]] = {}
    tallies: dict[str, Counter[str]] = {}
    rejected: Counter[str] = Counter(split_rejected)
    for m in markers:
        for k, c in m["counts"].items():
            counts.setdefault(k, Counter()).update(c)
        for g, c in m.get("tallies", {}).items():
            tallies.setdefault(g, Counter()).update(c)
        rejected.update(m["rejected"])
    return (
        sum(m["scenes"] for m in markers),
        sum(m["records"] for m in markers),
        {k: dict(sorted(c.items())) for k, c in counts.items()},
        dict(sorted(rejected.items())),
        {g: dict(sorted(c.items())) for g, c in sorted(tallies.items())},
    )


def run_sharded(
    scenes_path: str | Path,
    output_dir: str | Path,
    process_scene: ProcessFn | str,
    *,
    config: Any = None,
    n_buckets: int = DEFAULT_BUCKETS,
    workers: int = 1,
    count_keys: Sequence[str] = (),
    merge: bool = True,
    fast_json: bool = False,
    items: str = "scenes",
    merged_name: str = "data.jsonl",
    backend: Backend | None = None,
) -> RunReport:
    """Run `process_scene(scene, config) -> SceneResult` over every scene, bucket by bucket.

    process_scene: a top-level function or its `module:name` path (workers are spawned and import it).
    config: a dataclass passed to every call; saved (with everything else that decides the output) as
        config.json, and a resume into the same output_dir with a different config raises
        ConfigMismatchError.
    count_keys: record fields whose values are counted in the report (e.g. ("task", "level")).
    workers: 1 runs in this process; N > 1 runs buckets in a spawn process pool. Output is identical.
    backend: where buckets run (engine/backends.py: local or Ray Data); overrides `workers`. Not part of
        the config: a run started on one backend resumes on another with the same output.
    merge: also write data.jsonl, the bucket files concatenated in bucket order.
    fast_json: encode records with orjson (jsonl.encode_line_fast); only for process functions whose
        records hold finite numbers only (orjson writes NaN as null).
    items: "scenes" (each input line decoded into a Scene) or "lines" (the decoded JSON object; each still
        needs a string "scene_id", which picks its bucket) -- see ITEM_KINDS.
    merged_name: the merged file's name in output_dir.
    Raises whatever process_scene raises; finished buckets stay finished for the resume.
    """
    if items not in ITEM_KINDS:
        raise ValueError(f"items must be one of {ITEM_KINDS}, got {items!r}")
    start = time.perf_counter()
    scenes_path, output_dir = Path(scenes_path), Path(output_dir)
    process = dotted_path(process_scene)
    resolved = resolved_config(scenes_path, process, n_buckets, count_keys, config, fast_json)
    if items != "scenes":  # older output dirs (scenes only) keep resolving to the same config
        resolved["items"] = items
    _check_or_save_config(output_dir, resolved)
    split_rejected = split_scenes(scenes_path, output_dir, n_buckets)
    todo = [b for b in range(n_buckets) if not _bucket_done(output_dir, b)]
    jobs = [
        _BucketJob(str(output_dir), b, process, config, tuple(count_keys), fast_json, items) for b in todo
    ]
    run_jobs(run_bucket, jobs, backend or Backend("local", workers))
    markers = [
        json.loads(_marker(bucket_path(output_dir, b)).read_text(encoding="utf-8")) for b in range(n_buckets)
    ]
    if merge:
        merge_buckets(output_dir, n_buckets, output_dir / merged_name)
    scenes, records, counts, rejected, tallies = _aggregate(markers, split_rejected)
    report = RunReport(
        output_dir=str(output_dir),
        buckets=n_buckets,
        buckets_resumed=n_buckets - len(todo),
        scenes=scenes,
        records=records,
        counts=counts,
        rejected=rejected,
        tallies=tallies,
        seconds=round(time.perf_counter() - start, 3),
    )
    _write_json_atomic(output_dir / "report.json", report.as_dict())
    return report
