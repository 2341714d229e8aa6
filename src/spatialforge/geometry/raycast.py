"""Ray casting onto oriented 3D boxes and a plane: the exact depth of a scene made of boxes and a floor.

A ray is the half-line p(t) = o + t d, t > min_t. Nothing here normalises d, so t is in units of |d|: a
camera ray through pixel (u, v) taken as d_cam = ((u - cx) / fx, (v - cy) / fy, 1) has t equal to the
z-depth of the point it hits (`camera_ray_directions`, `depth_at_pixels`), which is what depth maps store.
Rigid transforms keep that parametrisation, so rays may be cast in any frame.

Boxes (slab method, Kay & Kajiya 1986): in a box's own frame the box is |x_i| <= h_i (h = size / 2) on
each axis i. A ray crosses slab i during [min(t1, t2), max(t1, t2)] with t1,2 = (-+h_i - o_i) / d_i;
it is inside the box while it is inside all three slabs, so it enters at t_near = max of the slab
entries and leaves at t_far = min of the slab exits, and hits the box when t_near <= t_far. A ray
parallel to a slab (d_i = 0) is inside it for every t or for none, depending on |o_i| <= h_i. The visible
surface is at t_near, or at t_far when the ray starts inside the box (a camera inside a box sees the
box's inner walls). Everything is vectorised over rays (N) and boxes (M): arrays are (N, M, 3).

Planes: {p : n . p = offset}; a ray hits at t = (offset - n . o) / (n . d) unless n . d = 0.
Misses are +inf in the per-primitive functions and NaN in `cast_rays` / `depth_at_pixels` (the project's
"no data" for depth).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.camera import MIN_DEPTH_M, PinholeCamera
from spatialforge.geometry.transforms import RigidTransform

# Full rasters are cast in chunks of this many rays, so an (N, M, 3) working set stays a few MB.
RAYS_PER_CHUNK = 16384


class BoxArrays(NamedTuple):
    """M boxes stacked for vectorised casting, all in one frame: centres (M, 3) m, rotations (M, 3, 3)
    frame_from_object, half sizes (M, 3) m."""

    centers: np.ndarray
    rotations: np.ndarray
    half_sizes: np.ndarray

    @property
    def n_boxes(self) -> int:
        """M, the number of boxes."""
        return int(self.centers.shape[0])


class Plane(NamedTuple):
    """The plane {p : normal . p = offset}: normal (3,) unit vector, offset in metres."""

    normal: tuple[float, float, float]
    offset: float


def stack_boxes(boxes: Sequence[OrientedBox3D]) -> BoxArrays:
    """The boxes as BoxArrays (callers leave out boxes that are not well formed: NaN or zero sides)."""
    if not boxes:
        return BoxArrays(np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 3)))
    return BoxArrays(
        np.array([b.center for b in boxes], dtype=float),
        np.array([b.rotation for b in boxes], dtype=float),
        np.array([b.size for b in boxes], dtype=float) / 2.0,
    )


def _rays(origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((N, 3) or (1, 3) origins, (N, 3) directions): a single origin (3,) stays one row and is broadcast."""
    d = np.atleast_2d(np.asarray(directions, dtype=float))
    o = np.atleast_2d(np.asarray(origins, dtype=float))
    if d.ndim != 2 or d.shape[1] != 3 or o.ndim != 2 or o.shape[1] != 3 or len(o) not in (1, len(d)):
        raise ValueError(f"need (N, 3) directions and (N, 3) or (3,) origins, got {d.shape} and {o.shape}")
    return o, d


def ray_box_hits(
    origins: np.ndarray, directions: np.ndarray, boxes: BoxArrays, min_t: float = 0.0
) -> np.ndarray:
    """(N, M) ray parameter of the first surface point of each box along each ray with t > min_t, +inf
    where the ray misses the box (or the box lies wholly at t <= min_t)."""
    o, d = _rays(origins, directions)
    m = boxes.n_boxes
    if m == 0:
        return np.full((len(d), 0), np.inf)
    # Rays in each box's own frame: local = R^T (p - c), as rows p @ R - c @ R; one matrix product for all
    # boxes, with the rotations side by side: rotations_side[:, 3k:3k+3] = R_k.
    rotations_side = boxes.rotations.transpose(1, 0, 2).reshape(3, 3 * m)  # (3, 3M)
    centers_local = np.einsum("mi,mij->mj", boxes.centers, boxes.rotations)  # (M, 3)
    o_local = (o @ rotations_side).reshape(len(o), m, 3) - centers_local  # (N or 1, M, 3)
    d_local = (d @ rotations_side).reshape(len(d), m, 3)  # (N, M, 3)
    h = boxes.half_sizes  # (M, 3), broadcast over rays
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d_local
        t1 = (-h - o_local) * inv
        t2 = (h - o_local) * inv
    enter, leave = np.minimum(t1, t2), np.maximum(t1, t2)
    # A ray parallel to a slab is inside it for every t or for none (0 * inf above gave NaN there).
    parallel = d_local == 0.0
    if parallel.any():
        inside = np.broadcast_to(np.abs(o_local) <= h, parallel.shape)
        enter = np.where(parallel, np.where(inside, -np.inf, np.inf), enter)
        leave = np.where(parallel, np.where(inside, np.inf, -np.inf), leave)
    # Max / min over the three slabs, written out: numpy's reductions over a length-3 axis cost more.
    t_near = np.maximum(np.maximum(enter[..., 0], enter[..., 1]), enter[..., 2])  # (N, M)
    t_far = np.minimum(np.minimum(leave[..., 0], leave[..., 1]), leave[..., 2])
    hit = (t_near <= t_far) & (t_far > min_t)
    t = np.where(t_near > min_t, t_near, t_far)  # from inside a box: its far wall
    return np.where(hit, t, np.inf)


def ray_plane_hits(
    origins: np.ndarray, directions: np.ndarray, plane: Plane, min_t: float = 0.0
) -> np.ndarray:
    """(N,) ray parameter where each ray meets the plane with t > min_t, +inf where it does not."""
    o, d = _rays(origins, directions)
    n = np.asarray(plane.normal, dtype=float)
    along = d @ n  # (N,)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (plane.offset - o @ n) / along
    return np.where((along != 0.0) & (t > min_t), t, np.inf)


def cast_rays(
    origins: np.ndarray,
    directions: np.ndarray,
    boxes: BoxArrays,
    plane: Plane | None = None,
    min_t: float = 0.0,
) -> np.ndarray:
    """(N,) ray parameter of the nearest hit on any box or the plane (t > min_t), NaN where nothing is hit."""
    o, d = _rays(origins, directions)
    nearest = np.full(len(d), np.inf)
    if boxes.n_boxes:
        nearest = ray_box_hits(o, d, boxes, min_t).min(axis=1)
    if plane is not None:
        nearest = np.minimum(nearest, ray_plane_hits(o, d, plane, min_t))
    return np.where(np.isfinite(nearest), nearest, np.nan)


def camera_ray_directions(camera: PinholeCamera, uv: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame directions ((u - cx) / fx, (v - cy) / fy, 1) through pixels uv (N, 2): a hit at
    ray parameter t is at z-depth t."""
    uv = np.atleast_2d(np.asarray(uv, dtype=float))
    return np.stack(
        [(uv[:, 0] - camera.cx) / camera.fx, (uv[:, 1] - camera.cy) / camera.fy, np.ones(len(uv))], axis=1
    )


def depth_at_pixels(
    camera: PinholeCamera,
    world_from_cam: RigidTransform,
    uv: np.ndarray,
    boxes: BoxArrays,
    floor: Plane | None = None,
) -> np.ndarray:
    """(N,) z-depth in metres of the first box or floor surface seen through each pixel uv (N, 2) (x right,
    y down, integer = pixel centre; any real position), NaN where the ray hits nothing. boxes and floor are
    in the world frame of world_from_cam; surfaces closer than camera.MIN_DEPTH_M are ignored."""
    uv = np.atleast_2d(np.asarray(uv, dtype=float)).reshape(-1, 2)
    out = np.empty(len(uv))
    origin = world_from_cam.translation  # (3,) camera centre, world
    for start in range(0, len(uv), RAYS_PER_CHUNK):
        chunk = uv[start : start + RAYS_PER_CHUNK]
        d_world = camera_ray_directions(camera, chunk) @ world_from_cam.rotation.T  # (n, 3), world
        out[start : start + len(chunk)] = cast_rays(origin, d_world, boxes, floor, MIN_DEPTH_M)
    return out
