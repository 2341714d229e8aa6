"""Random boxes-only indoor scenes: a level camera looking into a room of furniture-sized boxes.

What the generator benchmarks and tests need, without any dataset: a valid Scene record with a pinhole
camera, objects of realistic categories and sizes standing on the floor, some with a semantic front
(sources/fronts.py), and 2D boxes that are the exact projections of the 3D boxes. No image is written
(`image_path` names a file that does not exist): the QA engine reads geometry only.

Frames: the world is z up with the camera at the origin, 1.3 m above the floor (floor at z = -1.3),
looking along +y (level_world_from_cam), so the camera frame is OpenCV's and gravity is exact.

Depth (on by default, `depth=False` turns it off): the scene is exactly its boxes on an infinite floor, so
its depth is known without any file. The view declares depth of kind "raycast_scene" (records.
RAYCAST_DEPTH_KIND, empty path) and the scene's metadata names the floor (records.FLOOR_HEIGHT_KEY: -1.3 m
along world up); scene.depth casts rays onto both at the pixels a task asks about. Above the horizon,
where no box is, there is no depth (NaN), as with a depth sensor looking at the sky.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D, project_box_to_2d
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.gravity import level_world_from_cam
from spatialforge.geometry.rotations import rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import (
    FLOOR_HEIGHT_KEY,
    RAYCAST_DEPTH_KIND,
    AssetRef,
    Gravity,
    Object3D,
    ObjectObservation,
    Scene,
    View,
)
from spatialforge.sources.fronts import has_semantic_front

CAMERA_HEIGHT_M = 1.3
# (category, (length, width, height) in metres): typical sizes; each object is scaled by 0.8-1.25.
CATEGORY_SIZES: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("chair", (0.55, 0.5, 0.9)),
    ("sofa", (0.9, 2.0, 0.85)),
    ("table", (1.4, 0.8, 0.75)),
    ("bed", (2.0, 1.6, 0.6)),
    ("lamp", (0.4, 0.4, 1.5)),
    ("monitor", (0.2, 0.6, 0.45)),
    ("cabinet", (0.5, 1.0, 1.8)),
    ("plant", (0.5, 0.5, 1.0)),
    ("box", (0.4, 0.3, 0.3)),
    ("tv", (0.15, 1.2, 0.7)),
)
WIDTH, HEIGHT = 640, 480
FOCAL_PX = 520.0


# The view's depth when on: ray-cast from the scene itself, no file (scene/depth.py).
RAYCAST_DEPTH = AssetRef("", RAYCAST_DEPTH_KIND, frame="world", scale_to_m=1.0)


def random_box_scene(index: int, rng: random.Random, n_objects: int = 8, depth: bool = True) -> Scene:
    """Scene `synthetic_boxes/<index>` with up to n_objects visible boxes placed 1.5-9 m ahead; with depth,
    its view declares the exact ray-cast depth of the boxes and the floor (module docstring)."""
    camera = PinholeCamera(FOCAL_PX, FOCAL_PX, (WIDTH - 1) / 2, (HEIGHT - 1) / 2, WIDTH, HEIGHT)
    lv = level_world_from_cam(None)
    view = View(
        "v0",
        f"images/{index:06d}.jpg",
        camera,
        RigidTransform(lv.rotation, lv.translation, "world", "cam:v0"),
        depth=RAYCAST_DEPTH if depth else None,
    )
    cam_from_world = view.cam_from_world()
    objects: list[Object3D] = []
    for attempt in range(n_objects * 4):
        if len(objects) == n_objects:
            break
        category, (length, width, height) = CATEGORY_SIZES[rng.randrange(len(CATEGORY_SIZES))]
        scale = rng.uniform(0.8, 1.25)
        size = np.array([length, width, height]) * scale  # (3,) m, object frame
        ahead = rng.uniform(1.5, 9.0)  # m along world y
        lateral = rng.uniform(-0.6, 0.6) * ahead  # stay roughly inside the 63-degree horizontal field of view
        center = np.array([lateral, ahead, -CAMERA_HEIGHT_M + size[2] / 2])  # (3,) m, world
        box = OrientedBox3D(center, rot_z(rng.uniform(-math.pi, math.pi)), size)
        box2d = project_box_to_2d(box.transformed(cam_from_world), camera)
        if box2d is None:
            continue
        obs = ObjectObservation("v0", box2d, "projected", None, None, None, False)
        objects.append(
            Object3D(
                object_id=str(len(objects)),
                source_id=f"synthetic:{index}:{attempt}",
                category=category,
                box=box,
                has_front=has_semantic_front(category),
                observations=(obs,),
            )
        )
    return Scene(
        scene_id=f"synthetic_boxes/{index:06d}",
        capture_id=f"synthetic_boxes/{index:06d}",
        source="synthetic_boxes",
        split="train",
        license="CC0-1.0",
        asset_root=".",
        views=(view,),
        objects=tuple(objects),
        gravity=Gravity((0.0, 0.0, -1.0), "exact"),
        metadata={FLOOR_HEIGHT_KEY: -CAMERA_HEIGHT_M} if depth else {},
    )


def random_box_scenes(
    n_scenes: int, seed: int = 0, n_objects: int = 8, depth: bool = True
) -> Iterator[Scene]:
    """n_scenes scenes, scene i drawn from random.Random(f"{seed}:{i}") (any subset is reproducible); depth
    as in random_box_scene (the draws do not depend on it, so the boxes are the same either way)."""
    for i in range(n_scenes):
        yield random_box_scene(i, random.Random(f"{seed}:{i}"), n_objects, depth)
