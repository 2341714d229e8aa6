"""`spatialforge bench pointmaps`: the point map of every image a benchmark shows, for models that read one.

A point-map model (docs/MODELS.md) is evaluated with `--model spatialforge:MODEL,pointmaps=DIR`, which reads
`DIR/<image stem>.npz` for each image of a question. This writes that folder for a built benchmark: each item
names its scene (`scene_id`) and the scene view of each image (`extra.view_ids`); the point map comes from the
view's depth through `models.pointmap.point_map_for_view` - the same function the training data readers use,
so a model sees the same geometry at training and evaluation time.

A marked copy (an image with boxes or points drawn on it) shows the same view as its original, so it gets the
view's point map: the markers are in the RGB only. Files are compressed .npz with "xyz" float16 ((H, W, 3),
metres, camera frame, NaN where there is no depth: 2^-11 relative precision, 5 mm at 10 m) and "valid" (H, W)
bool. Images whose scene has no depth for the view are listed, not written: the evaluation backend then
refuses those questions (point_map_missing) rather than answering without geometry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spatialforge.bench.builder.items import iter_bench_items
from spatialforge.errors import RecordError
from spatialforge.export.groups import index_scenes
from spatialforge.jsonl import decode_line
from spatialforge.scene.codec import scene_from_dict
from spatialforge.scene.records import Scene

BENCH_SCENES = Path("work") / "split" / "benchmark.scenes.jsonl"


@dataclass
class PointMapReport:
    written: int = 0
    already_there: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> images
    examples: dict[str, str] = field(default_factory=dict)  # reason -> one image

    def as_dict(self) -> dict[str, object]:
        return {
            "written": self.written,
            "already_there": self.already_there,
            "skipped": dict(self.skipped),
            "examples": self.examples,
        }


def write_benchmark_point_maps(
    bench_dir: str | Path, output: str | Path | None = None, scenes: str | Path | None = None
) -> PointMapReport:
    """Write `<image stem>.npz` for every image of the benchmark at `bench_dir` into `output` (default
    `bench_dir/pointmaps`), reading scenes from `scenes` (default: the build's own held-out scene file).
    Existing files are kept (resumable); an image seen twice with two different views is an error."""
    from spatialforge.models.pointmap import point_map_for_view

    bench = Path(bench_dir)
    out = Path(output) if output is not None else bench / "pointmaps"
    scenes_path = Path(scenes) if scenes is not None else bench / BENCH_SCENES
    if not scenes_path.is_file():
        raise RecordError(
            "missing_file",
            "no scenes file (give --scenes: the scenes the benchmark was built from)",
            file=str(scenes_path),
        )
    offsets = index_scenes(scenes_path)
    out.mkdir(parents=True, exist_ok=True)
    report = PointMapReport()
    view_of_image: dict[str, tuple[str, str]] = {}
    cached: tuple[str, Scene] | None = None

    def skip(reason: str, image: str) -> None:
        report.skipped[reason] += 1
        report.examples.setdefault(reason, image)

    with open(scenes_path, "rb") as scene_file:
        for item in iter_bench_items(bench):
            view_ids = item.extra.get("view_ids") or []
            if item.scene_id is None or len(view_ids) != len(item.images):
                for image in item.images:
                    skip("item_without_views", image)
                continue
            for image, view_id in zip(item.images, view_ids, strict=True):
                stem = Path(image).stem
                key = (item.scene_id, str(view_id))
                if stem in view_of_image:  # an image several items show: done once
                    if view_of_image[stem] != key:
                        raise RecordError(
                            "conflicting_views",
                            f"image {image} is view {view_of_image[stem]} in one item and {key} in another",
                            file=str(bench / "items.jsonl"),
                            record=item.id,
                        )
                    continue
                view_of_image[stem] = key
                target = out / f"{stem}.npz"
                if target.is_file():
                    report.already_there += 1
                    continue
                if item.scene_id not in offsets:
                    skip("scene_not_in_scenes_file", image)
                    continue
                if cached is None or cached[0] != item.scene_id:
                    scene_file.seek(offsets[item.scene_id])
                    cached = (item.scene_id, scene_from_dict(decode_line(scene_file.readline())))
                scene = cached[1]
                view = next((v for v in scene.views if v.view_id == view_id), None)
                if view is None:
                    skip("view_not_in_scene", image)
                    continue
                try:
                    point_map = point_map_for_view(scene, view)
                except RecordError as error:
                    skip(f"depth_{error.reason}", image)
                    continue
                _save_npz(target, point_map.xyz, point_map.valid)
                report.written += 1
    return report


def _save_npz(target: Path, xyz: np.ndarray, valid: np.ndarray) -> None:
    """Write atomically (temporary name, then rename): an interrupted run never leaves a torn file."""
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as fh:
        np.savez_compressed(fh, xyz=xyz.astype(np.float16), valid=valid.astype(bool))
    partial.replace(target)
