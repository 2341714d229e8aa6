"""problem_solving (fits_between, paths_cross) and route_distance on hand-built scenes, answers by hand.

Level camera at the world origin (tests/tasks/scenes.py): cam = (world x, -world z, world y); with exact
gravity the judging frame cam_gravity:v0 is cam:v0, so its horizontal plane (x, z) is the world's (x, y).
Yaw 0 puts an object's front (its length) along world +x, yaw 90 along +y (away from the camera), yaw -90
towards the camera; the width runs across.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
from collections import Counter

import numpy as np
import pytest

from spatialforge.bench.metrics import spatialrgpt_success
from spatialforge.bench.parsers import parse_number
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.qa.records import qa_from_dict, qa_to_dict
from spatialforge.tasks.banks import load_bank, load_common
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.problem_solving import (
    CROSS_PHRASES,
    CROSSING_NEAR_START,
    FIT_PHRASES,
    FIT_WITHIN_MARGIN,
    GAP_OBSTRUCTED,
    GAP_TOO_WIDE,
    HEADING_ALONG_CENTRE_LINE,
    LEG_TOO_SHORT,
    NEAR_PARALLEL_PATHS,
    NO_GAP,
    NO_GRAVITY,
    NOT_SIDE_BY_SIDE,
    NOT_UPRIGHT,
    fits_between,
    floor_boxes,
    line_angle_deg,
    paths_cross,
    walking_route,
)
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.render import Renderer
from spatialforge.tasks.spec import Category, Fact, Quantity
from tests.tasks.scenes import Obj, candidates, facts, make_scene, mirrored, moved, scaled

NEW_FROM_WORLD = RigidTransform(rot_z(0.9) @ rot_x(-0.15), np.array([-4.0, 2.5, 0.7]), "world", "world")

# ---------------------------------------------------------------- fits_between

# Table 0: centre world (-1.5, 5), yaw 0, 1.4 m long along x -> half-extent 0.70 m along x.
# Bed 1: centre (0.34, 5), yaw 90, width 1.6 m along x -> half-extent 0.80 m along x.
# Centre distance 1.84 m along x, so the gap is 1.84 - 0.70 - 0.80 = 0.34 m.
# Sofa 2 (0.9 x 2.0): needs 0.9 m > 0.34 + 0.1 -> would not fit.
# Box 3 (0.4 x 0.3): needs 0.3 m, |0.34 - 0.3| = 0.04 <= 0.1 -> within the margin.
# Chair 4 (0.25 x 0.2): needs 0.2 m, 0.34 - 0.2 = 0.14 > 0.1 (margin max(0.1, 0.02)) -> would fit.
TABLE = Obj("0", "table", (-1.5, 5.0, -0.9), (1.4, 0.8, 0.75))
BED = Obj("1", "bed", (0.34, 5.0, -1.0), (2.0, 1.6, 0.6), 90.0)
SOFA = Obj("2", "sofa", (0.5, 8.0, -0.875), (0.9, 2.0, 0.85))
BOX = Obj("3", "box", (-2.5, 8.0, -1.15), (0.4, 0.3, 0.3))
CHAIR = Obj("4", "chair", (1.5, 3.5, -0.85), (0.25, 0.2, 0.9))
ROOM = [TABLE, BED, SOFA, BOX, CHAIR]


def _ctx(scene):
    return ViewContext(scene, scene.views[0])


def _fits(scene, a: str, b: str, c: str) -> Fact | str:
    ctx = _ctx(scene)
    by_id = {o.object_id: o for o in scene.objects}
    return fits_between(ctx, floor_boxes(ctx), by_id[a], by_id[b], by_id[c])


@pytest.fixture(scope="module")
def room():
    return make_scene(ROOM)


def test_fits_between_hand_computed(room):
    sofa = _fits(room, "0", "1", "2")
    assert isinstance(sofa, Fact) and sofa.answer.value == "does_not_fit"
    assert sofa.variant == "fits_between" and sofa.frame == "cam_gravity:v0"
    assert [(m.slot, m.obj.object_id, m.role) for m in sofa.mentions] == [
        ("a", "0", "boundary"),
        ("b", "1", "boundary"),
        ("c", "2", "target"),
    ]
    assert "gap between table 0 and bed 1 = 1.840 - 0.700 - 0.800 = 0.340 m" in sofa.reasoning
    assert "min(0.900, 2.000) = 0.900 m" in sofa.reasoning[3]
    assert sofa.reasoning[-1] == "0.900 m > 0.340 m + 0.100 m margin -> would not fit"
    chair = _fits(room, "0", "1", "4")
    assert isinstance(chair, Fact) and chair.answer.value == "fits"
    assert chair.reasoning[-1] == "0.340 m > 0.200 m + 0.100 m margin -> would fit"
    assert _fits(room, "0", "1", "3") == FIT_WITHIN_MARGIN


def test_fits_between_reasoning_ends_with_the_answer(room):
    for seed in range(6):
        for f in facts(candidates(room, "problem_solving", seed)):
            assert f.reasoning[-1].endswith(f"-> {f.answer.phrases[f.answer.value]}")
            if f.variant == "fits_between":
                gap = float(re.search(r"= (-?\d+\.\d+) m$", f.reasoning[2])[1])  # type: ignore[index]
                need = float(re.search(r"= (\d+\.\d+) m$", f.reasoning[3])[1])  # type: ignore[index]
                assert (gap > need) == (f.answer.value == "fits")


def test_swapping_a_and_b_keeps_the_answer_and_the_gap(room):
    for c, value in (("2", "does_not_fit"), ("4", "fits")):
        ab, ba = _fits(room, "0", "1", c), _fits(room, "1", "0", c)
        assert isinstance(ab, Fact) and isinstance(ba, Fact)
        assert ab.answer.value == ba.answer.value == value
        assert ab.reasoning[2].rsplit("= ", 1)[1] == ba.reasoning[2].rsplit("= ", 1)[1] == "0.340 m"


def test_fits_between_is_frame_free_and_mirror_free(room):
    for transformed in (moved(room, NEW_FROM_WORLD), mirrored(room)):
        for c in ("2", "4"):
            assert _fits(transformed, "0", "1", c).answer == _fits(room, "0", "1", c).answer  # type: ignore[union-attr]
        assert _fits(transformed, "0", "1", "3") == FIT_WITHIN_MARGIN


def test_scaling_everything_keeps_fits(room):
    # At 2x the gap is 0.68 m; the sofa needs 1.8 m (no), the chair 0.4 m (0.68 - 0.4 = 0.28 > 0.1: yes).
    big = scaled(room, 2.0)
    sofa, chair = _fits(big, "0", "1", "2"), _fits(big, "0", "1", "4")
    assert sofa.answer.value == "does_not_fit" and chair.answer.value == "fits"  # type: ignore[union-attr]
    assert "= 0.680 m" in chair.reasoning[2]  # type: ignore[union-attr]


def test_no_gap_when_a_and_b_touch():
    # Bed at x = -0.2: centre distance 1.3 m < 0.70 + 0.80: the two overlap along the line.
    scene = make_scene([TABLE, dataclasses.replace(BED, center=(-0.2, 5.0, -1.0)), SOFA, BOX, CHAIR])
    assert _fits(scene, "0", "1", "4") == NO_GAP


def test_gap_too_wide_is_not_asked():
    # Bed at x = 3.0: gap = 4.5 - 1.5 = 3.0 m > 3 x 0.2 m (the chair's need): trivially yes.
    scene = make_scene([TABLE, dataclasses.replace(BED, center=(3.0, 5.0, -1.0)), SOFA, BOX, CHAIR])
    assert _fits(scene, "0", "1", "4") == GAP_TOO_WIDE
    # The sofa (needs 0.9 m, 3 x 0.9 = 2.7 m < 3.0 m) is trivial too.
    assert _fits(scene, "0", "1", "2") == GAP_TOO_WIDE


def test_an_object_in_the_gap_obstructs_it():
    # A plant (0.2 m) standing at x = -0.63, y = 5.0, in the middle of the 0.34 m gap (x -0.80 .. -0.46).
    plant = Obj("5", "plant", (-0.63, 5.0, -1.0), (0.2, 0.2, 0.5))
    scene = make_scene([*ROOM, plant])
    assert _fits(scene, "0", "1", "4") == GAP_OBSTRUCTED
    # Moved 1.5 m to the side (y = 6.5), it no longer is in the chair's 0.25 m wide corridor.
    scene = make_scene([*ROOM, dataclasses.replace(plant, center=(-0.63, 6.5, -1.0))])
    assert _fits(scene, "0", "1", "4").answer.value == "fits"  # type: ignore[union-attr]


def test_the_placed_object_must_stand_between_a_and_b_in_height(room):
    # A mirror hanging on the wall (world z 0.5 .. 1.1) instead of the bed: the chair (z -1.3 .. -0.4)
    # would slide in under it (no shared height at all, half of 0.6 m needed), so there is no gap between
    # the two to speak of.
    mirror = Obj("1", "mirror", (0.34, 5.0, 0.8), (0.1, 1.0, 0.6), 90.0)
    scene = make_scene([TABLE, mirror, SOFA, BOX, CHAIR])
    assert _fits(scene, "0", "1", "4") == NOT_SIDE_BY_SIDE
    # With the bed, the chair (z -1.3 .. -0.4) shares all of the table's 0.75 m (z -1.275 .. -0.525) and
    # all of the bed's 0.6 m (z -1.3 .. -0.7).
    # A lamp standing on the table (z -0.525 .. 0.475) instead of the bed shares 0.125 m of the chair's
    # 0.9 m: under half, it does not stand beside the chair.
    lamp = Obj("1", "lamp", (0.34, 5.0, -0.025), (0.4, 0.4, 1.0))
    assert _fits(make_scene([TABLE, lamp, SOFA, BOX, CHAIR]), "0", "1", "4") == NOT_SIDE_BY_SIDE
    fact = _fits(room, "0", "1", "4")
    assert "chair 4 shares 0.750 m of height with table 0 and 0.600 m with bed 1" in fact.reasoning[4]  # type: ignore[union-attr]


def test_an_object_above_the_gap_does_not_obstruct_it():
    # A lamp hanging over the gap (world z 0.3 .. 0.7) is above the chair's height range (-1.3 .. -0.4).
    lamp = Obj("5", "lamp", (-0.63, 5.0, 0.5), (0.3, 0.3, 0.4))
    assert _fits(make_scene([*ROOM, lamp]), "0", "1", "4").answer.value == "fits"  # type: ignore[union-attr]


def test_corridor_is_as_wide_as_the_object_placed():
    # The chair's longer side is 0.25 m: its corridor reaches 0.125 m either side of the centre line
    # (world y = 5). A 0.2 m plant centred at y = 5.2 reaches down to y = 5.1: 0.1 m < 0.125 m, in the way;
    # centred at y = 5.3 it reaches y = 5.2: 0.2 m > 0.125 m, clear.
    plant = Obj("5", "plant", (-0.63, 5.2, -1.0), (0.2, 0.2, 0.5))
    assert _fits(make_scene([*ROOM, plant]), "0", "1", "4") == GAP_OBSTRUCTED
    clear = make_scene([*ROOM, dataclasses.replace(plant, center=(-0.63, 5.3, -1.0))])
    assert _fits(clear, "0", "1", "4").answer.value == "fits"  # type: ignore[union-attr]


def test_half_extent_is_the_support_function_of_the_rotated_box():
    # A 2.0 x 1.0 box at yaw 30 deg: along x, 1.0 cos 30 + 0.5 sin 30 = 0.866 + 0.25 = 1.116 m; along z
    # (world y), 1.0 sin 30 + 0.5 cos 30 = 0.5 + 0.433 = 0.933 m; along the diagonal (1, 1) / sqrt 2,
    # 1.0 |cos 30 + sin 30| / sqrt 2 + 0.5 |cos 30 - sin 30| / sqrt 2 = 0.966 + 0.129 = 1.095 m.
    scene = make_scene([Obj("0", "table", (0.0, 5.0, -0.9), (2.0, 1.0, 0.75), 30.0)])
    box = floor_boxes(_ctx(scene))["0"]
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    assert box.half_extent((1.0, 0.0)) == pytest.approx(c + 0.5 * s)
    assert box.half_extent((0.0, 1.0)) == pytest.approx(s + 0.5 * c)
    r = math.sqrt(0.5)
    assert box.half_extent((r, r)) == pytest.approx((c + s) * r + 0.5 * (c - s) * r)


def test_gap_along_a_diagonal():
    # Table 0 (2.0 x 1.0, yaw 45) at world (-1, 4), bed 1 (2.0 x 1.6, yaw 45) at (1, 6): the centre line
    # runs at 45 deg, along both boxes' length axes: distance 2 sqrt 2 = 2.828, half-extents 1.0 and 1.0,
    # gap 0.828 m. A 0.6 x 0.5 chair needs 0.5 m: 0.828 - 0.5 = 0.328 > 0.1 -> fits; a 0.9 x 2.0 sofa needs
    # 0.9: |0.828 - 0.9| = 0.072 <= 0.1 -> within the margin.
    table = Obj("0", "table", (-1.0, 4.0, -0.9), (2.0, 1.0, 0.75), 45.0)
    bed = Obj("1", "bed", (1.0, 6.0, -1.0), (2.0, 1.6, 0.6), 45.0)
    chair = Obj("2", "chair", (1.5, 3.5, -0.85), (0.6, 0.5, 0.9))
    sofa = Obj("3", "sofa", (-2.5, 8.0, -0.875), (0.9, 2.0, 0.85))
    scene = make_scene([table, bed, chair, sofa])
    fact = _fits(scene, "0", "1", "2")
    assert fact.answer.value == "fits"  # type: ignore[union-attr]
    assert "= 2.828 - 1.000 - 1.000 = 0.828 m" in fact.reasoning[2]  # type: ignore[union-attr]
    assert _fits(scene, "0", "1", "3") == FIT_WITHIN_MARGIN


def test_object_to_place_must_stand_upright(room):
    chair = room.objects[4]
    tipped = dataclasses.replace(chair.box, rotation=rot_x(math.radians(90.0)))  # lying on its side
    scene = dataclasses.replace(room, objects=(*room.objects[:4], dataclasses.replace(chair, box=tipped)))
    assert _fits(scene, "0", "1", "4") == NOT_UPRIGHT


# ---------------------------------------------------------------- paths_cross

# Car 0 at world (-3, 10) heading +x (yaw 0); car 1 at (2, 6) heading +y (yaw 90, away from the camera).
# start_0 + t1 (1, 0) = start_1 + t2 (0, 1) at (2, 10): t1 = 5, t2 = 4, both ahead -> the paths cross.
# Heading lines 90 deg apart; the line between the starts is (5, -4): 38.7 deg from car 0's heading line,
# 51.3 deg from car 1's; clearances 4.0 / 2 + 0.1 = 2.1 m.
CAR_SIZE = (4.0, 1.8, 1.5)
CAR_A = Obj("0", "car", (-3.0, 10.0, -0.75), CAR_SIZE, 0.0, True)
CAR_B = Obj("1", "car", (2.0, 6.0, -0.75), CAR_SIZE, 90.0, True)


def _cross(scene, a: str = "0", b: str = "1") -> Fact | str:
    by_id = {o.object_id: o for o in scene.objects}
    return paths_cross(_ctx(scene), by_id[a], by_id[b])


def test_paths_cross_by_construction():
    fact = _cross(make_scene([CAR_A, CAR_B]))
    assert isinstance(fact, Fact) and fact.answer.value == "cross"
    assert [(m.slot, m.role) for m in fact.mentions] == [("a", "mover"), ("b", "mover")]
    assert "t1 = 5.000 m, t2 = 4.000 m" in fact.reasoning[3]
    assert "= 90.0 deg" in fact.reasoning[1]
    assert "car 0 38.7 deg, car 1 51.3 deg" in fact.reasoning[2]
    assert fact.reasoning[-1].endswith("-> the paths would cross")


def test_paths_meeting_behind_one_object_do_not_cross():
    # Car 1 turned to face the camera (-y): the lines still meet at (2, 10), 4 m behind car 1 (t2 = -4).
    fact = _cross(make_scene([CAR_A, dataclasses.replace(CAR_B, yaw_deg=-90.0)]))
    assert fact.answer.value == "do_not_cross"  # type: ignore[union-attr]
    assert "t1 = 5.000 m, t2 = -4.000 m" in fact.reasoning[3]  # type: ignore[union-attr]
    assert fact.reasoning[-1] == "the lines meet behind car 1 -> the paths would not cross"  # type: ignore[union-attr]


def test_swapping_the_two_objects_keeps_the_answer():
    scene = make_scene([CAR_A, CAR_B])
    ab, ba = _cross(scene, "0", "1"), _cross(scene, "1", "0")
    assert ab.answer == ba.answer  # type: ignore[union-attr]
    assert "t1 = 4.000 m, t2 = 5.000 m" in ba.reasoning[3]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        # Car 1 heading 15 deg off car 0's: heading lines within 2 x 10 deg.
        ({"yaw_deg": 15.0}, NEAR_PARALLEL_PATHS),
        # Car 1 heading the opposite way on a parallel line: near-parallel too (the lines never meet).
        ({"yaw_deg": 180.0}, NEAR_PARALLEL_PATHS),
        # Car 1 at (2, 8): the crossing point (2, 10) is only t2 = 2.0 m ahead, inside the 2.1 m clearance.
        # (The line between the starts, (5, -2), is still 21.8 deg from car 0's heading.)
        ({"center": (2.0, 8.0, -0.75)}, CROSSING_NEAR_START),
    ],
)
def test_paths_cross_rejections(change, reason):
    assert _cross(make_scene([CAR_A, dataclasses.replace(CAR_B, **change)])) == reason


def test_heading_along_the_line_between_the_starts_is_refused():
    # Car 0 pointed at car 1's start: direction (5, -4) is -38.66 deg; at yaw -35 deg its heading line is
    # 3.7 deg from the line between the starts, within the 10-degree heading tolerance.
    scene = make_scene([dataclasses.replace(CAR_A, yaw_deg=-35.0), CAR_B])
    assert _cross(scene) == HEADING_ALONG_CENTRE_LINE
    assert line_angle_deg((1.0, 0.0), (0.0, -2.0)) == pytest.approx(90.0)
    assert line_angle_deg((1.0, 0.0), (-3.0, 0.0)) == pytest.approx(0.0)


def test_paths_cross_is_invariant_under_mirror_move_and_scale():
    for base in ([CAR_A, CAR_B], [CAR_A, dataclasses.replace(CAR_B, yaw_deg=-90.0)]):
        scene = make_scene(base)
        expected = _cross(scene).answer  # type: ignore[union-attr]
        for transformed in (mirrored(scene), moved(scene, NEW_FROM_WORLD), scaled(scene, 1.5)):
            assert _cross(transformed).answer == expected  # type: ignore[union-attr]


def test_front_less_objects_never_move():
    scene = make_scene([TABLE, dataclasses.replace(BED, center=(2.0, 7.0, -1.0)), CAR_A])
    for seed in range(8):
        assert not [
            f for f in facts(candidates(scene, "problem_solving", seed)) if f.variant == "paths_cross"
        ]


def test_problem_solving_needs_gravity():
    scene = make_scene([CAR_A, CAR_B, TABLE], gravity=None)
    assert candidates(scene, "problem_solving") == [NO_GRAVITY]
    assert candidates(scene, "route_distance") == [NO_GRAVITY]
    assert "gravity" in TASKS["problem_solving"].requires and "gravity" in TASKS["route_distance"].requires


# ---------------------------------------------------------------- route_distance

# Table 0 at world (0, 5), bed 1 at (3, 9), lamp 2 at (3, 5), centres at different heights (ignored):
# table -> bed = hypot(3, 4) = 5, bed -> lamp = 4: 9.0 m. Camera (0, 0) -> table 5 -> bed 5: 10.0 m.
R_TABLE = Obj("0", "table", (0.0, 5.0, -0.9), (1.4, 0.8, 0.75))
R_BED = Obj("1", "bed", (3.0, 9.0, -1.0), (2.0, 1.6, 0.6), 90.0)
R_LAMP = Obj("2", "lamp", (3.0, 5.0, -0.5), (0.4, 0.4, 1.5))


def _route(scene, variant: str, *oids: str) -> Fact | str:
    by_id = {o.object_id: o for o in scene.objects}
    return walking_route(_ctx(scene), variant, tuple(by_id[o] for o in oids))


@pytest.fixture(scope="module")
def route_room():
    return make_scene([R_TABLE, R_BED, R_LAMP])


def test_walking_distance_hand_computed(route_room):
    via = _route(route_room, "via", "0", "1", "2")
    assert isinstance(via, Fact) and isinstance(via.answer, Quantity)
    assert via.answer.si_value == pytest.approx(9.0) and via.answer.metric == "spatialrgpt"
    assert via.reasoning[1:] == (
        "table 0 -> bed 1: sqrt(3.000^2 + 4.000^2) = 5.000 m",
        "bed 1 -> lamp 2: sqrt(0.000^2 + 4.000^2) = 4.000 m",
        "total = 5.000 + 4.000 = 9.000 m",
    )
    assert [(m.slot, m.role) for m in via.mentions] == [("a", "stop_1"), ("b", "stop_2"), ("c", "stop_3")]
    cam = _route(route_room, "from_camera", "0", "1")
    assert cam.answer.si_value == pytest.approx(10.0)  # type: ignore[union-attr]
    assert cam.reasoning[-1] == "total = 5.000 + 5.000 = 10.000 m"  # type: ignore[union-attr]


def test_walking_reasoning_total_is_the_answer():
    scene = make_scene(ROOM)
    for seed in range(4):
        found = facts(candidates(scene, "route_distance", seed))
        assert {f.variant for f in found} == {"via", "from_camera"}
        for f in found:
            total = float(re.search(r"= (\d+\.\d+) m$", f.reasoning[-1])[1])  # type: ignore[index]
            assert total == pytest.approx(f.answer.si_value, abs=5e-4)
            legs = [float(x) for x in re.findall(r"= (\d+\.\d+) m$", "\n".join(f.reasoning[1:-1]), re.M)]
            assert sum(legs) == pytest.approx(f.answer.si_value, abs=2e-3)


def test_walking_distance_scales_and_ignores_frame_and_mirror(route_room):
    assert _route(scaled(route_room, 2.0), "via", "0", "1", "2").answer.si_value == pytest.approx(18.0)  # type: ignore[union-attr]
    assert _route(scaled(route_room, 2.0), "from_camera", "0", "1").answer.si_value == pytest.approx(20.0)  # type: ignore[union-attr]
    for transformed in (moved(route_room, NEW_FROM_WORLD), mirrored(route_room)):
        assert _route(transformed, "via", "0", "1", "2").answer.si_value == pytest.approx(9.0)  # type: ignore[union-attr]
        assert _route(transformed, "from_camera", "0", "1").answer.si_value == pytest.approx(10.0)  # type: ignore[union-attr]


def test_short_legs_are_not_walks():
    # A lamp standing on the table: 0.2 m apart horizontally, under the 0.5 m minimum leg.
    scene = make_scene([R_TABLE, R_BED, dataclasses.replace(R_LAMP, center=(0.2, 5.0, 0.3))])
    assert _route(scene, "via", "1", "0", "2") == LEG_TOO_SHORT
    assert _route(scene, "via", "0", "1", "2").answer.si_value == pytest.approx(5.0 + math.hypot(2.8, 4.0))  # type: ignore[union-attr]


# ---------------------------------------------------------------- rendering


def _render(scene, name: str, seed: int = 3, limit: int = 40):
    spec = TASKS[name]
    bank = load_bank(name, spec.formats, spec.variants)
    ctx = _ctx(scene)
    renderer = Renderer(ctx, load_common())
    found = [f for f in spec.candidates(ctx, random.Random(seed)) if isinstance(f, Fact)][:limit]
    for i, fact in enumerate(found):
        for fmt in spec.own_formats:
            out = renderer.render(spec, bank, fact, fmt, random.Random(f"{i}:{fmt}"), 5)
            if out == "no_distinct_distractors":
                continue
            assert not isinstance(out, str), out
            yield fact, fmt, out


def test_problem_solving_renders_every_format():
    scene = make_scene([*ROOM, dataclasses.replace(CAR_A, center=(-3.0, 12.0, -0.75)), CAR_B])
    seen: Counter[tuple[str, str]] = Counter()
    for fact, fmt, records in _render(scene, "problem_solving"):
        assert isinstance(fact.answer, Category)
        phrases = FIT_PHRASES if fact.variant == "fits_between" else CROSS_PHRASES
        truth = phrases[fact.answer.value]
        seen[(fact.variant, fmt)] += 1
        for r in records:
            assert qa_to_dict(qa_from_dict(r)) == r and r["reasoning"] == list(fact.reasoning)
        if fmt == "free":
            assert records[0]["answer_value"] == truth and truth in records[0]["answer"]
        elif fmt == "mcq":
            options = {c["label"]: c["text"] for c in records[0]["choices"]}
            assert len(options) == 2 and options[records[0]["answer_value"]].startswith(
                "Yes" if fact.answer.value in ("fits", "cross") else "No"
            )
        else:
            true, false = sorted(records, key=lambda r: not r["answer_value"])
            assert truth in true["question"]
            other = next(p for v, p in phrases.items() if v != fact.answer.value)
            assert other in false["question"]
    assert {fmt for _, fmt in seen} == {"free", "mcq", "tf"}
    assert {variant for variant, _ in seen} == {"fits_between", "paths_cross"}


def test_references_do_not_hint_at_the_answer():
    # Two sofas and two chairs of clearly different sizes and distances: "the smallest chair" and "the
    # nearest sofa" exist, but a fitting question names no size and a walking question no distance.
    scene = make_scene(
        [
            *ROOM,
            Obj("5", "chair", (-2.0, 3.0, -0.8), (0.5, 0.5, 1.0)),
            Obj("6", "sofa", (2.0, 9.0, -0.875), (1.0, 2.4, 0.85)),
        ]
    )
    size_words = ("smallest", "largest", "tallest", "shortest")
    seen = Counter()
    for name, words in (("problem_solving", size_words), ("route_distance", ("nearest", "farthest"))):
        for fact, _, records in _render(scene, name, limit=200):
            if name == "problem_solving" and fact.variant != "fits_between":
                continue
            seen[name] += 1
            text = " ".join(r["question"] for r in records)
            assert not any(w in text for w in words), text
    assert seen["problem_solving"] and seen["route_distance"]


def test_route_distance_renders_every_format(route_room):
    scene = make_scene([*ROOM])
    formats = Counter()
    for fact, fmt, records in _render(scene, "route_distance"):
        formats[fmt] += 1
        if fmt == "free":
            (r,) = records
            assert r["tolerance"] == {
                "metric": "spatialrgpt",
                "params": {"answer_type": "number", "to_unit": "m"},
            }
            shown = parse_number(r["answer"], to_unit="m")
            assert shown.ok and spatialrgpt_success(float(shown.value), fact.answer.si_value)  # type: ignore[arg-type]
            assert r["answer_value"] == round(fact.answer.si_value, 4)
    assert set(formats) == {"free", "mcq", "tf"}
