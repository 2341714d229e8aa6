"""Which objects a view sees, decided with depth (SPAR appendix 7.4, "Image item construction").

SPAR rasterises the scan mesh into a face-index buffer and keeps an object in an image when (1) enough of
its vertices are visible, (2) its projected area is large enough and (3) its z-buffer depth is in a
reasonable range; the 2D box is the bounds of the projected visible vertices. We do the same with the
view's depth map instead of a face buffer (a depth map is what every posed-scan source ships), so
visibility is a depth test, never a frustum test alone:

1. Sample points on each object, in the world frame: the instance's own mesh vertices when the source
   has them (ScanNet annotations; at most MAX_SAMPLES_PER_OBJECT, evenly strided), else a BOX_FACE_GRID x
   BOX_FACE_GRID grid of cell centres on each box face that faces the camera (its outward normal points
   to the camera centre). Box faces stand in for a surface the source does not give: the real object lies
   inside its box, so a face point is never *behind* the real surface.
2. Transform every object's samples to the camera (OpenCV) in one matrix product per view, keep those in
   front of the camera (z > NEAR_M), project them, keep those inside the image.
3. A sample is visible when the view's depth at its pixel is not in front of it by more than
   depth_tolerance_m(z) = max(DEPTH_TOLERANCE_M, DEPTH_TOLERANCE_FRACTION * z): something nearer than
   that stands between the camera and the point. Depth *behind* the point is not occlusion (a box-face
   sample in front of the real, inset surface). A pixel with no depth (NaN, 0, outside the depth raster)
   cannot vouch for the point: it is not counted visible.

Per object and view: visible_fraction = visible / sampled (all samples, also those behind the camera or
off the image, as SPAR divides by all vertices); truncation = 1 - in_image / in_front; 2D box = bounds of
the visible projected points, clipped to the image (pixels, box2d_kind "visible_points"; the bounds of a
sample grid fall short of the true silhouette by up to half a grid cell); box_area_px = that box's area.
An object gets an ObjectObservation only when it passes every threshold below; otherwise the returned
tally counts why not (rejection reasons, checked in this order): camera_inside_box, behind_camera,
outside_image, no_depth_data, low_visible_fraction, small_box, out_of_depth_range.

Depth rasters may have their own camera (ScanNet depth is 640 x 480 with its own intrinsics while colour
is 1296 x 968): points are looked up in the depth raster through the depth camera (same pose) and boxed
through the image camera, so nothing is resampled. `resample_depth_to_camera` re-grids a depth raster
into the image camera (nearest neighbour) for consumers that need one raster per image.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import ObjectObservation, View

# ObjectObservation.box2d_kind of the boxes made here.
BOX2D_KIND = "visible_points"
SAMPLES_MESH = "mesh_vertices"
SAMPLES_BOX = "box_faces"

# Samples nearer than this (metres, camera z) are not imaged: depth sensors of the scanning rigs (Structure
# sensor, iPad LiDAR) return nothing closer than ~0.2-0.4 m, and a point at the lens projects anywhere.
NEAR_M = 0.05
# Depth test tolerance: a scan's depth is noisy (structured light: ~1-3 cm at 1-3 m, growing with z^2;
# LiDAR/laser: ~1 cm) and mesh vertices and annotated boxes sit a few cm off the measured surface. 5 cm, or
# 3 % of the distance for far points, separates "behind something else" from noise.
DEPTH_TOLERANCE_M = 0.05
DEPTH_TOLERANCE_FRACTION = 0.03
# Mesh vertices cover every side of an object; a fully visible convex object shows about half of them, so
# 0.1 asks that about a fifth of what could be seen is seen. Box-face samples are only on camera-facing
# faces (a fully visible box scores 1.0), so 0.2 asks for a fifth of those. (SPAR's own threshold value is
# missing from our copy of the paper.)
MIN_VISIBLE_FRACTION = {SAMPLES_MESH: 0.1, SAMPLES_BOX: 0.2}
# A 2D box smaller than this fraction of the image (0.2 %: ~25 x 25 px at 640 x 480, ~50 x 50 px at
# 1296 x 968) is too small to draw a marker on or refer to reliably.
MIN_BOX_AREA_FRACTION = 0.002
# The median depth of the visible samples must lie in this range (metres): nearer is below the sensors'
# minimum range, farther is beyond indoor depth sensors' useful range (noise beyond the tolerance).
MIN_OBJECT_DEPTH_M = 0.1
MAX_OBJECT_DEPTH_M = 10.0
# Per-object sample budget (vertices are strided evenly down to this many) and face grid size.
MAX_SAMPLES_PER_OBJECT = 512
BOX_FACE_GRID = 8

CAMERA_INSIDE_BOX = "camera_inside_box"
BEHIND_CAMERA = "behind_camera"
OUTSIDE_IMAGE = "outside_image"
NO_DEPTH_DATA = "no_depth_data"
LOW_VISIBLE_FRACTION = "low_visible_fraction"
SMALL_BOX = "small_box"
OUT_OF_DEPTH_RANGE = "out_of_depth_range"
REJECTION_REASONS = (
    CAMERA_INSIDE_BOX,
    BEHIND_CAMERA,
    OUTSIDE_IMAGE,
    NO_DEPTH_DATA,
    LOW_VISIBLE_FRACTION,
    SMALL_BOX,
    OUT_OF_DEPTH_RANGE,
)


class VisibilityTarget(NamedTuple):
    """An object to test: its world-frame box and, when the source has them, its own mesh vertices
    (M, 3) metres, world frame."""

    object_id: str
    box: OrientedBox3D
    vertices: np.ndarray | None = None


class ObjectVisibility(NamedTuple):
    """The depth test's facts for one object in one view (counts are sample counts)."""

    object_id: str
    sample_kind: str
    sampled: int
    in_front: int
    in_image: int
    with_depth: int
    visible: int
    visible_fraction: float
    truncation: float | None
    box2d: Box2D | None
    box_area_px: float
    median_depth_m: float | None
    rejection: str | None


class ViewVisibility(NamedTuple):
    """observations: object_id -> ObjectObservation for the accepted objects (target order);
    facts: every target's ObjectVisibility; tally: rejection reason -> number of objects."""

    observations: dict[str, ObjectObservation]
    facts: tuple[ObjectVisibility, ...]
    tally: Counter


def depth_tolerance_m(z: np.ndarray) -> np.ndarray:
    """(N,) how far in front of a sample at camera depth z (metres) the measured depth may be."""
    return np.maximum(DEPTH_TOLERANCE_M, DEPTH_TOLERANCE_FRACTION * np.asarray(z, dtype=float))


def subsample_vertices(vertices: np.ndarray, limit: int = MAX_SAMPLES_PER_OBJECT) -> np.ndarray:
    """At most `limit` rows of (M, 3) vertices, evenly strided in file order (deterministic)."""
    v = np.asarray(vertices, dtype=float).reshape(-1, 3)
    if len(v) <= limit:
        return v
    return v[np.unique(np.linspace(0, len(v) - 1, limit).round().astype(np.int64))]


# (G*G, 2) face grid: cell centres in [-1/2, 1/2]^2 (no point on an edge, so no point is on two faces).
def _face_grid(grid: int) -> np.ndarray:
    c = (np.arange(grid) + 0.5) / grid - 0.5
    a, b = np.meshgrid(c, c, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1)


def box_face_samples(
    boxes: Sequence[OrientedBox3D], camera_centre_world: np.ndarray, grid: int = BOX_FACE_GRID
) -> tuple[np.ndarray, np.ndarray]:
    """Samples on the camera-facing faces of M boxes: ((S, 3) world points, (S,) box index), grouped by box.

    Face k (k = 0..5: +x, -x, +y, -y, +z, -z of the box) with outward normal n and centre f faces the
    camera C when n . (C - f) > 0. Its samples are f + a * e1 + b * e2 for the grid's (a, b), e1 and e2 the
    face's two full edge vectors. A camera inside a box sees none of its faces (the box gets no samples).
    """
    if not boxes:
        return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    centres = np.array([b.center for b in boxes], dtype=float)  # (M, 3) world
    rotations = np.array([b.rotation for b in boxes], dtype=float)  # (M, 3, 3) world_from_object
    sizes = np.array([b.size for b in boxes], dtype=float)  # (M, 3) m
    axes = rotations * sizes[:, None, :]  # (M, 3, 3): column i = box axis i scaled by its full length
    normals, face_centres, edge1, edge2 = [], [], [], []
    for axis in range(3):
        u, v = (axis + 1) % 3, (axis + 2) % 3
        for sign in (1.0, -1.0):
            normals.append(sign * rotations[:, :, axis])
            face_centres.append(centres + sign * axes[:, :, axis] / 2.0)
            edge1.append(axes[:, :, u])
            edge2.append(axes[:, :, v])
    n = np.stack(normals, axis=1)  # (M, 6, 3)
    f = np.stack(face_centres, axis=1)  # (M, 6, 3)
    e1, e2 = np.stack(edge1, axis=1), np.stack(edge2, axis=1)  # (M, 6, 3)
    facing = np.einsum("mkc,mkc->mk", n, np.asarray(camera_centre_world, dtype=float) - f) > 0.0  # (M, 6)
    g = _face_grid(grid)  # (G, 2)
    points = (
        f[:, :, None, :]
        + g[None, None, :, 0:1] * e1[:, :, None, :]
        + g[None, None, :, 1:2] * e2[:, :, None, :]
    )
    owner = np.broadcast_to(np.arange(len(boxes))[:, None, None], points.shape[:3])  # (M, 6, G)
    keep = np.broadcast_to(facing[:, :, None], points.shape[:3])
    return points[keep], owner[keep]


def observe_view(
    view_id: str,
    camera: PinholeCamera,
    world_from_cam: RigidTransform,
    depth_m: np.ndarray,
    depth_camera: PinholeCamera,
    targets: Sequence[VisibilityTarget],
) -> ViewVisibility:
    """Depth-tested visibility of every target in one view (module docstring).

    camera: the image's camera; depth_m: (H_d, W_d) z-depth in metres (NaN or <= 0 = no data) taken by
    depth_camera, which shares the image camera's pose (registered depth); world_from_cam: the view's pose.
    """
    depth = np.asarray(depth_m, dtype=float)
    if depth.shape != (depth_camera.height, depth_camera.width):
        raise ValueError(
            f"depth {depth.shape} does not match its camera {(depth_camera.height, depth_camera.width)}"
        )
    points, owner, kinds = _samples(targets, world_from_cam.translation)
    m = len(targets)
    cam_from_world = world_from_cam.inverse()
    p = cam_from_world.apply(points) if len(points) else np.zeros((0, 3))  # (S, 3) m, cam
    z = p[:, 2]
    in_front = z > NEAR_M
    uv = np.full((len(p), 2), np.nan)
    uv[in_front] = camera.project(p[in_front])[0]
    in_image = in_front & camera.in_image(uv)
    measured = _depth_at(p, in_image, depth, depth_camera)  # (S,) m, NaN = no data
    with_depth = in_image & np.isfinite(measured)
    visible = with_depth & (measured >= z - depth_tolerance_m(z))

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(owner[mask], minlength=m)

    n_sampled, n_front, n_image, n_depth, n_visible = (
        count(np.ones(len(p), dtype=bool)),
        count(in_front),
        count(in_image),
        count(with_depth),
        count(visible),
    )
    boxes = _visible_bounds(uv, owner, visible, m, camera)
    medians = _group_medians(z, owner, visible, m)
    min_area = MIN_BOX_AREA_FRACTION * camera.width * camera.height
    facts: list[ObjectVisibility] = []
    observations: dict[str, ObjectObservation] = {}
    tally: Counter = Counter()
    for i, target in enumerate(targets):
        fraction = float(n_visible[i] / n_sampled[i]) if n_sampled[i] else 0.0
        truncation = float(1.0 - n_image[i] / n_front[i]) if n_front[i] else None
        box2d = boxes[i]
        area = box2d.area if box2d is not None else 0.0
        median = medians[i]
        if n_sampled[i] == 0:
            rejection: str | None = CAMERA_INSIDE_BOX
        elif n_front[i] == 0:
            rejection = BEHIND_CAMERA
        elif n_image[i] == 0:
            rejection = OUTSIDE_IMAGE
        elif n_depth[i] == 0:
            rejection = NO_DEPTH_DATA
        elif fraction < MIN_VISIBLE_FRACTION[kinds[i]] or n_visible[i] == 0:
            rejection = LOW_VISIBLE_FRACTION
        elif area < min_area:
            rejection = SMALL_BOX
        elif median is None or not (MIN_OBJECT_DEPTH_M <= median <= MAX_OBJECT_DEPTH_M):
            rejection = OUT_OF_DEPTH_RANGE
        else:
            rejection = None
        facts.append(
            ObjectVisibility(
                target.object_id,
                kinds[i],
                int(n_sampled[i]),
                int(n_front[i]),
                int(n_image[i]),
                int(n_depth[i]),
                int(n_visible[i]),
                fraction,
                truncation,
                box2d,
                float(area),
                median,
                rejection,
            )
        )
        if rejection is not None:
            tally[rejection] += 1
            continue
        centre_cam = cam_from_world.apply(target.box.center)
        observations[target.object_id] = ObjectObservation(
            view_id=view_id,
            box2d=box2d,
            box2d_kind=BOX2D_KIND,
            visibility=fraction,
            truncation=truncation,
            behind_camera=bool(centre_cam[2] <= 0.0),
        )
    return ViewVisibility(observations, tuple(facts), tally)


def _samples(
    targets: Sequence[VisibilityTarget], camera_centre_world: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """((S, 3) world samples, (S,) target index, per-target sample kind): vertices where given, else the
    camera-facing box faces (mesh samples first, then face samples; reductions go by the index)."""
    kinds = [SAMPLES_MESH if t.vertices is not None and len(t.vertices) else SAMPLES_BOX for t in targets]
    box_ids = [i for i, k in enumerate(kinds) if k == SAMPLES_BOX]
    face_points, face_owner = box_face_samples([targets[i].box for i in box_ids], camera_centre_world)
    chunks: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    face_owner_global = np.asarray(box_ids, dtype=np.int64)[face_owner] if len(face_owner) else face_owner
    for i, kind in enumerate(kinds):
        if kind == SAMPLES_MESH:
            v = subsample_vertices(targets[i].vertices)  # type: ignore[arg-type]
            chunks.append(v)
            owners.append(np.full(len(v), i, dtype=np.int64))
    chunks.append(face_points)
    owners.append(face_owner_global)
    points = np.concatenate(chunks, axis=0) if chunks else np.zeros((0, 3))
    owner = np.concatenate(owners).astype(np.int64) if owners else np.zeros(0, dtype=np.int64)
    return points, owner, kinds


def _depth_at(p: np.ndarray, mask: np.ndarray, depth: np.ndarray, depth_camera: PinholeCamera) -> np.ndarray:
    """(S,) measured depth (metres) at the depth-raster pixel containing each masked camera-frame point
    (pixel (c, r) covers [c - 0.5, c + 0.5) x [r - 0.5, r + 0.5)); NaN elsewhere or where there is no data."""
    out = np.full(len(p), np.nan)
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return out
    uv, _ = depth_camera.project(p[idx])
    col = np.floor(uv[:, 0] + 0.5)
    row = np.floor(uv[:, 1] + 0.5)
    inside = (col >= 0) & (col < depth_camera.width) & (row >= 0) & (row < depth_camera.height)
    values = np.full(len(idx), np.nan)
    values[inside] = depth[row[inside].astype(np.int64), col[inside].astype(np.int64)]
    values[~(values > 0.0)] = np.nan  # 0 / negative / NaN = no data
    out[idx] = values
    return out


def _visible_bounds(
    uv: np.ndarray, owner: np.ndarray, visible: np.ndarray, m: int, camera: PinholeCamera
) -> list[Box2D | None]:
    """Per target: the clipped bounds of its visible projected samples, or None when it has none."""
    lo = np.full((m, 2), np.inf)
    hi = np.full((m, 2), -np.inf)
    np.minimum.at(lo, owner[visible], uv[visible])
    np.maximum.at(hi, owner[visible], uv[visible])
    out: list[Box2D | None] = []
    for i in range(m):
        if not np.isfinite(lo[i, 0]):
            out.append(None)
            continue
        box = Box2D(float(lo[i, 0]), float(lo[i, 1]), float(hi[i, 0]), float(hi[i, 1]))
        out.append(box.clipped(camera.width, camera.height))
    return out


def _group_medians(values: np.ndarray, owner: np.ndarray, mask: np.ndarray, m: int) -> list[float | None]:
    """Per target, the median of values[mask] of its samples (np.median's convention), None if none."""
    v, o = values[mask], owner[mask]
    order = np.lexsort((v, o))
    v, o = v[order], o[order]
    counts = np.bincount(o, minlength=m)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out: list[float | None] = []
    for i in range(m):
        n = int(counts[i])
        if n == 0:
            out.append(None)
            continue
        s = int(starts[i])
        out.append(float((v[s + (n - 1) // 2] + v[s + n // 2]) / 2.0))
    return out


# View.metadata key of a depth raster's own camera when it differs from the image's (posed-scan adapters).
DEPTH_CAMERA_KEY = "depth_camera"


def depth_camera_of(view: View) -> PinholeCamera | None:
    """The depth raster's camera recorded in view.metadata[DEPTH_CAMERA_KEY] ({fx, fy, cx, cy, width,
    height}), or None when the view has none (its depth then has the image camera's size)."""
    raw = view.metadata.get(DEPTH_CAMERA_KEY)
    if not isinstance(raw, dict):
        return None
    try:
        return PinholeCamera(
            float(raw["fx"]),
            float(raw["fy"]),
            float(raw["cx"]),
            float(raw["cy"]),
            int(raw["width"]),
            int(raw["height"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def resample_depth_to_camera(
    depth_m: np.ndarray, depth_camera: PinholeCamera, camera: PinholeCamera
) -> np.ndarray:
    """(H, W) float32 depth in `camera`'s pixel grid, from a registered raster taken by depth_camera (same
    pose, other intrinsics / size): each image pixel centre (u, v) looks along ((u - cx) / fx, (v - cy) /
    fy, 1), which meets the depth raster at (fx_d x + cx_d, fy_d y + cy_d); the depth pixel containing
    that point is copied (nearest neighbour: no depth is invented between surfaces). Off-raster = NaN.
    z-depth is the same along a ray for both cameras (same centre, same optical axis)."""
    depth = np.asarray(depth_m, dtype=float)
    u = (np.arange(camera.width) - camera.cx) / camera.fx  # (W,) x / z
    v = (np.arange(camera.height) - camera.cy) / camera.fy  # (H,) y / z
    col = np.floor(depth_camera.fx * u + depth_camera.cx + 0.5).astype(np.int64)
    row = np.floor(depth_camera.fy * v + depth_camera.cy + 0.5).astype(np.int64)
    col_ok = (col >= 0) & (col < depth_camera.width)
    row_ok = (row >= 0) & (row < depth_camera.height)
    out = np.full((camera.height, camera.width), np.nan, dtype=np.float32)
    rows = np.clip(row, 0, depth_camera.height - 1)
    cols = np.clip(col, 0, depth_camera.width - 1)
    out[:] = depth[rows[:, None], cols[None, :]]
    out[~(row_ok[:, None] & col_ok[None, :])] = np.nan
    return out
