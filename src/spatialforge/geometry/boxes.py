"""Oriented 3D boxes.

Object frame (the one convention every source is converted into, docs/DATA.md):
    +x  front  (the semantic front when `has_front`; spans the box *length*)
    +y  left   (spans the *width*)
    +z  up     (spans the *height*)
size = (length, width, height) in metres; `rotation` is `frame_from_object` (3, 3); `center` (3,) in that
frame.

Corner order (signs of x, y, z in units of half-size):

            7 -------- 4          top face    (z = +h/2): 4 5 6 7
           /|         /|          bottom face (z = -h/2): 0 1 2 3
          6 -------- 5 |          front face  (x = +l/2): 0 1 5 4
          | |        | |
          | 3 -------|-0      z (up)   x (front)
          |/         |/       |      /
          2 -------- 1        |    /
                              |  /
                   y (left) <-+

    0 (+,+,-) front-left-bottom    4 (+,+,+) front-left-top
    1 (+,-,-) front-right-bottom   5 (+,-,+) front-right-top
    2 (-,-,-) back-right-bottom    6 (-,-,+) back-right-top
    3 (-,+,-) back-left-bottom     7 (-,+,+) back-left-top
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import MIN_DEPTH_M, PinholeCamera
from spatialforge.geometry.rotations import nearest_rotation
from spatialforge.geometry.transforms import RigidTransform

# (8, 3) corner signs in the object frame, in the order documented above.
CORNER_SIGNS = np.array(
    [
        [+1, +1, -1],
        [+1, -1, -1],
        [-1, -1, -1],
        [-1, +1, -1],
        [+1, +1, +1],
        [+1, -1, +1],
        [-1, -1, +1],
        [-1, +1, +1],
    ],
    dtype=float,
)
# The 12 edges as corner index pairs: bottom ring, top ring, verticals.
EDGES = ((0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7))
# Box edges are clipped at this depth before projection (metres); must exceed camera.MIN_DEPTH_M.
NEAR_PLANE_M = 10 * MIN_DEPTH_M
# Edges of the front face (x = +l/2), drawn in a different colour by the inspector.
FRONT_EDGES = ((0, 1), (1, 5), (5, 4), (4, 0))


@dataclass(frozen=True)
class OrientedBox3D:
    """center (3,) m, rotation (3, 3) frame_from_object, size (3,) = (length, width, height) m."""

    center: np.ndarray
    rotation: np.ndarray
    size: np.ndarray

    def __post_init__(self) -> None:
        c = np.asarray(self.center, dtype=float).reshape(-1)
        r = np.asarray(self.rotation, dtype=float)
        s = np.asarray(self.size, dtype=float).reshape(-1)
        if c.shape != (3,) or r.shape != (3, 3) or s.shape != (3,):
            raise ValueError(
                f"box needs center (3,), rotation (3, 3), size (3,); got {c.shape} {r.shape} {s.shape}"
            )
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "size", s)

    @cached_property
    def is_well_formed(self) -> bool:
        """Finite centre, rotation and size, and every side strictly positive (computed once per box)."""
        # On plain floats: numpy's per-call overhead tripled the cost on these 15 numbers.
        values = [*self.center.tolist(), *self.rotation.ravel().tolist()]
        return all(map(math.isfinite, values)) and all(0.0 < s < math.inf for s in self.size.tolist())

    @property
    def length(self) -> float:
        return float(self.size[0])

    @property
    def width(self) -> float:
        return float(self.size[1])

    @property
    def height(self) -> float:
        return float(self.size[2])

    @cached_property
    def volume(self) -> float:
        """m^3."""
        return float(self.size[0] * self.size[1] * self.size[2])

    def corners(self) -> np.ndarray:
        """(8, 3) corners in the box's frame, in the documented order."""
        local = CORNER_SIGNS * (self.size / 2.0)  # (8, 3) object frame
        return local @ self.rotation.T + self.center

    def front_direction(self) -> np.ndarray:
        """(3,) unit vector of the object's +x axis in the box's frame (meaningful only when has_front)."""
        return self.rotation[:, 0].copy()

    def up_direction(self) -> np.ndarray:
        """(3,) unit vector of the object's +z axis in the box's frame."""
        return self.rotation[:, 2].copy()

    def frame_from_object(self, frame: str, object_frame: str = "object") -> RigidTransform:
        return RigidTransform(self.rotation, self.center, frame, object_frame)

    def transformed(self, dst_from_src: RigidTransform) -> OrientedBox3D:
        """The same physical box expressed in `dst_from_src.dst` (box assumed to be in `src`)."""
        return OrientedBox3D(
            dst_from_src.apply(self.center), dst_from_src.rotation @ self.rotation, self.size.copy()
        )

    def extent_along(self, direction: np.ndarray) -> tuple[float, float]:
        """(min, max) of the box's points along the unit (3,) direction, metres (support function):
        centre . d -+ sum_i |axis_i . d| * size_i / 2 (lowest and highest corner, without building them)."""
        d = np.asarray(direction, dtype=float)
        centre = float(self.center @ d)
        half = float(np.abs(self.rotation.T @ d) @ self.size) / 2.0
        return centre - half, centre + half

    def contains(self, points: np.ndarray, margin_m: float = 0.0) -> np.ndarray:
        """(N,) bool: points (N, 3) inside the box grown by margin_m on every side (surface is inside)."""
        p = np.atleast_2d(np.asarray(points, dtype=float))
        local = (p - self.center) @ self.rotation  # (N, 3) object frame
        return np.all(np.abs(local) <= self.size / 2.0 + margin_m + 1e-12, axis=1)

    def halfspaces(self) -> np.ndarray:
        """(6, 4) [normal, offset] with normal . p + offset <= 0 inside (scipy HalfspaceIntersection form)."""
        rows = []
        for axis in range(3):
            n = self.rotation[:, axis]
            half = self.size[axis] / 2.0
            d = float(n @ self.center)
            rows.append([*n, -(d + half)])
            rows.append([*(-n), d - half])
        return np.array(rows)


def box_iou_3d(a: OrientedBox3D, b: OrientedBox3D) -> float:
    """Exact 3D IoU of two oriented boxes in the same frame (convex polytope intersection)."""
    inter = _intersection_volume(a, b)
    union = a.volume + b.volume - inter
    return float(inter / union) if union > 0 else 0.0


def _intersection_volume(a: OrientedBox3D, b: OrientedBox3D) -> float:
    hs = np.vstack([a.halfspaces(), b.halfspaces()])  # (12, 4)
    # Chebyshev centre: the interior point HalfspaceIntersection needs, and a test for emptiness.
    norms = np.linalg.norm(hs[:, :3], axis=1)
    c = np.zeros(4)
    c[3] = -1.0  # maximise the inscribed radius
    a_ub = np.hstack([hs[:, :3], norms[:, None]])
    # Imported here: scipy.optimize and scipy.spatial cost ~0.5 s of start-up, and only IoU needs them.
    from scipy.optimize import linprog
    from scipy.spatial import ConvexHull, HalfspaceIntersection, QhullError

    res = linprog(c, A_ub=a_ub, b_ub=-hs[:, 3], bounds=[(None, None)] * 3 + [(0, None)], method="highs")
    if not res.success or res.x[3] <= 1e-9:
        return 0.0
    try:
        vertices = HalfspaceIntersection(hs, res.x[:3]).intersections
        return float(ConvexHull(vertices).volume)
    except QhullError:
        return 0.0


def corners_to_box(corners: np.ndarray, tol_m: float = 1e-3) -> OrientedBox3D:
    """Inverse of `OrientedBox3D.corners` for (8, 3) corners in the documented order.

    Raises ValueError if the corners are not a box in that order (within tol_m).
    """
    p = np.asarray(corners, dtype=float)
    if p.shape != (8, 3):
        raise ValueError(f"corners must be (8, 3), got {p.shape}")
    center = p.mean(axis=0)
    # Axis vectors from face centres: front minus back, left minus right, top minus bottom.
    x_vec = p[[0, 1, 4, 5]].mean(0) - p[[2, 3, 6, 7]].mean(0)
    y_vec = p[[0, 3, 4, 7]].mean(0) - p[[1, 2, 5, 6]].mean(0)
    z_vec = p[4:].mean(0) - p[:4].mean(0)
    size = np.array([np.linalg.norm(x_vec), np.linalg.norm(y_vec), np.linalg.norm(z_vec)])
    if np.any(size <= 0):
        raise ValueError("degenerate corners: zero extent along an axis")
    rotation = nearest_rotation(np.stack([x_vec, y_vec, z_vec], axis=1) / size)
    box = OrientedBox3D(center, rotation, size)
    err = float(np.max(np.linalg.norm(box.corners() - p, axis=1)))
    if err > tol_m:
        raise ValueError(f"corners do not form a box in the documented order (max corner error {err:.4f} m)")
    return box


def project_box_to_2d(
    box_cam: OrientedBox3D, camera: PinholeCamera, clip_to_image: bool = True
) -> Box2D | None:
    """2D box of a camera-frame 3D box's projection.

    Edges crossing the near plane are clipped there first, so partly-behind boxes project correctly.
    Returns None if the whole box is behind the camera or (with clip_to_image) off the image.
    """
    corners = box_cam.corners()  # (8, 3) camera frame
    points = [corners[i] for i in range(8) if corners[i, 2] >= NEAR_PLANE_M]
    for i, j in EDGES:
        seg = clip_segment_to_near_plane(corners[i], corners[j])
        if seg is not None:
            points.extend(seg)
    if not points:
        return None
    uv, _ = camera.project(np.array(points))
    uv = uv[np.isfinite(uv).all(axis=1)]
    if len(uv) == 0:
        return None
    box = Box2D(float(uv[:, 0].min()), float(uv[:, 1].min()), float(uv[:, 0].max()), float(uv[:, 1].max()))
    if clip_to_image:
        box = box.clipped(camera.width, camera.height)
        if box.width <= 0 or box.height <= 0:
            return None
    return box


def clip_segment_to_near_plane(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Camera-frame segment p-q (3,) clipped to z >= NEAR_PLANE_M; None when wholly behind it."""
    zp, zq = p[2], q[2]
    if zp < NEAR_PLANE_M and zq < NEAR_PLANE_M:
        return None
    if zp >= NEAR_PLANE_M and zq >= NEAR_PLANE_M:
        return p, q
    crossing = p + (NEAR_PLANE_M - zp) / (zq - zp) * (q - p)
    return (crossing, q) if zp < NEAR_PLANE_M else (p, crossing)
