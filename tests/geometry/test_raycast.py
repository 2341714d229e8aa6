"""Ray casting onto oriented boxes and a plane: hand-checked hits, then properties on random scenes.

Unless said otherwise the rays start at the origin of a frame with +z forward (a camera frame), and
directions have z = 1, so a hit's ray parameter is its z-depth.
"""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.gravity import level_world_from_cam
from spatialforge.geometry.raycast import (
    Plane,
    camera_ray_directions,
    cast_rays,
    depth_at_pixels,
    ray_box_hits,
    ray_plane_hits,
    stack_boxes,
)
from spatialforge.geometry.rotations import rot_x, rot_y, rot_z
from spatialforge.geometry.transforms import RigidTransform

ORIGIN = np.zeros(3)
FORWARD = np.array([[0.0, 0.0, 1.0]])


def cube(center, size=(1.0, 1.0, 1.0), rotation=None) -> OrientedBox3D:
    return OrientedBox3D(np.array(center, float), np.eye(3) if rotation is None else rotation, np.array(size))


def cast(boxes, directions=FORWARD, origins=ORIGIN, plane=None, min_t=0.0) -> np.ndarray:
    return cast_rays(origins, directions, stack_boxes(boxes), plane, min_t)


def test_ray_down_the_optical_axis_hits_the_near_face():
    # Unit cube centred 5 m ahead: its near face is at z = 5 - 0.5 = 4.5.
    assert cast([cube((0, 0, 5))]) == pytest.approx([4.5])


def test_a_box_behind_another_is_hidden_whatever_the_order():
    near, far = cube((0, 0, 5)), cube((0, 0, 8), (2.0, 2.0, 2.0))
    assert cast([near, far]) == pytest.approx([4.5])
    assert cast([far, near]) == pytest.approx([4.5])
    # Moved 2 m to the side, the near box no longer blocks the axis: the far one's face at 8 - 1 = 7.
    assert cast([cube((2, 0, 5)), far]) == pytest.approx([7.0])
    hits = ray_box_hits(ORIGIN, FORWARD, stack_boxes([near, far]))
    assert hits[0] == pytest.approx([4.5, 7.0])  # per box: each box's own first surface


def test_a_ray_that_misses_everything_is_nan():
    boxes = [cube((0, 3, 5)), cube((-4, 0, 6))]  # above and to the left of the axis
    assert np.isnan(cast(boxes)).all()
    assert np.isinf(ray_box_hits(ORIGIN, FORWARD, stack_boxes(boxes))).all()
    # Pointing away: the box is behind the ray's start.
    assert np.isnan(cast([cube((0, 0, 5))], directions=np.array([[0.0, 0.0, -1.0]]))).all()


def test_rotated_box_edge_and_face():
    # A unit cube 5 m ahead, turned 45 deg about the vertical (camera y): a vertical edge points at the
    # camera, half a diagonal (sqrt(2) / 2 = 0.70711) in front of the centre.
    box = cube((0, 0, 5), rotation=rot_y(math.radians(45)))
    assert cast([box]) == pytest.approx([5 - math.sqrt(2) / 2])
    # Ray (0.1, 0, 1) t. The box's local axes are x_l = (c, 0, -c), z_l = (c, 0, c), c = sqrt(2)/2, so the
    # ray's local coordinates are x = c (5 - 0.9 t) and z = c (1.1 t - 5). Inside needs |x| <= 0.5, i.e.
    # t >= (5 - 0.5 / c) / 0.9 = 4.76988, and |z| <= 0.5, i.e. t >= 3.90274: it enters at
    # t = (5 - sqrt(2)/2) / 0.9 (through the face x = +0.5) and leaves at (5 + 0.70711) / 1.1 = 5.18828.
    assert cast([box], directions=np.array([[0.1, 0.0, 1.0]])) == pytest.approx(
        [(5 - math.sqrt(2) / 2) / 0.9]
    )
    # Same box turned 45 deg about the optical axis: the face is still square-on, at 4.5.
    assert cast([cube((0, 0, 5), rotation=rot_z(math.radians(45)))]) == pytest.approx([4.5])


def test_a_camera_inside_a_box_sees_its_far_wall():
    assert cast([cube((0, 0, 0), (2.0, 2.0, 2.0))]) == pytest.approx([1.0])
    assert cast([cube((0, 0, 0.5), (2.0, 2.0, 2.0))]) == pytest.approx([1.5])


def test_rays_parallel_to_a_slab():
    box = cube((0, 0, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division warnings leak out
        # Travelling along z with y = 2: never inside the slab |y| <= 0.5.
        assert np.isnan(cast([box], origins=np.array([0.0, 2.0, 0.0]))).all()
        # On the slab's boundary plane (y = 0.5): the surface counts as the box.
        assert cast([box], origins=np.array([0.0, 0.5, 0.0])) == pytest.approx([4.5])
        # Along x from the left, at the box's depth: enters through the face x = -0.5 after 3.5 m.
        assert cast([box], directions=np.array([[1.0, 0.0, 0.0]]), origins=np.array([-4.0, 0.0, 5.0])) == (
            pytest.approx([3.5])
        )


def test_min_t_ignores_surfaces_too_close():
    box = cube((0, 0, 1.0), (1.0, 1.0, 1.0))  # near face at 0.5, far face at 1.5
    assert cast([box], min_t=0.6) == pytest.approx([1.5])  # starts inside: the far wall
    assert np.isnan(cast([box], min_t=2.0)).all()


def test_plane_hits():
    floor = Plane((0.0, -1.0, 0.0), -1.3)  # camera frame: y down, so "up" is -y; the floor is y = 1.3
    # Direction (0, 0.384, 1): reaches y = 1.3 at t = 1.3 / 0.384 = 3.38542.
    d = np.array([[0.0, 0.384, 1.0], [0.0, -0.2, 1.0], [0.0, 0.0, 1.0]])
    t = ray_plane_hits(ORIGIN, d, floor)
    assert t[0] == pytest.approx(1.3 / 0.384) and np.isinf(t[1]) and np.isinf(t[2])  # up / parallel: miss
    both = cast([cube((0, 0.8, 5), (1.0, 2.0, 1.0))], directions=d, plane=floor)  # y from -0.2 to 1.8
    # Ray 0 meets the floor at 3.385 before the box (z >= 4.5); ray 2 hits the box; ray 1 nothing.
    assert both[0] == pytest.approx(1.3 / 0.384) and np.isnan(both[1]) and both[2] == pytest.approx(4.5)


def test_depth_at_pixels_is_z_depth_in_a_level_world():
    # Level camera at the world origin (world: x right, y forward, z up), f = 500 px, centre (320, 240);
    # a wall 5 m ahead (front face y = 5, 4 m wide, 3 m tall) and the floor 1.3 m below the camera.
    camera = PinholeCamera(500.0, 500.0, 320.0, 240.0, 640, 480)
    lv = level_world_from_cam(None)
    world_from_cam = RigidTransform(lv.rotation, lv.translation, "world", "cam")
    wall = stack_boxes([cube((0.0, 5.25, 0.0), (4.0, 0.5, 3.0))])
    floor = Plane((0.0, 0.0, 1.0), -1.3)
    uv = np.array([[320.0, 240.0], [192.0, 192.0], [320.0, 432.0], [64.0, 336.0], [320.0, 48.0]])
    z = depth_at_pixels(camera, world_from_cam, uv, wall, floor)
    # Centre and an off-axis pixel on the wall: z = 5 both (the ray to (192, 192) is longer, z is not).
    # (320, 432): floor at z = f h / (v - cy) = 500 * 1.3 / 192 = 3.38542, in front of the wall.
    # (64, 336): left of the wall (it spans u = 320 +- 500 * 2 / 5 = [120, 520]): floor at 650 / 96.
    # (320, 48): above the horizon and the wall top (v = 240 - 500 * 1.5 / 5 = 90): nothing.
    assert z[:4] == pytest.approx([5.0, 5.0, 650 / 192, 650 / 96])
    assert np.isnan(z[4])
    d = camera_ray_directions(camera, uv[:2])
    assert d[:, 2] == pytest.approx([1.0, 1.0]) and d[1] == pytest.approx([-0.256, -0.096, 1.0])


def test_no_boxes_and_no_plane_hit_nothing():
    assert np.isnan(cast([])).all()
    assert cast([], plane=Plane((0.0, 0.0, -1.0), -3.0)) == pytest.approx([3.0])  # plane z = 3


def _random_box(rng: random.Random) -> OrientedBox3D:
    rotation = rot_z(rng.uniform(-3, 3)) @ rot_x(rng.uniform(-1, 1)) @ rot_y(rng.uniform(-3, 3))
    center = (rng.uniform(-3, 3), rng.uniform(-2, 2), rng.uniform(2, 12))
    return cube(center, (rng.uniform(0.2, 2), rng.uniform(0.2, 2), rng.uniform(0.2, 2)), rotation)


@pytest.mark.parametrize("seed", range(4))
def test_random_scenes_hit_the_first_surface(seed):
    """Every hit lies on the surface of a box, no box contains any point of the ray before it, and a ray
    that hits nothing passes through no box."""
    rng = random.Random(seed)
    boxes = [_random_box(rng) for _ in range(6)]
    nprng = np.random.default_rng(seed)
    d = np.column_stack([nprng.uniform(-0.6, 0.6, 300), nprng.uniform(-0.45, 0.45, 300), np.ones(300)])
    t = cast(boxes, directions=d)
    assert np.isfinite(t).sum() > 30 and np.isnan(t).sum() > 30  # both cases are exercised
    for ti, di in zip(t, d, strict=True):
        if np.isfinite(ti):
            hit = ti * di
            on = [b for b in boxes if b.contains(hit[None], margin_m=1e-9)[0]]
            assert on, "a hit that lies on no box"
            inside = [b for b in on if b.contains(hit[None], margin_m=-1e-6)[0]]
            assert not inside, "a hit in a box's interior, not on its surface"
            before = np.linspace(0.0, ti, 200, endpoint=False)[1:, None] * di  # (199, 3) strictly before
        else:
            before = np.linspace(0.0, 40.0, 800)[1:, None] * di
        for b in boxes:
            assert not b.contains(before, margin_m=-1e-6).any()
