"""Level 3 perspective tasks on hand-built scenes: perspective_taking, spatial_imagination_oc / _oo.

Level camera at the world origin looking along world +y (tests/tasks/scenes.py): cam = (world x, -world z,
world y), and with exact gravity the judging frame cam_gravity:v0 coincides with cam:v0. Every expected
answer is computed by hand in the comments; offsets are given in that frame (x right, y down, z forward).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from itertools import permutations

import numpy as np
import pytest

from spatialforge.demo.box_scenes import random_box_scene, random_box_scenes
from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.geometry.relations import POSITION_MARGIN_M
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.qa.records import qa_from_dict, qa_to_dict
from spatialforge.tasks.banks import load_bank, load_common
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.perspective import (
    DIAGONAL_GAP,
    FACING_TOO_SHORT,
    MAX_VIEW_PITCH_DEG,
    NO_GRAVITY,
    STEEP_VIEW,
    TARGET_TOO_CLOSE,
    direction_fact,
    distance_fact,
    horizontal_observer,
    imagined_camera,
    oc_fact,
    oo_fact,
    sector_of,
)
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.render import Renderer
from spatialforge.tasks.spec import Category, Fact, Quantity
from tests.tasks.scenes import (
    Obj,
    candidates,
    directed_facts,
    facts,
    make_scene,
    mirrored,
    moved,
    rejections,
    scaled,
)

PERSPECTIVE_TASKS = ("perspective_taking", "spatial_imagination_oc", "spatial_imagination_oo")
SQRT10 = math.sqrt(10.0)

# ---------------------------------------------------------------- scenes

# perspective_taking: the observer stands at the chair (cam (0, 0.5, 5)). Facing the table (cam (0, 0.5, 7.5))
# forward = +z, left = up x forward = -x; facing the cabinet, its mirror image through the chair
# (cam (0, 0.5, 2.5)), forward = -z and left = +x: the observer has turned 180 degrees.
PT = [
    Obj("0", "chair", (0.0, 5.0, -0.5), (0.5, 0.5, 1.0)),  # cam (0, 0.5, 5)
    Obj("1", "table", (0.0, 7.5, -0.5), (1.2, 0.8, 0.6)),  # cam (0, 0.5, 7.5)
    Obj("2", "cabinet", (0.0, 2.5, -0.5), (0.5, 1.0, 1.0)),  # cam (0, 0.5, 2.5)
    Obj("3", "lamp", (-2.0, 5.5, -0.3), (0.4, 0.4, 1.5)),  # cam (-2, 0.3, 5.5): 0.2 m higher than the chair
    Obj("4", "sofa", (2.5, 4.0, -0.5), (0.9, 2.0, 0.8)),  # cam (2.5, 0.5, 4)
    Obj("5", "plant", (0.2, 6.5, -0.5), (0.5, 0.5, 1.0)),  # cam (0.2, 0.5, 6.5)
]
# Offsets from the chair (x, z): lamp (-2, 0.5), sofa (2.5, -1), plant (0.2, 1.5), table (0, 2.5),
# cabinet (0, -2.5). Facing the table (forward, left) = (z, -x); facing the cabinet (forward, left) = (-z, x):
#   lamp   (0.5, 2.0):    atan2(2, 0.5) = 75.96 deg -> left  | (-0.5, -2):  -104.04 deg -> right
#   sofa   (-1, -2.5):    -111.80 deg -> right                 | (1, 2.5):     68.20 deg -> left
#   plant  (1.5, -0.2):   -7.59 deg -> front                  | (-1.5, 0.2): 172.41 deg -> back
#   the other facing object: 180 deg -> back (the table behind when facing the cabinet and vice versa).
PT_EXPECTED = {
    ("1", "3"): "left", ("1", "4"): "right", ("1", "5"): "front", ("1", "2"): "back",
    ("2", "3"): "right", ("2", "4"): "left", ("2", "5"): "back", ("2", "1"): "back",
}  # fmt: skip

# spatial imagination: chair cam (0, 0.5, 5), tv cam (0, -0.5, 8) one metre higher, lamp cam (-2, 0, 6),
# sofa cam (2, 0.6, 4), shelf cam (0, -1.5, 6.2) high above the chair.
SP = [
    Obj("0", "chair", (0.0, 5.0, -0.5), (0.5, 0.5, 1.0)),
    Obj("1", "tv", (0.0, 8.0, 0.5), (0.15, 1.2, 0.7)),
    Obj("2", "lamp", (-2.0, 6.0, 0.0), (0.4, 0.4, 1.5)),
    Obj("3", "sofa", (2.0, 4.0, -0.6), (0.9, 2.0, 0.85)),
]
SHELF = Obj("4", "shelf", (0.0, 6.2, 1.5), (0.3, 1.0, 0.3))


@pytest.fixture(scope="module")
def pt_scene():
    return make_scene(PT)


@pytest.fixture(scope="module")
def sp_scene():
    return make_scene(SP)


def _ctx(scene) -> ViewContext:
    return ViewContext(scene, scene.views[0])


def _objs(scene) -> dict[str, object]:
    return {o.object_id: o for o in scene.objects}


# ---------------------------------------------------------------- perspective_taking: direction


def test_direction_hand_computed_and_turning_around_swaps(pt_scene):
    ctx, o = _ctx(pt_scene), _objs(pt_scene)
    for (b, c), value in PT_EXPECTED.items():
        fact = direction_fact(ctx, o["0"], o[b], o[c])
        assert isinstance(fact, Fact), (b, c, fact)
        assert fact.answer.value == value, (b, c)
        assert fact.frame == f"observer:0->{b}"
        assert [(m.slot, m.obj.object_id, m.role) for m in fact.mentions] == [
            ("a", "0", "stand_at"),
            ("b", b, "facing"),
            ("c", c, "target"),
        ]
    # Turning 180 degrees (facing the table's mirror image through the chair) swaps left/right and front/back.
    swap = {"left": "right", "right": "left", "front": "back", "back": "front"}
    for c in ("3", "4", "5"):
        assert PT_EXPECTED[("2", c)] == swap[PT_EXPECTED[("1", c)]]
    lamp = direction_fact(ctx, o["0"], o["1"], o["3"])
    assert "0.500 m forward, 2.000 m left" in lamp.reasoning[2]
    assert "= 76.0 deg" in lamp.reasoning[3]
    assert isinstance(lamp.answer, Category) and lamp.answer.phrases["left"] == "to your left"


def test_direction_facts_from_the_task_agree(pt_scene):
    got = directed_facts(pt_scene, "perspective_taking")
    seen = {
        (k[1][1], k[1][2]): f.answer.value for k, f in got.items() if k[0] == "direction" and k[1][0] == "0"
    }
    checked = [key for key in seen if key in PT_EXPECTED]
    assert len(checked) >= 4, "the task rarely stood at the chair facing the table or cabinet"
    for key in checked:
        assert seen[key] == PT_EXPECTED[key], key


def test_facing_object_is_always_straight_ahead():
    rng = random.Random(5)
    for _ in range(200):
        a = (rng.uniform(-5, 5), rng.uniform(-2, 2), rng.uniform(0, 10))
        b = (rng.uniform(-5, 5), rng.uniform(-2, 2), rng.uniform(0, 10))
        obs = horizontal_observer(a, b)
        if isinstance(obs, str):
            assert obs == FACING_TOO_SHORT and math.hypot(b[0] - a[0], b[2] - a[2]) < 0.5
            continue
        sector = sector_of(obs, b)
        assert sector.value == "front" and sector.angle_deg == pytest.approx(0.0, abs=1e-9)
        assert sector.forward_m == pytest.approx(obs.facing_m) and sector.left_m == pytest.approx(
            0.0, abs=1e-9
        )
        # SPAR's camera: B lies on the new optical axis at |AB| (whenever the view is kept).
        cam = imagined_camera(a, b)
        if not isinstance(cam, str):
            assert cam.to_camera(b) == pytest.approx((0.0, 0.0, math.dist(a, b)), abs=1e-9)


def test_diagonal_is_rejected_with_the_gap_reason(pt_scene):
    # A box at offset (-1.5, 1.5) from the chair: 1.5 m forward and 1.5 m left of an observer facing the
    # table, exactly on the 45-degree diagonal between front and left.
    scene = make_scene([*PT[:2], Obj("6", "box", (-1.5, 6.5, -0.5), (0.4, 0.3, 0.3))])
    ctx, o = _ctx(scene), _objs(scene)
    assert direction_fact(ctx, o["0"], o["1"], o["6"]) == DIAGONAL_GAP
    # The sectors are +-35 degrees: 34 degrees off the facing direction is front, 36 is in the gap, 56 left.
    obs = horizontal_observer((0.0, 0.5, 5.0), (0.0, 0.5, 7.5))
    for angle, value in ((34.0, "front"), (36.0, None), (54.0, None), (56.0, "left"), (-146.0, "back")):
        r = math.radians(angle)
        sector = sector_of(obs, (-2.0 * math.sin(r), 0.5, 5.0 + 2.0 * math.cos(r)))
        assert sector.value == value, angle
        assert sector.reason == (DIAGONAL_GAP if value is None else None)


def test_short_facing_and_close_target_are_rejected():
    # box 0.36 m from the chair horizontally (offset (0.3, 0.2)), whatever the 0.7 m height difference.
    box = Obj("7", "box", (0.3, 5.2, 0.2), (0.4, 0.3, 0.3))
    scene = make_scene([*PT[:2], PT[3], box])
    ctx, o = _ctx(scene), _objs(scene)
    assert direction_fact(ctx, o["0"], o["7"], o["3"]) == FACING_TOO_SHORT
    assert distance_fact(ctx, o["0"], o["7"], o["3"]) == FACING_TOO_SHORT
    assert direction_fact(ctx, o["0"], o["1"], o["7"]) == TARGET_TOO_CLOSE
    # A distance is still asked at 0.36 m (above SPAR's 0.1 m).
    assert distance_fact(ctx, o["0"], o["1"], o["7"]).answer.si_value == pytest.approx(math.hypot(0.3, 0.2))


def test_no_gravity_is_refused_once_per_view():
    scene = make_scene(PT, gravity=None)
    for task in PERSPECTIVE_TASKS:
        assert candidates(scene, task) == [NO_GRAVITY]


# ---------------------------------------------------------------- perspective_taking: distance


def test_distance_is_horizontal_and_does_not_depend_on_facing(pt_scene):
    ctx, o = _ctx(pt_scene), _objs(pt_scene)
    # chair -> lamp: horizontal (dx, dz) = (-2, 0.5) -> sqrt(4.25) = 2.06155 m; the Euclidean distance,
    # with the 0.2 m height difference, would be sqrt(4.29) = 2.07123 m.
    for facing in ("1", "2"):
        fact = distance_fact(ctx, o["0"], o[facing], o["3"])
        assert isinstance(fact.answer, Quantity)
        assert (fact.answer.kind, fact.answer.metric) == ("length", "mra")
        assert fact.answer.si_value == pytest.approx(math.sqrt(4.25))
        assert fact.frame == "cam_gravity:v0"
        assert fact.reasoning[-1] == "answer: 2.0616 m"
    # chair -> sofa: (2.5, -1) -> sqrt(7.25) = 2.69258 m.
    assert distance_fact(ctx, o["0"], o["1"], o["4"]).answer.si_value == pytest.approx(math.sqrt(7.25))


# ---------------------------------------------------------------- SPAR's imagined camera


def test_imagined_camera_hand_computed():
    # chair -> tv: d = (0, -1, 3), |d| = sqrt(10): forward = (0, -1, 3) / sqrt(10); left = up x forward
    # normalised = (-1, 0, 0); up' = forward x left = (0, -3, -1) / sqrt(10); pitch = atan(1/3) = 18.435 deg.
    cam = imagined_camera((0.0, 0.5, 5.0), (0.0, -0.5, 8.0))
    assert cam.forward == pytest.approx((0.0, -1 / SQRT10, 3 / SQRT10))
    assert cam.right == pytest.approx((1.0, 0.0, 0.0))
    assert cam.down == pytest.approx((0.0, 3 / SQRT10, 1 / SQRT10))
    assert cam.pitch_deg == pytest.approx(math.degrees(math.atan(1 / 3)))
    assert cam.pitch_deg == pytest.approx(18.4349, abs=1e-4)
    # Facing back towards the camera and down: left is +x, right -x.
    back = imagined_camera((0.0, -0.5, 8.0), (0.0, 0.5, 5.0))
    assert back.right == pytest.approx((-1.0, 0.0, 0.0)) and back.pitch_deg == pytest.approx(cam.pitch_deg)
    # Steep: chair -> shelf d = (0, -2, 1.2): 59.04 deg > 30. Vertical: no horizontal direction at all.
    assert imagined_camera((0.0, 0.5, 5.0), (0.0, -1.5, 6.2)) == STEEP_VIEW
    assert imagined_camera((0.0, 0.5, 5.0), (0.0, -2.5, 5.0)) == FACING_TOO_SHORT
    # Exactly at the limit the view is kept: rise tan(30 deg) per metre.
    edge = imagined_camera((0.0, 0.0, 0.0), (0.0, -math.tan(math.radians(29.999)), 1.0))
    assert not isinstance(edge, str) and edge.pitch_deg <= MAX_VIEW_PITCH_DEG


def test_spatial_imagination_oc_hand_computed(sp_scene):
    ctx, o = _ctx(sp_scene), _objs(sp_scene)
    # In the camera at the chair facing the tv: (x', y', z') = (q.right, q.down, q.forward), q = p - chair.
    # lamp q = (-2, -0.5, 1): x' = -2, y' = (3 * -0.5 + 1) / sqrt10 = -0.158, z' = (0.5 + 3) / sqrt10 = 1.107.
    # sofa q = (2, 0.1, -1): x' = 2, y' = (0.3 - 1) / sqrt10 = -0.221, z' = (-0.1 - 3) / sqrt10 = -0.980.
    expected = {
        ("2", "left_right"): "left", ("2", "above_below"): "above", ("2", "front_behind"): "front",
        ("3", "left_right"): "right", ("3", "above_below"): "above", ("3", "front_behind"): "behind",
    }  # fmt: skip
    for (c, variant), value in expected.items():
        fact = oc_fact(ctx, variant, o["0"], o["1"], o[c])
        assert isinstance(fact, Fact), (c, variant, fact)
        assert fact.answer.value == value, (c, variant)
        assert fact.frame == "imagined_cam:0->1"
        assert fact.reasoning[-1] == f"answer: {value}"
    lamp = oc_fact(ctx, "above_below", o["0"], o["1"], o["2"])
    assert "= (-2.000, -0.158, 1.107) m" in lamp.reasoning[3]
    assert "above score = 0.158 m vs margin 0.10 m -> above" in lamp.reasoning[4]
    # The sofa's centre is 0.1 m LOWER than the chair's, yet "above" the imagined camera: SPAR's camera
    # pitches up 18.4 deg towards the tv, so its up axis leans back over the sofa behind it.
    sofa = oc_fact(ctx, "above_below", o["0"], o["1"], o["3"])
    assert "above score = 0.221 m" in sofa.reasoning[4]
    assert sofa.slots == {"alternatives": "above you or below you"}


def test_spatial_imagination_oo_hand_computed(sp_scene):
    ctx, o = _ctx(sp_scene), _objs(sp_scene)
    chair, tv, lamp, sofa = o["0"], o["1"], o["2"], o["3"]
    # lamp vs sofa from the chair facing the tv: x' -2 vs 2 -> left (score 4); z' 1.107 vs -0.980 -> the lamp
    # is farther along the view axis: behind; y' -0.158 vs -0.221: the lamp sits 0.063 m LOWER in the pitched
    # frame although 0.6 m higher in the room -> within SPAR's 0.1 m margin.
    assert oo_fact(ctx, "left_right", chair, tv, lamp, sofa).answer.value == "left"
    assert oo_fact(ctx, "front_behind", chair, tv, lamp, sofa).answer.value == "behind"
    assert oo_fact(ctx, "front_behind", chair, tv, sofa, lamp).answer.value == "in_front"
    assert oo_fact(ctx, "above_below", chair, tv, lamp, sofa) == "within_margin"
    fact = oo_fact(ctx, "left_right", chair, tv, lamp, sofa)
    assert [(m.slot, m.role) for m in fact.mentions] == [
        ("a", "stand_at"),
        ("b", "facing"),
        ("c", "target"),
        ("d", "anchor"),
    ]
    assert "left_of score = 4.000 m" in fact.reasoning[-2]


def test_before_and_after_left_right(sp_scene):
    ctx, o = _ctx(sp_scene), _objs(sp_scene)
    chair, tv, lamp, sofa = o["0"], o["1"], o["2"], o["3"]
    # In the image the lamp (x -2) is left of the sofa (x 2). From the chair facing the tv (away from the
    # camera) it stays left; from the tv facing the chair (towards the camera, right = -x) x' is 2 vs -2:
    # the lamp is now to the right of the sofa.
    same = oo_fact(ctx, "change_left_right", chair, tv, lamp, sofa)
    turned = oo_fact(ctx, "change_left_right", tv, chair, lamp, sofa)
    assert (same.answer.value, turned.answer.value) == ("left", "right")
    assert same.slots["before"] == turned.slots["before"] == "to the left of"
    assert turned.reasoning[0].startswith("before the move, in cam_gravity:v0: x(lamp 2) = -2.000 m")
    assert turned.reasoning[-1] == "answer: right"
    # Before-relation within SPAR's margin: refused.
    near = make_scene([*SP, Obj("5", "box", (-1.95, 7.0, -0.8), (0.4, 0.3, 0.3))])
    n = _objs(near)
    assert oo_fact(_ctx(near), "change_left_right", n["0"], n["1"], n["2"], n["5"]) == "within_margin"


def test_steep_and_short_views_are_rejected_by_the_tasks():
    scene = make_scene([*SP, SHELF])
    ctx, o = _ctx(scene), _objs(scene)
    assert oc_fact(ctx, "left_right", o["0"], o["4"], o["2"]) == STEEP_VIEW
    assert oo_fact(ctx, "left_right", o["0"], o["4"], o["2"], o["3"]) == STEEP_VIEW
    reasons = Counter(
        r for seed in range(4) for r in rejections(candidates(scene, "spatial_imagination_oc", seed))
    )
    assert reasons[STEEP_VIEW] > 0


# ---------------------------------------------------------------- metamorphic


def _all_facts(scene, task) -> dict[tuple, Fact]:
    return directed_facts(scene, task, seeds=range(24))


@pytest.mark.parametrize("task", PERSPECTIVE_TASKS)
def test_mirror_swaps_left_and_right_and_keeps_the_rest(pt_scene, sp_scene, task):
    swap = {"left": "right", "right": "left"}
    swapped = 0
    for scene in (pt_scene, sp_scene):
        before, after = _all_facts(scene, task), _all_facts(mirrored(scene), task)
        assert before.keys() == after.keys()
        for key, x in before.items():
            y = after[key]
            if isinstance(x.answer, Quantity):
                assert y.answer.si_value == pytest.approx(x.answer.si_value, rel=1e-12)
                continue
            assert y.answer.value == swap.get(x.answer.value, x.answer.value), key
            swapped += x.answer.value in swap
            if "before" in x.slots:  # the stated image relation swaps as well
                flip = {"to the left of": "to the right of", "to the right of": "to the left of"}
                assert y.slots["before"] == flip[x.slots["before"]]
    assert swapped > 0


NEW_FROM_WORLD = RigidTransform(rot_z(-1.1) @ rot_x(0.3), np.array([2.0, 7.0, -1.5]), "world", "world")


@pytest.mark.parametrize("task", PERSPECTIVE_TASKS)
def test_moving_the_world_frame_changes_nothing(pt_scene, sp_scene, task):
    for scene in (pt_scene, sp_scene):
        before, after = _all_facts(scene, task), _all_facts(moved(scene, NEW_FROM_WORLD), task)
        assert before.keys() == after.keys() and before
        for key, x in before.items():
            y = after[key]
            assert (y.frame, y.reasoning, y.slots) == (x.frame, x.reasoning, x.slots), key
            if isinstance(x.answer, Quantity):
                assert y.answer.si_value == pytest.approx(x.answer.si_value, rel=1e-12)
            else:
                assert y.answer == x.answer


# Every coordinate difference the imagined cameras judge in this scene is either 0 or clear of
# [0.1 / 3.5, 0.1] m, so scaling by 2 or 3.5 moves none across SPAR's absolute 0.1 m margin (checked below).
CLEAR = [
    Obj("0", "chair", (-2.1, 6.2, 0.0), (0.5, 0.5, 0.8)),
    Obj("1", "table", (1.2, 5.4, -0.5), (0.5, 0.5, 0.8)),
    Obj("2", "lamp", (-1.9, 4.6, -0.9), (0.5, 0.5, 0.8)),
    Obj("3", "sofa", (1.9, 3.4, 0.0), (0.5, 0.5, 0.8)),
    Obj("4", "box", (-0.3, 5.2, 0.0), (0.5, 0.5, 0.8)),
]


def _imagined_scores(scene) -> list[float]:
    ctx = _ctx(scene)
    centres = ctx.center_judge
    out = []
    for a, b in permutations(centres, 2):
        cam = imagined_camera(centres[a], centres[b])
        if isinstance(cam, str):
            continue
        new = {k: cam.to_camera(v) for k, v in centres.items()}
        for c, d in permutations(centres, 2):
            out += [new[c][i] for i in range(3)] + [new[c][i] - new[d][i] for i in range(3)]
    return out


@pytest.mark.parametrize("k", [2.0, 3.5])
@pytest.mark.parametrize("task", PERSPECTIVE_TASKS)
def test_scaling_scales_distances_and_keeps_directions(pt_scene, task, k):
    clear = make_scene(CLEAR)
    assert all(abs(s) < 1e-9 or not (POSITION_MARGIN_M / 3.5 <= abs(s) <= POSITION_MARGIN_M) for s in
               _imagined_scores(clear))  # fmt: skip
    n = 0
    # The hand-built PT scene keeps clear of perspective_taking's margins (every horizontal offset >= 1 m,
    # no angle near a gap), not of SPAR's 0.1 m in the imagined frames.
    for scene in (pt_scene, clear) if task == "perspective_taking" else (clear,):
        for seed in range(3):
            a, b = candidates(scene, task, seed), candidates(scaled(scene, k), task, seed)
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                if isinstance(x, str) or isinstance(y, str):
                    assert x == y
                    continue
                n += 1
                if isinstance(x.answer, Quantity):
                    assert y.answer.si_value == pytest.approx(k * x.answer.si_value, rel=1e-9)
                else:
                    assert y.answer.value == x.answer.value
    assert n > 0


# ---------------------------------------------------------------- reasoning traces

_ANSWER_RE = re.compile(r"^answer: (.+)$")


@pytest.mark.parametrize("task", PERSPECTIVE_TASKS)
def test_trace_ends_with_the_answer(task):
    scenes = [make_scene(PT), make_scene(SP), *random_box_scenes(4, seed=3)]
    n = 0
    for scene in scenes:
        for fact in facts(candidates(scene, task, 1)):
            match = _ANSWER_RE.match(fact.reasoning[-1])
            assert match, fact.reasoning
            if isinstance(fact.answer, Quantity):
                number, unit = match[1].split()
                assert unit == "m" and float(number) == round(fact.answer.si_value, 4)
                assert f"= {number} m" in fact.reasoning[-2]
            elif fact.variant == "direction":
                assert match[1] == fact.answer.value
                angle = float(re.search(r"atan2\(left, forward\) = (-?[\d.]+) deg", fact.reasoning[-2])[1])
                centre = {"front": 0.0, "left": 90.0, "back": 180.0, "right": -90.0}[fact.answer.value]
                assert abs((angle - centre + 180.0) % 360.0 - 180.0) <= 35.05, (angle, fact.answer.value)
            else:
                assert match[1] == fact.answer.value
                assert fact.reasoning[-2].endswith(f"-> {fact.answer.value}")
            n += 1
    assert n >= 10


# ---------------------------------------------------------------- rendering

COMMON = load_common()


@pytest.mark.parametrize("task", PERSPECTIVE_TASKS)
def test_every_variant_and_format_renders(task):
    spec = TASKS[task]
    bank = load_bank(spec.name, spec.formats, spec.variants)
    scenes = [make_scene(PT), make_scene(SP)] + [
        random_box_scene(i, random.Random(f"pt:{i}"), 8) for i in range(4)
    ]
    done: Counter[tuple[str, str]] = Counter()
    for scene in scenes:
        ctx = _ctx(scene)
        renderer = Renderer(ctx, COMMON)
        for i, fact in enumerate(facts(candidates(scene, task, 0))[:40]):
            for fmt in spec.own_formats:
                out = renderer.render(spec, bank, fact, fmt, random.Random(f"{i}:{fmt}"), 3)
                if isinstance(out, str):
                    assert out == "no_distinct_distractors", out
                    continue
                for r in out:
                    assert qa_to_dict(qa_from_dict(r)) == r
                    assert r["frame"] == fact.frame and r["reasoning"] == list(fact.reasoning)
                    assert "{" not in r["question"] + r["answer"] and "}" not in r["question"] + r["answer"]
                    assert not r["question"][:1].islower() and not r["answer"][:1].islower()
                if fmt == "tf":
                    assert sorted(r["answer_value"] for r in out) == [False, True]
                elif fmt == "mcq":
                    (r,) = out
                    assert r["answer_value"] in [c["label"] for c in r["choices"]]
                elif isinstance(fact.answer, Category):
                    (r,) = out
                    assert r["answer_value"] == fact.answer.phrases[fact.answer.value]
                    assert r["answer_value"].lower() in r["answer"].lower()
                done[(fact.variant, fmt)] += 1
    assert set(done) == {(v, f) for v in spec.variants for f in spec.own_formats}, sorted(done)


def test_before_and_after_question_states_the_image_relation(sp_scene):
    spec = TASKS["spatial_imagination_oo"]
    bank = load_bank(spec.name, spec.formats, spec.variants)
    ctx, o = _ctx(sp_scene), _objs(sp_scene)
    fact = oo_fact(ctx, "change_left_right", o["1"], o["0"], o["2"], o["3"])
    (r,) = Renderer(ctx, COMMON).render(spec, bank, fact, "free", random.Random(0), 1)
    assert "the lamp" in r["question"] and "to the left of the sofa" in r["question"]
    assert "from the tv" not in r["question"] and "center of the tv" in r["question"]
    assert r["answer_value"] == "to the right of"


@pytest.mark.parametrize("task", PERSPECTIVE_TASKS)
def test_generate_scene_produces_every_format(task):
    config = GenerateConfig(tasks=(task,), max_qa_per_scene=30)
    formats: Counter[str] = Counter()
    for scene in random_box_scenes(5, seed=1):
        result = generate_scene(scene, config)
        formats.update(r["format"] for r in result.records)
        assert all(r["level"] == 3 and r["task"] == task for r in result.records)
    assert set(formats) == {"free", "mcq", "tf"}
