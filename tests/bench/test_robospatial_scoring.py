"""Pointing scored against a polygon (RoboSpatial-Home context): point-list parser, point-in-polygon metric,
the `points` answer type and the `robospatial` spec's totals."""

from __future__ import annotations

import math

import pytest

from spatialforge.bench import metrics
from spatialforge.bench.benchmarks import ScoreColumns, TaskScore, available_benchmarks, get_benchmark
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.parsers import parse_points
from spatialforge.bench.rules import ScoringRule, gold_value, score_item

SQUARE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
TRIANGLE = [(0.0, 0.0), (1.0, 0.0), (0.5, 1.0)]
# Concave "L": the notch x > 0.52, y < 0.40 is outside; slanted sides, no vertical edge.
L_SHAPE = [(0.10, 0.10), (0.52, 0.12), (0.50, 0.40), (0.90, 0.42), (0.88, 0.80), (0.12, 0.78)]
VARIANTS = ("as_released", "corrected")


# --- parser -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "points"),
    [
        ("[(0.31, 0.72), (0.4, 0.5)]", ((0.31, 0.72), (0.4, 0.5))),
        ("[[0.3, 0.4], [0.5, 0.6]]", ((0.3, 0.4), (0.5, 0.6))),
        ('[{"point_2d": [0.3, 0.4], "label": "point_1"}]', ((0.3, 0.4),)),
        ("(.5, .25)", ((0.5, 0.25),)),
        ("[(0.3 0.4)]", ((0.3, 0.4),)),
        ("Here: (0.2, 0.3) and (0.4, 0.5).", ((0.2, 0.3), (0.4, 0.5))),
        ("[(0.1, 0.2), (0.3, 0.4),]", ((0.1, 0.2), (0.3, 0.4))),
        # The answer list wins over a position the reply only mentions; the released scorer reads (0.5, 0.6).
        ("The bowl is at (0.5, 0.6). Free space: [(0.2, 0.6), (0.25, 0.65)]", ((0.2, 0.6), (0.25, 0.65))),
        ("First guess [(0.1, 0.1)]. Final answer: [(0.3, 0.3)]", ((0.3, 0.3),)),
        ("<think>maybe [(0.9, 0.9)]</think>[(0.2, 0.2)]", ((0.2, 0.2),)),
        ("[(0.2, 0.2)] ... so again [(0.2, 0.2)]", ((0.2, 0.2),)),
        ("**[(0.25, 0.75)]**", ((0.25, 0.75),)),
    ],
)
def test_points_read(reply: str, points: tuple) -> None:
    parsed = parse_points(reply)
    assert parsed.ok, parsed
    assert parsed.value == points


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("[(320, 240), (300, 250)]", "invalid"),  # pixels
        ("[512, 340]", "invalid"),  # 0-1000 grid
        ("[(-0.1, 0.5)]", "invalid"),
        ("[(0.2, 0.4), (1.2, 0.5)]", "invalid"),
        ("[(0.1, 0.1)] or maybe [(0.5, 0.5)]", "ambiguous"),
        ("I cannot determine where the free space is.", "refusal"),
        ("Yes", "no_answer"),
        ("", "no_answer"),
        ("(0.1, 0.2, 0.3)", "no_answer"),  # a triple is no point
    ],
)
def test_points_not_read(reply: str, status: str) -> None:
    parsed = parse_points(reply)
    assert parsed.status == status, parsed
    assert parsed.value is None


# --- metric -------------------------------------------------------------------------------------------------


def test_released_test_fails_on_vertical_edges() -> None:
    # evaluation.py's ray casting flips on every vertical edge whose y-range holds the point: the square's
    # centre crosses two and comes out "outside"; a point right of the square crosses two as well.
    assert metrics.point_in_polygon(0.5, 0.5, SQUARE, "as_released") is False
    assert metrics.point_in_polygon(0.5, 0.5, SQUARE, "corrected") is True
    assert metrics.point_in_polygon(1.5, 0.5, SQUARE, "as_released") is False
    assert metrics.point_in_polygon(1.5, 0.5, SQUARE, "corrected") is False
    # One vertical edge (x = 0) with the point to its right: "inside" when the other sides miss the ray.
    right_triangle = [(0.0, 0.0), (1.0, 0.5), (0.0, 1.0)]
    assert metrics.point_in_polygon(0.9, 0.2, right_triangle, "as_released") is True
    assert metrics.point_in_polygon(0.9, 0.2, right_triangle, "corrected") is False


@pytest.mark.parametrize("variant", VARIANTS)
def test_both_tests_agree_without_vertical_edges(variant: str) -> None:
    assert metrics.point_in_polygon(0.5, 0.3, TRIANGLE, variant) is True
    assert metrics.point_in_polygon(0.9, 0.9, TRIANGLE, variant) is False
    # Concave polygon: inside either arm, outside in the notch and beyond.
    assert metrics.point_in_polygon(0.3, 0.3, L_SHAPE, variant) is True
    assert metrics.point_in_polygon(0.75, 0.6, L_SHAPE, variant) is True
    assert metrics.point_in_polygon(0.75, 0.25, L_SHAPE, variant) is False
    assert metrics.point_in_polygon(0.05, 0.5, L_SHAPE, variant) is False


def test_points_on_edges_and_vertices() -> None:
    on_boundary = [(0.5, 0.0), (0.25, 0.5), (0.75, 0.5), (0.5, 1.0), (0.0, 0.0)]
    # corrected: the boundary belongs to the region.
    assert all(metrics.point_in_polygon(x, y, TRIANGLE, "corrected") for x, y in on_boundary)
    # as released (hand-traced): the horizontal bottom edge never counts (y > min fails), the left side
    # flips twice (x <= x_intersection on both slanted edges), the right side once, the apex twice.
    released = [metrics.point_in_polygon(x, y, TRIANGLE, "as_released") for x, y in on_boundary]
    assert released == [False, False, True, False, False]


@pytest.mark.parametrize("variant", VARIANTS)
def test_region_of_several_polygons(variant: str) -> None:
    left = [(0.0, 0.0), (0.4, 0.1), (0.2, 0.5)]
    right = [(0.6, 0.5), (1.0, 0.6), (0.8, 0.9)]
    assert metrics.point_in_region(0.2, 0.2, [left, right], variant) is True
    assert metrics.point_in_region(0.8, 0.65, [left, right], variant) is True
    assert metrics.point_in_region(0.5, 0.5, [left, right], variant) is False


@pytest.mark.parametrize("variant", VARIANTS)
def test_pixel_coordinates_answer_as_normalised_ones(variant: str) -> None:
    # The test is scale-free: the same point and polygon in pixels (640 x 480) answer alike.
    width, height = 640.0, 480.0
    pixels = [(x * width, y * height) for x, y in L_SHAPE]
    for x, y in [(0.3, 0.3), (0.75, 0.6), (0.75, 0.25), (0.05, 0.5), (0.5, 0.41)]:
        normalised = metrics.point_in_polygon(x, y, L_SHAPE, variant)
        assert metrics.point_in_polygon(x * width, y * height, pixels, variant) is normalised
    # A pixel reply against a normalised polygon is outside it (what the released scorer gives such replies).
    assert metrics.point_in_polygon(0.3 * width, 0.3 * height, L_SHAPE, variant) is False


def test_unusable_input_is_outside() -> None:
    assert metrics.point_in_polygon(math.nan, 0.5, TRIANGLE) is False
    assert metrics.point_in_polygon(0.5, math.inf, TRIANGLE) is False
    assert metrics.point_in_polygon(0.5, 0.3, TRIANGLE[:2]) is False
    assert metrics.point_in_polygon(0.5, 0.3, [(0.0, 0.0), (1.0, math.nan), (0.5, 1.0)]) is False
    with pytest.raises(ValueError, match="variant"):
        metrics.point_in_polygon(0.5, 0.3, TRIANGLE, "exact")


def test_which_points_count() -> None:
    region = [TRIANGLE]
    inside, outside = (0.5, 0.3), (0.9, 0.9)
    assert metrics.points_in_region([inside, outside], region, "first") is True
    assert metrics.points_in_region([outside, inside], region, "first") is False
    assert metrics.points_in_region([outside, inside], region, "any") is True
    assert metrics.points_in_region([outside, inside], region, "all") is False
    assert metrics.points_in_region([inside, inside], region, "all") is True
    assert metrics.points_in_region([], region, "any") is False
    with pytest.raises(ValueError, match="selection"):
        metrics.points_in_region([inside], region, "most")


# --- answer type, rule and spec -----------------------------------------------------------------------------


def context_item(reply: str, gold: object = tuple(SQUARE)) -> PredictionItem:
    return PredictionItem("context_0", "context", reply, gold)


def test_spec_rules_and_variants() -> None:
    assert "robospatial" in available_benchmarks()
    spec = get_benchmark("robospatial")
    assert spec.variant == "as_released"
    assert spec.rule_for(context_item("")) == ScoringRule(
        "points", "point_in_polygon", {}, {"points": "first", "variant": "as_released"}
    )
    for task in ("configuration", "compatibility"):
        assert spec.rule_for(PredictionItem("x", task, "", "yes")) == ScoringRule("yes_no", "accuracy")
    with pytest.raises(ValueError, match="not a RoboSpatial-Home category"):
        spec.rule_for(PredictionItem("x", "grounding", "", "yes"))
    assert (
        get_benchmark("robospatial", "corrected").rule_for(context_item("")).params["variant"] == "corrected"
    )
    with pytest.raises(KeyError):
        get_benchmark("robospatial", "lenient")


def test_context_item_scored_by_its_first_point() -> None:
    released, corrected = get_benchmark("robospatial"), get_benchmark("robospatial", "corrected")
    centre = context_item("[(0.5, 0.5), (2.0, 2.0)]")  # a second point off the scale spoils the reply
    assert score_item(centre, released.rule_for(centre)).parse_status == "invalid"
    centre = context_item("[(0.5, 0.5), (0.9, 0.9)]")
    decision = score_item(centre, released.rule_for(centre))
    assert (decision.score, decision.correct) == (0.0, False)  # the square's vertical edges, as released
    assert "first point (0.5, 0.5)" in decision.reason
    decision = score_item(centre, corrected.rule_for(centre))
    assert (decision.score, decision.correct) == (1.0, True)
    unread = context_item("somewhere on the left")
    decision = score_item(unread, released.rule_for(unread))
    assert (decision.score, decision.correct, decision.parse_status) == (0.0, False, "no_answer")


def test_gold_regions() -> None:
    rule = get_benchmark("robospatial", "corrected").rule_for(context_item(""))
    text = "[(0.1, 0.1), (0.5, 0.1), (0.3, 0.6)]"
    assert gold_value(context_item("", text), rule) == (((0.1, 0.1), (0.5, 0.1), (0.3, 0.6)),)
    as_lists = ([0.1, 0.1], [0.5, 0.1], [0.3, 0.6])  # answer_value from items.jsonl, outer list as tuple
    assert gold_value(context_item("", as_lists), rule) == gold_value(context_item("", text), rule)
    two = [TRIANGLE, [(0.6, 0.6), (0.9, 0.6), (0.8, 0.9)]]
    assert len(gold_value(context_item("", two), rule)) == 2
    decision = score_item(context_item("[(0.8, 0.7)]", two), rule)
    assert decision.correct is True
    for bad in ([(0.1, 0.1), (0.5, 0.1)], [(0.1, 0.1), (5.0, 0.1), (0.3, 0.6)], [], "no polygon", 3.0):
        with pytest.raises(ValueError):
            gold_value(context_item("", bad), rule)


def test_points_pair_only_with_point_in_polygon() -> None:
    item = context_item("[(0.5, 0.5)]")
    for rule in (
        ScoringRule("points", "accuracy"),
        ScoringRule("yes_no", "point_in_polygon"),
        ScoringRule("points", "point_in_polygon", {}, {"variant": "loose"}),
        ScoringRule("points", "point_in_polygon", {}, {"points": "half"}),
    ):
        with pytest.raises(ValueError):
            score_item(item, rule)


def columns(rows: list[tuple[str, float]]) -> ScoreColumns:
    out = ScoreColumns()
    for task, score in rows:
        out.task.append(task)
        out.score.append(score)
    return out


def test_totals_as_the_readme_leaderboard() -> None:
    spec = get_benchmark("robospatial")
    rows = (
        [("configuration", 1.0)] * 3
        + [("configuration", 0.0)]
        + [("compatibility", 1.0), ("compatibility", 0.0)]
    )
    rows += [("context", 1.0)] + [("context", 0.0)] * 3
    tasks = {}
    for task in ("configuration", "compatibility", "context"):
        scores = [s for t, s in rows if t == task]
        tasks[task] = TaskScore(task, len(scores), sum(scores) / len(scores), {}, "accuracy", None, None)
    totals = spec.totals(tasks, columns(rows))
    assert math.isclose(totals["vqa_average"], (0.75 + 0.5) / 2)
    # README "Total": the mean of the three categories, not the 5/10 of all items (main.py's number).
    assert math.isclose(totals["overall"], (0.75 + 0.5 + 0.25) / 3)
    assert math.isclose(totals["all_items"], 5 / 10)
    with pytest.raises(ValueError, match="no categories"):
        spec.totals({"grounding": tasks["context"]}, columns([]))
