"""Camera poses (synth.cameras) and footprints (synth.footprint): hand-checked fixtures."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from spatialforge.synth.cameras import RIGS, aim_at, pinhole_from_hfov, world_from_cam_pose
from spatialforge.synth.footprint import Footprint, contains_point, inside_footprint, inside_rect, overlaps


def test_level_camera_looking_along_world_y_is_the_opencv_level_frame():
    # yaw 90 deg: forward = +y; right = heading x up = (0,1,0) x (0,0,1) = (1,0,0); down = fwd x right = -z.
    t = world_from_cam_pose(np.array([1.0, 2.0, 1.5]), math.pi / 2, 0.0, 0.0, "v0")
    np.testing.assert_allclose(t.rotation, [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-12)
    np.testing.assert_allclose(t.apply(np.array([[0.0, 0.0, 2.0]]))[0], [1.0, 4.0, 1.5])  # 2 m ahead
    assert t.dst == "world" and t.src == "cam:v0" and t.is_rigid()


def test_pitch_down_tips_the_optical_axis_and_the_image_down_axis():
    # Pitched 30 deg down: the optical axis in the world is (cos30 cos yaw, cos30 sin yaw, -sin30).
    t = world_from_cam_pose(np.zeros(3), 0.0, math.radians(-30.0), 0.0, "v0")
    np.testing.assert_allclose(t.rotation[:, 2], [math.cos(math.radians(30)), 0.0, -0.5], atol=1e-12)
    # The camera's "down" (+y) stays in the heading's vertical plane, tipped back: (-sin30, 0, -cos30).
    np.testing.assert_allclose(t.rotation[:, 1], [-0.5, 0.0, -math.cos(math.radians(30))], atol=1e-12)


def test_roll_turns_right_towards_down_and_keeps_the_frame_rigid():
    roll = math.radians(10.0)
    level = world_from_cam_pose(np.zeros(3), 0.3, -0.2, 0.0, "v0")
    rolled = world_from_cam_pose(np.zeros(3), 0.3, -0.2, roll, "v0")
    assert rolled.is_rigid()
    np.testing.assert_allclose(rolled.rotation[:, 2], level.rotation[:, 2])  # same optical axis
    cos_between_rights = float(rolled.rotation[:, 0] @ level.rotation[:, 0])
    assert cos_between_rights == pytest.approx(math.cos(roll))
    assert float(rolled.rotation[:, 0] @ level.rotation[:, 1]) == pytest.approx(math.sin(roll))


def test_pinhole_from_hfov_hand_value():
    cam = pinhole_from_hfov(90.0, 640, 480)  # f = 320 / tan(45 deg) = 320 px
    assert cam.fx == pytest.approx(320.0) and cam.fy == cam.fx
    assert (cam.cx, cam.cy) == (319.5, 239.5)
    with pytest.raises(ValueError, match="hfov_deg"):
        pinhole_from_hfov(180.0, 640, 480)


def test_aim_at_points_the_camera_at_the_target_within_the_jitter():
    rng = random.Random(3)
    rig = RIGS["human"]
    pose = aim_at(np.array([0.0, 0.0, 1.6]), np.array([3.0, 3.0, 0.6]), rig, rng, jitter_deg=0.0)
    assert pose.yaw_rad == pytest.approx(math.pi / 4)
    # Pitch to the target: atan2(-1.0, sqrt(18)) = -13.26 deg, inside the human rig's [-30, -5].
    assert math.degrees(pose.pitch_rad) == pytest.approx(math.degrees(math.atan2(-1.0, math.sqrt(18.0))))
    assert abs(math.degrees(pose.roll_rad)) <= rig.roll_deg


def test_aim_at_clamps_pitch_to_the_rig():
    pose = aim_at(np.array([0.0, 0.0, 1.6]), np.array([0.5, 0.0, 0.0]), RIGS["human"], random.Random(0), 0.0)
    assert math.degrees(pose.pitch_rad) == pytest.approx(-30.0)  # the target is 72.6 deg down


def test_footprints_overlap_and_separate_like_hand_drawn_rectangles():
    a = Footprint((0.0, 0.0), (1.0, 0.5), 0.0)  # x in [-1, 1], y in [-0.5, 0.5]
    assert overlaps(a, Footprint((1.9, 0.0), (1.0, 0.5), 0.0))  # x in [0.9, 2.9]: 0.1 m overlap
    assert not overlaps(a, Footprint((2.1, 0.0), (1.0, 0.5), 0.0))  # 0.1 m gap
    assert overlaps(a, Footprint((2.1, 0.0), (1.0, 0.5), 0.0), clearance_m=0.2)  # gap below the clearance
    # A square turned 45 deg at (1.6, 0): its corner reaches x = 1.6 - 0.5 * sqrt(2) = 0.893 < 1: overlap.
    assert overlaps(a, Footprint((1.6, 0.0), (0.5, 0.5), math.pi / 4))
    # At (1.8, 0) the corner is at 1.093 > 1: apart (the axis-aligned boxes would overlap).
    assert not overlaps(a, Footprint((1.8, 0.0), (0.5, 0.5), math.pi / 4))


def test_footprint_containment():
    table = Footprint((0.0, 0.0), (0.7, 0.4), math.pi / 2)  # turned: spans x in [-0.4, 0.4], y in [-0.7, 0.7]
    assert inside_footprint(Footprint((0.0, 0.6), (0.05, 0.05), 0.0), table, margin_m=0.0)
    assert not inside_footprint(Footprint((0.0, 0.6), (0.05, 0.05), 0.0), table, margin_m=0.06)
    assert not inside_footprint(Footprint((0.38, 0.0), (0.05, 0.05), 0.0), table)
    assert inside_rect(table, (-0.4001, 0.4001), (-0.7001, 0.7001)) and not inside_rect(
        table, (-0.39, 0.4), (-0.7, 0.7)
    )
    assert contains_point(table, np.array([0.3, 0.6])) and not contains_point(table, np.array([0.5, 0.0]))
    assert contains_point(table, np.array([0.5, 0.0]), margin_m=0.11)
