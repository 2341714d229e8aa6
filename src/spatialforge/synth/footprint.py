"""Footprints: an object's box seen from above, as an oriented rectangle on the world's horizontal plane.

Placement keeps footprints apart (objects standing on the same surface never interpenetrate) and inside the
region they belong to (a room's walls, a table top, a sidewalk). Separating-axis test on two rectangles:
they are disjoint iff some edge normal of either separates their projections.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class Footprint(NamedTuple):
    center_xy: tuple[float, float]  # m, world
    half_extent: tuple[float, float]  # m, half length (along the object's x) and half width (its y)
    yaw_rad: float  # object x axis heading in the world xy plane

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """(2,) unit vectors of the object's x and y axes in world xy."""
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        return np.array([c, s]), np.array([-s, c])

    def corners(self) -> np.ndarray:
        """(4, 2) m, world xy, counter-clockwise."""
        ax, ay = self.axes()
        hx, hy = self.half_extent
        c = np.asarray(self.center_xy, dtype=float)
        return np.stack(
            [c + hx * ax + hy * ay, c - hx * ax + hy * ay, c - hx * ax - hy * ay, c + hx * ax - hy * ay]
        )

    def grown(self, margin_m: float) -> Footprint:
        return Footprint(
            self.center_xy, (self.half_extent[0] + margin_m, self.half_extent[1] + margin_m), self.yaw_rad
        )


def _radius_along(fp: Footprint, axis: np.ndarray) -> float:
    ax, ay = fp.axes()
    return fp.half_extent[0] * abs(float(ax @ axis)) + fp.half_extent[1] * abs(float(ay @ axis))


def overlaps(a: Footprint, b: Footprint, clearance_m: float = 0.0) -> bool:
    """Whether the two rectangles come closer than clearance_m along every separating axis (SAT)."""
    delta = np.asarray(b.center_xy, dtype=float) - np.asarray(a.center_xy, dtype=float)  # (2,) m
    for axis in (*a.axes(), *b.axes()):
        if abs(float(delta @ axis)) >= _radius_along(a, axis) + _radius_along(b, axis) + clearance_m:
            return False
    return True


def inside_rect(fp: Footprint, x_range: tuple[float, float], y_range: tuple[float, float]) -> bool:
    """Whether every corner lies in the axis-aligned rectangle x_range x y_range (m, world xy)."""
    c = fp.corners()
    return bool(
        c[:, 0].min() >= x_range[0] and c[:, 0].max() <= x_range[1]
        and c[:, 1].min() >= y_range[0] and c[:, 1].max() <= y_range[1]
    )  # fmt: skip


def inside_footprint(inner: Footprint, outer: Footprint, margin_m: float = 0.0) -> bool:
    """Whether every corner of `inner` lies inside `outer` shrunk by margin_m (a cup on a table top)."""
    ax, ay = outer.axes()
    rel = inner.corners() - np.asarray(outer.center_xy, dtype=float)  # (4, 2) m, world xy
    return bool(
        np.all(np.abs(rel @ ax) <= outer.half_extent[0] - margin_m)
        and np.all(np.abs(rel @ ay) <= outer.half_extent[1] - margin_m)
    )


def contains_point(fp: Footprint, xy: np.ndarray, margin_m: float = 0.0) -> bool:
    """Whether the point (2,) m lies within the rectangle grown by margin_m."""
    ax, ay = fp.axes()
    rel = np.asarray(xy, dtype=float) - np.asarray(fp.center_xy, dtype=float)
    return bool(
        abs(rel @ ax) <= fp.half_extent[0] + margin_m and abs(rel @ ay) <= fp.half_extent[1] + margin_m
    )
