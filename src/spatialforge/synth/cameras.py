"""Cameras of the synthetic world: rigs at human, robot and vehicle heights, and multi-view trajectories.

A camera pose is built from a position (world, metres, z up), a heading (yaw about world +z, radians, 0 =
looking along world +x, pi/2 = along +y), a pitch (radians, positive = looking up) and a roll (radians about
the optical axis, positive = the image turns clockwise as seen by the camera, i.e. the camera's +x axis tips
towards its +y, "down"). Pitch and roll make the camera frame differ from the gravity-aligned frame, which is
what the engine's gravity-aware predicates are for (SPEC section 1).

Rig ranges (what real captures look like): a hand-held or head-mounted camera at 1.4-1.8 m tilted down up
to 30 degrees with a few degrees of roll; a domestic robot's camera at 0.4-1.0 m; a car's roof camera at
1.4-1.8 m (KITTI's is 1.65 m), nearly level; someone at a table looking down 25-60 degrees at its top from
0.35-0.8 m above it. Horizontal fields of view: 55-80 degrees (phones, robot cameras), 70-85 for the car
(KITTI's colour cameras are about 81 degrees wide).
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform


class Rig(NamedTuple):
    """Ranges a camera pose is drawn from; angles in degrees (as the docs state them), heights in metres."""

    name: str
    height_m: tuple[float, float]
    pitch_deg: tuple[float, float]  # negative = looking down
    roll_deg: float  # |roll| <= this
    hfov_deg: tuple[float, float]


RIGS = {
    rig.name: rig
    for rig in (
        Rig("human", (1.4, 1.8), (-30.0, -5.0), 5.0, (55.0, 75.0)),
        Rig("robot", (0.4, 1.0), (-20.0, 5.0), 3.0, (60.0, 80.0)),
        Rig("vehicle", (1.4, 1.8), (-4.0, 2.0), 2.0, (70.0, 85.0)),
        # Looking down at a table top from someone standing or sitting at it.
        Rig("tabletop", (0.35, 0.8), (-60.0, -25.0), 5.0, (55.0, 70.0)),
    )
}


def world_from_cam_pose(
    position_m: np.ndarray, yaw_rad: float, pitch_rad: float, roll_rad: float, view_id: str
) -> RigidTransform:
    """world_from_cam of an OpenCV camera (+x right, +y down, +z forward) at position_m (3,) m, world z up."""
    cy, sy = math.cos(yaw_rad), math.sin(yaw_rad)
    cp, sp = math.cos(pitch_rad), math.sin(pitch_rad)
    forward = np.array([cp * cy, cp * sy, sp])  # (3,) world, optical axis
    right_level = np.array([sy, -cy, 0.0])  # (3,) world: heading x up, horizontal
    down_level = np.cross(forward, right_level)  # (3,) world: x right, y down, z forward is right-handed
    cr, sr = math.cos(roll_rad), math.sin(roll_rad)
    right = cr * right_level + sr * down_level
    down = -sr * right_level + cr * down_level
    rotation = np.stack([right, down, forward], axis=1)  # (3, 3) columns = camera axes in world
    return RigidTransform(rotation, np.asarray(position_m, dtype=float), "world", f"cam:{view_id}")


def pinhole_from_hfov(hfov_deg: float, width: int, height: int) -> PinholeCamera:
    """Square-pixel camera with the principal point at the image centre (pixel centres at integers)."""
    if not (1.0 < hfov_deg < 179.0) or width < 2 or height < 2:
        raise ValueError(
            f"camera needs 1 < hfov_deg < 179 and a size >= 2 px, got {hfov_deg}, {width}x{height}"
        )
    focal_px = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return PinholeCamera(focal_px, focal_px, (width - 1) / 2.0, (height - 1) / 2.0, width, height)


class CameraPose(NamedTuple):
    position_m: np.ndarray  # (3,) world
    yaw_rad: float
    pitch_rad: float
    roll_rad: float


def aim_at(
    position_m: np.ndarray, target_m: np.ndarray, rig: Rig, rng: random.Random, jitter_deg: float = 6.0
) -> CameraPose:
    """A pose at position_m looking roughly at target_m: heading and pitch towards it plus jitter, the pitch
    clamped to the rig's range, roll drawn uniformly within the rig's."""
    delta = np.asarray(target_m, dtype=float) - np.asarray(position_m, dtype=float)  # (3,) m, world
    yaw = math.atan2(delta[1], delta[0]) + math.radians(rng.uniform(-jitter_deg, jitter_deg))
    pitch_to_target = math.degrees(math.atan2(delta[2], math.hypot(delta[0], delta[1])))
    pitch = min(
        max(pitch_to_target + rng.uniform(-jitter_deg, jitter_deg), rig.pitch_deg[0]), rig.pitch_deg[1]
    )
    roll = rng.uniform(-rig.roll_deg, rig.roll_deg)
    return CameraPose(np.asarray(position_m, dtype=float), yaw, math.radians(pitch), math.radians(roll))
