"""Where a synthetic scene's cameras stand: one pose, or a trajectory of K posed views through the scene.

- indoor: a human (60 %) or robot (40 %) rig standing in free floor space, aimed at the room's objects; the
  trajectory walks sideways 0.3-0.6 m per view and turns to keep the same part of the room in sight, as a
  person scanning a room does (consecutive views overlap).
- tabletop: the tabletop rig on a circle around the table, aimed at the table top; the trajectory steps
  15-30 degrees around it.
- street: the vehicle rig in the right lane looking down the road; the trajectory drives 1-3 m per view.

Every position is checked against the layout (synth.layout.free_for_camera); a trajectory step that finds no
free spot after its tries ends the trajectory early, and the missing views are counted by the caller.
"""

from __future__ import annotations

import math
import random

import numpy as np

from spatialforge.synth.cameras import RIGS, CameraPose, Rig, aim_at, world_from_cam_pose
from spatialforge.synth.layout import Layout, free_for_camera

TRIES = 60
CANDIDATES = 16  # standing spots tried for the first indoor view


def _rig_for(setting: str, rng: random.Random) -> Rig:
    if setting == "street":
        return RIGS["vehicle"]
    if setting == "tabletop":
        return RIGS["tabletop"]
    return RIGS["human"] if rng.random() < 0.6 else RIGS["robot"]


def _indoor_target(layout: Layout, position_xy: np.ndarray, rng: random.Random) -> np.ndarray:
    """An object at least 1.2 m away (blended towards the room centre so several objects share the view)."""
    far = [p for p in layout.placements if math.dist(p.center_m[:2], position_xy) > 1.2]
    if not far:
        return np.array(layout.focus_m)
    pick = np.array(rng.choice(far).center_m)
    return 0.6 * pick + 0.4 * np.array(layout.focus_m)


def objects_in_view(layout: Layout, pose: CameraPose, hfov_deg: float = 60.0, aspect: float = 0.75) -> int:
    """A score for a pose: object centres in its view cone 1.2-8 m ahead, minus 2 for each one closer than
    1.2 m (it would fill the frame and hide the rest); a cheap stand-in for rendering, used to choose among
    candidate poses."""
    rotation = world_from_cam_pose(pose.position_m, pose.yaw_rad, pose.pitch_rad, pose.roll_rad, "v").rotation
    tan_x = math.tan(math.radians(hfov_deg) / 2)
    count = 0
    for p in layout.placements:
        c = (np.array(p.center_m) - pose.position_m) @ rotation  # (3,) m, cam
        if c[2] <= 0.0 or abs(c[0]) > tan_x * c[2] * 0.9 or abs(c[1]) > tan_x * aspect * c[2] * 0.9:
            continue
        if c[2] < 1.2:
            count -= 2
        elif c[2] < 8.0:
            count += 1
    return count


def _indoor_start(layout: Layout, rig: Rig, height: float, rng: random.Random) -> CameraPose | None:
    """The best of CANDIDATES free standing spots (objects_in_view), each aimed at an object or the room."""
    assert layout.room_m is not None
    half_w, half_d = layout.room_m[0] / 2, layout.room_m[1] / 2
    best: tuple[int, CameraPose] | None = None
    for _ in range(CANDIDATES):
        for _ in range(TRIES):
            xy = np.array([rng.uniform(-half_w, half_w), rng.uniform(-half_d, half_d)])
            if free_for_camera(layout, xy):
                break
        else:
            return best[1] if best else None
        pose = aim_at(np.array([xy[0], xy[1], height]), _indoor_target(layout, xy, rng), rig, rng)
        score = objects_in_view(layout, pose)
        if best is None or score > best[0]:
            best = (score, pose)
    return best[1] if best else None


def _indoor_views(layout: Layout, rig: Rig, n_views: int, rng: random.Random) -> list[CameraPose]:
    height = rng.uniform(*rig.height_m)
    start = _indoor_start(layout, rig, height, rng)
    if start is None:
        return []
    # Later views keep looking at the point the first one aimed at (the centre of its view, 3 m ahead).
    forward = world_from_cam_pose(start.position_m, start.yaw_rad, start.pitch_rad, 0.0, "v").rotation[:, 2]
    target = start.position_m + 3.0 * forward
    target[2] = max(target[2], 0.3)
    poses = [start]
    for _ in range(n_views - 1):
        last = poses[-1]
        for attempt in range(TRIES):
            side = rng.choice((-1.0, 1.0))
            # Shorter steps once the usual ones keep hitting furniture (a camera boxed in a corner).
            step = rng.uniform(0.3, 0.6) if attempt < TRIES // 2 else rng.uniform(0.15, 0.3)
            # Sideways (perpendicular to the heading) with a little forward/backward drift.
            heading = np.array([math.cos(last.yaw_rad), math.sin(last.yaw_rad)])
            lateral = np.array([-heading[1], heading[0]]) * side
            xy = last.position_m[:2] + step * lateral + rng.uniform(-0.15, 0.15) * heading
            if free_for_camera(layout, xy):
                break
        else:
            break
        poses.append(
            aim_at(np.array([xy[0], xy[1], height + rng.uniform(-0.03, 0.03)]), target, rig, rng, 4.0)
        )
    return poses


def _tabletop_views(layout: Layout, rig: Rig, n_views: int, rng: random.Random) -> list[CameraPose]:
    table = layout.placements[0]
    radius = math.hypot(table.size_m[0], table.size_m[1]) / 2 + rng.uniform(
        0.2, 0.6
    )  # m from the table centre
    height = table.top_z + rng.uniform(*rig.height_m)
    target = np.array(layout.focus_m)
    angle = rng.uniform(-math.pi, math.pi)
    direction = rng.choice((-1.0, 1.0))
    poses: list[CameraPose] = []
    for _ in range(n_views):
        for _ in range(TRIES):
            xy = np.array([math.cos(angle), math.sin(angle)]) * radius
            if free_for_camera(layout, xy, margin_m=0.2):
                break
            angle += direction * math.radians(10.0)
        else:
            break
        poses.append(aim_at(np.array([xy[0], xy[1], height]), target, rig, rng, 4.0))
        angle += direction * math.radians(rng.uniform(15.0, 30.0))
    return poses


def _street_views(layout: Layout, rig: Rig, n_views: int, rng: random.Random) -> list[CameraPose]:
    assert layout.road_half_width_m is not None
    x = layout.road_half_width_m / 2 + rng.uniform(-0.3, 0.3)
    height = rng.uniform(*rig.height_m)
    poses: list[CameraPose] = []
    y = 0.0
    for _ in range(n_views):
        target = np.array([x + rng.uniform(-1.0, 1.0), y + 25.0, height - 0.5])
        poses.append(aim_at(np.array([x, y, height]), target, rig, rng, 3.0))
        y += rng.uniform(1.0, 3.0)
    return poses


def camera_poses(layout: Layout, n_views: int, rng: random.Random) -> tuple[str, list[CameraPose]]:
    """(rig name, up to n_views poses) for the layout's setting (module docstring)."""
    if n_views < 1:
        raise ValueError(f"n_views must be >= 1, got {n_views}")
    rig = _rig_for(layout.setting, rng)
    build = {"indoor": _indoor_views, "tabletop": _tabletop_views, "street": _street_views}[layout.setting]
    return rig.name, build(layout, rig, n_views, rng)
