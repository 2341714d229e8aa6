"""Multi-view tasks on hand-built posed scenes (tests/tasks/multiview_scenes.py), answers computed by hand.

The walkthrough: a level camera 1.2 m above the floor walks 0.5 m along world +y per view and turns 40 deg
left per view; view k sees two 0.4 m boxes 3 m away, one on its axis and one 25 deg to its left (which view
k + 1 sees too). Objects: 0 chair (v0), 1 lamp (v0, v1), 2 sofa (v1), 3 table (v1, v2), ...
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from spatialforge.bench.parsers import parse_view_change
from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.qa.records import qa_from_dict
from spatialforge.scene.records import AssetRef
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.multiview import ViewSetContext, pair_sets, sequence_sets
from spatialforge.tasks.multiview_tasks import (
    appearance_order,
    camera_motion_infer,
    obj_count,
    obj_frame_locate,
    position_matching,
    room_size,
    view_change_infer,
)
from spatialforge.tasks.multiview_variants import object_relation_oc_mv, spread_over_images
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.spec import Category, Count, Quantity, Structured
from tests.tasks.multiview_scenes import floor_points, posed_scene, walkthrough, world_from_cam_at
from tests.tasks.scenes import CAMERA


def _set(scene, *indices: int) -> ViewSetContext:
    contexts = [ViewContext(scene, scene.views[i]) for i in indices]
    return ViewSetContext(scene, contexts)


def _facts(items):
    return [i for i in items if not isinstance(i, str)]


def test_pairs_share_an_object_and_sequences_are_windows() -> None:
    scene = walkthrough(6)
    contexts = [ViewContext(scene, v) for v in scene.views]
    pairs = pair_sets(scene, contexts, random.Random(0))
    assert pairs
    for vs in pairs:
        shared = {o.object_id for o in vs.views[0].visible} & {o.object_id for o in vs.views[1].visible}
        assert shared, vs.view_ids
    # co-visible only: consecutive views of the walk
    assert {tuple(sorted(vs.view_ids)) for vs in pairs} == {(f"v{k}", f"v{k + 1}") for k in range(5)}
    windows = sequence_sets(scene, contexts)
    assert [vs.view_ids for vs in windows] == [
        ("v0", "v1", "v2", "v3"),
        ("v2", "v3", "v4", "v5"),
    ]
    assert [vs.index for vs in windows] == [0, 1]


def test_main_context_sees_the_union_in_the_main_camera_frame() -> None:
    scene = walkthrough(2)
    vs = _set(scene, 0, 1)
    assert [o.object_id for o in vs.main.visible] == ["0", "1", "2", "3"]
    # The sofa (object 2) is 3 m along v1's axis from v1 = (0, 0.5, 1.2), turned 40 deg left: world
    # (-3 sin 40, 0.5 + 3 cos 40, 1.2). In v0 (at the origin, 1.2 m up, looking along +y): x = -3 sin 40
    # = -1.928 m (left), z = 0.5 + 3 cos 40 = 2.798 m.
    x, y, z = vs.main.center_cam["2"]
    assert x == pytest.approx(-3 * math.sin(math.radians(40)), abs=1e-9)
    assert y == pytest.approx(0.0, abs=1e-9)
    assert z == pytest.approx(0.5 + 3 * math.cos(math.radians(40)), abs=1e-9)
    assert vs.images_of(scene.object("1")) == (0, 1)
    assert vs.images_of(scene.object("2")) == (1,)


def test_spread_puts_a_mention_off_the_main_image_or_rejects() -> None:
    scene = walkthrough(2)
    vs = _set(scene, 0, 1)
    facts = _facts(TASKS["object_depth_mv"].candidates(vs, random.Random(3)))
    # object_depth on the union: the chair is seen in image 1 only -> no_cross_view; the others are named
    # in image 2 (the lamp, seen in both, is always moved off the main image).
    assert {f.mentions[0].obj.object_id for f in facts} == {"1", "2", "3"}
    assert all(f.mentions[0].image == 1 and f.view_ids == ("v0", "v1") for f in facts)
    rejected = [i for i in TASKS["object_depth_mv"].candidates(vs, random.Random(3)) if isinstance(i, str)]
    assert rejected == ["no_cross_view"]
    sofa = next(f for f in facts if f.mentions[0].obj.object_id == "2")
    assert sofa.answer.si_value == pytest.approx(0.5 + 3 * math.cos(math.radians(40)))
    assert sofa.frame == "cam:v0"


def test_spread_refuses_pixels() -> None:
    scene = walkthrough(2)
    vs = _set(scene, 0, 1)
    fact = _facts(TASKS["object_depth_mv"].candidates(vs, random.Random(0)))[0]
    from spatialforge.tasks.spec import Mention, pixel_from_norm

    bad = fact._replace(mentions=(Mention("a", pixel_from_norm(500, 500, 640, 480), "target"),))
    with pytest.raises(ValueError, match="pixel"):
        spread_over_images(bad, vs, random.Random(0))


def test_object_relation_to_the_main_observer() -> None:
    scene = walkthrough(2)
    vs = _set(scene, 0, 1)
    answers = {
        (f.mentions[0].obj.object_id, f.variant): f.answer.value
        for seed in range(30)
        for f in _facts(object_relation_oc_mv(vs, random.Random(seed)))
    }
    # The sofa: x = -1.93 m (left), y = 0 (camera height: within 0.1 m -> above_below not asked),
    # z = 2.80 m (in front).
    assert answers[("2", "left_right")] == "left"
    assert answers[("2", "front_behind")] == "in_front"
    assert ("2", "above_below") not in answers


def test_position_matching_answers_the_projected_box_in_image_2() -> None:
    scene = walkthrough(2)
    vs = _set(scene, 0, 1)
    facts = _facts(position_matching(vs, random.Random(0)))
    (fact,) = facts  # the lamp is the only object in both images
    assert fact.mentions[0].obj.object_id == "1" and fact.mentions[0].image == 0
    box = scene.object("1").observation("v1").box2d
    expected = (
        round(box.x_min / 640 * 1000),
        round(box.y_min / 480 * 1000),
        round(box.x_max / 640 * 1000),
        round(box.y_max / 480 * 1000),
    )
    assert isinstance(fact.answer, Structured) and fact.answer.value == expected
    assert fact.answer.text == "[" + ", ".join(map(str, expected)) + "]"
    assert len(fact.answer.distractors) == 3


def test_view_change_golden_and_swapped() -> None:
    scene = walkthrough(2)
    (fact,) = _facts(view_change_infer(_set(scene, 0, 1), random.Random(0)))
    # v0 -> v1: 0.5 m forward along v0's heading, no sideways or vertical move, 40 deg turn to the left.
    assert fact.answer.value == "move_right:0.0,move_up:0.0,move_forward:0.5,rotate_up:0,rotate_left:40"
    assert fact.frame == "cam_gravity:v0"
    (back,) = _facts(view_change_infer(_set(scene, 1, 0), random.Random(0)))
    # v1 -> v0: d = (0, -0.5, 0) in v1's heading frame, whose forward is (-sin 40, cos 40, 0) and right
    # (cos 40, sin 40, 0): forward -0.5 cos 40 = -0.383 -> move_backward 0.4, right -0.5 sin 40 = -0.321
    # -> move_left 0.3; the turn reverses.
    assert back.answer.value == "move_left:0.3,move_up:0.0,move_backward:0.4,rotate_up:0,rotate_right:40"
    parsed = parse_view_change(back.answer.value)
    assert parsed.ok and parsed.value == {
        "move_right": -0.3,
        "move_up": 0.0,
        "move_forward": -0.4,
        "rotate_up": 0.0,
        "rotate_left": -40.0,
    }
    # The sentence form says the same and parses to the same components.
    assert parse_view_change(back.answer.phrase).value == parsed.value


def test_camera_motion_infer_golden() -> None:
    scene = walkthrough(3)
    (fact,) = _facts(camera_motion_infer(_set(scene, 0, 2), random.Random(0)))
    # v2 stands 1.0 m straight ahead of v0 at the same height: the principal point (319.5, 239.5) on the
    # 0-1000 grid (499, 499), depth 1.0 m.
    assert fact.answer.value == (499, 499, 1.0)
    assert fact.answer.text == "Image Coor: (499, 499), Depth: 1.0 meters"
    assert len(set(fact.answer.distractors)) == 3 and fact.answer.text not in fact.answer.distractors
    # Swapped, v0 is behind v2: not asked.
    assert list(camera_motion_infer(_set(scene, 2, 0), random.Random(0))) == ["camera_behind"]


def test_frame_locate_order_and_count() -> None:
    scene = walkthrough(4)
    vs = _set(scene, 0, 1, 2, 3)
    located = {
        (f.mentions[0].obj.object_id, f.mentions[0].image): f.answer.value
        for seed in range(20)
        for f in _facts(obj_frame_locate(vs, random.Random(seed)))
    }
    assert located[("1", 0)] == (2,) and located[("1", 1)] == (1,)  # the lamp: images 1 and 2
    assert located[("3", 2)] == (2,)  # the table: images 2 and 3, boxed in image 3
    assert all(oid not in {"0", "2", "4", "6", "7"} for oid, _ in located)  # seen once: not asked
    orders = _facts(appearance_order(vs, random.Random(1)))
    assert orders
    for fact in orders:
        firsts = [vs.images_of(m.obj)[0] for m in fact.mentions]
        expected = "".join(m.slot for _, m in sorted(zip(firsts, fact.mentions, strict=True)))
        assert isinstance(fact.answer, Category) and fact.answer.value == expected
        assert all(m.image is None for m in fact.mentions)  # named by category, never marked
    assert list(obj_count(vs, random.Random(0))) == ["too_few_instances"] * 8  # every category once


def test_obj_count_counts_instances_across_images() -> None:
    poses = [world_from_cam_at((0.0, 0.0, 1.2), 0.0, "v0"), world_from_cam_at((0.0, 0.0, 1.2), 60.0, "v1")]
    boxes = [
        ("a", "chair", (0.0, 3.0, 1.2), (0.4, 0.4, 0.4)),  # ahead of v0
        ("b", "chair", (-2.6, 1.5, 1.2), (0.4, 0.4, 0.4)),  # 60 deg left: ahead of v1
        ("c", "lamp", (0.5, 3.0, 1.2), (0.3, 0.3, 0.3)),
    ]
    scene = posed_scene(boxes, poses)
    (fact,) = _facts(obj_count(_set(scene, 0, 1), random.Random(0)))
    assert fact.answer == Count(2) and fact.slots["categories"] == "chairs"


def test_room_size_from_a_point_cloud(tmp_path: Path) -> None:
    np.save(tmp_path / "cloud.npy", floor_points((4.0, 5.0)).astype(np.float32))
    poses = [world_from_cam_at((0.0, 0.0, 1.2), 0.0, "v0"), world_from_cam_at((0.0, 0.5, 1.2), 10.0, "v1")]
    scene = posed_scene(
        [("a", "chair", (0.0, 2.0, 1.0), (0.4, 0.4, 0.4))],
        poses,
        point_cloud=AssetRef("cloud.npy", "npy_f32", frame="world"),
    )
    scene = scene.__class__(**{**scene.__dict__, "asset_root": str(tmp_path)})
    (fact,) = _facts(room_size(_set(scene, 0, 1), random.Random(0)))
    assert isinstance(fact.answer, Quantity) and fact.answer.kind == "area"
    assert fact.answer.si_value == pytest.approx(20.0, rel=0.05)  # a 4 m x 5 m floor
    second = _set(scene, 0, 1)
    second.index = 1
    assert list(room_size(second, random.Random(0))) == ["room_asked_once"]


def test_rendered_multi_view_records(tmp_path: Path) -> None:
    scene = walkthrough(4)
    config = GenerateConfig(
        tasks=("object_depth_mv", "relative_direction_mv", "position_matching", "view_change_infer"),
        format_profile="spar",
        max_qa_per_scene=40,
    )
    records = generate_scene(scene, config).records
    assert {r["task"] for r in records} == set(config.tasks)
    for record in records:
        rec = qa_from_dict(record)
        assert len(rec.images) >= 2
        for marker in rec.markers:
            assert 0 <= marker.image_index < len(rec.images)
            # the marker's text names its image
            assert f"in image {marker.image_index + 1})" in rec.question
        if record["task"] == "object_depth_mv":
            assert "Image 1 is the main view" in rec.question
        if record["task"] == "view_change_infer" and record["format"] == "fill":
            # the released string exactly, as SPAR-Bench writes it
            assert record["answer"] == record["answer_value"] and record["answer"].startswith("move_")
            assert parse_view_change(record["answer"]).ok


def test_every_multi_view_task_declares_pair_or_sequence_scope() -> None:
    mv = [s for s in TASKS.values() if "multi_view" in s.requires]
    assert len(mv) == 16
    assert all(s.scope in ("pair", "sequence") and s.family == "multi_view" for s in mv)
    assert CAMERA.width == 640
