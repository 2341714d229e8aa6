"""Per-patch targets for pretraining a vision tower on scenes with instance masks (train/vision_pretrain.py).

For one view and a tower's patch grid (G_r x G_c patches over the `ImageTransform` plan's crop), every patch
gets three targets, read from the view's instance mask, its metric depth and the scene's objects:

- `category` (int): the vocabulary index of the category of the object that covers most of the patch's
  pixels; 0 (`NONE`) when most pixels show no object (floor, walls, sky) or an instance the scene does not
  list.
- `log_depth` (float, log metres): log of the median valid depth in the patch (camera frame z); NaN when the
  patch has no valid depth pixel.
- `facing` (2 floats): the front direction of the patch's majority object in the camera frame, projected on
  the camera's x-z plane (x right, z forward) and normalised; NaN when that object has no front, when the
  patch shows no object, or when the front is nearly parallel to the camera's y axis.

These are the dense counterparts of SpatialLLM's 3D probing data (paper 001 s3.3: object depth and 3D
viewpoint) and of the dense depth probes of "Probing the 3D awareness of visual foundation models" (its ref.
[19]), computed exactly from the scene instead of estimated.

Patch boundaries: patch column c covers source pixels [round(x0 + c * w_crop / G_c), round(x0 + (c + 1) *
w_crop / G_c)) of the plan's crop (x0, y0, x1, y1), rows likewise (`patch_ranges`). The mask must have the
image's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spatialforge.errors import RecordError
from spatialforge.models.image_transform import ImageTransform
from spatialforge.scene.depth import read_png_u16
from spatialforge.scene.records import Scene, View

NONE = "none"  # vocabulary entry 0: no object
INSTANCE_MASK_KEY = "instance_mask"  # View.metadata key of the 16-bit instance-id PNG (synth writes it)
MIN_FACING_NORM = 1e-3  # |(x, z)| of a unit front vector below which the projected facing is undefined


@dataclass(frozen=True)
class PatchTargets:
    """category (G_r, G_c) int64; log_depth (G_r, G_c) float32, NaN = none; facing (G_r, G_c, 2) float32 unit
    (x, z) in the camera frame, NaN = none."""

    category: np.ndarray
    log_depth: np.ndarray
    facing: np.ndarray


def category_vocabulary(categories: Sequence[str]) -> tuple[str, ...]:
    """NONE first, then the distinct categories sorted: a fixed index per category for any input order."""
    distinct = sorted(set(categories) - {NONE})
    return (NONE, *distinct)


def patch_ranges(start: float, stop: float, count: int, limit: int) -> list[tuple[int, int]]:
    """`count` half-open integer pixel ranges splitting [start, stop), each at least one pixel wide and inside
    [0, limit): edges rounded to the nearest pixel; a patch thinner than a pixel reads the pixel under it."""
    edges = np.rint(start + np.arange(count + 1) * (stop - start) / count).astype(np.int64)
    ranges = []
    for i in range(count):
        lo = int(min(max(edges[i], 0), limit - 1))
        ranges.append((lo, int(min(max(edges[i + 1], lo + 1), limit))))
    return ranges


def resolve_asset(scene: Scene, relative: str, field: str) -> Path:
    """scene.resolve, with a path escaping the asset root as RecordError `unsafe_path` naming the field."""
    try:
        return scene.resolve(relative)
    except ValueError as error:
        raise RecordError("unsafe_path", str(error), record=scene.scene_id, field=field) from None


def read_instance_mask(scene: Scene, view: View) -> np.ndarray:
    """(H, W) integer instance ids of the view (0 = no object); RecordError naming the file and field."""
    relative = view.metadata.get(INSTANCE_MASK_KEY)
    field = f"views[{view.view_id}].metadata.{INSTANCE_MASK_KEY}"
    if not isinstance(relative, str) or not relative:
        raise RecordError("missing_field", "view has no instance mask", record=scene.scene_id, field=field)
    path = resolve_asset(scene, relative, field)
    mask = read_png_u16(path, field=field)
    cam = view.camera
    if mask.shape != (cam.height, cam.width):
        raise RecordError(
            "wrong_shape",
            f"instance mask is {mask.shape[1]}x{mask.shape[0]}, the view is {cam.width}x{cam.height}",
            file=str(path),
            field=field,
        )
    return mask.astype(np.int64)


def instance_table(
    scene: Scene, view: View, vocabulary: Mapping[str, int]
) -> tuple[dict[int, int], dict[int, np.ndarray]]:
    """instance id -> vocabulary index, and instance id -> unit (x, z) facing in the view's camera frame for
    objects with a front. Objects without attributes.instance_id are not in the mask; a category outside the
    vocabulary maps to NONE."""
    categories: dict[int, int] = {}
    facings: dict[int, np.ndarray] = {}
    cam_rotation = view.cam_from_world().rotation  # (3, 3) camera from world
    for obj in scene.objects:
        instance = obj.attributes.get("instance_id")
        if isinstance(instance, bool) or not isinstance(instance, int) or instance <= 0:
            continue
        categories[instance] = vocabulary.get(obj.category, 0)
        front = obj.front_world()
        if front is None:
            continue
        front_cam = cam_rotation @ front  # (3,) camera frame: x right, y down, z forward
        planar = np.array([front_cam[0], front_cam[2]])
        norm = float(np.hypot(*planar))
        if norm >= MIN_FACING_NORM:
            facings[instance] = planar / norm
    return categories, facings


def patch_targets(
    mask: np.ndarray,
    depth_m: np.ndarray | None,
    categories: Mapping[int, int],
    facings: Mapping[int, np.ndarray],
    transform: ImageTransform,
    grid: tuple[int, int],
) -> PatchTargets:
    """Targets of one view: mask (H, W) instance ids, depth_m (H, W) metres (NaN / <= 0 = no data) or None,
    over the patch grid (rows, cols) of `transform`'s plan."""
    height, width = mask.shape
    if depth_m is not None and depth_m.shape != mask.shape:
        raise ValueError(f"depth {depth_m.shape} and instance mask {mask.shape} differ in size")
    rows, cols = grid
    x0, y0, x1, y1 = transform.plan(width, height).crop
    col_ranges = patch_ranges(x0, x1, cols, width)
    row_ranges = patch_ranges(y0, y1, rows, height)
    category = np.zeros(grid, dtype=np.int64)
    log_depth = np.full(grid, np.nan, dtype=np.float32)
    facing = np.full((rows, cols, 2), np.nan, dtype=np.float32)
    for r, (top, bottom) in enumerate(row_ranges):
        for c, (left, right) in enumerate(col_ranges):
            window = (slice(top, bottom), slice(left, right))
            ids, counts = np.unique(mask[window], return_counts=True)
            instance = int(ids[np.argmax(counts)])  # ties: the smallest id (np.unique sorts)
            category[r, c] = categories.get(instance, 0)
            if instance in facings and category[r, c] != 0:
                facing[r, c] = facings[instance]
            if depth_m is not None:
                z = depth_m[window]
                z = z[np.isfinite(z) & (z > 0)]
                if z.size:
                    log_depth[r, c] = np.log(np.median(z))
    return PatchTargets(category, log_depth, facing)
