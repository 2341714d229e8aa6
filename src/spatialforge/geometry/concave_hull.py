"""Area of a 2D point set's concave hull by alpha shape (SPAR appendix 7.5 "Room size", eq. 11-12).

SPAR's method, step by step (/work/shared/papers/003_*):
1. Downsample: quantise the points into a grid of cell size `voxel_size` (cell = floor(p / voxel_size))
   and keep one point per occupied cell. If fewer than MIN_DOWNSAMPLED_POINTS cells remain, use the
   original points instead (as SPAR does). SPAR keeps each cell's centre; we keep the mean of the cell's
   points: the same number of points at the same spacing, but a cell on a wall keeps the wall's position
   instead of moving up to half a cell off it. With centres, turning a room against the grid changed its
   area by up to 2.3 % (walls become staircases of cell centres); with means, by 0.1 %
   (tests/geometry/test_concave_hull.py, the L-shaped room).
2. Delaunay-triangulate the points (scipy.spatial.Delaunay).
3. Alpha shape: keep the triangles whose circumradius is below 1 / alpha.
4. Area = the sum of the kept triangles' areas; the boundary = the edges that belong to exactly one kept
   triangle, chained into closed loops (for drawing).

Parameterisation: `alpha` is SPAR's alpha, in 1 / (input length unit); the largest kept circumradius is
1 / alpha. A hole or notch narrower than about 2 / alpha is bridged; wider ones stay out of the area. SPAR's
own alpha and voxel size are missing from our copy of the paper. Defaults, for rooms in metres:
- VOXEL_SIZE_M = 0.05: a 5 cm grid is finer than any room feature worth measuring and keeps a large room
  (15 m x 15 m) under 10^5 cells, a Delaunay triangulation of about a second (a 5 m x 4 m room: 0.05 s).
- ALPHA_PER_M = 2.0 (largest circumradius 0.5 m): bridges gaps up to about 1 m, such as unscanned floor
  behind furniture, between a sofa and a wall or under a table, while keeping out notches and corridors
  wider than 1 m (an L-shaped room stays L-shaped). Isolated stray points (scanned through a door or window)
  form no triangle this small and add nothing.

Degenerate input gets a named reason instead of an area: "non_finite_points", "too_few_points" (< 3
distinct points), "collinear_points", "empty_alpha_shape" (no triangle small enough: points sparser than
alpha allows).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

VOXEL_SIZE_M = 0.05
ALPHA_PER_M = 2.0
# SPAR: "If the downsampled set contains fewer than 100 points, we revert to the original point cloud."
MIN_DOWNSAMPLED_POINTS = 100
# Points whose spread across their thinnest direction is below this fraction of their largest spread are
# collinear (float round-off on a line is ~1e-16 relative).
_COLLINEAR_REL_TOL = 1e-9

# Rejection reasons (stable snake_case).
NON_FINITE_POINTS = "non_finite_points"
TOO_FEW_POINTS = "too_few_points"
COLLINEAR_POINTS = "collinear_points"
EMPTY_ALPHA_SHAPE = "empty_alpha_shape"


class ConcaveHull(NamedTuple):
    """An alpha shape: area in squared input units, boundary loops in input coordinates."""

    area: float
    n_input: int  # points given
    n_triangulated: int  # points triangulated (one per grid cell, or the originals when too few cells)
    downsampled: bool  # whether the grid points were used
    n_triangles: int  # Delaunay triangles kept
    # Closed loops, each (K, 2) without repeating its first point; longest first.
    boundary: tuple[np.ndarray, ...]


def grid_downsample(points: np.ndarray, voxel_size: float) -> np.ndarray:
    """(N, 2) points -> (M, 2): the mean of the points in each occupied cell of a grid of this cell size
    (one point per cell, cells in sorted order)."""
    cells = np.floor(points / voxel_size).astype(np.int64)  # (N, 2) cell indices
    cells -= cells.min(axis=0)  # >= 0, so one int64 key per cell is exact (np.unique on rows is much slower)
    span = int(cells[:, 1].max()) + 1
    _, cell_of_point, counts = np.unique(
        cells[:, 0] * span + cells[:, 1], return_inverse=True, return_counts=True
    )  # (M,) cells; (N,) index of each point's cell; (M,) points per cell
    sums = [np.bincount(cell_of_point, weights=points[:, axis]) for axis in (0, 1)]  # 2 x (M,)
    return np.stack(sums, axis=1) / counts[:, None]


def _is_collinear(points: np.ndarray) -> bool:
    """Whether (N, 2) points lie on one line (or one point), up to float round-off."""
    centred = points - points.mean(axis=0)
    variances = np.linalg.eigvalsh(centred.T @ centred)  # (2,) ascending: squared principal spreads
    spreads = np.sqrt(np.maximum(variances, 0.0))
    return bool(spreads[1] == 0.0 or spreads[0] <= _COLLINEAR_REL_TOL * spreads[1])


def _triangle_geometry(points: np.ndarray, simplices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((T,) areas, (T,) circumradii) of the triangles; a flat triangle has area 0 and radius inf."""
    a, b, c = points[simplices[:, 0]], points[simplices[:, 1]], points[simplices[:, 2]]  # (T, 2) each
    ab, bc, ca = b - a, c - b, a - c
    area = 0.5 * np.abs(ab[:, 0] * (-ca[:, 1]) - ab[:, 1] * (-ca[:, 0]))  # |cross(b - a, c - a)| / 2
    product = np.linalg.norm(ab, axis=1) * np.linalg.norm(bc, axis=1) * np.linalg.norm(ca, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.where(area > 0.0, product / (4.0 * area), np.inf)  # R = abc / (4 * area)
    return area, radius


def _boundary_loops(points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, ...]:
    """Edges of exactly one kept triangle, chained into closed loops of (K, 2) points."""
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])  # (3T, 2)
    edges = np.sort(edges, axis=1)
    n = len(points)
    keys, counts = np.unique(edges[:, 0] * n + edges[:, 1], return_counts=True)  # one int64 key per edge
    single = keys[counts == 1]
    outline = np.stack([single // n, single % n], axis=1)  # (E, 2) vertex index pairs
    neighbours: dict[int, list[int]] = {}
    for i, j in outline.tolist():
        neighbours.setdefault(i, []).append(j)
        neighbours.setdefault(j, []).append(i)
    loops = []
    while neighbours:
        start = next(iter(neighbours))
        loop, current = [start], start
        while True:
            nxt = neighbours[current].pop()
            neighbours[nxt].remove(current)
            for vertex in (current, nxt):  # a vertex where two loops touch keeps its other edges
                if not neighbours[vertex]:
                    del neighbours[vertex]
            if nxt == start or nxt not in neighbours:
                break
            loop.append(nxt)
            current = nxt
        loops.append(points[loop])
    return tuple(sorted(loops, key=len, reverse=True))


def concave_hull(
    points_xy: np.ndarray, *, voxel_size: float = VOXEL_SIZE_M, alpha: float = ALPHA_PER_M
) -> ConcaveHull | str:
    """Alpha-shape area and outline of (N, 2) points (module docstring), or a rejection reason.

    voxel_size: grid cell size, input length unit; alpha: 1 / (largest kept circumradius), 1 / input unit.
    """
    if not (voxel_size > 0 and np.isfinite(voxel_size)):
        raise ValueError(f"voxel_size must be a positive number, got {voxel_size}")
    if not (alpha > 0 and np.isfinite(alpha)):
        raise ValueError(f"alpha must be a positive number, got {alpha}")
    points = np.asarray(points_xy, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points_xy must be (N, 2), got {points.shape}")
    if not np.isfinite(points).all():
        return NON_FINITE_POINTS
    if len(points) < 3:
        return TOO_FEW_POINTS
    # Judged on the input, before the grid: the answer must not depend on the cell size.
    if _is_collinear(points):
        return TOO_FEW_POINTS if np.ptp(points, axis=0).max() == 0.0 else COLLINEAR_POINTS
    cells = grid_downsample(points, voxel_size)
    downsampled = len(cells) >= MIN_DOWNSAMPLED_POINTS
    used = cells if downsampled else np.unique(points, axis=0)
    if len(used) < 3:  # three or more distinct input points always give at least three cells or points
        return TOO_FEW_POINTS
    # Imported here: scipy.spatial costs a quarter of a second at start-up, and most processes that import
    # this module (every `spatialforge generate`, through the multi-view tasks) never triangulate.
    from scipy.spatial import Delaunay, QhullError

    try:
        simplices = Delaunay(used).simplices  # (T, 3) vertex indices
    except QhullError:
        return COLLINEAR_POINTS
    area, radius = _triangle_geometry(used, simplices)
    keep = radius < 1.0 / alpha
    if not keep.any():
        return EMPTY_ALPHA_SHAPE
    return ConcaveHull(
        area=float(area[keep].sum()),
        n_input=len(points),
        n_triangulated=len(used),
        downsampled=downsampled,
        n_triangles=int(keep.sum()),
        boundary=_boundary_loops(used, simplices[keep]),
    )
