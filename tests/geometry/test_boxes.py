import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from spatialforge.geometry.boxes import OrientedBox3D, box_iou_3d, corners_to_box, project_box_to_2d
from spatialforge.geometry.boxes2d import Box2D, box2d_iou
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.geometry.transforms import RigidTransform

I3 = np.eye(3)


def test_corner_order_hand_checked():
    # length 4 along x (front), width 2 along y (left), height 1 along z (up), centred at (10, 0, 0).
    box = OrientedBox3D([10.0, 0.0, 0.0], I3, [4.0, 2.0, 1.0])
    expected = [
        [12, 1, -0.5],  # 0 front-left-bottom
        [12, -1, -0.5],  # 1 front-right-bottom
        [8, -1, -0.5],  # 2 back-right-bottom
        [8, 1, -0.5],  # 3 back-left-bottom
        [12, 1, 0.5],  # 4 front-left-top
        [12, -1, 0.5],
        [8, -1, 0.5],
        [8, 1, 0.5],
    ]
    np.testing.assert_allclose(box.corners(), expected)
    assert box.volume == pytest.approx(8.0)
    np.testing.assert_allclose(box.front_direction(), [1, 0, 0])


def test_yawed_box_front_and_corners():
    # Yaw +90 degrees: the front (+x object) now points along world +y; "left" points along world -x.
    box = OrientedBox3D([0.0, 0.0, 0.0], rot_z(np.pi / 2), [4.0, 2.0, 1.0])
    np.testing.assert_allclose(box.front_direction(), [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(box.corners()[0], [-1, 2, -0.5], atol=1e-12)  # front-left-bottom


def test_iou_golden_values():
    cube = OrientedBox3D([0, 0, 0], I3, [1, 1, 1])
    assert box_iou_3d(cube, cube) == pytest.approx(1.0)
    shifted = OrientedBox3D([0.5, 0, 0], I3, [1, 1, 1])
    assert box_iou_3d(cube, shifted) == pytest.approx(1 / 3)  # 0.5 / (2 - 0.5)
    far = OrientedBox3D([3, 0, 0], I3, [1, 1, 1])
    assert box_iou_3d(cube, far) == 0.0
    touching = OrientedBox3D([1, 0, 0], I3, [1, 1, 1])
    assert box_iou_3d(cube, touching) == pytest.approx(0.0, abs=1e-9)
    inner = OrientedBox3D([0, 0, 0], I3, [0.5, 0.5, 0.5])
    assert box_iou_3d(cube, inner) == pytest.approx(0.125)
    # Unit square vs the same square turned 45 degrees: the overlap is a regular octagon of area 2(sqrt2 - 1).
    turned = OrientedBox3D([0, 0, 0], rot_z(np.pi / 4), [1, 1, 1])
    octagon = 2 * (np.sqrt(2) - 1)
    assert box_iou_3d(cube, turned) == pytest.approx(octagon / (2 - octagon), rel=1e-6)


rotations = st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda q: np.linalg.norm(q) > 0.1)


@settings(max_examples=25, deadline=None)
@given(rotations, st.lists(st.floats(-5, 5), min_size=3, max_size=3), st.floats(-0.8, 0.8), st.floats(0, 3.1))
def test_iou_invariant_under_rigid_motion_and_symmetric(q, t, dx, yaw):
    # Metamorphic: moving both boxes by the same rigid transform leaves IoU unchanged; IoU(a,b) == IoU(b,a).
    a = OrientedBox3D([0, 0, 0], rot_z(0.2), [2.0, 1.0, 1.5])
    b = OrientedBox3D([dx, 0.3, 0.1], rot_z(yaw), [1.5, 1.2, 1.0])
    motion = RigidTransform(Rotation.from_quat(q).as_matrix(), np.array(t), "w2", "w1")
    iou = box_iou_3d(a, b)
    assert 0.0 <= iou <= 1.0
    assert box_iou_3d(b, a) == pytest.approx(iou, abs=1e-7)
    assert box_iou_3d(a.transformed(motion), b.transformed(motion)) == pytest.approx(iou, abs=1e-6)


def test_contains_with_margin():
    box = OrientedBox3D([0, 0, 0], rot_z(np.pi / 2), [4.0, 2.0, 1.0])
    pts = np.array([[0, 1.9, 0], [1.9, 0, 0], [0, 0, 0.5], [0, 0, 0.55]])
    assert box.contains(pts).tolist() == [True, False, True, False]
    assert box.contains(pts, margin_m=0.1).tolist() == [True, False, True, True]


def test_corners_to_box_round_trip_and_rejects_wrong_order():
    box = OrientedBox3D([1, 2, 3], Rotation.from_euler("zyx", [0.3, 0.1, -0.2]).as_matrix(), [3, 2, 1])
    back = corners_to_box(box.corners())
    np.testing.assert_allclose(back.corners(), box.corners(), atol=1e-9)
    np.testing.assert_allclose(back.size, box.size)
    with pytest.raises(ValueError, match="documented order"):
        corners_to_box(box.corners()[[1, 0, 2, 3, 4, 5, 6, 7]])
    with pytest.raises(ValueError, match=r"\(8, 3\)"):
        corners_to_box(np.zeros((4, 3)))


def test_project_box_in_front_hand_checked():
    cam = PinholeCamera(100.0, 100.0, 50.0, 50.0, 101, 101)
    # Camera frame box: a 2 x 2 x 2 cube centred 10 m ahead. Near face at z=9: u spans 50 +- 100*1/9.
    box = OrientedBox3D([0, 0, 10], I3, [2, 2, 2])
    b = project_box_to_2d(box, cam, clip_to_image=False)
    assert b is not None
    np.testing.assert_allclose(b.as_list(), [50 - 100 / 9, 50 - 100 / 9, 50 + 100 / 9, 50 + 100 / 9])


def test_project_box_straddling_camera_plane_and_behind():
    cam = PinholeCamera(100.0, 100.0, 50.0, 50.0, 101, 101)
    behind = OrientedBox3D([0, 0, -5], I3, [1, 1, 1])
    assert project_box_to_2d(behind, cam) is None
    # A long box from z=-5 to z=+5 beside the camera: near-plane clipping makes it run off the image edge.
    straddle = OrientedBox3D([2, 0, 0], I3, [1, 1, 10])
    b = project_box_to_2d(straddle, cam, clip_to_image=True)
    assert b is not None and b.x_max == pytest.approx(100.5)
    assert b.x_min == pytest.approx(50 + 100 * 1.5 / 5)  # far end, inner edge x=1.5 at z=5


def test_tilted_box_projection_matches_corners():
    cam = PinholeCamera(300.0, 300.0, 160.0, 120.0, 320, 240)
    box = OrientedBox3D([0.2, 0.1, 6.0], rot_x(0.3) @ rot_z(0.5), [1.0, 0.6, 0.4])
    uv, _ = cam.project(box.corners())
    b = project_box_to_2d(box, cam, clip_to_image=False)
    np.testing.assert_allclose(b.as_list(), [uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])


def test_box2d_iou_golden():
    a = Box2D(0, 0, 10, 10)
    assert box2d_iou(a, a) == 1.0
    assert box2d_iou(a, Box2D(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box2d_iou(a, Box2D(20, 20, 30, 30)) == 0.0
    assert Box2D.from_xywh(1, 2, 3, 4).as_list() == [1, 2, 4, 6]
    assert not Box2D(5, 5, 5, 6).is_valid()
    assert not Box2D(0, 0, np.nan, 1).is_valid()


def test_clip_segment_to_near_plane():
    from spatialforge.geometry.boxes import NEAR_PLANE_M, clip_segment_to_near_plane

    a, b = np.array([1.0, 0, -2.0]), np.array([1.0, 0, 2.0])
    assert clip_segment_to_near_plane(a, a - [0, 0, 1]) is None  # wholly behind
    p, q = clip_segment_to_near_plane(a, b)
    assert p[2] == pytest.approx(NEAR_PLANE_M) and q is b
    p, q = clip_segment_to_near_plane(b, a)  # order is kept
    assert p is b and q[2] == pytest.approx(NEAR_PLANE_M)
    cam = PinholeCamera(100.0, 100.0, 50.0, 50.0, 101, 101)
    uv, _ = cam.project(np.stack([p, q]))
    assert np.isfinite(uv).all()  # clipped points always project


def test_extent_along_is_the_lowest_and_highest_corner():
    import math

    # A 2 x 1 x 0.5 box at height 3, tilted 30 deg about x: along z its corners reach
    # 3 +- (1 * sin30 + 0.5 * cos30) / 2 = 3 +- 0.4665 (the x size does not tilt into z).
    box = OrientedBox3D(np.array([0.0, 0.0, 3.0]), rot_x(math.radians(30.0)), np.array([2.0, 1.0, 0.5]))
    up = np.array([0.0, 0.0, 1.0])
    low, high = box.extent_along(up)
    heights = box.corners() @ up
    assert (low, high) == pytest.approx((heights.min(), heights.max()))
    assert high == pytest.approx(3.0 + (0.5 + 0.5 * math.cos(math.radians(30.0))) / 2)
