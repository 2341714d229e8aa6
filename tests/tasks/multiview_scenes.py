"""Multi-view scenes for tests: synthetic room trajectories (rendered, observations from instance masks)
with a floor point cloud written beside them, so every multi-view task, room_size included, can run."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D, project_box_to_2d
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import AssetRef, Gravity, Object3D, ObjectObservation, Scene, View
from spatialforge.synth.world import SynthConfig, synthesize_scene
from tests.tasks.scenes import CAMERA, HEIGHT, WIDTH

# Small frames keep rendering fast; 4 views give sequence windows and several co-visible pairs.
MV_VIEWS = 4
MV_SIZE = (192, 144)
FLOOR_STEP_M = 0.1


def floor_points(room_m: tuple[float, float], step_m: float = FLOOR_STEP_M) -> np.ndarray:
    """(N, 3) m, world: a grid over the synthetic room's floor (z = 0, walls at x = +-W/2, y = +-D/2)."""
    w, d = room_m
    xs = np.arange(-w / 2, w / 2 + 1e-9, step_m)
    ys = np.arange(-d / 2, d / 2 + 1e-9, step_m)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=1)


def synthetic_trajectories(root: Path, count: int = 3, seed: int = 0) -> list[Scene]:
    """`count` indoor rooms seen from MV_VIEWS posed views, each with a floor point cloud (npy, world) under
    root, which is the scenes' asset_root (images are not written: generation does not read them)."""
    config = SynthConfig(setting="indoor", views=MV_VIEWS, width=MV_SIZE[0], height=MV_SIZE[1], seed=seed)
    scenes = []
    for index in range(count):
        scene = synthesize_scene(index, config, asset_root=str(root)).scene
        cloud = root / f"cloud_{index}.npy"
        np.save(cloud, floor_points(tuple(scene.metadata["room_m"][:2])).astype(np.float32))
        scenes.append(
            dataclasses.replace(
                scene, point_cloud=AssetRef(cloud.name, "npy_f32", frame="world", scale_to_m=1.0)
            )
        )
    return scenes


# ---------------------------------------------------------------- hand-built posed scenes

EXACT_GRAVITY = Gravity((0.0, 0.0, -1.0), "exact")


def world_from_cam_at(
    position: tuple[float, float, float], yaw_left_deg: float, view_id: str
) -> RigidTransform:
    """A level camera at `position` (world, z up) whose optical axis points along world +y turned left
    (counter-clockwise seen from above) by yaw_left_deg. Columns: x_cam (right), y_cam (down), z_cam
    (forward) in world coordinates."""
    a = math.radians(yaw_left_deg)
    forward = np.array([-math.sin(a), math.cos(a), 0.0])
    right = np.array([math.cos(a), math.sin(a), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    return RigidTransform(
        np.stack([right, down, forward], axis=1), np.array(position, float), "world", f"cam:{view_id}"
    )


def posed_scene(
    boxes: Sequence[tuple[str, str, tuple[float, float, float], tuple[float, float, float]]],
    poses: Sequence[RigidTransform],
    scene_id: str = "mv/0",
    point_cloud: AssetRef | None = None,
) -> Scene:
    """A multi-view scene: boxes (object_id, category, world centre, size) and one view per pose (view ids
    v0, v1, ...). An object is observed in a view when its centre is at least 0.3 m in front of the camera
    and its whole projected box lies inside the image (no occluders: the tests place objects apart)."""
    views = tuple(
        View(f"v{i}", f"images/v{i}.jpg", CAMERA, replace_src(pose, f"cam:v{i}"))
        for i, pose in enumerate(poses)
    )
    objects = []
    for oid, category, centre, size in boxes:
        box = OrientedBox3D(np.array(centre, float), np.eye(3), np.array(size, float))
        observations = []
        for view in views:
            in_cam = box.transformed(view.cam_from_world())
            if in_cam.center[2] < 0.3 or (in_cam.corners()[:, 2] <= 0.05).any():
                continue
            box2d = project_box_to_2d(in_cam, CAMERA)
            if box2d is None:
                continue
            if box2d.x_min < 0 or box2d.y_min < 0 or box2d.x_max > WIDTH - 1 or box2d.y_max > HEIGHT - 1:
                continue
            observations.append(ObjectObservation(view.view_id, box2d, "projected", 1.0, 0.0, None, False))
        objects.append(Object3D(oid, f"test:{oid}", category, box, False, observations=tuple(observations)))
    return Scene(
        scene_id,
        scene_id,
        "test",
        "train",
        "CC0-1.0",
        ".",
        views,
        tuple(objects),
        EXACT_GRAVITY,
        point_cloud=point_cloud,
    )


def replace_src(transform: RigidTransform, src: str) -> RigidTransform:
    return RigidTransform(transform.rotation, transform.translation, transform.dst, src)


WALK_STEP_M = 0.5
WALK_TURN_DEG = 40.0
LEAD_DEG = 25.0  # the second object of a view: this far left of its axis, so the next view sees it too
CATEGORIES = ("chair", "lamp", "sofa", "table", "plant", "tv", "bed", "desk", "shelf", "bin")


def walkthroughs(root: Path, count: int) -> list[Scene]:
    """`count` walkthroughs of 8 views (1.5 m steps, turning 20-40 deg per view) with a 6 m x 8 m floor point
    cloud under root (their asset_root): scenes where one camera sees the next (camera_motion_infer) and
    every task, room_size included, can be asked."""
    cloud = root / "walk_floor.npy"
    np.save(cloud, floor_points((6.0, 8.0)).astype(np.float32))
    out = []
    for i in range(count):
        # Every other walk repeats three categories, so counting questions have something to count.
        names = CATEGORIES if i % 2 == 0 else ("chair", "lamp", "sofa")
        turn = 20.0 + 20.0 * i / max(1, count - 1)
        scene = walkthrough(8, f"mv/walk{i}", turn_deg=turn, step_m=1.5, categories=names)
        out.append(
            dataclasses.replace(
                scene,
                asset_root=str(root),
                point_cloud=AssetRef(cloud.name, "npy_f32", frame="world", scale_to_m=1.0),
            )
        )
    return out


def walkthrough(
    n_views: int = 4,
    scene_id: str = "mv/walk",
    turn_deg: float = WALK_TURN_DEG,
    step_m: float = WALK_STEP_M,
    categories: Sequence[str] = CATEGORIES,
) -> Scene:
    """A level camera walking WALK_STEP_M along world +y per view and turning left WALK_TURN_DEG per view.
    Each view k has two objects of their own categories 3 m away: one on its optical axis and one LEAD_DEG
    to its left, which the next view sees too (so view pairs share an object, and objects come into view one
    after another: appearance order, frame location); 0.4 m boxes."""
    poses = [world_from_cam_at((0.0, k * WALK_STEP_M, 1.2), k * turn_deg, f"v{k}") for k in range(n_views)]
    boxes = []
    for k, pose in enumerate(poses):
        for j, lead in enumerate((0.0, LEAD_DEG)):
            a = math.radians(k * turn_deg + lead)
            direction = np.array([-math.sin(a), math.cos(a), 0.0])  # world, level, turned left by a
            centre = pose.translation + 3.0 * direction  # (3,) m, world
            boxes.append(
                (str(2 * k + j), CATEGORIES[(2 * k + j) % len(CATEGORIES)], tuple(centre), (0.4,) * 3)
            )
    return posed_scene(boxes, poses, scene_id)
