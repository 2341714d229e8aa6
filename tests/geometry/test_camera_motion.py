"""Camera motion between two views: golden cases built from explicit yaw / pitch / heading-frame translations,
view swapping, rigid world changes, the no-gravity fallback, the three text forms and camera_in_image."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialforge.bench.parsers import parse_view_change
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.camera_motion import (
    CAMERA_BEHIND,
    CAMERA_OUTSIDE_IMAGE,
    VERTICAL_VIEW,
    VERTICAL_VIEW_MIN_DEG,
    CameraInImage,
    ViewChange,
    camera_in_image,
    paper_string,
    released_string,
    rounded_components,
    sentence,
    view_change,
)
from spatialforge.geometry.rotations import rot_x, rot_y, rot_z
from spatialforge.geometry.transforms import RigidTransform

Z_UP = np.array([0.0, 0.0, 1.0])


# ---------------------------------------------------------------- independent pose builders


def heading_pose(yaw_deg: float, pitch_deg: float, center, src: str = "cam:a") -> RigidTransform:
    """world_from_cam of a roll-free camera in a z-up world, written out axis by axis.

    heading h = (cos yaw, sin yaw, 0) (yaw counter-clockwise from world +x); optical axis
    f = cos(pitch) h + sin(pitch) z (pitch > 0 looks up); x_cam = right = h x z = (sin yaw, -cos yaw, 0);
    y_cam (image down) = f x right. Columns of the rotation are the camera axes in world coordinates.
    """
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    h = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    f = math.cos(pitch) * h + math.sin(pitch) * Z_UP
    down = np.cross(f, right)
    return RigidTransform(np.stack([right, down, f], axis=1), np.asarray(center, float), "world", src)


def moved(world_from_cam: RigidTransform, world_change: RigidTransform) -> RigidTransform:
    """The same camera in another world frame: new_world_from_cam = new_world_from_world @ world_from_cam."""
    out = world_change @ world_from_cam
    return RigidTransform(out.rotation, out.translation, "world", world_from_cam.src)


def apply_motion(world_from_cam1: RigidTransform, vc: ViewChange, up: np.ndarray, src: str) -> RigidTransform:
    """Camera 2 from camera 1 and a view change, composed independently of the module: translate in camera
    1's heading frame, yaw the heading about up (Rodrigues), then set the elevation (pitch about the new right
    axis). Roll-free result."""
    up = up / np.linalg.norm(up)
    f1 = world_from_cam1.rotation[:, 2]
    h1 = f1 - (f1 @ up) * up
    h1 /= np.linalg.norm(h1)
    r1 = np.cross(h1, up)
    c2 = world_from_cam1.translation + vc.move_right_m * r1 + vc.move_up_m * up + vc.move_forward_m * h1
    a = vc.rotate_left_rad
    h2 = math.cos(a) * h1 + math.sin(a) * np.cross(up, h1)  # rotation about up by a (h1 is perpendicular)
    e2 = math.asin(float(np.clip(f1 @ up, -1, 1))) + vc.rotate_up_rad
    f2 = math.cos(e2) * h2 + math.sin(e2) * up
    right2 = np.cross(h2, up)
    return RigidTransform(np.stack([right2, np.cross(f2, right2), f2], axis=1), c2, world_from_cam1.dst, src)


def as_vector(vc: ViewChange) -> np.ndarray:
    return np.array([vc.move_right_m, vc.move_up_m, vc.move_forward_m, vc.rotate_left_rad, vc.rotate_up_rad])


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


# ---------------------------------------------------------------- golden cases


def test_hand_computed_level_turn_left():
    # Camera 1 at the origin, level, looking along world +y: right = +x, forward = +y, up = +z.
    # Camera 2 at (1, 2, 0.5), level, looking along world -x: a quarter turn counter-clockwise seen from
    # above (+y -> -x), i.e. a left turn. d = (1, 2, 0.5): right 1, forward 2, up 0.5; rotate_left = +90 deg.
    cam1 = RigidTransform(np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]), np.zeros(3), "world", "cam:a")
    # cam 2 axes in world: x (right) = +y, y (down) = -z, z (forward) = -x.
    cam2 = RigidTransform(np.array([[0.0, 0, -1], [1, 0, 0], [0, -1, 0]]), [1.0, 2.0, 0.5], "world", "cam:b")
    vc = view_change(cam1, cam2, Z_UP)
    assert vc.frame == "cam_gravity:a"
    np.testing.assert_allclose(as_vector(vc), [1.0, 0.5, 2.0, math.pi / 2, 0.0], atol=1e-12)
    assert released_string(vc) == "move_right:1.0,move_up:0.5,move_forward:2.0,rotate_up:0,rotate_left:90"


def test_combined_translation_yaw_pitch_with_pitched_camera_in_rotated_world():
    # Camera 1: heading 30 deg from world +x, pitched 20 deg down, at (0.4, -1.0, 1.5). Motion written in its
    # heading frame: 1.5 m right, 0.3 m down, 2.0 m forward; then yaw 40 deg left, pitch 25 deg up
    # (elevation -20 -> +5). The world is then changed: rotated 70 deg about z and shifted by (3, -2, 0.7).
    yaw1, pitch1 = 30.0, -20.0
    h1 = np.array([math.cos(math.radians(yaw1)), math.sin(math.radians(yaw1)), 0.0])
    right1 = np.array([math.sin(math.radians(yaw1)), -math.cos(math.radians(yaw1)), 0.0])
    c1 = np.array([0.4, -1.0, 1.5])
    c2 = c1 + 1.5 * right1 - 0.3 * Z_UP + 2.0 * h1
    cam1 = heading_pose(yaw1, pitch1, c1, "cam:a")
    cam2 = heading_pose(yaw1 + 40.0, pitch1 + 25.0, c2, "cam:b")
    world_change = RigidTransform(rot_z(math.radians(70.0)), [3.0, -2.0, 0.7], "world", "world")
    vc = view_change(moved(cam1, world_change), moved(cam2, world_change), Z_UP)
    expected = [1.5, -0.3, 2.0, math.radians(40.0), math.radians(25.0)]
    np.testing.assert_allclose(as_vector(vc), expected, atol=1e-12)
    assert released_string(vc) == "move_right:1.5,move_down:0.3,move_forward:2.0,rotate_up:25,rotate_left:40"
    assert (
        paper_string(vc)
        == "move right: 1.5, move down: 0.3, move forward: 2.0, rotate up: 25, rotate left: 40"
    )
    assert sentence(vc) == (
        "Move 1.5 meters right, move 0.3 meters down and move 2.0 meters forward, "
        "then rotate up by 25 degrees and turn left by 40 degrees."
    )


def test_right_turn_down_pitch_and_backward_move():
    # Level camera looking along +x (yaw 0) turns 120 deg right (yaw -120) and looks 10 deg down, after
    # moving 0.8 m back and 0.2 m left: all components negative.
    cam1 = heading_pose(0.0, 0.0, [0.0, 0.0, 1.0])
    c2 = np.array([-0.8, 0.2, 1.0])  # back = -x, left = +y (right = h x z = -y for yaw 0)
    cam2 = heading_pose(-120.0, -10.0, c2, "cam:b")
    vc = view_change(cam1, cam2, Z_UP)
    np.testing.assert_allclose(
        as_vector(vc), [-0.2, 0.0, -0.8, math.radians(-120.0), math.radians(-10.0)], atol=1e-12
    )
    assert (
        released_string(vc) == "move_left:0.2,move_up:0.0,move_backward:0.8,rotate_down:10,rotate_right:120"
    )


def test_up_vector_length_does_not_matter():
    cam1 = heading_pose(10.0, -5.0, [0, 0, 0])
    cam2 = heading_pose(50.0, 5.0, [1, 2, 3], "cam:b")
    np.testing.assert_allclose(
        as_vector(view_change(cam1, cam2, 9.81 * Z_UP)), as_vector(view_change(cam1, cam2, Z_UP))
    )


# ---------------------------------------------------------------- swap, composition, metamorphic

pose_params = st.tuples(
    st.floats(-180, 180),  # yaw, deg
    st.floats(-60, 60),  # pitch, deg (clear of the vertical-view refusal)
    st.tuples(*[st.floats(-5, 5)] * 3),  # centre, m
)


@settings(max_examples=60, deadline=None)
@given(pose_params, pose_params)
def test_swapping_views_inverts_the_motion(p1, p2):
    cam1 = heading_pose(p1[0], p1[1], p1[2], "cam:a")
    cam2 = heading_pose(p2[0], p2[1], p2[2], "cam:b")
    forward = view_change(cam1, cam2, Z_UP)
    back = view_change(cam2, cam1, Z_UP)
    assert back.frame == "cam_gravity:b"
    # Rotations negate (a reversal of exactly 180 deg is +180 both ways).
    if abs(abs(forward.rotate_left_rad) - math.pi) > 1e-9:
        assert back.rotate_left_rad == pytest.approx(-forward.rotate_left_rad, abs=1e-9)
    assert back.rotate_up_rad == pytest.approx(-forward.rotate_up_rad, abs=1e-9)
    # Applying 1 -> 2 to camera 1 gives camera 2; applying 2 -> 1 to that gives camera 1 back.
    cam2_rebuilt = apply_motion(cam1, forward, Z_UP, "cam:b")
    np.testing.assert_allclose(cam2_rebuilt.matrix(), cam2.matrix(), atol=1e-9)
    cam1_rebuilt = apply_motion(cam2_rebuilt, back, Z_UP, "cam:a")
    np.testing.assert_allclose(cam1_rebuilt.matrix(), cam1.matrix(), atol=1e-9)
    # Translation lengths agree both ways (the frames differ, the distance does not).
    assert np.linalg.norm(as_vector(forward)[:3]) == pytest.approx(np.linalg.norm(as_vector(back)[:3]))


@settings(max_examples=60, deadline=None)
@given(pose_params, pose_params, st.integers(0, 2**32 - 1))
def test_rigid_world_change_leaves_every_component_unchanged(p1, p2, seed):
    rng = np.random.default_rng(seed)
    cam1 = heading_pose(p1[0], p1[1], p1[2], "cam:a")
    cam2 = heading_pose(p2[0], p2[1], p2[2], "cam:b")
    world_change = RigidTransform(random_rotation(rng), rng.uniform(-10, 10, 3), "world", "world")
    new_up = world_change.apply_direction(Z_UP)  # the same up, in the new world
    before = view_change(cam1, cam2, Z_UP)
    after = view_change(moved(cam1, world_change), moved(cam2, world_change), new_up)
    np.testing.assert_allclose(as_vector(after), as_vector(before), atol=1e-9)
    # Without gravity too: the components live in camera 1's own axes (camera 2 may then look steeply
    # relative to camera 1's image up and be refused; it must be refused in both worlds).
    before = view_change(cam1, cam2, None)
    after = view_change(moved(cam1, world_change), moved(cam2, world_change), None)
    if isinstance(before, str):
        assert after == before == VERTICAL_VIEW
    else:
        np.testing.assert_allclose(as_vector(after), as_vector(before), atol=1e-9)


def test_roll_does_not_change_the_gravity_components():
    # Rolling a camera about its optical axis moves neither its centre nor its optical axis.
    cam1 = heading_pose(15.0, -10.0, [0, 0, 1])
    cam2 = heading_pose(75.0, 10.0, [1, 1, 1], "cam:b")
    roll = RigidTransform(rot_z(math.radians(25.0)), np.zeros(3), "cam:b", "cam:b")  # about cam z
    rolled2 = cam2 @ roll
    np.testing.assert_allclose(
        as_vector(view_change(cam1, rolled2, Z_UP)), as_vector(view_change(cam1, cam2, Z_UP)), atol=1e-12
    )


# ---------------------------------------------------------------- no-gravity fallback


def test_without_gravity_camera_one_axes_are_used():
    # Camera 1 is rolled 30 deg and pitched: with no gravity its own axes are the frame. Camera 2 is placed in
    # camera 1's frame at t = (0.5, -0.4, 1.2) (0.5 right, 0.4 up in the image, 1.2 forward) and rotated by
    # a yaw of 20 deg to the left about camera 1's image up (-y) then 10 deg up about the new right axis.
    world_from_cam1 = RigidTransform(
        rot_z(0.7) @ rot_x(-1.2) @ rot_z(math.radians(30.0)), [2.0, 1.0, 0.5], "world", "cam:a"
    )
    # rot_x(b) maps the optical axis z to (0, -sin b, cos b): tilted towards -y, the image up, by b. Then
    # rot_y(-a) maps that to (-sin a cos b, -sin b, cos a cos b): heading turned towards -x (left) by a.
    cam1_from_cam2 = RigidTransform(
        rot_y(math.radians(-20.0)) @ rot_x(math.radians(10.0)), [0.5, -0.4, 1.2], "cam:a", "cam:b"
    )
    world_from_cam2 = world_from_cam1 @ cam1_from_cam2
    vc = view_change(world_from_cam1, world_from_cam2, None)
    assert vc.frame == "cam:a"
    np.testing.assert_allclose(
        as_vector(vc), [0.5, 0.4, 1.2, math.radians(20.0), math.radians(10.0)], atol=1e-12
    )


def test_without_gravity_a_level_camera_matches_the_gravity_frame():
    cam1 = heading_pose(33.0, 0.0, [0, 0, 0])
    cam2 = heading_pose(80.0, 12.0, [1, -2, 0.3], "cam:b")
    with_gravity = view_change(cam1, cam2, Z_UP)
    without = view_change(cam1, cam2, None)
    np.testing.assert_allclose(as_vector(without), as_vector(with_gravity), atol=1e-12)
    assert (with_gravity.frame, without.frame) == ("cam_gravity:a", "cam:a")


# ---------------------------------------------------------------- refusals and bad input


@pytest.mark.parametrize("pitch", [-90.0, -80.0, 90.0 - VERTICAL_VIEW_MIN_DEG + 0.5, 89.0])
def test_vertical_views_are_refused(pitch):
    level = heading_pose(0.0, 0.0, [0, 0, 0])
    steep = heading_pose(0.0, pitch, [1, 0, 0], "cam:b")
    assert view_change(level, steep, Z_UP) == VERTICAL_VIEW
    assert view_change(steep, level, Z_UP) == VERTICAL_VIEW


def test_a_steep_but_not_vertical_view_is_measured():
    pitch = -(90.0 - VERTICAL_VIEW_MIN_DEG - 0.5)
    vc = view_change(heading_pose(0.0, 0.0, [0, 0, 0]), heading_pose(0.0, pitch, [0, 0, 0], "cam:b"), Z_UP)
    assert math.degrees(vc.rotate_up_rad) == pytest.approx(pitch)


def test_bad_inputs_raise():
    cam1 = heading_pose(0.0, 0.0, [0, 0, 0])
    other_world = RigidTransform(np.eye(3), np.zeros(3), "map", "cam:b")
    with pytest.raises(ValueError, match="different frames"):
        view_change(cam1, other_world, Z_UP)
    with pytest.raises(ValueError, match="up_world"):
        view_change(cam1, cam1, np.zeros(3))
    sheared = RigidTransform(np.diag([1.0, 2.0, 1.0]), np.zeros(3), "world", "cam:b")
    with pytest.raises(ValueError, match="not a rigid"):
        view_change(cam1, sheared, Z_UP)


# ---------------------------------------------------------------- text forms


def test_text_forms_of_a_known_motion():
    vc = ViewChange(1.2, 0.4, 1.4, math.radians(90.0), math.radians(5.0), "cam_gravity:a")
    assert released_string(vc) == "move_right:1.2,move_up:0.4,move_forward:1.4,rotate_up:5,rotate_left:90"
    assert (
        paper_string(vc) == "move right: 1.2, move up: 0.4, move forward: 1.4, rotate up: 5, rotate left: 90"
    )
    assert sentence(vc) == (
        "Move 1.2 meters right, move 0.4 meters up and move 1.4 meters forward, "
        "then rotate up by 5 degrees and turn left by 90 degrees."
    )


def test_components_rounding_to_zero_use_the_positive_key():
    # -0.04 m rounds to 0.0 and -0.4 deg to 0: written "move_up:0.0" / "rotate_up:0", never "-0.0" or a
    # negative key; the sentence leaves them out.
    vc = ViewChange(-0.6, -0.04, 0.0, math.radians(-10.0), math.radians(-0.4), "cam_gravity:a")
    assert released_string(vc) == "move_left:0.6,move_up:0.0,move_forward:0.0,rotate_up:0,rotate_right:10"
    assert sentence(vc) == "Move 0.6 meters left, then turn right by 10 degrees."
    still = ViewChange(0.01, -0.02, 0.0, 0.0, 0.001, "cam:a")
    assert parse_view_change(sentence(still)).value == dict.fromkeys(rounded_components(still), 0.0)


components = st.tuples(
    st.one_of(st.floats(-8, 8), st.sampled_from([0.0, -0.04, 0.05, -0.05, 0.15, -0.25])),
    st.one_of(st.floats(-3, 3), st.just(0.0)),
    st.one_of(st.floats(-8, 8), st.just(0.0)),
    st.one_of(st.floats(-math.pi, math.pi), st.sampled_from([0.0, math.pi, math.radians(-0.5)])),
    st.one_of(st.floats(-1.5, 1.5), st.sampled_from([0.0, math.radians(2.5), math.radians(-0.49)])),
)


@settings(max_examples=300, deadline=None)
@given(components)
def test_every_text_form_parses_back_to_the_rounded_components(values):
    vc = ViewChange(*values, frame="cam_gravity:a")
    expected = rounded_components(vc)
    for text in (released_string(vc), paper_string(vc), sentence(vc)):
        parsed = parse_view_change(text)
        assert parsed.status == "ok", text
        assert parsed.value == expected, text


def test_rounded_components_round_like_the_text():
    vc = ViewChange(1.26, -0.049, 0.05, math.radians(89.6), math.radians(-3.5), "cam:a")
    # 0.05 is stored as 0.05000000000000000277 -> "0.1"; -3.5 deg -> -4 (round half to even gives "-4").
    assert rounded_components(vc) == {
        "move_right": 1.3,
        "move_up": 0.0,
        "move_forward": 0.1,
        "rotate_up": -4.0,
        "rotate_left": 90.0,
    }


# ---------------------------------------------------------------- camera in image

CAM = PinholeCamera(500.0, 500.0, 319.5, 239.5, 640, 480)


def test_camera_in_image_hand_computed():
    # Camera 2's centre at (1, -0.5, 4) in camera 1's frame: u = 500 * 1 / 4 + 319.5 = 444.5,
    # v = 500 * -0.5 / 4 + 239.5 = 177.0; grid x = round(444.5 / 640 * 1000) = round(694.53) = 695,
    # y = round(177 / 480 * 1000) = round(368.75) = 369; depth 4 m.
    cam1 = RigidTransform(np.eye(3), np.zeros(3), "world", "cam:a")
    cam2 = RigidTransform(rot_y(0.3), [1.0, -0.5, 4.0], "world", "cam:b")
    expected = CameraInImage(444.5, 177.0, 695, 369, 4.0)
    got = camera_in_image(CAM, cam1, cam2)
    np.testing.assert_allclose(got[:2], expected[:2])
    assert got[2:4] == expected[2:4]
    assert got.depth_m == pytest.approx(4.0)
    # The same cameras in a rotated and shifted world give the same answer.
    world_change = RigidTransform(rot_z(1.1) @ rot_x(0.4), [5.0, -3.0, 2.0], "world", "world")
    moved_got = camera_in_image(CAM, moved(cam1, world_change), moved(cam2, world_change))
    np.testing.assert_allclose(moved_got[:2], expected[:2], atol=1e-9)
    assert moved_got[2:4] == expected[2:4]


def test_camera_in_image_refusals():
    cam1 = heading_pose(90.0, 0.0, [0, 0, 0])  # looks along world +y
    behind = heading_pose(0.0, 0.0, [0.0, -2.0, 0.0], "cam:b")
    too_close = heading_pose(0.0, 0.0, [0.0, 0.05, 0.0], "cam:b")
    off_to_the_side = heading_pose(0.0, 0.0, [10.0, 1.0, 0.0], "cam:b")  # u = 319.5 + 500 * 10 = 5319.5
    assert camera_in_image(CAM, cam1, behind) == CAMERA_BEHIND
    assert camera_in_image(CAM, cam1, too_close) == CAMERA_BEHIND
    assert camera_in_image(CAM, cam1, off_to_the_side) == CAMERA_OUTSIDE_IMAGE


def test_camera_in_image_corner_clamps_to_the_grid():
    # A point projecting to the top-left image corner (-0.5, -0.5) lies on the image border: grid (0, 0).
    cam1 = RigidTransform(np.eye(3), np.zeros(3), "world", "cam:a")
    corner = np.array([(-0.5 - 319.5) / 500.0, (-0.5 - 239.5) / 500.0, 1.0]) * 2.0
    got = camera_in_image(CAM, cam1, RigidTransform(np.eye(3), corner, "world", "cam:b"))
    assert (got.x_1000, got.y_1000) == (0, 0)
