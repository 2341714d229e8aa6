"""spatial_counting on hand-built scenes: every count computed by hand in the comments.

Level camera at the world origin (tests/tasks/scenes.py): cam = (world x, -world z, world y), and with exact
gravity the judging frame cam_gravity:v0 is cam:v0. Every object below has its centre at world z = -0.5
(cam y = 0.5), so centre distances are horizontal: hypot(dx, dy) in world coordinates.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections import Counter

import numpy as np
import pytest

from spatialforge.bench.parsers import parse_number
from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.qa.records import qa_from_dict, qa_to_dict
from spatialforge.qa.references import visibility_refusal
from spatialforge.tasks.banks import load_bank, load_common
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.counting import (
    DISTANCE_THRESHOLDS_M,
    MEMBER_WITHIN_MARGIN,
    UNCOUNTABLE_MEMBER_IN_VIEW,
    ZERO_COUNT_KEEP,
    category_plural,
    meters_text,
    usable_thresholds,
)
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.render import Renderer
from spatialforge.tasks.spec import Count, Fact
from tests.tasks.scenes import Obj, candidates, facts, make_scene, mirrored, moved, rejections, scaled

TASK = "spatial_counting"
# A threshold is one of up to 6-7 usable ones, and a zero count is kept by a coin: 120 seeds show every
# (anchor, category, relation) key of these scenes (a 1-in-12 key is missed with probability 3e-5).
SEEDS = range(120)

# Anchor table 0 at world (0, 5); chairs around it (world (x, y) -> offset from the table, distance):
#   chair 1 (-0.6, 4.2): (-0.6, -0.8), 1.0 m  -- left, in front (z 4.2 < 5 - 0.1)
#   chair 2 (-2.4, 6.8): (-2.4, +1.8), 3.0 m  -- left, behind
#   chair 3 (+1.2, 6.6): (+1.2, +1.6), 2.0 m  -- right, behind
#   lamp 4  (+2.2, 4.0): right of the table, in front of it
TABLE = Obj("0", "table", (0.0, 5.0, -0.5), (1.2, 0.8, 0.75))
CHAIRS = [
    Obj("1", "chair", (-0.6, 4.2, -0.5), (0.5, 0.5, 0.9)),
    Obj("2", "chair", (-2.4, 6.8, -0.5), (0.5, 0.5, 0.9)),
    Obj("3", "chair", (1.2, 6.6, -0.5), (0.5, 0.5, 0.9)),
]
LAMP = Obj("4", "lamp", (2.2, 4.0, -0.5), (0.4, 0.4, 1.5))
BASE = [TABLE, *CHAIRS, LAMP]


@pytest.fixture(scope="module")
def room():
    return make_scene(BASE)


@pytest.fixture(scope="module")
def room_counts(room):
    return count_table(room)


def count_table(scene, seeds=SEEDS) -> dict[tuple[str, str, str], int]:
    """(anchor id, counted plural, relation phrase) -> count, over several seeds (zero counts are thinned
    by a coin, so a zero shows up in about half of the seeds); a key must get the same count every time."""
    out: dict[tuple[str, str, str], int] = {}
    for seed in seeds:
        for f in facts(candidates(scene, TASK, seed)):
            (anchor,) = f.mentions
            key = (anchor.obj.object_id, f.slots["objects"], f.slots["relation"])
            assert out.setdefault(key, f.answer.value) == f.answer.value, key
    return out


# ---------------------------------------------------------------- hand-computed counts


@pytest.mark.parametrize(
    ("relation", "expected"),
    [
        ("to the left of", 2),  # chairs 1, 2: x -0.6, -2.4 < 0 - 0.1
        ("to the right of", 1),  # chair 3: x 1.2
        ("in front of", 1),  # chair 1: z 4.2 < 5 - 0.1
        ("behind", 2),  # chairs 2, 3: z 6.8, 6.6
        # distances 1.0, 2.0, 3.0 m
        ("within 0.5 meters of", 0),
        ("within 1.5 meters of", 1),
        ("within 2.5 meters of", 2),
        ("within 4 meters of", 3),
        ("within 5 meters of", 3),
        ("within 6 meters of", 3),
    ],
)
def test_chairs_around_the_table(room_counts, relation, expected):
    assert room_counts[("0", "chairs", relation)] == expected


def test_thresholds_on_a_member_distance_are_never_asked(room_counts):
    # 1, 2 and 3 m are each exactly a chair's distance (within max(0.1 m, 10 %) of it): never asked.
    asked = {rel for (anchor, noun, rel) in room_counts if anchor == "0" and noun == "chairs"}
    within = {rel for rel in asked if rel.startswith("within")}
    assert within == {f"within {meters_text(t)} of" for t in (0.5, 1.5, 2.5, 4.0, 5.0, 6.0)}
    # The members' range is [0.5 * 1.0, 2 * 3.0] = [0.5, 6] m: 8 m and more are out of it.
    assert usable_thresholds([1.0, 2.0, 3.0]) == [0.5, 1.5, 2.5, 4.0, 5.0, 6.0]
    # 2.15 is 0.15 from 2.0 (margin 0.2: ambiguous) and 0.35 from 2.5 (margin 0.25: clear).
    assert 2.0 not in usable_thresholds([2.15]) and 2.5 in usable_thresholds([2.15])
    assert usable_thresholds([]) == []
    assert list(DISTANCE_THRESHOLDS_M) == sorted(DISTANCE_THRESHOLDS_M)


def test_other_anchors_and_categories(room_counts):
    counts = room_counts
    # Chair 1 (x -0.6) as the anchor: chair 2 (x -2.4) is to its left, chair 3 (x 1.2) to its right; the
    # anchor itself is never counted.
    assert counts[("1", "chairs", "to the left of")] == 1
    assert counts[("1", "chairs", "to the right of")] == 1
    # The lamp (x 2.2, z 4.0) against the table: right of it, in front of it, none on its left.
    assert counts[("0", "lamps", "to the right of")] == 1
    assert counts[("0", "lamps", "in front of")] == 1
    assert counts.get(("0", "lamps", "to the left of"), 0) == 0
    # A category whose only visible object is the anchor is never counted ("how many tables ... the table").
    assert not any(anchor == "0" and noun == "tables" for anchor, noun, _ in counts)
    assert not any(anchor == "4" and noun == "lamps" for anchor, noun, _ in counts)


def test_reasoning_ends_with_the_count(room):
    for seed in range(4):
        for f in facts(candidates(room, TASK, seed)):
            assert isinstance(f.answer, Count)
            assert f.reasoning[-1] == f"count = {f.answer.value}"
            # One line per counted (or ignored) member between the header and the total.
            (anchor,) = f.mentions
            noun = f.slots["objects"]
            members = [o for o in room.objects if category_plural(o.category) == noun]
            members = [o for o in members if o.object_id != anchor.obj.object_id]
            assert len(f.reasoning) == len(members) + 2
            yes = sum(line.endswith(": yes") for line in f.reasoning[1:-1])
            assert yes == f.answer.value
            assert f.frame == ("cam:v0" if f.variant == "within_distance" else "cam_gravity:v0")


# ---------------------------------------------------------------- counts that might be off by one


def test_member_within_the_margin_rejects_the_question():
    # Chair 5 at x = 0.05: 0.05 m right of the table's centre, inside the 0.1 m margin. Every left/right
    # count of chairs against the table is refused; front/behind still works (z 7.5: behind, 3 chairs).
    scene = make_scene([*BASE, Obj("5", "chair", (0.05, 7.5, -0.5), (0.5, 0.5, 0.9))])
    counts = count_table(scene)
    table_chairs = {r for a, n, r in counts if (a, n) == ("0", "chairs")}
    assert not {"to the left of", "to the right of"} & table_chairs
    assert counts[("0", "chairs", "behind")] == 3
    assert MEMBER_WITHIN_MARGIN in rejections(x for s in SEEDS for x in candidates(scene, TASK, s))


def _tiny_far_chair(x: float) -> Obj:
    # 0.1 m cube 20 m ahead: its 2D box is ~2.5 x 2.5 px, far below 0.1 % of the image (307 px^2).
    return Obj("6", "chair", (x, 20.0, -0.5), (0.1, 0.1, 0.1))


def test_member_in_view_but_too_small_rejects_only_counts_it_could_change():
    scene = make_scene([*BASE, _tiny_far_chair(-3.0)])
    tiny = scene.objects[-1]
    refusal = visibility_refusal(scene, scene.views[0], tiny)
    assert refusal is not None and refusal.reason == "below_min_area"
    counts = count_table(scene)
    # Tiny chair 6 at x = -3.0, z = 20: clearly left of and behind the table, so a viewer who spots it
    # counts 3 chairs on the left and 3 behind, one who does not counts 2: those questions are refused.
    assert ("0", "chairs", "to the left of") not in counts
    assert ("0", "chairs", "behind") not in counts
    # It is clearly not to the right nor in front: those counts hold either way (1 and 1).
    assert counts[("0", "chairs", "to the right of")] == 1
    assert counts[("0", "chairs", "in front of")] == 1
    # Its distance is hypot(3, 15) = 15.30 m: 15 m is within the margin (1.5 m) of it, 20 and 30 m would
    # include it (refused), 10 m clearly excludes it: 3 chairs (1, 2, 3 m) either way.
    assert ("0", "chairs", "within 20 meters of") not in counts
    assert counts[("0", "chairs", "within 10 meters of")] == 3
    assert UNCOUNTABLE_MEMBER_IN_VIEW in rejections(x for s in SEEDS for x in candidates(scene, TASK, s))
    right = next(
        f
        for s in SEEDS
        for f in facts(candidates(scene, TASK, s))
        if f.mentions[0].obj.object_id == "0" and f.slots["relation"] == "to the right of"
        and f.slots["objects"] == "chairs"
    )  # fmt: skip
    assert any("chair 6 (in view, not countable: below_min_area)" in line for line in right.reasoning)


def test_member_in_view_without_a_2d_box_rejects():
    scene = make_scene([*BASE, Obj("6", "chair", (-1.5, 5.5, -0.5), (0.5, 0.5, 0.9))])
    hidden = scene.objects[-1]
    obs = dataclasses.replace(hidden.observations[0], box2d=None)
    scene = dataclasses.replace(
        scene, objects=(*scene.objects[:-1], dataclasses.replace(hidden, observations=(obs,)))
    )
    assert visibility_refusal(scene, scene.views[0], scene.objects[-1]).reason == "no_box2d"
    counts = count_table(scene)
    # Chair 6 (x -1.5, z 5.5): left of and behind the table -> those are refused; right / in front stay.
    assert ("0", "chairs", "to the left of") not in counts and ("0", "chairs", "behind") not in counts
    assert counts[("0", "chairs", "to the right of")] == 1 and counts[("0", "chairs", "in front of")] == 1


def test_objects_not_in_the_image_are_not_counted():
    # Chair 6 has no observation in the view (another room): it is not in the image and not counted.
    scene = make_scene([*BASE, Obj("6", "chair", (-1.5, 5.5, -0.5), (0.5, 0.5, 0.9))])
    unseen = dataclasses.replace(scene.objects[-1], observations=())
    scene = dataclasses.replace(scene, objects=(*scene.objects[:-1], unseen))
    counts = count_table(scene)
    assert counts[("0", "chairs", "to the left of")] == 2 and counts[("0", "chairs", "behind")] == 2


def test_member_with_a_degenerate_box_in_view_rejects():
    scene = make_scene([*BASE, Obj("6", "chair", (-1.5, 5.5, -0.5), (0.5, 0.5, 0.9))])
    bad = scene.objects[-1]
    box = dataclasses.replace(bad.box, size=np.array([0.5, 0.0, 0.9]))
    scene = dataclasses.replace(scene, objects=(*scene.objects[:-1], dataclasses.replace(bad, box=box)))
    counts = count_table(scene)
    assert not any(a == "0" and n == "chairs" for a, n, _ in counts)
    assert UNCOUNTABLE_MEMBER_IN_VIEW in rejections(candidates(scene, TASK, 0))


# ---------------------------------------------------------------- zero counts


def test_zero_counts_are_asked_about_half_the_time(room):
    # (table, lamps, left_right) comes up once per seed; a coin asks "to the right of" (1 lamp, always
    # kept) or "to the left of" (0 lamps, kept with probability ZERO_COUNT_KEEP = 0.5). Over 200 seeds:
    # right ~ binomial(200, 1/2) = 100 +- 7, left ~ binomial(200, 1/4) = 50 +- 6 (bounds over 4 sigma).
    tables = [count_table(room, seeds=[s]) for s in range(200)]
    right = sum(("0", "lamps", "to the right of") in t for t in tables)
    left = sum(("0", "lamps", "to the left of") in t for t in tables)
    assert ZERO_COUNT_KEEP == 0.5 and 70 <= right <= 130 and 25 <= left <= 75


# ---------------------------------------------------------------- metamorphic


def test_mirror_swaps_left_and_right_counts(room, room_counts):
    before, after = room_counts, count_table(mirrored(room))
    swap = {"to the left of": "to the right of", "to the right of": "to the left of"}
    for (anchor, noun, relation), n in after.items():
        assert before[(anchor, noun, swap.get(relation, relation))] == n
    # Not vacuous: after the mirror 2 chairs are right of the table and 1 left.
    assert after[("0", "chairs", "to the right of")] == 2 and after[("0", "chairs", "to the left of")] == 1


def test_moving_the_world_frame_changes_nothing(room):
    new_from_world = RigidTransform(rot_z(0.7) @ rot_x(0.2), np.array([3.0, -2.0, 1.5]), "world", "world")
    other = moved(room, new_from_world)
    for seed in range(6):
        a, b = candidates(room, TASK, seed), candidates(other, TASK, seed)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            if isinstance(x, str):
                assert x == y
                continue
            assert isinstance(y, Fact)
            assert (x.variant, x.slots, x.answer, x.mentions[0].obj.object_id, x.frame) == (
                y.variant,
                y.slots,
                y.answer,
                y.mentions[0].obj.object_id,
                y.frame,
            )


def test_scaling_keeps_direction_counts(room, room_counts):
    # Offsets of at least 0.6 m stay clear of the absolute 0.1 m margin at 2x; thresholds do not scale.
    before, after = room_counts, count_table(scaled(room, 2.0))
    direction = {k: v for k, v in before.items() if not k[2].startswith("within")}
    assert direction and all(after[k] == v for k, v in direction.items())
    # Distances double to 2, 4, 6 m: within 5 m now holds 2 chairs (was 3).
    assert after[("0", "chairs", "within 5 meters of")] == 2


# ---------------------------------------------------------------- plurals


@pytest.mark.parametrize(
    ("category", "plural"),
    [
        ("chair", "chairs"),
        ("night stand", "night stands"),
        ("night_stand", "night stands"),
        ("dresser mirror", "dresser mirrors"),
        ("person", "people"),
        ("person sitting", "people sitting"),
        ("stool with back", "stools with backs"),
        ("bus", "buses"),
        ("glass", "glasses"),
        ("box", "boxes"),
        ("bench", "benches"),
        ("dish", "dishes"),
        ("shelf", "shelves"),
        ("bookshelf", "bookshelves"),
        ("knife", "knives"),
        ("pantry", "pantries"),
        ("toy", "toys"),
        ("blinds", "blinds"),
        ("shoes", "shoes"),
        ("sheep", "sheep"),
        ("tv", "tvs"),
        ("sofa", "sofas"),
        ("child", "children"),
    ],
)
def test_plurals(category, plural):
    assert category_plural(category) == plural


def test_meters_text():
    assert [meters_text(t) for t in (0.5, 1.0, 2.5, 10.0)] == [
        "0.5 meters",
        "1 meter",
        "2.5 meters",
        "10 meters",
    ]


# ---------------------------------------------------------------- rendering


def _render_all(scene, limit: int = 24):
    spec = TASKS[TASK]
    bank = load_bank(TASK, spec.formats, spec.variants)
    ctx = ViewContext(scene, scene.views[0])
    renderer = Renderer(ctx, load_common())
    out = []
    for i, fact in enumerate(f for f in spec.candidates(ctx, random.Random(5)) if isinstance(f, Fact)):
        if i == limit:
            break
        for fmt in spec.own_formats:
            records = renderer.render(spec, bank, fact, fmt, random.Random(f"{i}:{fmt}"), 11)
            assert not isinstance(records, str), records
            out.append((fact, fmt, records))
    return out


def test_every_format_renders_and_reads_back(room):
    seen = Counter()
    for fact, fmt, records in _render_all(room):
        n = fact.answer.value
        seen[fmt] += 1
        for r in records:
            assert qa_to_dict(qa_from_dict(r)) == r
            assert fact.slots["objects"] in r["question"] and fact.slots["relation"] in r["question"]
            assert [o["role"] for o in r["objects"]] == ["anchor"]
            assert r["reasoning"] == list(fact.reasoning)
            # Never "1 chairs" / "0 chairs": no template puts the count in front of the plural.
            assert not re.search(rf"\b\d+ {fact.slots['objects']}", r["question"] + " " + r["answer"])
        if fmt == "free":
            (r,) = records
            assert r["answer_value"] == n and r["unit"] is None
            assert r["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "number"}}
            assert parse_number(r["answer"], to_unit="none").value == n
        elif fmt == "mcq":
            (r,) = records
            options = {c["label"]: c["text"] for c in r["choices"]}
            assert options[r["answer_value"]] == str(n)
            assert len(set(options.values())) == 4 and all(int(t) >= 0 for t in options.values())
        else:
            true, false = sorted(records, key=lambda r: not r["answer_value"])
            assert true["answer_value"] is True and false["answer_value"] is False
            assert re.search(rf"\b{n}\b", true["question"].split("\n")[0])
    assert set(seen) == {"free", "mcq", "tf"}


def test_references_never_give_the_count_away():
    # Chair 1 is the middle chair in the image (u: chair 2 143 px, chair 1 248 px, chair 3 410 px) and the
    # nearest (4.27 m vs 6.73 / 7.23 m): "the second chair from the left" would give away "how many chairs
    # are to its left?" and "the nearest chair" "how many are in front of it?".
    scene = make_scene(BASE)
    for fact, _, records in _render_all(scene, limit=200):
        if fact.mentions[0].obj.object_id != "1":
            continue
        text = " ".join(r["question"] for r in records).lower()
        if fact.variant == "left_right":
            assert "from the left" not in text and "from the right" not in text and "leftmost" not in text
        if fact.variant == "front_behind":
            assert "nearest" not in text and "farthest" not in text


def test_generate_on_random_box_scenes_every_format():
    config = GenerateConfig(tasks=(TASK,), max_qa_per_scene=30)
    formats, values = Counter(), Counter()
    for scene in random_box_scenes(12, seed=3):
        for r in generate_scene(scene, config).records:
            assert r["task"] == TASK and r["level"] == 3
            formats[r["format"]] += 1
            if r["format"] == "free":
                values[r["answer_value"]] += 1
    assert set(formats) == {"free", "mcq", "tf"}
    assert values[0] > 0 and sum(v for k, v in values.items() if k > 0) > values[0]
