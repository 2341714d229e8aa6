"""Small hand-built scenes for the task tests, and the metamorphic transforms applied to them.

Camera: 640x480 pinhole, fx = fy = 500 px, principal point at the exact image centre (319.5, 239.5), so a
mirror image of a scene is a mirror image of its pixels too. Level scenes use
geometry.gravity.level_world_from_cam(None): world x = cam x (right), world y = cam z (forward), world z =
-cam y (up), camera at the world origin. Objects are placed by world centre, size (length, width, height) and
yaw (rotation about world up; yaw 0 puts the front along world +x = the camera's right, yaw -90 faces the
camera, yaw +90 faces away). Every 2D box is the projection of the 3D box (geometry.boxes.project_box_to_2d),
so every object placed in the field of view is visible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D, project_box_to_2d
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.gravity import level_world_from_cam
from spatialforge.geometry.rotations import rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import Gravity, Object3D, ObjectObservation, Scene, View
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registry import get_task
from spatialforge.tasks.spec import Fact

WIDTH, HEIGHT = 640, 480
FOCAL_PX = 500.0
CAMERA = PinholeCamera(FOCAL_PX, FOCAL_PX, (WIDTH - 1) / 2, (HEIGHT - 1) / 2, WIDTH, HEIGHT)
VIEW_ID = "v0"
EXACT_GRAVITY = Gravity((0.0, 0.0, -1.0), "exact")
_KEEP = object()


@dataclass(frozen=True)
class Obj:
    """One object to place: world centre (m), size (length, width, height) (m), yaw about world up (deg)."""

    oid: str
    category: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw_deg: float = 0.0
    has_front: bool = False


def _level() -> RigidTransform:
    lv = level_world_from_cam(None)
    return RigidTransform(lv.rotation, lv.translation, "world", f"cam:{VIEW_ID}")


def pitched_world_from_cam(pitch_down_deg: float) -> RigidTransform:
    """world_from_cam of a camera at the world origin looking along world +y, pitched down by the angle.

    Columns are the camera axes in world coordinates: x_cam = (1, 0, 0); z_cam (optical axis) =
    (0, cos p, -sin p); y_cam (image down) = (0, -sin p, -cos p).
    """
    p = math.radians(pitch_down_deg)
    c, s = math.cos(p), math.sin(p)
    rotation = np.array([[1.0, 0.0, 0.0], [0.0, -s, c], [0.0, -c, -s]])
    return RigidTransform(rotation, np.zeros(3), "world", f"cam:{VIEW_ID}")


def _view(world_from_cam: RigidTransform) -> View:
    return View(VIEW_ID, f"images/{VIEW_ID}.jpg", CAMERA, world_from_cam)


def _observed(oid: str, category: str, box: OrientedBox3D, has_front: bool, view: View) -> Object3D:
    box2d = project_box_to_2d(box.transformed(view.cam_from_world()), CAMERA)
    assert box2d is not None, f"object {oid} does not project into the image"
    obs = ObjectObservation(VIEW_ID, box2d, "projected", None, None, None, False)
    return Object3D(oid, f"test:{oid}", category, box, has_front, observations=(obs,))


def make_scene(
    objs: Sequence[Obj],
    *,
    world_from_cam: RigidTransform | None = None,
    gravity: Gravity | None = EXACT_GRAVITY,
    scene_id: str = "test/0",
) -> Scene:
    """A one-view scene with the given objects, every 2D box the projection of its 3D box."""
    view = _view(world_from_cam if world_from_cam is not None else _level())
    objects = tuple(
        _observed(
            o.oid,
            o.category,
            OrientedBox3D(np.array(o.center, float), rot_z(math.radians(o.yaw_deg)), np.array(o.size, float)),
            o.has_front,
            view,
        )
        for o in objs
    )
    return Scene(scene_id, scene_id, "test", "train", "CC0-1.0", ".", (view,), objects, gravity)


def _rebuilt(scene: Scene, boxes: Iterable[OrientedBox3D], world_from_cam: RigidTransform, gravity) -> Scene:
    view = replace(scene.views[0], world_from_cam=world_from_cam)
    pairs = zip(scene.objects, boxes, strict=True)
    objects = tuple(_observed(o.object_id, o.category, box, o.has_front, view) for o, box in pairs)
    return replace(scene, views=(view,), objects=objects, gravity=gravity)


# ------------------------------------------------------------------ metamorphic transforms


def mirrored(scene: Scene) -> Scene:
    """The scene reflected across the camera's vertical plane (camera-frame x -> -x).

    In world coordinates the reflection is M = W diag(-1, 1, 1) W^-1 (W = world_from_cam). A box's centre
    maps to M c; its rotation to M R diag(1, -1, 1): the front (x) and up (z) axes are reflected and the
    left (y) axis flipped back so the rotation stays proper (for yaw-only boxes under a level camera this is
    yaw -> 180 - yaw). Sizes are unchanged; 2D boxes are re-projected.
    """
    w = scene.views[0].world_from_cam
    m_cam = np.diag([-1.0, 1.0, 1.0])
    m = w.rotation @ m_cam @ w.rotation.T  # (3, 3) linear part in world coordinates
    origin = w.translation  # the camera centre lies on the mirror plane

    def reflect(p: np.ndarray) -> np.ndarray:
        return m @ (p - origin) + origin

    flip_y = np.diag([1.0, -1.0, 1.0])
    boxes = [
        OrientedBox3D(reflect(o.box.center), m @ o.box.rotation @ flip_y, o.box.size.copy())
        for o in scene.objects
    ]
    # Gravity is vertical, and the mirror plane contains the vertical for these cameras: unchanged.
    return _rebuilt(scene, boxes, w, scene.gravity)


def moved(scene: Scene, new_from_world: RigidTransform) -> Scene:
    """The same physical scene in another world frame: every box, the camera pose and gravity moved by one
    rigid transform (new_from_world)."""
    t = RigidTransform(new_from_world.rotation, new_from_world.translation, "world", "world")
    boxes = [o.box.transformed(t) for o in scene.objects]
    w = scene.views[0].world_from_cam
    world_from_cam = RigidTransform(t.rotation @ w.rotation, t.apply(w.translation), "world", w.src)
    gravity = scene.gravity
    if gravity is not None:
        down = t.rotation @ np.asarray(gravity.down_world, float)
        gravity = Gravity(tuple(float(x) for x in down), gravity.source)
    return _rebuilt(scene, boxes, world_from_cam, gravity)


def scaled(scene: Scene, k: float) -> Scene:
    """Every object's centre and size multiplied by k about the world origin (the camera centre); camera
    unchanged, so every projection and 2D box is unchanged."""
    assert np.allclose(scene.views[0].world_from_cam.translation, 0.0)
    boxes = [OrientedBox3D(o.box.center * k, o.box.rotation.copy(), o.box.size * k) for o in scene.objects]
    return _rebuilt(scene, boxes, scene.views[0].world_from_cam, scene.gravity)


# ------------------------------------------------------------------ driving tasks


def candidates(scene: Scene, task: str, seed: int = 0) -> list[Fact | str]:
    """Everything task `task` yields on the scene's first view with random.Random(seed)."""
    ctx = ViewContext(scene, scene.views[0])
    return list(get_task(task).candidates(ctx, random.Random(seed)))


def facts(items: Iterable[Fact | str]) -> list[Fact]:
    return [f for f in items if isinstance(f, Fact)]


def rejections(items: Iterable[Fact | str]) -> list[str]:
    return sorted(f for f in items if isinstance(f, str))


def ids(fact: Fact) -> tuple[str, ...]:
    """Object ids of the fact's mentions, in slot order."""
    return tuple(m.obj.object_id for m in fact.mentions)


def slot_of(fact: Fact, oid: str) -> str:
    """The template slot ("a", "b", ...) that names object oid in the fact."""
    (slot,) = [m.slot for m in fact.mentions if m.obj.object_id == oid]
    return slot


def directed_facts(scene: Scene, task: str, seeds: Iterable[int] = range(48)) -> dict[tuple, Fact]:
    """(variant, object ids in slot order) -> Fact, over several seeds so every order of every combination
    shows up (each seed shuffles the roles). Facts of one key must agree across seeds."""
    out: dict[tuple, Fact] = {}
    for seed in seeds:
        for f in facts(candidates(scene, task, seed)):
            key = (f.variant, ids(f))
            if key in out:
                assert out[key].answer == f.answer, f"{task} {key}: answer depends on the seed"
            out[key] = f
    return out


def find(scene: Scene, task: str, variant: str, *oids: str) -> Fact:
    """The fact of `task`/`variant` whose mentions name exactly oids, in slot order."""
    found = directed_facts(scene, task).get((variant, tuple(oids)))
    assert found is not None, f"no {task}/{variant} fact for {oids}"
    return found
