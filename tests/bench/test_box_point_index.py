"""Parsers and metrics of the multi-view answer types: boxes and image points on SPAR's 0-1000 grid, lists of
image numbers. Every expected value was worked out by hand from the reply or the geometry (arithmetic in the
comments), never copied from the code's output.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spatialforge.bench import metrics
from spatialforge.bench.parsers import Parsed, parse_box, parse_image_point, parse_index_list
from spatialforge.bench.parsers.base import OK, STATUSES

# --- parse_box ----------------------------------------------------------------------------------------------

BOX = (120.0, 340.0, 560.0, 780.0)


@pytest.mark.parametrize(
    "reply",
    [
        "[120, 340, 560, 780]",
        "(120, 340, 560, 780)",
        "[120 340 560 780]",  # numpy style
        "(120,340),(560,780)",
        "[[120, 340], [560, 780]]",
        "top-left (120, 340) and bottom-right (560, 780)",
        "x1=120, y1=340, x2=560, y2=780",
        "x0: 120, y0: 340, x1: 560, y1: 780",
        "x_min = 120, y_min = 340, x_max = 560, y_max = 780",
        "120, 340, 560, 780",
        "Box: 120px, 340px, 560px, 780px",
        "In image 2 the chair is at 120, 340, 560, 780.",  # "image 2" names an image, it is no coordinate
        "The bounding box is **[120, 340, 560, 780]**.",
        "<answer>[120, 340, 560, 780]</answer>",
        "<think>maybe [0, 0, 10, 10]</think>[120, 340, 560, 780]",
        # the same box as a list and as labelled corners is one box
        "[120, 340, 560, 780], i.e. x1=120, y1=340, x2=560, y2=780",
        # the reference box of the question, then an explicit answer: the answer wins
        "The chair is at [100, 200, 300, 400] in image 1. The answer is [120, 340, 560, 780].",
        "Final answer: (120, 340), (560, 780)",
        # the reference answers of position_matching (tasks/banks), filled in
        "In image 2, the chair (red box) is at [120, 340, 560, 780].",
        "The chair occupies the box [120, 340, 560, 780] in the second image.",
    ],
)
def test_box_forms(reply: str) -> None:
    parsed = parse_box(reply)
    assert parsed.status == OK, parsed
    assert parsed.value == BOX
    assert parsed.detail == ""


def test_box_corners_are_reordered_and_said_so() -> None:
    # x written max first (560 before 120): reordered to min/max, and the detail says which axis
    swapped_x = parse_box("[560, 340, 120, 780]")
    assert swapped_x.value == BOX and swapped_x.detail == "corners reordered (x written max first)"
    both = parse_box("bottom-right (560, 780), top-left (120, 340)")
    assert both.value == BOX and both.detail == "corners reordered (x and y written max first)"


@pytest.mark.parametrize(
    ("reply", "status", "detail"),
    [
        ("", "no_answer", "empty reply"),
        ("<think>[1, 2, 3, 4]</think>", "no_answer", "empty reply after removing reasoning"),
        ("The chair is near the window.", "no_answer", "no box found"),
        ("I cannot determine where the chair is.", "refusal", "refusal"),
        ("Sorry, I can't tell; it might be 3 m away.", "refusal", "refusal"),
        # extra numbers with no answer statement: nothing says which four
        ("120, 340, 560, 780, 900", "ambiguous", "5 numbers; a box is 4"),
        (
            "In image 1 it is at [100, 200, 300, 400]; in image 2 at [120, 340, 560, 780].",
            "ambiguous",
            "2 different boxes: [100, 200, 300, 400], [120, 340, 560, 780]",
        ),
        ("(120, 340), (560, 780), (600, 800)", "ambiguous", "3 corner points; a box is two"),
        ("x1=120, x1=130, y1=340, x2=560, y2=780", "ambiguous", "x1 given twice (120 and 130)"),
        ("[120, 340, 560]", "invalid", "3 number(s); a box needs 4"),
        ("(120, 340)", "invalid", "one point; a box needs two corners"),
        ("[120, 340, 1200, 780]", "invalid", "box coordinate 1200 is outside the 0-1000 grid"),
        ("[120, 340, 1000.5, 780]", "invalid", "box coordinate 1000.5 is outside the 0-1000 grid"),
        ("[-5, 340, 560, 780]", "invalid", "box coordinate -5 is outside the 0-1000 grid"),
        (
            "[0.12, 0.34, 0.56, 0.78]",
            "invalid",
            "box [0.12, 0.34, 0.56, 0.78] is on a 0-1 scale, not the 0-1000 grid",
        ),
        ("[120, 340, 120, 780]", "invalid", "box [120, 340, 120, 780] has zero width or height"),
    ],
)
def test_box_failures(reply: str, status: str, detail: str) -> None:
    parsed = parse_box(reply)
    assert (parsed.status, parsed.detail, parsed.value) == (status, detail, None)


def test_box_grid_bounds_are_inclusive() -> None:
    assert parse_box("[0, 0, 1000, 1000]").value == (0.0, 0.0, 1000.0, 1000.0)
    # integers 0 and 1 are grid units, not a 0-1 box
    assert parse_box("[0, 0, 1, 1]").value == (0.0, 0.0, 1.0, 1.0)


# --- parse_image_point --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected", "unit"),
    [
        ("(512, 340), depth 2.1 m", (512.0, 340.0, 2.1), "m"),
        ("x=512, y=340, depth: 210 cm", (512.0, 340.0, 2.1), "cm"),  # 210 cm = 2.1 m
        ("The camera is at (512, 340) at a depth of 2.1 meters", (512.0, 340.0, 2.1), "m"),
        ("[271, 546], 3.8", (271.0, 546.0, 3.8), None),  # SPAR's fill answer; a bare depth is metres
        ("Image Coor: (514, 95), Depth:4.8 meters", (514.0, 95.0, 4.8), "m"),  # SPAR's option text
        ("(512, 340, 2.1)", (512.0, 340.0, 2.1), None),
        ("x: 512 and y: 340, depth 7 ft", (512.0, 340.0, 7 * 0.3048), "ft"),  # 7 ft = 2.1336 m
        ("Answer: (512, 340)\nDepth: 2.1 m", (512.0, 340.0, 2.1), "m"),  # depth outside the statement
        ("Camera 2 appears at (512, 340) in image 1; it is 2.1 m deep.", (512.0, 340.0, 2.1), "m"),
        ("At 2.1 m depth, the camera is at (512, 340).", (512.0, 340.0, 2.1), "m"),
        ("(512, 340), depth between 2 and 3 m", (512.0, 340.0, 2.5), "m"),  # a range: its mean
        ("The camera is at (1000, 0), depth 0.4 m", (1000.0, 0.0, 0.4), "m"),
        # the reference answers of camera_motion_infer (tasks/banks) and SPAR's sentence answer, filled in
        (
            "The camera of image 2 is at (512, 340) on the 0-1000 grid of image 1, 2.1 meters deep.",
            (512.0, 340.0, 2.1),
            "m",
        ),
        (
            "Relative to the first image, the second image's observer occupies the position [271, 546], at a "
            "depth of 4.4 meters.",
            (271.0, 546.0, 4.4),
            "m",
        ),
    ],
)
def test_image_point_forms(reply: str, expected: tuple[float, float, float], unit: str | None) -> None:
    parsed = parse_image_point(reply)
    assert parsed.status == OK, parsed
    assert parsed.value == pytest.approx(expected, rel=1e-12)
    assert parsed.unit == unit


def test_image_point_depth_units() -> None:
    # depth asked in centimetres: 2.1 m = 210 cm; a bare number in the default unit given
    assert parse_image_point("(512, 340), 2.1 m", to_unit="cm").value == pytest.approx((512, 340, 210))
    assert parse_image_point("(512, 340), 210", default_unit="cm").value == pytest.approx((512, 340, 2.1))
    no_unit = parse_image_point("(512, 340), 2.1", default_unit=None)
    assert (no_unit.status, no_unit.detail) == ("invalid", "no unit (read 2.1)")
    with pytest.raises(ValueError, match="to_unit"):
        parse_image_point("(512, 340), 2 m", to_unit="m^2")
    with pytest.raises(ValueError, match="default_unit"):
        parse_image_point("(512, 340), 2 m", default_unit="litres")


@pytest.mark.parametrize(
    ("reply", "status", "detail"),
    [
        ("", "no_answer", "empty reply"),
        ("The second camera is behind the first one.", "no_answer", "no image point found"),
        ("I'm sorry, I cannot tell where the camera is.", "refusal", "refusal"),
        ("(512, 340)", "invalid", "image point (512, 340) without a depth"),
        ("depth 2.1 m", "invalid", "a depth (2.1 m) but no image point"),
        (
            "(512, 340) or (100, 100), depth 2 m",
            "ambiguous",
            "2 different image points: (512, 340), (100, 100)",
        ),
        ("(512, 340), depth 2 or 3 m", "ambiguous", "alternatives 2 or 3"),
        ("(512, 340), depth 20 liters", "invalid", "wrong unit: L is not a length (read 20 L)"),
        ("(1200, 340), 2 m", "invalid", "point coordinate 1200 is outside the 0-1000 grid"),
        ("(512, -1), 2 m", "invalid", "point coordinate -1 is outside the 0-1000 grid"),
        ("(0.5, 0.34), 2 m", "invalid", "point (0.5, 0.34) is on a 0-1 scale, not the 0-1000 grid"),
        ("(512, 340), depth -2 m", "invalid", "depth -2 m is not positive"),
        ("(512, 340, 0)", "invalid", "depth 0 m is not positive"),
    ],
)
def test_image_point_failures(reply: str, status: str, detail: str) -> None:
    parsed = parse_image_point(reply)
    assert (parsed.status, parsed.detail, parsed.value) == (status, detail, None)


# --- parse_index_list ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Images 2 and 4", (2, 4)),
        ("2, 4", (2, 4)),
        ("[2,4]", (2, 4)),
        ("image 2, image 4", (2, 4)),
        ("Image 2 & Image 4.", (2, 4)),
        ("frames 2, 3, and 5", (2, 3, 5)),
        ("images 2-4", (2, 3, 4)),
        ("views 2 to 4 and 6", (2, 3, 4, 6)),
        ("the 2nd and 4th images", (2, 4)),
        ("images two and four", (2, 4)),
        ("It is visible in the second and third images.", (2, 3)),
        ("image #3", (3,)),
        ("first image 2, then image 4", (2, 4)),  # "first" qualifies a numbered image, it is not image 1
        ("It is in the first image and in image 3.", (1, 3)),
        ("Final answer: [4, 2]", (4, 2)),  # reply order kept (exact_sequence needs it)
        ("In image 1 I see the chair. Answer: 3", (3,)),
        ("It appears in 2 images: 3 and 5.", (3, 5)),  # "2 images" counts them
        ("The object appears in one image, image 3", (3,)),
        ("The chair marked in image 1 also appears in images 2 and 4.", (2, 4)),
        ("The chair (red box in image 1) also appears in image 2 and image 4.", (2, 4)),
        ("Besides reference image 1, the chair is in frames 3 and 5.", (3, 5)),
        ("The object appears in images 2 and 4, which show it from 2 sides.", (2, 4)),
        # the reference answers of obj_frame_locate (tasks/banks), filled in
        ("Apart from image 3, it is visible in images 2 and 4.", (2, 4)),
        ("The chair also appears in image 2.", (2,)),
    ],
)
def test_index_list_forms(reply: str, expected: tuple[int, ...]) -> None:
    parsed = parse_index_list(reply)
    assert parsed.status == OK, parsed
    assert parsed.value == expected
    assert all(type(i) is int for i in parsed.value)


def test_index_list_notes() -> None:
    repeated = parse_index_list("Image 2, image 4, image 2")
    assert repeated.value == (2, 4) and repeated.detail == "repeated 2 (first kept)"
    skipped = parse_index_list("The chair marked in image 1 also appears in image 3.")
    assert skipped.value == (3,) and skipped.detail == "reference skipped: marked in image 1"


@pytest.mark.parametrize(
    "reply",
    [
        "None",
        "none of the other images",
        "No other image.",
        "It does not appear in any other image.",
        "The object isn't visible in any of the other views.",
        "I don't see the object in any other image.",  # a refusal phrase, but an answer here
        "The chair marked in image 1 appears in no other image.",
    ],
)
def test_index_list_none_is_the_empty_answer(reply: str) -> None:
    parsed = parse_index_list(reply)
    assert (parsed.status, parsed.value) == (OK, ())


@pytest.mark.parametrize(
    ("reply", "status", "detail"),
    [
        ("", "no_answer", "empty reply"),
        ("The chair is red.", "no_answer", "no image numbers found"),
        ("I see two chairs.", "no_answer", "no image numbers found"),  # number words are never bare
        ("I cannot determine which images show it.", "refusal", "refusal"),
        ("image 2 or image 4", "ambiguous", "alternatives: 2 or 4"),
        ("images 2, 3, or 5", "ambiguous", "alternatives: 2 or 3 or 5"),
        ("images 2.5", "invalid", "2.5 is not an image number"),
        ("image 0", "invalid", "image numbers start at 1"),
        ("images 4-2", "invalid", "range 4-2 is not an ascending range of images"),
        # an exclusion names no image of the answer: nothing is read, nothing guessed
        ("It appears in every image except image 3.", "no_answer", "no image numbers found"),
    ],
)
def test_index_list_failures(reply: str, status: str, detail: str) -> None:
    parsed = parse_index_list(reply)
    assert (parsed.status, parsed.detail, parsed.value) == (status, detail, None)


# --- property tests: no reply crashes a parser, values keep their promises ---------------------------------

FRAGMENTS = [
    "[", "]", "(", ")", ",", " ", "\n", ".", "-", ":", "=", "x1", "y1", "x2", "y2", "x", "y", "0", "1", "120",
    "340", "560", "780", "1000", "1200", "0.5", "-3", "2.1", "m", " cm", " ft", " liters", "depth", "deep",
    "image", "images", "frame", " and ", " or ", " to ", "second", "two", "none", "no other", "marked in ",
    "red box in ", "The answer is ", "Answer: ", "Final answer: ", "<answer>", "</answer>", "<think>",
    "</think>", "I cannot determine ", "**", "px", "#", "nd", "th",
]  # fmt: skip
replies = st.one_of(st.text(max_size=200), st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join))
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _well_formed(parsed: Parsed) -> None:
    assert isinstance(parsed, Parsed)
    assert parsed.status in STATUSES
    assert (parsed.value is not None) == (parsed.status == OK)
    assert parsed.ok or parsed.detail


@fast
@given(reply=replies)
def test_parsers_never_crash_and_keep_their_promises(reply: str) -> None:
    box = parse_box(reply)
    _well_formed(box)
    if box.ok:
        x0, y0, x1, y1 = box.value
        assert 0 <= x0 < x1 <= 1000 and 0 <= y0 < y1 <= 1000
    point = parse_image_point(reply)
    _well_formed(point)
    if point.ok:
        x, y, depth = point.value
        assert 0 <= x <= 1000 and 0 <= y <= 1000 and math.isfinite(depth) and depth > 0
    indices = parse_index_list(reply)
    _well_formed(indices)
    if indices.ok:
        assert all(type(i) is int and i >= 1 for i in indices.value)
        assert len(set(indices.value)) == len(indices.value)


grid = st.integers(min_value=0, max_value=1000)


@fast
@given(
    a=grid,
    b=grid,
    c=grid,
    d=grid,
    form=st.sampled_from(["[{}, {}, {}, {}]", "({},{}),({},{})", "x1={}, y1={}, x2={}, y2={}"]),
)
def test_a_written_box_reads_back(a: int, b: int, c: int, d: int, form: str) -> None:
    parsed = parse_box(form.format(a, b, c, d))
    if a == c or b == d:
        assert parsed.status == "invalid"  # zero width or height
    else:
        assert parsed.value == (min(a, c), min(b, d), max(a, c), max(b, d))


@fast
@given(
    x=grid,
    y=grid,
    cm=st.integers(min_value=1, max_value=5000),
    form=st.sampled_from(["({}, {}), depth {} cm", "x={}, y={}, depth: {} cm", "[{}, {}] at {} centimeters"]),
)
def test_a_written_point_reads_back(x: int, y: int, cm: int, form: str) -> None:
    parsed = parse_image_point(form.format(x, y, cm))
    assert parsed.value == pytest.approx((x, y, cm / 100), rel=1e-12)


@fast
@given(
    numbers=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6, unique=True),
    form=st.sampled_from(["images {}", "[{}]", "Answer: {}"]),
)
def test_a_written_list_reads_back(numbers: list[int], form: str) -> None:
    listed = ", ".join(map(str, numbers[:-1])) + (" and " if len(numbers) > 1 else "") + str(numbers[-1])
    if form == "[{}]":
        listed = ", ".join(map(str, numbers))
    assert parse_index_list(form.format(listed)).value == tuple(numbers)


# --- box_iou ------------------------------------------------------------------------------------------------

UNIT = (0.0, 0.0, 100.0, 100.0)  # area 100 * 100 = 10000


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        (UNIT, 1.0),
        ((50.0, 0.0, 150.0, 100.0), 1 / 3),  # inter 50*100 = 5000, union 10000 + 10000 - 5000 = 15000
        ((0.0, 0.0, 100.0, 50.0), 0.5),  # inter 5000, union 10000
        ((0.0, 0.0, 200.0, 100.0), 0.5),  # inter 10000, union 20000
        ((-50.0, -50.0, 150.0, 150.0), 0.25),  # contains it: 10000 / 40000
        ((25.0, 25.0, 75.0, 75.0), 0.25),  # inside it: 2500 / 10000
        ((50.0, 50.0, 150.0, 150.0), 2500 / 17500),  # inter 50*50, union 20000 - 2500
        ((100.0, 0.0, 200.0, 100.0), 0.0),  # touching edges
        ((300.0, 300.0, 400.0, 400.0), 0.0),  # disjoint
        ((50.0, 0.0, 50.0, 100.0), 0.0),  # a zero-area prediction
    ],
)
def test_box_iou_hand_computed(pred: tuple, expected: float) -> None:
    assert metrics.box_iou(pred, UNIT) == pytest.approx(expected, abs=1e-15)
    assert metrics.box_iou(UNIT, pred) == pytest.approx(expected, abs=1e-15)  # symmetric


def test_box_iou_threshold_is_inclusive() -> None:
    assert metrics.BOX_IOU_THRESHOLD == 0.5
    assert metrics.box_iou((0, 0, 100, 50), UNIT) == 0.5  # exactly: 5000 / 10000
    assert metrics.box_iou_success((0, 0, 100, 50), UNIT)
    assert metrics.box_iou((0, 0, 100, 49), UNIT) == 0.49  # 4900 / 10000
    assert not metrics.box_iou_success((0, 0, 100, 49), UNIT)
    assert metrics.box_iou_success((50, 0, 150, 100), UNIT, threshold=1 / 3)
    assert not metrics.box_iou_success((50, 0, 150, 100), UNIT, threshold=0.34)


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ((0, 0, 0, 0), (0, 0, 0, 0)),  # empty union
        ((100, 0, 0, 100), UNIT),  # x1 < x0: the caller must normalise
        ((0, 0, 100), UNIT),
        ((0, 0, math.nan, 100), UNIT),
        (UNIT, (0, 0, math.inf, 100)),
    ],
)
def test_box_iou_undefined_is_a_failure(pred: tuple, gold: tuple) -> None:
    assert math.isnan(metrics.box_iou(pred, gold))
    assert metrics.box_iou_success(pred, gold, threshold=0.0) is False


def test_box_iou_metamorphic() -> None:
    """IoU is unchanged when both boxes move together or are scaled together about the origin."""
    rng = random.Random(9)
    for _ in range(200):
        boxes = []
        for _ in range(2):
            x0, y0 = rng.uniform(0, 500), rng.uniform(0, 500)
            boxes.append((x0, y0, x0 + rng.uniform(1, 400), y0 + rng.uniform(1, 400)))
        a, b = boxes
        iou = metrics.box_iou(a, b)
        dx, dy, s = rng.uniform(-200, 200), rng.uniform(-200, 200), rng.uniform(0.1, 3)

        def moved(box: tuple, dx: float = dx, dy: float = dy) -> tuple:
            return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)

        def scaled(box: tuple, s: float = s) -> tuple:
            return tuple(v * s for v in box)

        assert metrics.box_iou(moved(a), moved(b)) == pytest.approx(iou, abs=1e-9)
        assert metrics.box_iou(scaled(a), scaled(b)) == pytest.approx(iou, abs=1e-9)
        assert 0.0 <= iou <= 1.0


# --- image_point_within -------------------------------------------------------------------------------------

GOLD_POINT = (500.0, 500.0, 2.0)


def test_image_point_defaults() -> None:
    assert metrics.IMAGE_POINT_MAX_GRID_ERROR == 100.0
    assert metrics.IMAGE_POINT_MAX_RELATIVE_DEPTH_ERROR == 0.25


def test_image_point_bounds_are_inclusive_on_both_sides() -> None:
    # (60, 80) off: sqrt(60^2 + 80^2) = 100 exactly; depth 2.5 vs 2: |0.5| = 0.25 * 2 exactly
    assert metrics.image_point_errors((560, 580, 2.5), GOLD_POINT) == (100.0, 0.25)
    assert metrics.image_point_within((560, 580, 2.5), GOLD_POINT)
    assert metrics.image_point_within((440, 420, 1.5), GOLD_POINT)  # the other way: 1.5 = 2 - 0.5
    # just outside the grid bound: sqrt(60^2 + 80.5^2) = 100.40 > 100
    assert not metrics.image_point_within((560, 580.5, 2.0), GOLD_POINT)
    # just outside the depth band on either side
    assert not metrics.image_point_within((500, 500, 2.5000001), GOLD_POINT)
    assert not metrics.image_point_within((500, 500, 1.4999999), GOLD_POINT)
    # gold 4 m: the band is [3, 5] m
    assert metrics.image_point_within((500, 500, 3.0), (500, 500, 4.0))
    assert metrics.image_point_within((500, 500, 5.0), (500, 500, 4.0))
    assert not metrics.image_point_within((500, 500, 5.01), (500, 500, 4.0))


def test_image_point_needs_both_conditions() -> None:
    assert not metrics.image_point_within((500, 500, 4.0), GOLD_POINT)  # right place, depth 2x
    assert not metrics.image_point_within((700, 500, 2.0), GOLD_POINT)  # right depth, 200 units off
    assert metrics.image_point_within((700, 500, 2.0), GOLD_POINT, max_grid_error=200)
    assert metrics.image_point_within((500, 500, 4.0), GOLD_POINT, max_relative_depth_error=1.0)


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ((500, 500, 2.0), (500, 500, 0.0)),  # no relative depth error without a positive gold depth
        ((500, 500, 2.0), (500, 500, -2.0)),
        ((500, 500, math.nan), GOLD_POINT),
        ((500, math.inf, 2.0), GOLD_POINT),
        ((500, 500), GOLD_POINT),
    ],
)
def test_image_point_undefined_is_a_failure(pred: tuple, gold: tuple) -> None:
    distance, depth_error = metrics.image_point_errors(pred, gold)
    assert math.isnan(distance) and math.isnan(depth_error)
    assert metrics.image_point_within(pred, gold, math.inf, math.inf) is False


# --- exact_set / exact_sequence -----------------------------------------------------------------------------


def test_exact_set_and_sequence() -> None:
    assert metrics.exact_set((4, 2), (2, 4))
    assert metrics.exact_set((2, 4, 2), (2, 4))  # repeats collapse
    assert not metrics.exact_set((2,), (2, 4))
    assert not metrics.exact_set((2, 4, 5), (2, 4))
    assert not metrics.exact_set((), (2,))
    assert metrics.exact_set((), ())
    assert metrics.exact_sequence((2, 4), (2, 4))
    assert metrics.exact_sequence([2, 4], (2, 4))  # list or tuple alike
    assert not metrics.exact_sequence((4, 2), (2, 4))
    assert not metrics.exact_sequence((2, 4, 2), (2, 4))
