"""geometry.relations.facing_relative_to_viewer on hand-built cases.

Frame: OpenCV-like judging frame with the camera at the origin (+x right, +y down, +z forward). The
reference direction is the horizontal ray from the object back to the camera; angle_deg =
atan2(front . viewer_right, front . to_camera): 0 towards, +90 the viewer's right, 180 away, -90 left;
sectors are +-35 deg wide, leaving 10-deg gaps around the 45-deg diagonals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatialforge.geometry.relations import facing_relative_to_viewer

AHEAD = np.array([0.0, 0.0, 4.0])  # straight ahead: to_camera = (0, 0, -1), viewer right = +x


def _front_at(angle_deg: float) -> np.ndarray:
    """Front of an object at AHEAD rotated angle_deg from "towards the camera" to the viewer's right."""
    a = math.radians(angle_deg)
    return np.array([math.sin(a), 0.0, -math.cos(a)])


def _judge(center, front):
    c, f = np.asarray(center, float), np.asarray(front, float)
    return facing_relative_to_viewer(c, f, frame="cam_gravity:v0")


@pytest.mark.parametrize(
    ("front", "value", "angle"),
    [
        ((0.0, 0.0, -1.0), "towards", 0.0),
        ((0.0, 0.0, 1.0), "away", 180.0),
        ((1.0, 0.0, 0.0), "right", 90.0),  # front along the viewer's right
        ((-1.0, 0.0, 0.0), "left", -90.0),
        ((0.0, 0.3, -1.0), "towards", 0.0),  # a small vertical tilt does not matter
    ],
)
def test_object_straight_ahead(front, value, angle):
    got = _judge(AHEAD, front)
    assert got.value == value
    assert got.angle_deg == pytest.approx(angle, abs=1e-9)
    assert got.frame == "cam_gravity:v0"
    assert got.reason is None


def test_far_to_the_side_facing_the_camera_is_towards():
    # Object at (8, 0, 4), far to the right, its front pointing back at the camera: (-8, 0, -4) / 8.944.
    center = np.array([8.0, 0.0, 4.0])
    got = _judge(center, -center / np.linalg.norm(center))
    assert (got.value, got.angle_deg) == ("towards", pytest.approx(0.0, abs=1e-9))
    # The same object facing along the camera's -z is NOT facing the camera as seen along the ray:
    # to_camera = (-0.894, -0.447), viewer right = (0.447, -0.894); front (0, -1) ->
    # atan2(0.894, 0.447) = 63.43 deg -> right.
    got = _judge(center, (0.0, 0.0, -1.0))
    assert got.value == "right"
    assert got.angle_deg == pytest.approx(math.degrees(math.atan2(2.0, 1.0)))


def test_far_to_the_left_facing_the_camera_is_towards_and_mirror_symmetric():
    center = np.array([-8.0, 0.5, 4.0])
    assert _judge(center, -center * np.array([1, 0, 1])).value == "towards"
    got = _judge(center, (0.0, 0.0, -1.0))
    assert (got.value, got.angle_deg) == ("left", pytest.approx(-63.434949, abs=1e-6))


def test_object_facing_along_its_viewing_ray_is_away():
    # Object at (-3, 0, 3) facing along its viewing ray (away from the camera): 180 deg.
    center = np.array([-3.0, 0.0, 3.0])
    got = _judge(center, center)
    assert got.value == "away"
    assert got.angle_deg == pytest.approx(180.0)


@pytest.mark.parametrize(
    ("angle", "value"),
    [
        (34.0, "towards"),
        (36.0, None),
        (45.0, None),
        (54.0, None),
        (56.0, "right"),
        (124.0, "right"),
        (126.0, None),
        (135.0, None),
        (144.0, None),
        (146.0, "away"),
        (-34.0, "towards"),
        (-45.0, None),
        (-56.0, "left"),
        (-135.0, None),
        (-146.0, "away"),
    ],
)
def test_gaps_at_the_diagonals(angle, value):
    got = _judge(AHEAD, _front_at(angle))
    assert got.angle_deg == pytest.approx(angle)
    assert got.value == value
    assert got.reason == (None if value else "within_margin")


def test_the_gap_is_measured_from_the_viewing_ray_not_the_optical_axis():
    # Object at (4, 0, 4): the ray back to the camera is 45 deg off -z. A front along -z lies exactly on the
    # diagonal of the viewer sectors (45 deg -> gap); a front along (-1, 0, -1) / sqrt(2), pointing at the
    # camera, is towards (0 deg), though it is 45 deg off the optical axis.
    center = np.array([4.0, 0.0, 4.0])
    on_diagonal = _judge(center, (0.0, 0.0, -1.0))
    assert on_diagonal.value is None and on_diagonal.angle_deg == pytest.approx(45.0)
    assert _judge(center, (-1.0, 0.0, -1.0)).value == "towards"


@pytest.mark.parametrize(
    "front",
    [
        (0.0, -1.0, 0.0),  # pointing straight up
        (0.0, 1.0, 0.0),  # straight down
        (0.1, -1.0, 0.1),  # within 60 deg of vertical: horizontal part < half its length
        (0.0, 0.0, 0.0),  # zero
        (math.nan, 0.0, -1.0),
    ],
)
def test_degenerate_fronts(front):
    got = _judge(AHEAD, front)
    assert got.value is None
    assert got.reason == "degenerate"
    assert math.isnan(got.angle_deg)


def test_object_directly_below_the_camera_is_degenerate():
    # Centre (0, 2, 0): no horizontal direction back to the camera.
    got = _judge((0.0, 2.0, 0.0), (0.0, 0.0, -1.0))
    assert (got.value, got.reason) == (None, "degenerate")


def test_length_of_front_does_not_matter():
    assert _judge(AHEAD, (0.0, 0.0, -5.0)).value == "towards"
    assert _judge(AHEAD, (3.0, 0.0, 0.0)).angle_deg == pytest.approx(90.0)


def test_steep_line_of_sight_still_has_a_facing():
    # 1.3 m below a camera and only 0.7 m ahead (a table under a downward-looking camera): the line of sight
    # is 62 deg from horizontal, but its horizontal part still says where the viewer is.
    assert _judge((0.0, 1.3, 0.7), (0.0, 0.0, -1.0)).value == "towards"
    assert _judge((0.0, 1.3, 0.7), (0.0, 0.0, 1.0)).value == "away"
