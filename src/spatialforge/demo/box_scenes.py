"""Random boxes-only indoor scenes: a level camera looking into a room of furniture-sized boxes.

What the generator benchmarks and tests need, without any dataset: a valid Scene record with a pinhole
camera, objects of realistic categories and sizes standing on the floor, some with a semantic front
(sources/fronts.py), and 2D boxes that are the exact projections of the 3D boxes. No image is written
(`image_path` names a file that does not exist): the QA engine reads geometry only.

Frames: the world is z up with the camera at the origin, 1.3 m above the floor (floor at z = -1.3),
looking along +y (level_world_from_cam), so the camera frame is OpenCV's and gravity is exact.
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
from spatialforge.scene.records import Gravity, Object3D, ObjectObservation, Scene, View
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


def random_box_scene(index: int, rng: random.Random, n_objects: int = 8) -> Scene:
    """Scene `synthetic_boxes/<index>` with up to n_objects visible boxes placed 1.5-9 m ahead."""
    camera = PinholeCamera(FOCAL_PX, FOCAL_PX, (WIDTH - 1) / 2, (HEIGHT - 1) / 2, WIDTH, HEIGHT)
    lv = level_world_from_cam(None)
    view = View(
        "v0",
        f"images/{index:06d}.jpg",
        camera,
        RigidTransform(lv.rotation, lv.translation, "world", "cam:v0"),
    )
    cam_from_world = view.cam_from_world()
    objects = []
    for attempt in range(n_objects * 4):
        if len(objects) == n_objects:
            break
        category, (length, width, height) = CATEGORY_SIZES[rng.randrange(len(CATEGORY_SIZES))]
        scale = rng.uniform(0.8, 1.25)
        size = np.array([length, width, height]) * scale  # (3,) m, object frame
        depth = rng.uniform(1.5, 9.0)
        lateral = rng.uniform(-0.6, 0.6) * depth  # stay roughly inside the 63-degree horizontal field of view
        center = np.array([lateral, depth, -CAMERA_HEIGHT_M + size[2] / 2])  # (3,) m, world
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
    )


def random_box_scenes(n_scenes: int, seed: int = 0, n_objects: int = 8) -> Iterator[Scene]:
    """n_scenes scenes, scene i drawn from random.Random(f"{seed}:{i}") (any subset is reproducible)."""
    for i in range(n_scenes):
        yield random_box_scene(i, random.Random(f"{seed}:{i}"), n_objects)
