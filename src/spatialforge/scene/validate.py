"""Scene invariants. `scene_problems` lists every violation with a named reason; `check_scene` raises
the first as a RecordError. Reasons are stable codes (docs/DATA.md lists them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spatialforge.errors import RecordError
from spatialforge.geometry.rotations import ORTHONORMAL_TOL, is_rotation
from spatialforge.scene.records import (
    FLOOR_HEIGHT_KEY,
    METRIC_SCALE_KEY,
    RAYCAST_DEPTH_KIND,
    SCHEMA_VERSION,
    UNLOCATED_CATEGORIES_KEY,
    Scene,
    resolve_inside,
)

# Every reason the validator can report (tests sweep this list).
VALIDATION_REASONS = (
    "unsupported_schema_version",
    "empty_id",
    "no_views",
    "duplicate_view_id",
    "duplicate_object_id",
    "non_finite",
    "bad_intrinsics",
    "bad_image_size",
    "non_orthonormal_rotation",
    "non_positive_size",
    "unknown_view",
    "invalid_box2d",
    "out_of_range",
    "bad_gravity",
    "path_escapes_root",
    "missing_file",
    "bad_type",
)


@dataclass(frozen=True)
class Problem:
    reason: str
    field: str
    message: str


def _finite(a: object) -> bool:
    return bool(np.all(np.isfinite(np.asarray(a, dtype=float))))


def scene_problems(scene: Scene, check_files: bool = True) -> list[Problem]:
    out: list[Problem] = []

    def add(reason: str, field: str, message: str) -> None:
        out.append(Problem(reason, field, message))

    if scene.schema_version != SCHEMA_VERSION:
        add(
            "unsupported_schema_version",
            "schema_version",
            f"expected {SCHEMA_VERSION}, got {scene.schema_version}",
        )
    for name in ("scene_id", "capture_id", "source"):
        if not getattr(scene, name):
            add("empty_id", name, "must be a non-empty string")
    if not scene.views:
        add("no_views", "views", "a scene needs at least one view")

    if scene.gravity is not None:
        d = np.asarray(scene.gravity.down_world, dtype=float)
        if not _finite(d) or abs(np.linalg.norm(d) - 1.0) > 1e-3:
            add("bad_gravity", "gravity.down_world", f"must be a finite unit vector, got {d.tolist()}")
    _check_floor(scene, add)
    _check_metric_scale(scene, add)

    view_ids: set[str] = set()
    for i, v in enumerate(scene.views):
        f = f"views[{i}]"
        if not v.view_id:
            add("empty_id", f"{f}.view_id", "must be a non-empty string")
        if v.view_id in view_ids:
            add("duplicate_view_id", f"{f}.view_id", f"view id {v.view_id!r} appears twice")
        view_ids.add(v.view_id)
        cam = v.camera
        if not _finite([cam.fx, cam.fy, cam.cx, cam.cy]):
            add("non_finite", f"{f}.intrinsics", "intrinsics must be finite")
        elif cam.fx <= 0 or cam.fy <= 0:
            add(
                "bad_intrinsics",
                f"{f}.intrinsics",
                f"focal lengths must be positive, got fx={cam.fx} fy={cam.fy}",
            )
        if cam.width <= 0 or cam.height <= 0:
            add("bad_image_size", f"{f}.width", f"image size must be positive, got {cam.width}x{cam.height}")
        t = v.world_from_cam
        if not (_finite(t.rotation) and _finite(t.translation)):
            add("non_finite", f"{f}.world_from_cam", "transform must be finite")
        elif not is_rotation(t.rotation, ORTHONORMAL_TOL):
            add(
                "non_orthonormal_rotation",
                f"{f}.world_from_cam.rotation",
                "not a proper rotation (R^T R != I or det != 1)",
            )
        raycast = v.depth is not None and v.depth.kind == RAYCAST_DEPTH_KIND
        paths = [("image_path", v.image_path)]
        paths += [
            (k, a.path)
            for k, a in (("depth", v.depth), ("point_map", v.point_map))
            if a is not None and not (k == "depth" and raycast)
        ]
        if raycast and v.depth is not None and v.depth.path:
            # Ray-cast depth is the scene's own geometry: there is no file to find, and a path would
            # suggest one (a mistyped kind).
            add(
                "out_of_range",
                f"{f}.depth.path",
                f"depth kind {RAYCAST_DEPTH_KIND!r} reads no file: path must be empty, got {v.depth.path!r}",
            )
        for key, rel in paths:
            try:
                full = resolve_inside(scene.asset_root, rel)
            except ValueError as e:
                add("path_escapes_root", f"{f}.{key}", str(e))
                continue
            if check_files and not full.is_file():
                add("missing_file", f"{f}.{key}", f"file not found: {full}")

    object_ids: set[str] = set()
    for i, o in enumerate(scene.objects):
        f = f"objects[{i}]"
        if not o.object_id:
            add("empty_id", f"{f}.object_id", "must be a non-empty string")
        if o.object_id in object_ids:
            add("duplicate_object_id", f"{f}.object_id", f"object id {o.object_id!r} appears twice")
        object_ids.add(o.object_id)
        b = o.box
        if not (_finite(b.center) and _finite(b.rotation) and _finite(b.size)):
            add("non_finite", f"{f}.box", "box centre, rotation and size must be finite")
        else:
            if np.any(b.size <= 0):
                add("non_positive_size", f"{f}.box.size_m", f"sizes must be > 0, got {b.size.tolist()}")
            if not is_rotation(b.rotation, ORTHONORMAL_TOL):
                add(
                    "non_orthonormal_rotation",
                    f"{f}.box.rotation",
                    "not a proper rotation (R^T R != I or det != 1)",
                )
        for j, ob in enumerate(o.observations):
            g = f"{f}.observations[{j}]"
            if ob.view_id not in view_ids:
                add("unknown_view", f"{g}.view_id", f"no view {ob.view_id!r} in this scene")
            if ob.box2d is not None and not ob.box2d.is_valid():
                add(
                    "invalid_box2d",
                    f"{g}.box2d",
                    f"needs finite x_min < x_max, y_min < y_max, got {ob.box2d.as_list()}",
                )
            for key in ("visibility", "truncation"):
                val = getattr(ob, key)
                if val is not None and not (np.isfinite(val) and 0.0 <= val <= 1.0):
                    add("out_of_range", f"{g}.{key}", f"must be in [0, 1], got {val}")
    return out


def _check_floor(scene: Scene, add: Callable[[str, str, str], None]) -> None:
    """The floor ray-cast depth draws (records.FLOOR_HEIGHT_KEY): absent, null, or a finite number of
    metres along world up, which needs a known gravity to say which way is up."""
    height = scene.metadata.get(FLOOR_HEIGHT_KEY)
    if height is None:
        return
    field = f"metadata.{FLOOR_HEIGHT_KEY}"
    if isinstance(height, bool) or not isinstance(height, (int, float)) or not np.isfinite(height):
        add("non_finite", field, f"the floor height must be a finite number of metres, got {height!r}")
    elif scene.gravity is None:
        add("bad_gravity", "gravity", f"{field} is set but the scene has no gravity to say which way is up")


def _check_metric_scale(scene: Scene, add: Callable[[str, str, str], None]) -> None:
    """records.METRIC_SCALE_KEY: absent or a bool (a string "false" would silently read as metric)."""
    flag = scene.metadata.get(METRIC_SCALE_KEY, True)
    if not isinstance(flag, bool):
        add("bad_type", f"metadata.{METRIC_SCALE_KEY}", f"must be true or false, got {flag!r}")
    unlocated = scene.metadata.get(UNLOCATED_CATEGORIES_KEY, [])
    if not isinstance(unlocated, (list, tuple)) or not all(isinstance(c, str) for c in unlocated):
        add(
            "bad_type",
            f"metadata.{UNLOCATED_CATEGORIES_KEY}",
            f"must be a list of categories, got {unlocated!r}",
        )


def check_scene(scene: Scene, check_files: bool = True, file: str | None = None) -> Scene:
    """Return the scene unchanged, or raise the first problem as a RecordError."""
    problems = scene_problems(scene, check_files)
    if problems:
        p = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RecordError(p.reason, p.message + more, file=file, record=scene.scene_id, field=p.field)
    return scene
