"""What the writers are fed: a scene record and the QA records made from it, one scene at a time.

Two ways to read them:
- `iter_run_bucket(run_dir, bucket)`: a `spatialforge generate` output directory. The runner
  (engine/runner.py) wrote bucket b's QA records scene by scene in the order of
  `split/bucket-b.scenes.jsonl`, so the scene file and the QA file are walked in lockstep: memory holds one
  scene, no index is built, and buckets are
  independent units of work (an export shard per bucket).
- `iter_qa_file(qa_path, scenes_path)`: any QA JSONL whose records of one scene are contiguous (every file
  this package writes is), with the scenes file indexed by byte offset in one pass (scene_id -> offset: about
  100 bytes of memory per scene).

A QA record whose scene is not in the scenes file is an error naming both files; records stay plain dicts
(the JSON as written) so writers copy them without a decode/encode round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spatialforge.engine.runner import bucket_path, split_path
from spatialforge.errors import RecordError
from spatialforge.jsonl import decode_line
from spatialforge.qa.io import iter_scene_runs
from spatialforge.scene.codec import scene_from_dict
from spatialforge.scene.io import iter_scene_lines
from spatialforge.scene.records import Scene


@dataclass(frozen=True)
class SceneGroup:
    """One scene and its QA records (dicts, in file order; all with record["scene_id"] == scene.scene_id)."""

    scene: Scene
    records: Sequence[dict[str, Any]]


def image_key(record: dict[str, Any]) -> tuple[str, ...]:
    """The view ids of a record's images in order: records with the same key show the same picture(s)."""
    return tuple(im["view_id"] for im in record["images"])


def by_images(records: Sequence[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Records grouped by image_key, groups in order of first appearance, records in file order."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(image_key(record), []).append(record)
    return groups


def iter_run_bucket(run_dir: str | Path, bucket: int) -> Iterator[SceneGroup]:
    """The scene groups of one bucket of a generate run (scenes that made no record are skipped)."""
    run_dir = Path(run_dir)
    qa_path = bucket_path(run_dir, bucket)
    runs = iter_scene_runs(qa_path)
    pending = next(runs, None)
    for item in iter_scene_lines(split_path(run_dir, bucket)):
        if pending is None:
            return
        if isinstance(item, RecordError):  # generate counted and skipped it; it has no records
            continue
        if item.scene_id == pending[0]:
            yield SceneGroup(item, pending[1])
            pending = next(runs, None)
    if pending is not None:
        raise RecordError(
            "scene_not_found",
            f"QA records of scene {pending[0]!r} have no scene in {split_path(run_dir, bucket)} "
            "(or are out of the scenes' order)",
            file=str(qa_path),
            record=pending[0],
        )


def index_scenes(scenes_path: str | Path) -> dict[str, int]:
    """scene_id -> byte offset of its line, in one streaming pass (lines without a scene_id are skipped)."""
    offsets: dict[str, int] = {}
    with open(scenes_path, "rb") as fh:
        offset = 0
        for raw in fh:
            if raw.strip():
                try:
                    scene_id = decode_line(raw.decode("utf-8")).get("scene_id")
                except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                    scene_id = None
                if isinstance(scene_id, str):
                    offsets.setdefault(scene_id, offset)
            offset += len(raw)
    return offsets


def iter_qa_file(qa_path: str | Path, scenes_path: str | Path) -> Iterator[SceneGroup]:
    """The scene groups of a QA JSONL file, scenes looked up in `scenes_path` by offset."""
    qa_path, scenes_path = Path(qa_path), Path(scenes_path)
    offsets = index_scenes(scenes_path)
    with open(scenes_path, "rb") as scenes:
        for scene_id, records in iter_scene_runs(qa_path):
            offset = offsets.get(scene_id)
            if offset is None:
                raise RecordError(
                    "scene_not_found",
                    f"scene {scene_id!r} of the QA file is not in {scenes_path}",
                    file=str(qa_path),
                    record=scene_id,
                )
            scenes.seek(offset)
            line = scenes.readline().decode("utf-8")
            scene = scene_from_dict(decode_line(line), record=scene_id)
            yield SceneGroup(scene, records)
