"""Scene records, schema v1.

One Scene = one capture unit that QA is generated from: a single image (KITTI, SUN RGB-D, Omni3D) or many
posed views of one place (ScanNet, CA-1M, synthetic trajectories). Frames:
- `world`: per scene, right-handed, metres, +z up when `gravity` is known. Single-view adapters put its
  origin at the camera centre with +y the camera's horizontal heading (geometry.gravity.level_world_from_cam).
- `cam:<view_id>`: the OpenCV camera frame of one view; `View.world_from_cam` maps it to `world`.
- object frame: +x front/length, +y left/width, +z up/height (geometry.boxes).
Per-view facts (2D box, visibility, truncation, behind-camera) live in `ObjectObservation`, never on the
object. `None` means "not available" everywhere; no sentinel values.

Paths in a record are relative to `Scene.asset_root` (POSIX separators) and must stay inside it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform

SCHEMA_VERSION = 1

# How a depth asset is stored (scene.depth reads each kind). The kind names the storage format only;
# the unit is always AssetRef.scale_to_m (metres = stored value * scale_to_m), so millimetre PNGs carry 0.001.
DEPTH_KINDS = (
    "png_u16",  # 16-bit PNG, 0 = invalid (ScanNet, CA-1M: scale_to_m = 0.001)
    "npy_f32",  # float32 .npy (H, W), NaN/0 = invalid (synthetic: scale_to_m = 1.0)
    "sunrgbd_points_mat",  # SUN RGB-D export: .mat 'instance' (N, 6) upright xyz + rgb; projected on load
    "raycast_scene",  # no file (path ""): the exact ray-cast depth of the scene's own boxes and floor
)
# The depth kind of synthetic scenes whose depth is their own geometry: ray-cast, at the pixels asked, onto
# every well-formed object box and the floor plane named by FLOOR_HEIGHT_KEY (scene.depth, geometry.raycast).
RAYCAST_DEPTH_KIND = "raycast_scene"
# Scene.metadata key of the floor that RAYCAST_DEPTH_KIND draws: the plane {p : up . p = h} in the world
# frame, up = -gravity.down_world, h in metres (demo box scenes: -1.3, the floor 1.3 m below the camera).
# Absent or null: no floor. A floor needs a known gravity; both are checked by scene.validate.
FLOOR_HEIGHT_KEY = "floor_height_m"
# Scene.metadata key that marks a scene whose lengths are not metres (ImageNet3D poses: distances in
# CAD-normalised units, no object sizes). false: tasks that state or compare lengths skip the scene
# ("no_metric_scale") and references never rank by distance or size; absent or true: metric.
METRIC_SCALE_KEY = "metric_scale"
# Scene.metadata key listing the categories of objects that are in the images but have no 3D box (a source
# dropped them: ImageNet3D objects with a 2D box only). No text reference may name these categories ("the
# chair" could be either chair); references fall back to a drawn box marker.
UNLOCATED_CATEGORIES_KEY = "unlocated_categories"


@dataclass(frozen=True)
class AssetRef:
    """A file beside the images: depth, point map, scene point cloud or mesh.

    kind: how to read it (see DEPTH_KINDS for depth); frame: the frame its coordinates are in
    (e.g. "cam:<view_id>" or "world"); scale_to_m: metres = stored value * scale_to_m (the
    kind never implies a unit).
    """

    path: str
    kind: str
    frame: str | None = None
    scale_to_m: float = 1.0


@dataclass(frozen=True)
class Gravity:
    """Where "down" points, in the world frame, and how we know it.

    source: "calibration" (SUN RGB-D Rtilt, CA-1M T_gravity), "assumed_level" (KITTI's camera is level to
    within about a degree), "inferred_from_boxes" (Omni3D: boxes share one upright axis), "exact" (synthetic).
    """

    down_world: tuple[float, float, float] = (0.0, 0.0, -1.0)
    source: str = "exact"


@dataclass(frozen=True)
class View:
    """One image with its camera. image_path is relative to the scene's asset_root."""

    view_id: str
    image_path: str
    camera: PinholeCamera
    world_from_cam: RigidTransform
    depth: AssetRef | None = None
    point_map: AssetRef | None = None
    timestamp_s: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def frame(self) -> str:
        return f"cam:{self.view_id}"

    def cam_from_world(self) -> RigidTransform:
        return self._cam_from_world

    @cached_property
    def _cam_from_world(self) -> RigidTransform:
        # Computed once per view: QA generation asks for it per object and question.
        return self.world_from_cam.inverse()

    def center_in_camera(self, center_world: np.ndarray) -> np.ndarray:
        """(3,) a world point (e.g. a box centre) in this view's camera frame, metres."""
        return self._cam_from_world.apply(center_world)


@dataclass(frozen=True)
class ObjectObservation:
    """An object as seen in one view.

    box2d: pixels, xyxy; box2d_kind says where it came from ("annotated", "annotated_tight", "projected",
    "projected_clipped"). visibility / truncation in [0, 1] (None when the source does not say);
    occlusion_level: the source's ordinal (KITTI 0-3); behind_camera: centre at z <= 0 in this view.
    """

    view_id: str
    box2d: Box2D | None = None
    box2d_kind: str | None = None
    visibility: float | None = None
    truncation: float | None = None
    occlusion_level: int | None = None
    behind_camera: bool = False


@dataclass(frozen=True)
class Object3D:
    """An annotated object. box is in the scene's world frame; `source_id` traces it to the raw label."""

    object_id: str
    source_id: str
    category: str
    box: OrientedBox3D
    has_front: bool
    source_category: str | None = None
    observations: tuple[ObjectObservation, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)

    def observation(self, view_id: str) -> ObjectObservation | None:
        for obs in self.observations:
            if obs.view_id == view_id:
                return obs
        return None

    def front_world(self) -> np.ndarray | None:
        """(3,) unit front direction in the world frame, or None for front-less objects."""
        return self.box.front_direction() if self.has_front else None


@dataclass(frozen=True)
class Scene:
    scene_id: str
    capture_id: str
    source: str
    split: str | None
    license: str | None
    asset_root: str
    views: tuple[View, ...]
    objects: tuple[Object3D, ...]
    gravity: Gravity | None
    point_cloud: AssetRef | None = None
    mesh: AssetRef | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def has_metric_scale(self) -> bool:
        """Whether lengths are metres (METRIC_SCALE_KEY is not false)."""
        return self.metadata.get(METRIC_SCALE_KEY, True) is not False

    def view(self, view_id: str) -> View:
        for v in self.views:
            if v.view_id == view_id:
                return v
        raise KeyError(f"scene {self.scene_id} has no view {view_id!r}")

    def object(self, object_id: str) -> Object3D:
        for o in self.objects:
            if o.object_id == object_id:
                return o
        raise KeyError(f"scene {self.scene_id} has no object {object_id!r}")

    def resolve(self, relative_path: str) -> Path:
        """Absolute path of an asset; refuses paths that escape asset_root."""
        return resolve_inside(self.asset_root, relative_path)

    def object_in_camera(self, obj: Object3D, view: View) -> OrientedBox3D:
        """obj's box in `view`'s OpenCV camera frame."""
        return obj.box.transformed(view.cam_from_world())


# Resolved dataset roots, per process: (root as given, the working directory when root is relative) -> the
# root's realpath. A training loader checks two paths per sample against the same few roots; resolving the
# root and then the whole path again each time (an lstat per component of both, and Path objects) made a
# check ~5x slower than the cached root and the walk below it in resolve_inside. The price: a root that is
# re-pointed (a symlink swapped) while the process runs is not seen; everything below the root still is.
_RESOLVED_ROOTS: dict[tuple[str, str | None], str] = {}
_RESOLVED_ROOTS_MAX = 4096  # emptied when full: a process meets a few roots, tests meet one per tmp_path


def _resolved_root(root: str | Path) -> str:
    """os.path.realpath(root), cached per process (_RESOLVED_ROOTS)."""
    text = os.fspath(root)
    key = (text, None if os.path.isabs(text) else os.getcwd())
    resolved = _RESOLVED_ROOTS.get(key)
    if resolved is None:
        if len(_RESOLVED_ROOTS) >= _RESOLVED_ROOTS_MAX:
            _RESOLVED_ROOTS.clear()
        resolved = _RESOLVED_ROOTS[key] = str(Path(text).resolve())
    return resolved


def resolve_inside(root: str | Path, relative_path: str) -> Path:
    """root / relative_path, refusing absolute paths, '..' and symlinks that leave root (ValueError)."""
    rel = PurePosixPath(relative_path.replace("\\", "/"))
    if rel.is_absolute() or any(part == ".." for part in rel.parts) or (rel.parts and ":" in rel.parts[0]):
        raise ValueError(f"path {relative_path!r} escapes the dataset root {str(root)!r}")
    root_real = _resolved_root(root)
    # Path.resolve() of root_real / rel walks every component from "/", lstat-ing each. root_real has no
    # links, and rel's parts are plain names (no "..", "." or ""), so the walk can start at root_real: while
    # no part is a link, the resolved path is root_real / rel itself (a missing part is not a link, as
    # resolve() treats it). A link anywhere below the root takes the full resolve and the escape check.
    full = root_real
    for part in rel.parts:
        full = os.path.join(full, part)
        try:
            is_link = stat.S_ISLNK(os.lstat(full).st_mode)
        except OSError:
            is_link = False
        if is_link:
            return _resolve_linked(Path(root_real), rel, relative_path, root)
    return Path(full)


def _resolve_linked(root_path: Path, rel: PurePosixPath, relative_path: str, root: str | Path) -> Path:
    """resolve_inside's answer for a path with a link below the root: resolved, and refused outside it."""
    full = (root_path / Path(*rel.parts)).resolve()
    if full != root_path and root_path not in full.parents:
        raise ValueError(f"path {relative_path!r} escapes the dataset root {str(root)!r} (via a link)")
    return full
