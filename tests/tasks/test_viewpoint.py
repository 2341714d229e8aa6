"""Viewpoint probing (tasks/viewpoint.py): azimuth and elevation of the camera seen from an object.

Scenes (tests/tasks/scenes.py): a level camera at the world origin looking along world +y, world z up; an
object's yaw turns its front about world z (yaw 0: front along world +x, the camera's right; -90: towards the
camera). For an object on the optical axis the camera lies along world -y from it, so its azimuth is the angle
from the front (world angle yaw) counter-clockwise to world angle -90: azimuth = -90 - yaw (mod 360).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from spatialforge.bench.items import PredictionItem
from spatialforge.bench.metrics import (
    VIEWPOINT_AZIMUTH_THRESHOLD_RAD,
    VIEWPOINT_ELEVATION_THRESHOLD_RAD,
    angle_error_rad,
)
from spatialforge.bench.parsers import parse_angle, parse_choice, parse_yes_no
from spatialforge.bench.rules import ScoringRule, score_item
from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.relations import DEGENERATE, NO_FRONT, WITHIN_MARGIN
from spatialforge.geometry.rotations import rot_x, rot_y, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.qa.choices import (
    ChoiceRefusal,
    angle_choice,
    angle_distractors,
    angle_shown_degrees,
    angle_text,
)
from spatialforge.qa.records import qa_from_dict, qa_to_dict
from spatialforge.tasks.banks import load_bank, load_common
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.render import Renderer
from spatialforge.tasks.spec import Angle, Category, Fact
from spatialforge.tasks.viewpoint import (
    AZIMUTH_PHRASES,
    ELEVATION_PHRASES,
    STEEP_ELEVATION,
    azimuth_sector,
    elevation_band,
    viewpoint_of,
)
from tests.tasks.scenes import (
    EXACT_GRAVITY,
    Obj,
    candidates,
    directed_facts,
    facts,
    make_scene,
    mirrored,
    moved,
    pitched_world_from_cam,
    rejections,
    scaled,
)

BINS, DEGREES = "object_viewpoint", "object_viewpoint_angle"
ANGLE_RE = re.compile(r"-?\d+ degrees?")
CAR_SIZE = (4.0, 1.8, 1.5)


def _car(yaw_deg: float, center=(0.0, 6.0, -0.5), oid: str = "0") -> Obj:
    return Obj(oid, "car", center, CAR_SIZE, yaw_deg, True)


def _answers(scene, task: str) -> dict[tuple[str, str], Category | Angle]:
    """(object id, variant) -> answer, over enough seeds to see every (object, variant) pair."""
    return {(ids[0], variant): f.answer for (variant, ids), f in directed_facts(scene, task).items()}


def _deg(answer: Angle) -> float:
    return math.degrees(answer.value_rad)


# ---------------------------------------------------------------- hand-computed viewpoints


@pytest.mark.parametrize(
    ("yaw", "azimuth", "sector"),
    [
        (-90.0, 0.0, "front"),  # faces the camera: we see its front
        (180.0, 90.0, "left"),  # faces the camera's left: its left side faces us (-90 - 180 = -270 = 90)
        (0.0, -90.0, "right"),  # faces the camera's right: we see its right side
        (90.0, 180.0, "back"),  # faces away: we see its back (-180 is kept as 180)
        (-45.0, -45.0, "front_right"),  # front turned towards the camera's right: front and right side
        (-135.0, 45.0, "front_left"),
        (45.0, -135.0, "back_right"),
        (135.0, 135.0, "back_left"),  # -90 - 135 = -225 = 135
    ],
)
def test_azimuth_of_a_car_on_the_optical_axis(yaw, azimuth, sector):
    scene = make_scene([_car(yaw)])
    degrees = _answers(scene, DEGREES)
    assert _deg(degrees[("0", "azimuth_deg")]) == pytest.approx(azimuth, abs=1e-9)
    assert degrees[("0", "azimuth_deg")].circular is True
    assert degrees[("0", "azimuth_deg")].threshold_rad == VIEWPOINT_AZIMUTH_THRESHOLD_RAD
    assert _answers(scene, BINS)[("0", "azimuth_bin")].value == sector
    # Camera 0.5 m above the centre, 6 m away horizontally: elevation atan2(0.5, 6) = 4.764 deg, "level".
    assert _deg(degrees[("0", "elevation_deg")]) == pytest.approx(math.degrees(math.atan2(0.5, 6.0)))
    assert _answers(scene, BINS)[("0", "elevation_bin")].value == "level"


def test_off_axis_object_uses_the_line_of_sight_to_its_centre():
    # Car at world (1, 6, -0.5) facing the camera's left (yaw 180: front -x, left -y). Camera offset from
    # its centre (-1, -6, 0.5): x = offset . front = 1, y = offset . left = 6 -> azimuth atan2(6, 1) = 80.54
    # (not 90: the line of sight to an off-axis object is oblique), 9.5 deg from "left"'s centre.
    scene = make_scene([_car(180.0, center=(1.0, 6.0, -0.5))])
    azimuth = _deg(_answers(scene, DEGREES)[("0", "azimuth_deg")])
    assert azimuth == pytest.approx(math.degrees(math.atan2(6.0, 1.0)))
    assert _answers(scene, BINS)[("0", "azimuth_bin")].value == "left"
    # At (2, 6, -0.5) the azimuth is atan2(6, 2) = 71.57, 4.1 deg from the left / front-left edge (67.5).
    near_edge = make_scene([_car(180.0, center=(2.0, 6.0, -0.5))])
    assert ("0", "azimuth_bin") not in _answers(near_edge, BINS)


@pytest.mark.parametrize(
    ("center", "pitch", "elevation", "band"),
    [
        # Camera 1.25 m above a centre 5 m away: atan2(1.25, 5) = 14.04 deg.
        ((0.0, 5.0, -1.25), None, math.degrees(math.atan2(1.25, 5.0)), "slightly_above"),
        # A sign 1.5 m above the camera, 5 m away: atan2(-1.5, 5) = -16.70 deg, the camera is below it.
        ((0.0, 5.0, 1.5), None, math.degrees(math.atan2(-1.5, 5.0)), "below"),
        # Seen from 3.5 m above and 3 m away (camera pitched 50 deg down to see it): 49.40 deg.
        ((0.0, 3.0, -3.5), 50.0, math.degrees(math.atan2(3.5, 3.0)), "high_above"),
    ],
)
def test_elevation_is_the_camera_angle_above_the_object_plane(center, pitch, elevation, band):
    pose = None if pitch is None else pitched_world_from_cam(pitch)
    scene = make_scene([_car(-90.0, center=center)], world_from_cam=pose)
    assert _deg(_answers(scene, DEGREES)[("0", "elevation_deg")]) == pytest.approx(elevation, abs=1e-9)
    answer = _answers(scene, DEGREES)[("0", "elevation_deg")]
    assert answer.circular is False and answer.threshold_rad == VIEWPOINT_ELEVATION_THRESHOLD_RAD
    assert _answers(scene, BINS)[("0", "elevation_bin")].value == band


def test_pitching_the_camera_changes_no_viewpoint():
    # The viewpoint depends on where the camera is, not where it looks: the same objects seen by a level
    # camera and one pitched 20 deg down (both see all three) get the same azimuths and elevations.
    objects = [
        _car(-60.0, (-1.0, 5.0, -1.0), "0"),
        _car(30.0, (1.5, 7.0, -1.3), "1"),
        _car(100.0, (0, 4, -1.6), "2"),
    ]
    level = _answers(make_scene(objects), DEGREES)
    pitched = _answers(make_scene(objects, world_from_cam=pitched_world_from_cam(20.0)), DEGREES)
    assert set(level) == set(pitched) and len(level) == 6
    for key, answer in level.items():
        assert pitched[key].value_rad == pytest.approx(answer.value_rad, abs=1e-12), key


def test_steep_view_refuses_the_azimuth_only():
    # Camera pitched 70 deg down, car 1 m ahead and 3 m below: elevation atan2(3, 1) = 71.57 deg > 60.
    scene = make_scene([_car(-90.0, center=(0.0, 1.0, -3.0))], world_from_cam=pitched_world_from_cam(70.0))
    for task in (BINS, DEGREES):
        items = candidates(scene, task)
        assert rejections(items) == [STEEP_ELEVATION]
        (fact,) = facts(items)
        assert fact.variant.startswith("elevation")
    (fact,) = facts(candidates(scene, DEGREES))
    assert _deg(fact.answer) == pytest.approx(math.degrees(math.atan2(3.0, 1.0)))
    assert _answers(scene, BINS)[("0", "elevation_bin")].value == "high_above"


def test_without_gravity_up_is_the_object_own_z():
    # A car on the optical axis, level with the camera (centre (0, 6, 0)), facing it, then tilted by
    # rot_x(20 deg) in the world: front (0, -cos 20, -sin 20), own up (0, -sin 20, cos 20). Camera offset
    # (0, -6, 0). With its own up: z = 6 sin 20, x = 6 cos 20 -> elevation exactly 20 deg, azimuth 0. With
    # gravity's up: the offset is horizontal -> elevation 0, and the levelled front still faces it -> 0.
    tilt = math.radians(20.0)

    def tilted(gravity):
        scene = make_scene([_car(-90.0, center=(0.0, 6.0, 0.0))], gravity=gravity)
        obj = scene.objects[0]
        box = OrientedBox3D(obj.box.center, rot_x(tilt) @ rot_z(-math.pi / 2), obj.box.size)
        return replace(scene, objects=(replace(obj, box=box),))

    own = _answers(tilted(None), DEGREES)
    assert _deg(own[("0", "elevation_deg")]) == pytest.approx(20.0)
    assert _deg(own[("0", "azimuth_deg")]) == pytest.approx(0.0, abs=1e-9)
    levelled = _answers(tilted(EXACT_GRAVITY), DEGREES)
    assert _deg(levelled[("0", "elevation_deg")]) == pytest.approx(0.0, abs=1e-9)
    assert _deg(levelled[("0", "azimuth_deg")]) == pytest.approx(0.0, abs=1e-9)
    (fact,) = [f for f in facts(candidates(tilted(None), DEGREES)) if f.variant == "elevation_deg"]
    assert "own +z" in fact.reasoning[0] and fact.frame == "object:0"


def test_front_less_objects_are_not_asked():
    table = Obj("1", "table", (0.5, 4.0, -0.9), (1.2, 0.8, 0.7))
    assert rejections(candidates(make_scene([table]), BINS)) == [NO_FRONT]  # once for the view
    mixed = candidates(make_scene([table, _car(-90.0)]), DEGREES)
    assert rejections(mixed) == [] and {f.mentions[0].obj.object_id for f in facts(mixed)} == {"0"}
    scene = make_scene([table])
    assert viewpoint_of(scene.objects[0], (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)) == NO_FRONT


def test_degenerate_fronts_and_camera_positions():
    scene = make_scene([_car(-90.0)])
    car = scene.objects[0]
    up = (0.0, 0.0, 1.0)
    # Front pointing straight up (rot_y(-90) takes x to +z): no horizontal heading.
    upright = replace(car, box=OrientedBox3D(car.box.center, rot_y(-math.pi / 2), car.box.size))
    assert viewpoint_of(upright, (0.0, 0.0, 0.0), up) == DEGENERATE
    # The camera at the box centre.
    assert viewpoint_of(car, tuple(car.box.center), up) == DEGENERATE
    assert viewpoint_of(car, (math.nan, 0.0, 0.0), up) == DEGENERATE
    vp = viewpoint_of(car, (0.0, 0.0, 0.0), up)
    assert vp.camera_obj == pytest.approx((6.0, 0.0, 0.5)) and vp.up_from == "gravity"


# ---------------------------------------------------------------- bins and margins


def test_azimuth_sectors_and_their_margins():
    d = math.radians
    assert azimuth_sector(d(17.4)) == "front" and azimuth_sector(d(-17.4)) == "front"
    assert azimuth_sector(d(17.6)) is None and azimuth_sector(d(27.4)) is None  # 22.5 +- 5
    assert azimuth_sector(d(27.6)) == "front_left" and azimuth_sector(d(-62.4)) == "front_right"
    assert azimuth_sector(d(180.0)) == "back" and azimuth_sector(d(-179.0)) == "back"
    assert azimuth_sector(d(162.6)) == "back" and azimuth_sector(d(-162.4)) is None
    assert azimuth_sector(d(100.0)) == "left" and azimuth_sector(d(-100.0)) == "right"
    assert azimuth_sector(d(140.0)) == "back_left" and azimuth_sector(d(-140.0)) == "back_right"


def test_elevation_bands_and_their_margins():
    d = math.radians
    assert [elevation_band(d(e)) for e in (-14.0, -6.0, 6.0, 14.0, 41.0, 49.0, 90.0, -90.0)] == [
        "below",
        "level",
        "level",
        "slightly_above",
        "slightly_above",
        "high_above",
        "high_above",
        "below",
    ]
    assert [elevation_band(d(e)) for e in (-12.9, -7.1, 7.5, 12.0, 43.0, 47.9)] == [None] * 6


def test_an_azimuth_near_a_sector_edge_is_asked_in_degrees_only():
    # yaw -110: azimuth -90 - (-110) = 20 deg, 2.5 deg from the front / front-left edge.
    scene = make_scene([_car(-110.0)])
    assert rejections(candidates(scene, BINS, seed=0)) == [WITHIN_MARGIN]
    assert _deg(_answers(scene, DEGREES)[("0", "azimuth_deg")]) == pytest.approx(20.0)
    # Camera 5 tan(11 deg) above a centre 5 m away: elevation 11 deg, 1 deg from the level edge.
    h = 5.0 * math.tan(math.radians(11.0))
    near_edge = make_scene([_car(-90.0, center=(0.0, 5.0, -h))])
    assert ("0", "elevation_bin") not in _answers(near_edge, BINS)
    assert WITHIN_MARGIN in rejections(
        candidates(near_edge, BINS, seed=1) + candidates(near_edge, BINS, seed=2)
    )


# ---------------------------------------------------------------- metamorphic

OBJECTS = [
    Obj("0", "chair", (-1.2, 4.0, -0.8), (0.55, 0.5, 0.9), -60.0, True),
    Obj("1", "sofa", (1.6, 6.5, -0.62), (0.9, 2.0, 0.85), 20.0, True),
    Obj("2", "table", (0.4, 3.0, -0.95), (1.4, 0.8, 0.75)),
    Obj("3", "tv", (2.4, 5.0, -0.3), (0.15, 1.2, 0.7), -160.0, True),
    Obj("4", "car", (-2.0, 9.0, -0.9), CAR_SIZE, 135.0, True),
]
MIRROR_SECTOR = {
    "front_left": "front_right",
    "front_right": "front_left",
    "left": "right",
    "right": "left",
    "back_left": "back_right",
    "back_right": "back_left",
}


@pytest.fixture(scope="module", params=["level", "pitched"])
def scene(request):
    pose = None if request.param == "level" else pitched_world_from_cam(20.0)
    return make_scene(OBJECTS, world_from_cam=pose)


def _same_angles(a, b, *, mirror=False):
    assert set(a) == set(b) and a
    for key, x in a.items():
        y = b[key]
        expected = -x.value_rad if (mirror and key[1] == "azimuth_deg") else x.value_rad
        assert (y.circular, y.threshold_rad) == (x.circular, x.threshold_rad)
        assert angle_error_rad(y.value_rad, expected, circular=x.circular) < 1e-9, key


def test_mirror_negates_the_azimuth_and_keeps_the_elevation(scene):
    mirror = mirrored(scene)
    _same_angles(_answers(scene, DEGREES), _answers(mirror, DEGREES), mirror=True)
    bins, mirror_bins = _answers(scene, BINS), _answers(mirror, BINS)
    assert set(bins) == set(mirror_bins)
    for key, x in bins.items():
        assert mirror_bins[key].value == MIRROR_SECTOR.get(x.value, x.value), key
    assert {x.value for x in bins.values()} & set(MIRROR_SECTOR)  # something did swap


def test_moving_the_world_frame_changes_nothing(scene):
    new_from_world = RigidTransform(rot_z(0.7) @ rot_x(0.3), np.array([5.0, -3.0, 2.0]), "world", "world")
    other = moved(scene, new_from_world)
    _same_angles(_answers(scene, DEGREES), _answers(other, DEGREES))
    assert _answers(scene, BINS) == _answers(other, BINS)


def test_scaling_the_scene_keeps_every_angle(scene):
    other = scaled(scene, 2.5)  # about the camera centre, the world origin in both fixtures
    _same_angles(_answers(scene, DEGREES), _answers(other, DEGREES))
    assert _answers(scene, BINS) == _answers(other, BINS)


# ---------------------------------------------------------------- angle options (qa.choices)


def test_angle_shown_degrees_wraps_circular_angles_only():
    assert angle_shown_degrees(math.radians(-179.7), True) == 180  # rounds to -180, shown as 180
    assert angle_shown_degrees(math.radians(190.0), True) == -170
    assert angle_shown_degrees(math.radians(-180.0), True) == 180
    assert angle_shown_degrees(math.radians(-35.4), False) == -35
    assert (
        angle_text(math.radians(1.2), False) == "1 degree" and angle_text(-math.pi / 2, True) == "-90 degrees"
    )


@pytest.mark.parametrize(
    ("truth", "circular", "tolerance"),
    [(0.0, True, 30.0), (179.6, True, 30.0), (-150.0, True, 30.0), (20.0, False, 10.0), (-85.0, False, 10.0)],
)
def test_angle_distractors_keep_twice_the_tolerance_apart(truth, circular, tolerance):
    rng = random.Random(3)
    lo, hi = (-179, 180) if circular else (-90, 90)
    for _ in range(200):
        options, index = angle_choice(math.radians(truth), 4, math.radians(tolerance), circular, rng)
        shown = [int(text.split()[0]) for text, _ in options]
        assert len(set(shown)) == 4 and options[index][1] == math.radians(truth)
        assert shown[index] == angle_shown_degrees(math.radians(truth), circular)
        assert all(lo <= v <= hi for v in shown)
        for i, a in enumerate(shown):
            for j, b in enumerate(shown):
                if i < j:
                    gap = abs(math.remainder(a - b, 360)) if circular else abs(a - b)
                    assert gap >= 2 * tolerance, (truth, shown)
            if i != index:
                exact = abs(math.remainder(a - truth, 360)) if circular else abs(a - truth)
                assert exact >= 2 * tolerance


def test_angle_answer_position_is_uniform():
    rng = random.Random(5)
    positions = Counter(angle_choice(math.radians(40.0), 4, math.pi / 6, True, rng)[1] for _ in range(4000))
    # Each of 4 positions expects 1000; 4 sigma of Binomial(4000, 1/4) is 110.
    assert all(abs(positions[p] - 1000) < 110 for p in range(4)), positions


def test_angle_distractors_refuse_impossible_requests():
    with pytest.raises(ValueError):
        angle_distractors(math.radians(120.0), 3, math.radians(10.0), False, random.Random(0))  # > 90
    with pytest.raises(ValueError):
        angle_distractors(math.nan, 3, math.radians(10.0), True, random.Random(0))
    with pytest.raises(ChoiceRefusal):  # three options 2 x 50 deg apart do not fit in [-90, 90]
        angle_distractors(0.0, 3, math.radians(50.0), False, random.Random(0))


# ---------------------------------------------------------------- rendering and scoring

RENDER_SCENE = make_scene(
    [
        _car(-70.0, (-1.5, 6.0, -0.7), "0"),
        _car(150.0, (1.8, 9.0, -0.7), "1"),
        Obj("2", "chair", (0.3, 3.5, -1.0), (0.5, 0.5, 0.9), 10.0, True),
    ]
)


def _render(task: str, fact: Fact, fmt: str, seed: int) -> list[dict]:
    spec = TASKS[task]
    bank = load_bank(spec.name, spec.formats, spec.variants)
    ctx = ViewContext(RENDER_SCENE, RENDER_SCENE.views[0])
    out = Renderer(ctx, load_common()).render(spec, bank, fact, fmt, random.Random(seed), 11)
    assert not isinstance(out, str), out
    for record in out:
        assert qa_to_dict(qa_from_dict(record)) == record
        assert record["frame"] == fact.frame == f"object:{fact.mentions[0].obj.object_id}"
    return out


def _all_facts(task: str) -> list[Fact]:
    found = list(directed_facts(RENDER_SCENE, task).values())
    assert {f.variant for f in found} == set(TASKS[task].variants)
    return found


def _shown_rad(text: str) -> float:
    parsed = parse_angle(text)
    assert parsed.ok and parsed.unit == "deg", text
    return parsed.value


@pytest.mark.parametrize("seed", range(4))
def test_degree_variants_render_in_every_format(seed):
    for fact in _all_facts(DEGREES):
        answer = fact.answer
        separation = 2 * answer.threshold_rad - 1e-9
        (free,) = _render(DEGREES, fact, "free", seed)
        assert free["answer_value"] == round(answer.value_rad, 4) and free["unit"] == "rad"
        assert free["tolerance"] == {
            "metric": "angle_within",
            "params": {
                "answer_type": "angle",
                "threshold_rad": answer.threshold_rad,
                "circular": answer.circular,
            },
        }
        assert angle_error_rad(_shown_rad(free["answer"]), answer.value_rad, circular=True) <= math.radians(
            0.5
        )
        assert "degrees" in free["question"] and "0 degrees" in free["question"]  # the convention is stated
        (mcq,) = _render(DEGREES, fact, "mcq", seed)
        options = {c["label"]: c["text"] for c in mcq["choices"]}
        assert len(options) == 4 and parse_choice(mcq["answer"], options).value == mcq["answer_value"]
        values = {label: _shown_rad(text) for label, text in options.items()}
        truth = values[mcq["answer_value"]]
        assert angle_error_rad(truth, answer.value_rad, circular=answer.circular) <= math.radians(0.5)
        for label, value in values.items():
            if label != mcq["answer_value"]:
                assert angle_error_rad(value, answer.value_rad, circular=answer.circular) >= separation
        true, false = sorted(_render(DEGREES, fact, "tf", seed), key=lambda r: not r["answer_value"])
        assert (true["answer_value"], false["answer_value"]) == (True, False)
        assert parse_yes_no(true["answer"]).value is True and parse_yes_no(false["answer"]).value is False
        # The pair differs in one angle: the truth as shown, and a wrong value two tolerances away.
        changed = [
            (t, f)
            for t, f in zip(
                ANGLE_RE.findall(true["question"]), ANGLE_RE.findall(false["question"]), strict=True
            )
            if t != f
        ]
        assert len(changed) == 1 and changed[0][0] == angle_text(answer.value_rad, answer.circular)
        wrong = _shown_rad(changed[0][1])
        assert angle_error_rad(wrong, answer.value_rad, circular=answer.circular) >= separation


@pytest.mark.parametrize("seed", range(3))
def test_binned_variants_render_in_every_format(seed):
    for fact in _all_facts(BINS):
        answer = fact.answer
        phrases = AZIMUTH_PHRASES if fact.variant == "azimuth_bin" else ELEVATION_PHRASES
        assert answer.phrases == phrases
        (free,) = _render(BINS, fact, "free", seed)
        assert free["answer_value"] == phrases[answer.value] and free["unit"] is None
        assert phrases[answer.value].lower() in free["answer"].lower()
        if fact.variant == "azimuth_bin":
            assert "own" in free["question"]  # left and right are the object's own
        (mcq,) = _render(BINS, fact, "mcq", seed)
        options = {c["label"]: c["text"] for c in mcq["choices"]}
        shown = answer.option_texts or phrases
        assert options[mcq["answer_value"]] == shown[answer.value] and len(options) == 4
        assert set(options.values()) <= set(shown.values())
        records = _render(BINS, fact, "tf", seed)
        assert sorted(r["answer_value"] for r in records) == [False, True]


def _score(record: dict, reply: str) -> float:
    tolerance = record["tolerance"]
    params = {k: v for k, v in tolerance["params"].items() if k != "answer_type"}
    rule = ScoringRule(tolerance["params"]["answer_type"], tolerance["metric"], {}, params)
    item = PredictionItem(
        record["id"], record["task"], reply, record["answer_value"], gold_unit=record["unit"]
    )
    return score_item(item, rule).score


def test_a_free_degree_answer_scores_one_when_right_and_zero_when_wrong():
    for fact in _all_facts(DEGREES):
        (record,) = _render(DEGREES, fact, "free", 0)
        truth = math.degrees(fact.answer.value_rad)
        threshold = math.degrees(fact.answer.threshold_rad)
        assert _score(record, record["answer"]) == 1.0
        assert _score(record, f"About {truth + threshold - 1:.1f} degrees.") == 1.0
        assert _score(record, f"{truth - threshold + 1:.1f}") == 1.0  # a bare number is read in degrees
        assert _score(record, f"The answer is {truth + threshold + 1:.1f}\u00b0.") == 0.0
        assert _score(record, "It is 3 meters away.") == 0.0  # not an angle: unparsed, scored 0
        if fact.answer.circular:  # the same direction written the other way round the circle
            assert _score(record, f"{truth + 360:.1f} degrees") == 1.0
            assert _score(record, f"{truth + 180:.1f} degrees") == 0.0


def test_binned_free_answer_is_scored_by_accuracy():
    fact = next(f for f in _all_facts(BINS) if f.variant == "azimuth_bin")
    (record,) = _render(BINS, fact, "free", 0)
    assert record["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "category"}}
    assert TASKS[BINS].metric == "accuracy" and TASKS[DEGREES].metric == "angle_within"
