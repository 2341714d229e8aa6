"""Renderer support shared by the level 0 and level 3 tasks: Count answers, Pixel mentions, view requirements.

A test-only task spec and template bank (built with parse_bank, so the bank rules still apply) exercise the
renderer directly; the registered tasks that use these answers have their own tests.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest

from spatialforge.qa.records import norm_from_px, qa_from_dict, qa_to_dict
from spatialforge.scene.records import AssetRef
from spatialforge.tasks.banks import load_common, parse_bank
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.render import (
    COORDINATE_NOTE,
    NEGATIVE_COUNT,
    NO_FREE_MARKER_COLOUR,
    Renderer,
)
from spatialforge.tasks.spec import Count, Fact, Mention, TaskSpec, pixel_from_norm
from tests.tasks.test_render import build_scene

FORMATS = ("free", "mcq", "tf")
SPEC = TaskSpec(
    "test_count_points",
    3,
    "counting",
    ("boxes",),
    FORMATS,
    "accuracy",
    ("",),
    "test only",
    lambda c, r: iter(()),
)


def _templates(prefix: str, texts: list[str], style: str | None = None) -> list[dict[str, str]]:
    return [
        {"id": f"{prefix}{i}", "text": t, **({"style": style} if style else {})} for i, t in enumerate(texts)
    ]


BANK = parse_bank(
    "test bank",
    {
        "task": SPEC.name,
        "version": 1,
        "questions": {
            "free": _templates(
                "f", [f"How many things ({i}) lie between {{a}} and {{b}}?" for i in range(5)]
            ),
            "mcq": _templates("m", [f"How many things ({i}) lie between {{a}} and {{b}}?" for i in range(5)]),
            "tf": _templates(
                "y",
                [f"Are there {{value}} things ({i}) between {{a}} and {{b}}?" for i in range(3)],
                "yes_no",
            )
            + _templates(
                "t", [f"{{value}} things ({i}) lie between {{a}} and {{b}}." for i in range(3)], "true_false"
            ),
        },
        "answers": {"free": _templates("a", ["The count is {value}."])},
    },
    SPEC.name,
    FORMATS,
    ("",),
)
SCENE = build_scene("points", [("chair", -1.0, 4.0), ("table", 1.0, 5.0)])
CTX = ViewContext(SCENE, SCENE.views[0])
CAMERA = SCENE.views[0].camera
P1 = pixel_from_norm(250, 600, CAMERA.width, CAMERA.height)
P2 = pixel_from_norm(750, 700, CAMERA.width, CAMERA.height)


def _fact(count: int) -> Fact:
    return Fact(SPEC.name, "", (Mention("a", P1, "point_a"), Mention("b", P2, "point_b")), Count(count), None)


def _render(fact: Fact, fmt: str, seed: int) -> list[dict] | str:
    return Renderer(CTX, load_common()).render(SPEC, BANK, fact, fmt, random.Random(seed), 0)


def test_pixel_from_norm_round_trips_through_norm_from_px() -> None:
    for x in range(0, 1001, 37):
        for y in (0, 1, 499, 500, 999, 1000):
            p = pixel_from_norm(x, y, 640, 480)
            assert p.px == pytest.approx((x * 0.64, y * 0.48), abs=1e-12)
            assert norm_from_px(p.px, 640, 480) == (x, y)


def test_count_free_answer_is_the_integer() -> None:
    (record,) = _render(_fact(3), "free", 0)
    assert record["answer_value"] == 3 and type(record["answer_value"]) is int
    assert record["answer"] == "The count is 3." and record["unit"] is None
    assert record["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "number"}}
    assert qa_to_dict(qa_from_dict(record)) == record


@pytest.mark.parametrize("truth", [0, 1, 4, 20])
def test_count_mcq_options_are_distinct_counts_with_a_uniform_answer_position(truth: int) -> None:
    positions: Counter[str] = Counter()
    for seed in range(400):
        (record,) = _render(_fact(truth), "mcq", seed)
        values = [int(c["text"]) for c in record["choices"]]
        assert len(set(values)) == 4 and min(values) >= 0
        gold = next(c for c in record["choices"] if c["label"] == record["answer_value"])
        assert int(gold["text"]) == truth and values.count(truth) == 1
        positions[record["answer_value"]] += 1
    assert set(positions) == {"A", "B", "C", "D"}
    assert min(positions.values()) > 400 / 4 * 0.7  # uniform: 100 each, well above 70


def test_count_tf_pair_asserts_the_truth_and_a_wrong_count() -> None:
    for seed in range(50):
        pair = _render(_fact(5), "tf", seed)
        assert sorted(r["answer_value"] for r in pair) == [False, True]
        for r in pair:
            shown = int(r["question"].split(" things")[0].split()[-1])
            assert (shown == 5) == r["answer_value"]


def test_negative_count_is_rejected() -> None:
    assert _render(_fact(-1), "free", 0) == NEGATIVE_COUNT


def test_pixels_are_named_by_coordinates_or_point_markers() -> None:
    styles: Counter[str] = Counter()
    for seed in range(200):
        (record,) = _render(_fact(2), "free", seed)
        question = record["question"]
        assert record["objects"] == []  # pixels are not objects
        colours = [m["colour"] for m in record["markers"]]
        assert len(set(colours)) == len(colours)  # two marked points never share a colour
        for pixel in (P1, P2):
            coordinate_text = f"the point at ({pixel.norm[0]}, {pixel.norm[1]})"
            mark = next((m for m in record["markers"] if m["geometry_norm"] == list(pixel.norm)), None)
            if mark is None:
                assert coordinate_text in question.lower()
                styles["coordinates"] += 1
            else:
                assert mark["kind"] == "point" and mark["geometry_px"] == list(pixel.px)
                assert f"the {mark['colour']} point" in question.lower()
                styles["marker"] += 1
        assert (COORDINATE_NOTE in question) == (len(record["markers"]) < 2)
        assert qa_to_dict(qa_from_dict(record)) == record
    assert styles["coordinates"] > 150 and styles["marker"] > 150  # half each of 400 mentions


def test_note_follows_the_stem_in_mcq() -> None:
    for seed in range(40):
        (record,) = _render(_fact(2), "mcq", seed)
        if COORDINATE_NOTE in record["question"]:
            lines = record["question"].split("\n")
            assert lines[1] == COORDINATE_NOTE  # stem, note, then the options
            return
    raise AssertionError("no coordinate-named pixel in 40 draws")


def test_point_markers_run_out_of_colours_with_a_named_reason() -> None:
    pixels = [pixel_from_norm(100 * i + 50, 500, CAMERA.width, CAMERA.height) for i in range(8)]
    slots = "abcdefgh"
    fact = Fact(
        SPEC.name,
        "",
        tuple(Mention(s, p, f"point_{s}") for s, p in zip(slots, pixels, strict=True)),
        Count(1),
        None,
    )
    spec_bank = parse_bank(
        "many points",
        {
            "task": SPEC.name,
            "version": 1,
            "questions": {
                "free": _templates("f", [f"Q{i} " + " ".join(f"{{{s}}}" for s in slots) for i in range(5)])
            },
            "answers": {"free": _templates("a", ["There are {value}."])},
        },
        SPEC.name,
        ("free",),
        ("",),
    )
    reasons = Counter()
    for seed in range(300):
        out = Renderer(CTX, load_common()).render(SPEC, spec_bank, fact, "free", random.Random(seed), 0)
        reasons[out if isinstance(out, str) else "ok"] += 1
    # Eight points and six colours: refused whenever seven or more are drawn as markers.
    assert reasons[NO_FREE_MARKER_COLOUR] > 0 and reasons["ok"] > 0


def test_view_requirements() -> None:
    assert CTX.unmet_requirement(("boxes", "front")) is None
    assert CTX.unmet_requirement(("depth",)) == "no_depth"
    assert CTX.unmet_requirement(("multi_view",)) == "single_view"
    with_depth = dataclasses.replace(SCENE.views[0], depth=AssetRef("d.npy", "npy_f32"))
    assert ViewContext(SCENE, with_depth).unmet_requirement(("depth",)) is None
    no_gravity = dataclasses.replace(SCENE, gravity=None)
    assert ViewContext(no_gravity, no_gravity.views[0]).unmet_requirement(("gravity",)) == "no_gravity"
