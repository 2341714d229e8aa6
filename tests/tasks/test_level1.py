"""Level-1 tasks on hand-built scenes: every answer computed by hand in the comments.

Level camera at the world origin: cam = (world x, -world z, world y). Fronts: yaw -90 faces the camera,
+90 faces away, 0 faces the camera's right, 180 its left (tests/tasks/scenes.py).
"""

from __future__ import annotations

import math

import pytest

from spatialforge.tasks.spec import Category, Quantity, Vector
from tests.tasks.scenes import Obj, candidates, facts, ids, make_scene, pitched_world_from_cam, rejections

CHAIR = Obj("0", "chair", (-1.0, 4.0, -0.5), (0.6, 0.4, 0.9), -90.0, True)  # cam (-1, 0.5, 4)
TABLE = Obj("1", "table", (1.2, 5.0, -0.9), (0.5, 1.2, 0.7))  # cam (1.2, 0.9, 5), no front
BOX = Obj("2", "box", (0.3, 3.0, -1.0), (1.0, 1.1, 0.5))  # cam (0.3, 1.0, 3), no front, 1.1 / 1.0 < 1.15
SOFA = Obj("3", "sofa", (-0.5, 7.0, -0.8), (1.0, 1.1, 0.8), 90.0, True)  # cam (-0.5, 0.8, 7), has a front


@pytest.fixture(scope="module")
def scene():
    return make_scene([CHAIR, TABLE, BOX, SOFA])


def _by_object(items, variant=""):
    return {ids(f)[0]: f for f in facts(items) if f.variant == variant}


def test_object_location_is_the_camera_frame_centre(scene):
    got = _by_object(candidates(scene, "object_location"))
    assert set(got) == {"0", "1", "2", "3"}
    expected = {"0": (-1.0, 0.5, 4.0), "1": (1.2, 0.9, 5.0), "2": (0.3, 1.0, 3.0), "3": (-0.5, 0.8, 7.0)}
    for oid, xyz in expected.items():
        fact = got[oid]
        assert isinstance(fact.answer, Vector) and fact.answer.kind == "position_m"
        assert fact.answer.components == pytest.approx(xyz, abs=1e-9)
        assert fact.frame == "cam:v0"
        assert [m.role for m in fact.mentions] == ["target"]


def test_object_distance_camera_is_euclidean(scene):
    got = _by_object(candidates(scene, "object_distance_camera"))
    # chair: sqrt(1 + 0.25 + 16) = sqrt(17.25) = 4.15331
    # table: sqrt(1.44 + 0.81 + 25) = sqrt(27.25) = 5.22015
    assert got["0"].answer == Quantity("length", pytest.approx(math.sqrt(17.25)), "spatialrgpt")
    assert got["1"].answer.si_value == pytest.approx(5.220153, abs=1e-6)
    assert got["3"].answer.si_value == pytest.approx(math.sqrt(0.25 + 0.64 + 49))
    assert got["0"].frame == "cam:v0"
    assert got["0"].avoid_criteria == frozenset({"nearest", "farthest"})


def test_object_depth_is_z_not_euclidean(scene):
    got = _by_object(candidates(scene, "object_depth"))
    depths = {oid: f.answer.si_value for oid, f in got.items()}
    assert depths == pytest.approx({"0": 4.0, "1": 5.0, "2": 3.0, "3": 7.0})
    assert got["0"].answer.metric == "mra" and got["0"].frame == "cam:v0"


def test_object_depth_under_a_pitched_camera_is_along_the_optical_axis():
    # Camera pitched down 20 deg; object at world (0, 6, -0.9): z_cam = 6 cos20 + 0.9 sin20 = 5.94597,
    # while the horizontal distance is 6 and the Euclidean one sqrt(36 + 0.81) = 6.06712.
    obj = Obj("0", "chair", (0.0, 6.0, -0.9), (0.5, 0.5, 0.8))
    scene = make_scene([obj], world_from_cam=pitched_world_from_cam(20.0))
    c, s = math.cos(math.radians(20)), math.sin(math.radians(20))
    (depth,) = facts(candidates(scene, "object_depth"))
    assert depth.answer.si_value == pytest.approx(6 * c + 0.9 * s) == pytest.approx(5.94597, abs=1e-5)
    (dist,) = facts(candidates(scene, "object_distance_camera"))
    assert dist.answer.si_value == pytest.approx(math.sqrt(36.81))


def test_object_size_front_and_no_front_rules(scene):
    items = candidates(scene, "object_size")
    sizes = {(ids(f)[0], f.variant): f for f in facts(items)}
    # chair (front): length = x extent 0.6, width = y extent 0.4, height 0.9, volume 0.6*0.4*0.9 = 0.216.
    # table (no front, 0.5 x 1.2): length = longer side 1.2, width = shorter side 0.5; volume 0.42.
    # box (no front, 1.0 x 1.1, 1.1 < 1.15 * 1.0): width and length are refused; height 0.5, volume 0.55.
    # sofa (front, 1.0 x 1.1): the front decides, length 1.0 even though the width is larger.
    expected = {
        ("0", "length"): 0.6, ("0", "width"): 0.4, ("0", "height"): 0.9, ("0", "volume"): 0.216,
        ("1", "length"): 1.2, ("1", "width"): 0.5, ("1", "height"): 0.7, ("1", "volume"): 0.42,
        ("2", "height"): 0.5, ("2", "volume"): 0.55,
        ("3", "length"): 1.0, ("3", "width"): 1.1, ("3", "height"): 0.8, ("3", "volume"): 0.88,
    }  # fmt: skip
    assert set(sizes) == set(expected)
    for key, value in expected.items():
        answer = sizes[key].answer
        assert answer.si_value == pytest.approx(value), key
        assert answer.kind == ("volume" if key[1] == "volume" else "length")
        assert answer.metric == "mra"
        assert sizes[key].frame is None
    assert rejections(items) == ["ambiguous_length_axis", "ambiguous_length_axis"]
    # Every size question avoids every size word: volume and height go together.
    size_words = frozenset({"largest", "smallest", "tallest", "shortest"})
    for variant in ("volume", "height", "width", "length"):
        assert sizes[("0", variant)].avoid_criteria == size_words


def test_object_size_no_front_just_past_the_margin():
    # 1.0 x 1.16: 1.16 >= 1.15 * 1.0 -> asked; length 1.16, width 1.0.
    scene = make_scene([Obj("0", "box", (0.0, 5.0, -0.5), (1.0, 1.16, 0.4))])
    got = {f.variant: f.answer.si_value for f in facts(candidates(scene, "object_size"))}
    assert got == pytest.approx({"length": 1.16, "width": 1.0, "height": 0.4, "volume": 0.464})


ORIENT = [
    Obj("0", "chair", (0.0, 4.0, -0.5), (0.5, 0.5, 0.9), -90.0, True),  # straight ahead, faces camera: 0 deg
    Obj("1", "sofa", (-1.5, 6.0, -0.5), (0.9, 2.0, 0.8), 90.0, True),  # faces away: ~175.9 deg
    # front cam +x at cam (1.5, 6): to_camera (-1.5, -6)/6.185, viewer right (6, -1.5)/6.185 -> 104.0 deg
    Obj("2", "monitor", (1.5, 6.0, -0.3), (0.2, 0.6, 0.45), 0.0, True),
    # front cam -x at cam (-1.5, 3.5): viewer right (3.5, 1.5)/3.808, to_camera (1.5, -3.5)/3.808 -> -113.2
    Obj("3", "tv", (-1.5, 3.5, -0.3), (0.15, 1.0, 0.6), 180.0, True),
    # at the image's right side, cam (2.2, 4): the ray back to the camera is 28.8 deg from -z towards -x; a
    # front 60 deg from -z towards -x (yaw -150) is 31.2 deg from it -> towards (raw -z would say 60 deg).
    Obj("4", "bed", (2.2, 4.0, -0.9), (1.0, 0.8, 0.5), -150.0, True),
    # straight ahead, front (0.707, 0, -0.707) in cam: 45 deg, in the gap between towards and right.
    Obj("5", "cabinet", (0.0, 8.0, -0.4), (0.5, 1.0, 1.8), -45.0, True),
    Obj("6", "plant", (-0.8, 5.0, -0.8), (0.5, 0.5, 1.0)),  # no front
]


def test_object_orientation_values_and_rejections():
    scene = make_scene(ORIENT)
    items = candidates(scene, "object_orientation")
    got = {ids(f)[0]: f for f in facts(items)}
    assert {oid: f.answer.value for oid, f in got.items()} == {
        "0": "towards",
        "1": "away",
        "2": "right",
        "3": "left",
        "4": "towards",
    }
    assert rejections(items) == ["facing_within_margin", "no_front"]
    assert all(f.frame == "cam_gravity:v0" for f in got.values())
    assert isinstance(got["0"].answer, Category)
    assert set(got["0"].answer.phrases) == {"towards", "away", "left", "right"}
    # The reasoning records the angle from the direction back to the camera.
    assert "= 0.0 deg -> towards" in got["0"].reasoning[-1]
    assert "104.0 deg -> right" in got["2"].reasoning[-1]
    assert "-113.2 deg -> left" in got["3"].reasoning[-1]
    assert "31.2 deg -> towards" in got["4"].reasoning[-1]


def test_object_orientation_without_gravity_uses_the_camera_frame():
    scene = make_scene(ORIENT[:4], gravity=None)
    got = {ids(f)[0]: f for f in facts(candidates(scene, "object_orientation"))}
    values = {oid: f.answer.value for oid, f in got.items()}
    assert values == {"0": "towards", "1": "away", "2": "right", "3": "left"}
    assert {f.frame for f in got.values()} == {"cam:v0"}
