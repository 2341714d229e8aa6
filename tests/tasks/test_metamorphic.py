"""Metamorphic tests: transform a scene in a way whose effect on every answer is known, and check it.

- mirror left <-> right (camera-frame x -> -x): left/right answers swap (relative direction, the viewer-
  relative orientation, the object-centric relation), x components of camera-frame vectors negate,
  everything else (distances, sizes, above/below, in front/behind, comparisons) is unchanged;
- swap the roles of A and B: comparisons flip (relative_direction, relative_size, closer_of_two with B and
  C swapped), symmetric answers (distances, facing relation) stay, direction vectors negate;
- move the world frame (one rigid transform applied to every box, the camera pose and gravity): every
  answer is identical, down to the generated records;
- scale the scene about the camera by k (positions and sizes): lengths scale by k, volumes by k^3, unit
  vectors and qualitative answers are unchanged (the scene keeps clear of every absolute margin).

Facts are compared position by position for one seed: the tasks draw from the rng independently of the
geometry, so the i-th candidate of the transformed scene is about the same objects in the same roles.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatialforge.bench.metrics import angle_error_rad
from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.spec import Angle, Category, Count, Fact, Quantity, Vector
from tests.tasks.scenes import (
    Obj,
    candidates,
    directed_facts,
    ids,
    make_scene,
    mirrored,
    moved,
    pitched_world_from_cam,
    scaled,
)

# Centre heights differ pairwise by >= 0.15 m, lateral positions by >= 0.8 m, depths by >= 1 m, so no
# absolute 0.1 m margin is within reach of a 2x scaling, and nothing sits on a mirror-symmetric margin.
OBJECTS = [
    Obj("0", "chair", (-1.2, 4.0, -0.8), (0.55, 0.5, 0.9), -60.0, True),
    Obj("1", "sofa", (1.6, 6.5, -0.62), (0.9, 2.0, 0.85), 20.0, True),
    Obj("2", "table", (0.4, 3.0, -0.95), (1.4, 0.8, 0.75)),
    Obj("3", "lamp", (-2.3, 7.5, -0.45), (0.4, 0.4, 1.5)),
    Obj("4", "tv", (2.4, 5.0, -0.3), (0.15, 1.2, 0.7), -160.0, True),
]
SEEDS = (0, 1, 2)
# The scenes here have no depth and one view each: the level 0 point tasks have their own mirror, move and
# scale tests (tests/tasks/test_level0.py); the multi-view tasks are checked on posed scenes
# (tests/tasks/test_multiview.py: swapped views, golden values; tests/geometry/test_camera_motion.py: a moved
# world frame changes no view change).
BOX_TASKS = [name for name, spec in TASKS.items() if not {"depth", "multi_view"} & set(spec.requires)]

# Counting "to the left of" in a mirror counts what was on the right (and a zero count's coin then gives a
# different rejection): tests/tasks/test_counting.py checks that the left and right counts swap.
NOT_MIRROR_POSITIONAL = {"spatial_counting"}
# What a mirror does to categorical values: left and right swap, also in the viewpoint sectors
# (tasks/viewpoint.py: "front_left" <-> "front_right", ...).
MIRROR_SWAP = {
    "left": "right",
    "right": "left",
    "front_left": "front_right",
    "front_right": "front_left",
    "back_left": "back_right",
    "back_right": "back_left",
}


@pytest.fixture(scope="module", params=["level", "pitched"])
def scene(request):
    if request.param == "level":
        return make_scene(OBJECTS)
    return make_scene(OBJECTS, world_from_cam=pitched_world_from_cam(20.0))


def _pairs(scene_a, scene_b, task, seed):
    a, b = candidates(scene_a, task, seed), candidates(scene_b, task, seed)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, str) or isinstance(y, str):
            assert x == y, (task, seed, x, y)
            continue
        assert (x.task, x.variant, ids(x), x.frame) == (y.task, y.variant, ids(y), y.frame)
        yield x, y


def _n_facts(scene, task):
    return sum(isinstance(x, Fact) for s in SEEDS for x in candidates(scene, task, s))


def _same_answer(x, y, *, length_scale=1.0, mirror_x=False):
    """Assert y's answer is x's after scaling lengths by length_scale (volumes by its cube) and, with
    mirror_x, negating camera-frame x."""
    ax, ay = x.answer, y.answer
    assert type(ax) is type(ay)
    if isinstance(ax, Quantity):
        factor = length_scale**3 if ax.kind == "volume" else length_scale
        assert (ay.kind, ay.metric) == (ax.kind, ax.metric)
        assert ay.si_value == pytest.approx(ax.si_value * factor, rel=1e-9)
    elif isinstance(ax, Vector):
        assert ay.kind == ax.kind
        factor = length_scale if ax.kind == "position_m" else 1.0
        sx = -1.0 if mirror_x else 1.0
        expected = (sx * ax.components[0] * factor, ax.components[1] * factor, ax.components[2] * factor)
        assert ay.components == pytest.approx(expected, abs=1e-9)
    elif isinstance(ax, Count):
        assert ay == ax, (x.task, x.variant, ids(x))
    elif isinstance(ax, Angle):
        # Angles are scale-free. A circular one (a viewpoint azimuth, measured about the vertical) changes
        # sign in a mirror image; a bounded one (an elevation) does not.
        assert (ay.circular, ay.threshold_rad) == (ax.circular, ax.threshold_rad)
        expected = -ax.value_rad if (mirror_x and ax.circular) else ax.value_rad
        assert angle_error_rad(ay.value_rad, expected, circular=ax.circular) < 1e-9, (
            x.task,
            x.variant,
            ids(x),
        )
    else:
        assert isinstance(ay, Category)
        assert ay.phrases == ax.phrases
        swap = MIRROR_SWAP if mirror_x else {}
        assert ay.value == swap.get(ax.value, ax.value), (x.task, x.variant, ids(x))


# ---------------------------------------------------------------- mirror


def test_mirror_helper_reflects_camera_x(scene):
    mirror = mirrored(scene)
    for o, m in zip(scene.objects, mirror.objects, strict=True):
        c = scene.object_in_camera(o, scene.views[0])
        cm = mirror.object_in_camera(m, mirror.views[0])
        assert cm.center == pytest.approx(c.center * np.array([-1, 1, 1]))
        assert cm.front_direction() == pytest.approx(c.front_direction() * np.array([-1, 1, 1]))
        assert np.linalg.det(cm.rotation) == pytest.approx(1.0)
        b, bm = o.observation("v0").box2d, m.observation("v0").box2d
        assert (bm.x_min, bm.x_max) == pytest.approx((639 - b.x_max, 639 - b.x_min))


@pytest.mark.parametrize("task", [t for t in BOX_TASKS if t not in NOT_MIRROR_POSITIONAL])
def test_mirror_swaps_left_and_right_only(scene, task):
    mirror = mirrored(scene)
    for seed in SEEDS:
        for x, y in _pairs(scene, mirror, task, seed):
            _same_answer(x, y, mirror_x=True)
    assert _n_facts(scene, task) > 0


def test_mirror_actually_changes_answers(scene):
    """Guard: the scene has left/right answers of every kind for the mirror test to swap."""
    mirror = mirrored(scene)
    swapped = set()
    for task in ("relative_direction", "object_orientation", "object_centric_relation"):
        for seed in SEEDS:
            for x, _y in _pairs(scene, mirror, task, seed):
                if x.answer.value in ("left", "right"):
                    swapped.add(task)
    assert swapped == {"relative_direction", "object_orientation", "object_centric_relation"}


# ---------------------------------------------------------------- swap A and B

FLIP = {
    "left": "right", "right": "left", "above": "below", "below": "above", "in_front": "behind",
    "behind": "in_front", "a": "b", "b": "a",
}  # fmt: skip


@pytest.mark.parametrize(
    ("task", "swap", "flip"),
    [
        ("relative_direction", (1, 0), FLIP),
        ("relative_size", (1, 0), FLIP),
        ("closer_of_two", (0, 2, 1), {"b": "c", "c": "b"}),
        ("relative_distance", (1, 0), {}),
        ("relative_direction_vector", (1, 0), None),
    ],
)
def test_swapping_roles_flips_comparisons(scene, task, swap, flip):
    got = directed_facts(scene, task)
    assert len(got) >= 4
    for (variant, key), fact in got.items():
        other = got.get((variant, tuple(key[i] for i in swap)))
        assert other is not None, f"{task}/{variant}: {key} asked but not its swap"
        if flip is None:
            assert other.answer.components == pytest.approx(tuple(-c for c in fact.answer.components))
        elif isinstance(fact.answer, Quantity):
            assert other.answer.si_value == pytest.approx(fact.answer.si_value)
        else:
            assert other.answer.value == flip.get(fact.answer.value, fact.answer.value), (variant, key)


def test_swapping_roles_keeps_the_facing_relation(scene):
    got = directed_facts(scene, "orientation_relation")
    relations = {k: f for k, f in got.items() if k[0] == "facing_relation"}
    assert relations
    for (variant, (a, b)), fact in relations.items():
        assert got[(variant, (b, a))].answer.value == fact.answer.value


# ---------------------------------------------------------------- move the world frame

NEW_FROM_WORLD = RigidTransform(rot_z(0.7) @ rot_x(0.4), np.array([5.0, -3.0, 2.0]), "world", "world")


@pytest.mark.parametrize("task", BOX_TASKS)
def test_moving_the_world_frame_changes_nothing(scene, task):
    moved_scene = moved(scene, NEW_FROM_WORLD)
    assert moved_scene.gravity.down_world != scene.gravity.down_world  # gravity really moved with it
    for seed in SEEDS:
        for x, y in _pairs(scene, moved_scene, task, seed):
            _same_answer(x, y)
    assert _n_facts(scene, task) > 0


def test_moving_the_world_frame_gives_identical_records(scene):
    config = GenerateConfig(seed=11, max_qa_per_scene=60)
    before = generate_scene(scene, config)
    after = generate_scene(moved(scene, NEW_FROM_WORLD), config)
    assert len(before.records) > 20
    assert [r["id"] for r in after.records] == [r["id"] for r in before.records]
    assert after.records == before.records  # reasoning text, answers, ids: byte for byte
    assert after.rejected == before.rejected
    assert after.tallies == before.tallies


# ---------------------------------------------------------------- scale


# SPAR's absolute 0.1 m margins judged in a camera moved to A and facing B (tasks/perspective.py): this
# fixture keeps clear of the margins along the camera's axes, not along those imagined cameras' axes.
# tests/tasks/test_perspective.py scales a scene that keeps clear of them. spatial_counting's "within N
# metres" thresholds are round numbers, which do not scale (tests/tasks/test_counting.py checks the rest).
NOT_SCALE_CLEAR = {"spatial_imagination_oc", "spatial_imagination_oo", "spatial_counting"}


@pytest.mark.parametrize("task", [t for t in BOX_TASKS if t not in NOT_SCALE_CLEAR])
@pytest.mark.parametrize("k", [2.0, 3.5])
def test_scaling_scales_lengths_and_keeps_qualitative_answers(scene, task, k):
    big = scaled(scene, k)
    for seed in SEEDS:
        for x, y in _pairs(scene, big, task, seed):
            _same_answer(x, y, length_scale=k)
    assert _n_facts(scene, task) > 0


def test_scaling_hand_checked_values(scene):
    # chair 0.55 x 0.5 x 0.9: volume 0.2475 -> x2: 1.98 (= 0.2475 * 8).
    big = scaled(scene, 2.0)
    vols = {
        ids(f)[0]: f.answer.si_value
        for f in candidates(big, "object_size", 0)
        if isinstance(f, Fact) and f.variant == "volume"
    }
    assert vols["0"] == pytest.approx(1.98)
    if scene.views[0].world_from_cam.rotation[1, 2] == 1.0:  # level camera: chair at cam (-1.2, 0.8, 4)
        dist = {ids(f)[0]: f.answer.si_value for f in candidates(big, "object_distance_camera", 0)}
        assert dist["0"] == pytest.approx(2 * math.sqrt(1.44 + 0.64 + 16))
