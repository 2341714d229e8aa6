"""Floor area of a scanned room: the alpha-shape area of the scene geometry seen from above.

SPAR appendix 7.5 "Room size" (/work/shared/papers/003_*): the room mesh's vertices are downsampled on a
grid, a concave hull is built with an alpha shape, and its area is the room's; rooms below a threshold get
no question. Here (geometry.concave_hull holds the 2D method and its parameters):

1. Points: the scene's mesh vertices (`Scene.mesh`, a PLY file: SPAR's input) or else its point cloud
   (`Scene.point_cloud`, a .npy float array (N, >= 3) whose first three columns are x, y, z), in metres
   (stored value * `scale_to_m`), in the world frame. An asset in a view's camera frame `cam:<view_id>`
   is moved to the world with that view's pose; one in a frame F of its own (ScanNet's mesh is in the
   unaligned scan frame) with the rigid (4, 4) matrix `Scene.metadata["world_from_F"]`. Points with a NaN
   or infinite coordinate are no data and are dropped, as invalid depth is.
2. Every point is used: walls, furniture and ceiling as well as the floor, as SPAR projects the whole room
   mesh. Seen from above, a closed scan's walls enclose its floor, so the footprint of everything scanned is
   the floor area, and furniture covers the floor it hides from the camera (floor points alone leave holes
   under every table and bed). The price: geometry seen through a door or window widens the footprint where
   it is dense enough to form triangles of the alpha shape (isolated points do not).
3. The points are projected onto the plane perpendicular to up (= -Gravity.down_world) and the alpha-shape
   area of the projection is the room area, in square metres.

Refusals (stable reasons): "no_metric_scale" (lengths are not metres), "no_gravity" (no up to project
along), "no_scene_geometry" (neither mesh nor point cloud), "room_too_small" (below MIN_ROOM_AREA_M2), the
concave hull's reasons (geometry.concave_hull: "too_few_points", "collinear_points", "empty_alpha_shape",
"non_finite_points") and, for a file that cannot be used, the reason of its RecordError ("missing_file",
"unreadable_file", "wrong_type", "wrong_shape", "path_escapes_root", "unsupported_frame",
"unsupported_geometry_kind", "non_finite", "non_orthonormal_rotation" (a bad world_from_F matrix), or the
PLY reader's own). No exception escapes for a bad file; caching the area per scene is the caller's
business.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from spatialforge.errors import RecordError
from spatialforge.geometry.concave_hull import ALPHA_PER_M, VOXEL_SIZE_M, concave_hull
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import AssetRef, Scene, resolve_inside

# SPAR skips small rooms; its threshold is missing from our copy of the paper. 4 m^2 (2 m x 2 m) is below
# the smallest habitable room building codes allow (around 7 m^2) yet above what a partial scan of a corner
# or a few stray frames give; ScanNet's bathrooms and closets (usually 3-6 m^2) are partly kept.
MIN_ROOM_AREA_M2 = 4.0

# Storage formats of scene geometry (AssetRef.kind), each with the reader of its points.
NPY_POINTS_KIND = "npy_f32"  # float .npy (N, >= 3): x, y, z first
PLY_KIND = "ply"  # PLY mesh or point cloud: the vertex positions (sources.ply.read_ply_vertices)
GEOMETRY_KINDS = (NPY_POINTS_KIND, PLY_KIND)
# Geometry stored in a frame F of its own (ScanNet's mesh: the unaligned "scan" frame) is moved to the world
# with the (4, 4) row-major rigid matrix Scene.metadata["world_from_F"] (sources.scannet.WORLD_FROM_SCAN_KEY).
WORLD_FROM_PREFIX = "world_from_"

# Rejection reasons (stable snake_case), besides the concave hull's and the files'.
NO_METRIC_SCALE = "no_metric_scale"
NO_GRAVITY = "no_gravity"
NO_SCENE_GEOMETRY = "no_scene_geometry"
ROOM_TOO_SMALL = "room_too_small"
UNSUPPORTED_GEOMETRY_KIND = "unsupported_geometry_kind"


class RoomArea(NamedTuple):
    """A room's floor area and where it came from."""

    area_m2: float
    geometry: str  # "mesh" or "point_cloud": which asset gave the points
    n_points: int  # points read
    n_triangulated: int  # points in the alpha shape (one per grid cell, or the points themselves)
    plane_axes_world: np.ndarray  # (2, 3) unit world directions of the floor plane's x and y axes
    boundary_m: tuple[np.ndarray, ...]  # outline loops, (K, 2) metres in the floor plane; longest first


def floor_plane_axes(up_world: np.ndarray) -> np.ndarray:
    """(2, 3) orthonormal world directions (e1, e2) spanning the plane perpendicular to up, with
    (e1, e2, up) right-handed; e1 is world +x laid flat (world +y when up is along x)."""
    up = np.asarray(up_world, dtype=float)
    up = up / np.linalg.norm(up)
    seed = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = seed - (seed @ up) * up
    e1 /= np.linalg.norm(e1)
    return np.stack([e1, np.cross(up, e1)])


def room_area(
    scene: Scene,
    *,
    voxel_size_m: float = VOXEL_SIZE_M,
    alpha_per_m: float = ALPHA_PER_M,
    min_area_m2: float = MIN_ROOM_AREA_M2,
) -> RoomArea | str:
    """The scene's floor area (module docstring), or the reason there is none."""
    if not scene.has_metric_scale:
        return NO_METRIC_SCALE
    if scene.gravity is None:
        return NO_GRAVITY
    if scene.mesh is not None:
        geometry, asset = "mesh", scene.mesh
    elif scene.point_cloud is not None:
        geometry, asset = "point_cloud", scene.point_cloud
    else:
        return NO_SCENE_GEOMETRY
    try:
        points_world = load_scene_points(scene, asset, geometry)  # (N, 3) m, world
    except RecordError as e:
        return e.reason
    axes = floor_plane_axes(-np.asarray(scene.gravity.down_world, dtype=float))  # (2, 3) world
    hull = concave_hull(points_world @ axes.T, voxel_size=voxel_size_m, alpha=alpha_per_m)  # (N, 2) m
    if isinstance(hull, str):
        return hull
    if hull.area < min_area_m2:
        return ROOM_TOO_SMALL
    return RoomArea(hull.area, geometry, len(points_world), hull.n_triangulated, axes, hull.boundary)


def load_scene_points(scene: Scene, asset: AssetRef, field: str) -> np.ndarray:
    """(N, 3) float64 points of a scene geometry asset, metres, world frame; RecordError when unusable."""
    try:
        path = resolve_inside(scene.asset_root, asset.path)
    except ValueError as e:
        raise RecordError("path_escapes_root", str(e), record=scene.scene_id, field=f"{field}.path") from None
    if not path.is_file():
        raise RecordError("missing_file", f"{field} file not found", file=str(path), record=scene.scene_id)
    if asset.kind == NPY_POINTS_KIND:
        points = _read_npy_points(path)
    elif asset.kind == PLY_KIND:
        from spatialforge.sources.ply import read_ply_vertices  # sources depend on scene, not the reverse

        points = np.asarray(read_ply_vertices(path), dtype=float)
    else:
        raise RecordError(
            UNSUPPORTED_GEOMETRY_KIND,
            f"{field} kind {asset.kind!r} is not one of {', '.join(GEOMETRY_KINDS)}",
            file=str(path),
            record=scene.scene_id,
            field=f"{field}.kind",
        )
    points = points[np.isfinite(points).all(axis=1)] * asset.scale_to_m  # (N, 3) m, asset frame; valid only
    return _to_world(points, scene, asset, field)


def _read_npy_points(path: Path) -> np.ndarray:
    try:
        raw = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise RecordError("unreadable_file", f"cannot read .npy: {e}", file=str(path)) from None
    if not np.issubdtype(raw.dtype, np.floating):
        raise RecordError(
            "wrong_type", f"expected float points, got dtype {raw.dtype}", file=str(path), field="points"
        )
    if raw.ndim != 2 or raw.shape[1] < 3:
        raise RecordError(
            "wrong_shape", f"expected (N, >= 3) points (x, y, z first), got {raw.shape}", file=str(path)
        )
    return raw[:, :3].astype(float)


def _to_world(points: np.ndarray, scene: Scene, asset: AssetRef, field: str) -> np.ndarray:
    """(N, 3) points in asset.frame -> world: "world" as is, a view's camera frame through its pose, any
    other frame F through the rigid (4, 4) matrix in Scene.metadata["world_from_F"]."""
    if asset.frame == "world":
        return points
    for view in scene.views:
        if asset.frame == view.frame:
            return view.world_from_cam.apply(points)
    key = f"{WORLD_FROM_PREFIX}{asset.frame}"
    if asset.frame is None or key not in scene.metadata:
        raise RecordError(
            "unsupported_frame",
            f"{field} must be in 'world', a view's camera frame or a frame F with metadata "
            f"'{WORLD_FROM_PREFIX}F', got {asset.frame!r}",
            record=scene.scene_id,
            field=f"{field}.frame",
        )
    return _metadata_transform(scene, key).apply(points)


def _metadata_transform(scene: Scene, key: str) -> RigidTransform:
    """The rigid world_from_F of Scene.metadata[key]: a (4, 4) row-major matrix (nested lists)."""
    field = f"metadata.{key}"
    try:
        matrix = np.asarray(scene.metadata[key], dtype=float)
    except (TypeError, ValueError):
        raise RecordError(
            "wrong_type", "expected a 4 x 4 matrix of numbers", record=scene.scene_id, field=field
        ) from None
    if matrix.shape != (4, 4):
        raise RecordError(
            "wrong_shape",
            f"expected a 4 x 4 matrix, got shape {matrix.shape}",
            record=scene.scene_id,
            field=field,
        )
    if not np.isfinite(matrix).all():
        raise RecordError(
            "non_finite", "matrix has NaN or infinite entries", record=scene.scene_id, field=field
        )
    if not np.allclose(matrix[3], [0.0, 0.0, 0.0, 1.0]):
        raise RecordError(
            "wrong_shape",
            f"last row must be [0, 0, 0, 1], got {matrix[3].tolist()}",
            record=scene.scene_id,
            field=field,
        )
    transform = RigidTransform.from_matrix(matrix, "world", key[len(WORLD_FROM_PREFIX) :])
    if not transform.is_rigid():
        raise RecordError(
            "non_orthonormal_rotation", "rotation part is not a rotation", record=scene.scene_id, field=field
        )
    return transform
