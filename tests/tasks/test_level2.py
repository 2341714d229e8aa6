"""Level-2 tasks on hand-built scenes: every answer computed by hand in the comments.

Level camera at the world origin: cam = (world x, -world z, world y); with exact gravity the judging frame
cam_gravity:v0 coincides with cam:v0 (tests/tasks/scenes.py). Tasks enumerate each combination once per
seed in a random role order; scenes.find / directed_facts collect facts over seeds to get a given order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatialforge.tasks.spec import Category, Vector
from tests.tasks.scenes import (
    Obj,
    candidates,
    directed_facts,
    facts,
    find,
    ids,
    make_scene,
    pitched_world_from_cam,
    rejections,
    slot_of,
)

CHAIR = Obj("0", "chair", (-1.0, 4.0, -0.5), (0.5, 0.5, 1.0), -90.0, True)  # cam (-1, 0.5, 4), vol 0.25
TABLE = Obj("1", "table", (1.0, 5.0, -0.2), (1.6, 0.8, 0.6))  # cam (1, 0.2, 5), vol 0.768, no front


@pytest.fixture(scope="module")
def pair():
    return make_scene([CHAIR, TABLE])


@pytest.fixture(scope="module")
def pair_no_gravity():
    return make_scene([CHAIR, TABLE], gravity=None)


# ---------------------------------------------------------------- relative_direction


@pytest.mark.parametrize(
    ("variant", "chair_vs_table", "table_vs_chair"),
    [
        ("left_right", "left", "right"),  # x: -1 vs 1, score 2.0 m > 0.1
        ("above_below", "below", "above"),  # y (down): 0.5 vs 0.2, chair 0.3 m lower
        ("front_behind", "in_front", "behind"),  # z: 4 vs 5
    ],
)
def test_relative_direction_level(pair, variant, chair_vs_table, table_vs_chair):
    fact = find(pair, "relative_direction", variant, "0", "1")
    assert fact.answer.value == chair_vs_table
    assert fact.frame == "cam_gravity:v0"
    assert [(m.slot, m.role) for m in fact.mentions] == [("a", "target"), ("b", "anchor")]
    assert find(pair, "relative_direction", variant, "1", "0").answer.value == table_vs_chair


def test_relative_direction_without_gravity_is_judged_in_the_camera_frame(pair_no_gravity):
    fact = find(pair_no_gravity, "relative_direction", "above_below", "0", "1")
    assert (fact.answer.value, fact.frame) == ("below", "cam:v0")


def test_relative_direction_within_margin():
    # x differ by 0.05 m and heights by 0.05 m (< 0.1 m): only front/behind (depth 4 vs 6) is asked.
    a = Obj("0", "chair", (-1.0, 4.0, -0.5), (0.5, 0.5, 1.0))
    b = Obj("1", "lamp", (-0.95, 6.0, -0.45), (0.4, 0.4, 1.2))
    scene = make_scene([a, b])
    for seed in range(4):
        items = candidates(scene, "relative_direction", seed)
        assert rejections(items) == ["within_margin", "within_margin"]
        (fact,) = facts(items)
        assert fact.variant == "front_behind"
        assert fact.answer.value == ("in_front" if ids(fact) == ("0", "1") else "behind")


def test_relative_direction_does_not_ask_left_or_front_of_a_support():
    """A vase standing on the table (bottom at the table's top, centre over it) is "on" the table: only
    above / below is asked for the pair; the lamp beside the table is asked on every axis."""
    table = Obj("0", "table", (0.5, 5.0, -0.9), (1.6, 0.8, 0.8))  # world z from -1.3 (floor) to -0.5 (top)
    vase = Obj("1", "vase", (0.2, 5.1, -0.35), (0.3, 0.3, 0.3))  # bottom at -0.5: on the top, 0.3 m left
    lamp = Obj("2", "lamp", (-1.5, 5.0, -0.6), (0.4, 0.4, 1.4))  # on the floor, 2 m left of the table
    scene = make_scene([table, vase, lamp])
    pair_variants, refused = set(), 0
    for seed in range(24):
        items = candidates(scene, "relative_direction", seed)
        refused += rejections(items).count("rests_on_other")
        pair_variants |= {f.variant for f in facts(items) if set(ids(f)) == {"0", "1"}}
    assert pair_variants == {"above_below"} and refused > 0
    assert find(scene, "relative_direction", "above_below", "1", "0").answer.value == "above"
    assert find(scene, "relative_direction", "left_right", "2", "0").answer.value == "left"


# Camera pitched down 20 deg (c = cos 20 = 0.93969, s = sin 20 = 0.34202). A (world (-0.5, 6, -0.9)) stands
# 0.3 m LOWER than B (world (0.5, 2, -0.6)), but A is far and B near, so in the raw camera frame
# y_cam = -s * y_w - c * z_w: A -2.0521 + 0.8457 = -1.2064, B -0.6840 + 0.5638 = -0.1202: A looks "above".
TILT_A = Obj("0", "chair", (-0.5, 6.0, -0.9), (0.5, 0.5, 0.8))
TILT_B = Obj("1", "table", (0.5, 2.0, -0.6), (0.8, 0.6, 0.5))


@pytest.fixture(scope="module")
def tilted():
    return make_scene([TILT_A, TILT_B], world_from_cam=pitched_world_from_cam(20.0))


def test_tilted_camera_raw_y_disagrees_with_gravity(tilted):
    # The premise: raw camera y would put A above B by more than a metre.
    y_a = tilted.object_in_camera(tilted.objects[0], tilted.views[0]).center[1]
    y_b = tilted.object_in_camera(tilted.objects[1], tilted.views[0]).center[1]
    assert (y_a, y_b) == pytest.approx((-1.20637, -0.12020), abs=1e-4)


def test_tilted_above_below_is_judged_along_gravity(tilted):
    fact = find(tilted, "relative_direction", "above_below", "0", "1")
    assert fact.frame == "cam_gravity:v0"
    assert fact.answer.value == "below"  # gravity y: A 0.9, B 0.6 -> score -(0.9 - 0.6) = -0.3
    assert "score = -0.300 m" in fact.reasoning[1]
    assert find(tilted, "relative_direction", "above_below", "1", "0").answer.value == "above"
    # Forward is the horizontal heading (A 6 m, B 2 m ahead), left/right the camera's x (-0.5 vs 0.5).
    assert find(tilted, "relative_direction", "front_behind", "0", "1").answer.value == "behind"
    assert find(tilted, "relative_direction", "left_right", "0", "1").answer.value == "left"


def test_tilted_relative_distance_variants(tilted):
    variants = ("euclidean", "horizontal", "vertical", "depth")
    got = {v: find(tilted, "relative_distance", v, "0", "1") for v in variants}
    c, s = math.cos(math.radians(20)), math.sin(math.radians(20))
    # vertical |dz_world| = 0.3; horizontal hypot(1, 4) = 4.12311; Euclidean sqrt(1 + 16 + 0.09) = 4.13401;
    # depth |z_cam(A) - z_cam(B)| = (6c + 0.9s) - (2c + 0.6s) = 4c + 0.3s = 3.86137.
    assert got["vertical"].answer.si_value == pytest.approx(0.3)
    assert got["horizontal"].answer.si_value == pytest.approx(math.sqrt(17))
    assert got["euclidean"].answer.si_value == pytest.approx(math.sqrt(17.09))
    assert got["depth"].answer.si_value == pytest.approx(4 * c + 0.3 * s) == pytest.approx(3.86137, abs=1e-5)
    assert {v: f.frame for v, f in got.items()} == {
        "euclidean": "cam:v0",
        "horizontal": "cam_gravity:v0",
        "vertical": "cam_gravity:v0",
        "depth": "cam:v0",
    }


def test_tilted_orientation_is_judged_in_the_gravity_frame():
    # A chair facing the camera (yaw -90) straight ahead of a pitched camera: its front is (0, -s, -c) in
    # raw cam coordinates (tilted), but exactly (0, 0, -1) in cam_gravity -> towards, angle 0.
    scene = make_scene(
        [Obj("0", "chair", (0.0, 5.0, -1.0), (0.5, 0.5, 0.9), -90.0, True)],
        world_from_cam=pitched_world_from_cam(20.0),
    )
    (fact,) = facts(candidates(scene, "object_orientation"))
    assert (fact.answer.value, fact.frame) == ("towards", "cam_gravity:v0")
    assert "(0.000, 0.000, -1.000)" in fact.reasoning[0].replace("-0.000", "0.000")


# ---------------------------------------------------------------- relative_direction_vector


def test_relative_direction_vector(pair):
    # centre(table) - centre(chair) = (1, 0.2, 5) - (-1, 0.5, 4) = (2, -0.3, 1), |.| = sqrt(5.09) = 2.25610
    fact = find(pair, "relative_direction_vector", "", "0", "1")
    n = math.sqrt(5.09)
    assert isinstance(fact.answer, Vector) and fact.answer.kind == "unit"
    assert fact.answer.components == pytest.approx((2 / n, -0.3 / n, 1 / n))
    assert fact.answer.components == pytest.approx((0.88648, -0.13297, 0.44324), abs=1e-5)
    assert fact.frame == "cam:v0"
    assert [m.role for m in fact.mentions] == ["from", "to"]
    back = find(pair, "relative_direction_vector", "", "1", "0")
    assert back.answer.components == pytest.approx((-2 / n, 0.3 / n, -1 / n))


def test_relative_direction_vector_under_a_pitched_camera_stays_in_cam(tilted):
    fact = find(tilted, "relative_direction_vector", "", "0", "1")
    assert fact.frame == "cam:v0"
    ctx_a = tilted.object_in_camera(tilted.objects[0], tilted.views[0]).center
    ctx_b = tilted.object_in_camera(tilted.objects[1], tilted.views[0]).center
    d = ctx_b - ctx_a
    assert fact.answer.components == pytest.approx(tuple(d / np.linalg.norm(d)))
    # B is below A in the raw image (y down), though higher in the room.
    assert fact.answer.components[1] > 0.2


# ---------------------------------------------------------------- relative_distance


def test_relative_distance_variants(pair):
    # d = (2, -0.3, 1): euclidean sqrt(5.09) = 2.25610, horizontal hypot(2, 1) = 2.23607,
    # vertical 0.3, depth 1.0
    expected = {"euclidean": math.sqrt(5.09), "horizontal": math.sqrt(5), "vertical": 0.3, "depth": 1.0}
    for variant, value in expected.items():
        for order in (("0", "1"), ("1", "0")):
            fact = find(pair, "relative_distance", variant, *order)
            assert fact.answer.si_value == pytest.approx(value), (variant, order)
            assert fact.answer.kind == "length" and fact.answer.metric == "mra"
    assert find(pair, "relative_distance", "horizontal", "0", "1").frame == "cam_gravity:v0"
    assert find(pair, "relative_distance", "euclidean", "0", "1").frame == "cam:v0"


def test_relative_distance_without_gravity_refuses_horizontal_and_vertical(pair_no_gravity):
    items = candidates(pair_no_gravity, "relative_distance")
    assert rejections(items) == ["no_gravity", "no_gravity"]
    got = {f.variant: f for f in facts(items)}
    assert set(got) == {"euclidean", "depth"}
    assert got["euclidean"].answer.si_value == pytest.approx(math.sqrt(5.09))
    assert got["depth"].answer.si_value == pytest.approx(1.0)
    assert {f.frame for f in got.values()} == {"cam:v0"}


def test_below_min_distance():
    # Centres 0.05 m apart horizontally (< 0.1 m): every distance and the direction vector are refused.
    a = Obj("0", "chair", (0.0, 4.0, -0.5), (0.5, 0.5, 1.0))
    b = Obj("1", "box", (0.05, 4.0, -0.5), (0.4, 0.3, 0.3))
    scene = make_scene([a, b])
    assert rejections(candidates(scene, "relative_distance")) == ["below_min_distance"] * 4
    assert candidates(scene, "relative_direction_vector") == ["below_min_distance"]


def test_vertical_distance_of_equal_heights_is_refused_others_asked():
    a = Obj("0", "chair", (-1.0, 4.0, -0.5), (0.5, 0.5, 1.0))
    b = Obj("1", "lamp", (1.0, 4.0, -0.5), (0.4, 0.4, 1.0))
    items = candidates(make_scene([a, b]), "relative_distance")
    assert rejections(items) == ["below_min_distance", "below_min_distance"]  # vertical 0 and depth 0
    got = {f.variant: f.answer.si_value for f in facts(items)}
    assert got == pytest.approx({"euclidean": 2.0, "horizontal": 2.0})


# ---------------------------------------------------------------- closer_of_two


def test_closer_of_two():
    # world (x, y) on one height: chair (0, 4), table (1, 4), sofa (-2.5, 5).
    # |table - chair| = 1, |sofa - chair| = sqrt(6.25 + 1) = 2.69258, margin max(0.1, 0.269) -> table.
    # anchor table: chair 1 vs sofa sqrt(12.25 + 1) = 3.64005 -> chair.
    # anchor sofa: chair 2.69258 vs table 3.64005, margin 0.364, difference 0.947 -> chair.
    scene = make_scene(
        [
            Obj("0", "chair", (0.0, 4.0, -0.5), (0.5, 0.5, 1.0)),
            Obj("1", "table", (1.0, 4.0, -0.5), (1.6, 0.8, 0.6)),
            Obj("2", "sofa", (-2.5, 5.0, -0.5), (0.9, 2.0, 0.8)),
        ]
    )
    got = directed_facts(scene, "closer_of_two")
    assert len(got) == 6  # every anchor, both option orders
    expected = {
        ("0", "1", "2"): "b", ("0", "2", "1"): "c",
        ("1", "0", "2"): "b", ("1", "2", "0"): "c",
        ("2", "0", "1"): "b", ("2", "1", "0"): "c",
    }  # fmt: skip
    assert {k[1]: f.answer.value for k, f in got.items()} == expected
    fact = got[("", ("0", "1", "2"))]
    assert fact.frame == "cam:v0"
    assert [m.role for m in fact.mentions] == ["anchor", "option", "option"]
    assert fact.answer.phrases == {"b": "{b}", "c": "{c}"}
    assert "|table 1 - chair 0| = 1.000 m, |sofa 2 - chair 0| = 2.693 m" in fact.reasoning[0]


def test_closer_of_two_within_margin():
    # A near-equilateral triangle (sides 2.0, 2.05, 2.1 m): differences <= 0.1 m, margins >= 0.2 m.
    cy = 4.0 + math.sqrt(2.05**2 - 0.948**2)
    scene = make_scene(
        [
            Obj("0", "chair", (0.0, 4.0, -0.5), (0.5, 0.5, 1.0)),
            Obj("1", "table", (2.0, 4.0, -0.5), (1.6, 0.8, 0.6)),
            Obj("2", "sofa", (0.948, cy, -0.5), (0.9, 2.0, 0.8)),
        ]
    )
    for seed in range(6):
        assert candidates(scene, "closer_of_two", seed) == ["within_margin"]


# ---------------------------------------------------------------- extreme_and_order


def test_extreme_and_order_clear_scene():
    # chair cam (0, 0.5, 2) d = 2.0616, vol 0.25, h 1.0; table cam (1, 0.3, 4) d = 4.1340, vol 0.768, h 0.6;
    # sofa cam (-2, 0.2, 7) d = 7.2829, vol 1.44, h 0.8. Ratios: 1.44 / 0.768 = 1.875, 0.768 / 0.25 = 3.07,
    # 1.0 / 0.8 = 1.25, 0.8 / 0.6 = 1.33 (all > 1.15).
    scene = make_scene(
        [
            Obj("0", "chair", (0.0, 2.0, -0.5), (0.5, 0.5, 1.0)),
            Obj("1", "table", (1.0, 4.0, -0.3), (1.6, 0.8, 0.6)),
            Obj("2", "sofa", (-2.0, 7.0, -0.2), (2.0, 0.9, 0.8)),
        ]
    )
    winners = {
        "nearest": "0", "farthest": "2", "largest": "2", "smallest": "0", "tallest": "0", "shortest": "1",
    }  # fmt: skip
    for seed in range(3):
        items = candidates(scene, "extreme_and_order", seed)
        assert rejections(items) == []
        got = {f.variant: f for f in facts(items)}
        assert set(got) == {*winners, "order_near_far"}
        for variant, oid in winners.items():
            assert got[variant].answer.value == slot_of(got[variant], oid), (seed, variant)
        order = got["order_near_far"]
        assert order.answer.value == "".join(slot_of(order, oid) for oid in ("0", "1", "2"))
        assert len(order.answer.phrases) == 6
        assert order.frame == got["nearest"].frame == "cam:v0"
        assert got["largest"].frame is None
        assert got["nearest"].avoid_criteria == frozenset({"nearest", "farthest"})
        assert got["tallest"].avoid_criteria == frozenset({"largest", "smallest", "tallest", "shortest"})


def test_extreme_and_order_no_clear_extreme_and_within_margin():
    # chair d = sqrt(4.25) = 2.062, table cam (0.6, 0.5, 4) d = 4.0755, sofa cam (-0.6, 0.5, 4.2) d = 4.2720:
    # table vs sofa differ by 0.197 < margin 0.427. Volumes 0.25, 1.0, 1.05 (1.05 < 1.15); heights all 1.0.
    # nearest: chair; smallest: chair. farthest, largest, tallest, shortest: no clear winner;
    # order: ambiguous.
    scene = make_scene(
        [
            Obj("0", "chair", (0.0, 2.0, -0.5), (0.5, 0.5, 1.0)),
            Obj("1", "table", (0.6, 4.0, -0.5), (1.0, 1.0, 1.0)),
            Obj("2", "sofa", (-0.6, 4.2, -0.5), (1.05, 1.0, 1.0)),
        ]
    )
    for seed in range(3):
        items = candidates(scene, "extreme_and_order", seed)
        assert rejections(items) == ["no_clear_extreme"] * 4 + ["within_margin"]
        got = {f.variant: f for f in facts(items)}
        assert set(got) == {"nearest", "smallest"}
        assert got["nearest"].answer.value == slot_of(got["nearest"], "0")
        assert got["smallest"].answer.value == slot_of(got["smallest"], "0")


# ---------------------------------------------------------------- relative_size


@pytest.mark.parametrize(
    ("variant", "chair_first", "table_first"),
    [
        ("bigger", "b", "a"),  # volumes 0.25 vs 0.768: the table
        ("smaller", "a", "b"),  # the chair
        ("taller", "a", "b"),  # heights 1.0 vs 0.6: the chair
        ("shorter", "b", "a"),  # the table
    ],
)
def test_relative_size(pair, variant, chair_first, table_first):
    fact = find(pair, "relative_size", variant, "0", "1")
    assert fact.answer.value == chair_first
    assert fact.frame is None
    assert find(pair, "relative_size", variant, "1", "0").answer.value == table_first


def test_relative_size_within_margin():
    # volumes 1.0 vs 1.1 and heights 1.0 vs 1.1: ratios 1.1 < 1.15.
    scene = make_scene(
        [
            Obj("0", "chair", (-1.0, 4.0, -0.5), (1.0, 1.0, 1.0)),
            Obj("1", "box", (1.0, 4.0, -0.5), (1.0, 1.0, 1.1)),
        ]
    )
    assert candidates(scene, "relative_size") == ["within_margin"] * 4


# ---------------------------------------------------------------- orientation_relation


def test_orientation_relation_hand_built():
    # chair faces the camera (world -y), sofa faces away (+y): opposite. The table (no front) stands 1.5 m in
    # front of the chair: chair -> table is exactly along its front (0 deg) -> towards.
    # chair -> sofa: offset (2.5, 2), front (0, -1): cos = -2 / 3.2016 -> 128.7 deg -> not_towards.
    # sofa -> chair: offset (-2.5, -2), front (0, 1): 128.7 deg. sofa -> table: (-2.5, -3.5): 144.5 deg.
    scene = make_scene(
        [
            Obj("0", "chair", (-1.0, 4.0, -0.5), (0.5, 0.5, 0.9), -90.0, True),
            Obj("1", "sofa", (1.5, 6.0, -0.5), (0.9, 2.0, 0.8), 90.0, True),
            Obj("2", "table", (-1.0, 2.5, -0.6), (1.2, 0.8, 0.6)),
        ]
    )
    got = directed_facts(scene, "orientation_relation")
    assert {k: f.answer.value for k, f in got.items()} == {
        ("facing_relation", ("0", "1")): "opposite",
        ("facing_relation", ("1", "0")): "opposite",
        ("facing_towards", ("0", "1")): "not_towards",
        ("facing_towards", ("1", "0")): "not_towards",
        ("facing_towards", ("0", "2")): "towards",
        ("facing_towards", ("1", "2")): "not_towards",
    }
    assert "= 128.7 deg" in got[("facing_towards", ("0", "1"))].reasoning[0]
    assert "= 144.5 deg" in got[("facing_towards", ("1", "2"))].reasoning[0]
    assert {f.frame for f in got.values()} == {"cam_gravity:v0"}
    # Anything that needs the table's front is refused.
    all_rejections = {
        r for seed in range(8) for r in rejections(candidates(scene, "orientation_relation", seed))
    }
    assert all_rejections == {"no_front"}


def test_facing_relation_bins():
    # yaw -90 vs 0: 90 deg -> perpendicular; -90 vs -80: 10 deg -> same; 0 vs -80: 80 deg -> perpendicular.
    scene = make_scene(
        [
            Obj("0", "chair", (-1.5, 5.0, -0.5), (0.5, 0.5, 0.9), -90.0, True),
            Obj("1", "monitor", (0.0, 5.0, -0.3), (0.2, 0.6, 0.45), 0.0, True),
            Obj("2", "bed", (1.5, 6.0, -0.9), (2.0, 1.6, 0.6), -80.0, True),
        ]
    )
    got = {frozenset(k[1]): f.answer.value for k, f in directed_facts(scene, "orientation_relation").items()
           if k[0] == "facing_relation"}  # fmt: skip
    assert got == {
        frozenset("01"): "perpendicular",
        frozenset("02"): "same",
        frozenset("12"): "perpendicular",
    }


def test_facing_relation_gap():
    # yaw -90 vs -45: 45 deg, in the 30-60 deg gap. facing_towards is clear both ways: 0 -> 1 is 90 deg off
    # its front, 1 -> 0 (offset (-2, 0), front (0.707, -0.707)) 135 deg.
    scene = make_scene(
        [
            Obj("0", "chair", (-1.0, 5.0, -0.5), (0.5, 0.5, 0.9), -90.0, True),
            Obj("1", "sofa", (1.0, 5.0, -0.5), (0.9, 2.0, 0.8), -45.0, True),
        ]
    )
    for seed in range(4):
        items = candidates(scene, "orientation_relation", seed)
        assert rejections(items) == ["within_margin"]
        (fact,) = facts(items)
        assert (fact.variant, fact.answer.value) == ("facing_towards", "not_towards")


# ---------------------------------------------------------------- object_centric_relation

CENTRIC = [
    Obj("0", "chair", (0.0, 4.0, -0.5), (0.5, 0.5, 0.9), -90.0, True),  # faces the camera: its left = +x
    Obj("1", "table", (2.0, 4.0, -0.6), (1.2, 0.8, 0.6)),  # camera's right = the chair's left
    Obj("2", "sofa", (0.0, 2.0, -0.6), (0.9, 2.0, 0.8)),  # between chair and camera: front
    Obj("3", "lamp", (0.0, 6.5, -0.5), (0.4, 0.4, 1.5)),  # farther away: back
    Obj("4", "box", (-2.0, 4.0, -0.8), (0.4, 0.3, 0.3)),  # camera's left = the chair's right
]


def test_object_centric_relation():
    scene = make_scene(CENTRIC)
    got = {k[1]: f for k, f in directed_facts(scene, "object_centric_relation").items()}
    assert {k: f.answer.value for k, f in got.items()} == {
        ("0", "1"): "left",
        ("0", "2"): "front",
        ("0", "3"): "back",
        ("0", "4"): "right",
    }
    fact = got[("0", "1")]
    assert fact.frame == "object:0"
    assert [m.role for m in fact.mentions] == ["reference_object", "target"]
    assert isinstance(fact.answer, Category) and fact.answer.option_texts["left"] == "to the left"


def test_object_centric_relation_diagonal_gap_and_no_front():
    # plant at offset (1.5, -1.5) from the chair: 45 deg between its front and its left -> gap.
    scene = make_scene([CENTRIC[0], Obj("5", "plant", (1.5, 2.5, -0.8), (0.5, 0.5, 1.0))])
    seen = {candidates(scene, "object_centric_relation", seed)[0] for seed in range(10)}
    assert seen == {"within_margin", "no_front"}  # chair as reference: gap; plant as reference: no front


def test_rests_on_needs_contact_and_footing():
    from spatialforge.geometry.boxes import OrientedBox3D
    from spatialforge.scene.records import Object3D
    from spatialforge.tasks.level2 import SUPPORT_GAP_M, rests_on

    def obj(center, size):
        return Object3D("x", "x", "x", OrientedBox3D(np.array(center), np.eye(3), np.array(size)), False)

    up = np.array([0.0, 0.0, 1.0])
    table = obj((0.0, 0.0, 0.4), (1.0, 0.6, 0.8))  # top at z = 0.8, x in [-0.5, 0.5]
    assert rests_on(obj((0.3, 0.1, 0.9), (0.2, 0.2, 0.2)), table, up)  # bottom at 0.8, over the top
    assert not rests_on(table, obj((0.3, 0.1, 0.9), (0.2, 0.2, 0.2)), up)  # the converse is not
    gap = SUPPORT_GAP_M + 0.01
    assert not rests_on(obj((0.3, 0.1, 0.9 + gap), (0.2, 0.2, 0.2)), table, up)  # hovering above it
    assert not rests_on(obj((0.7, 0.1, 0.9), (0.2, 0.2, 0.2)), table, up)  # centre beyond the table's edge
