"""Angle answers: the angle_within metric (golden values by hand), degree parsing, and scoring through rules.

Values are written in degrees and converted with math.radians; each expected error is the hand-computed
difference, the short way round the circle when circular.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialforge.bench.items import PredictionItem
from spatialforge.bench.metrics import (
    VIEWPOINT_AZIMUTH_THRESHOLD_RAD,
    VIEWPOINT_ELEVATION_THRESHOLD_RAD,
    angle_error_rad,
    angle_within,
)
from spatialforge.bench.parsers import PARSER_VERSION, parse_angle, parse_number
from spatialforge.bench.parsers.units import canonical_angle_unit, convert, dimension
from spatialforge.bench.rules import ScoringRule, score_item

r = math.radians


# ---------------------------------------------------------------- metric


@pytest.mark.parametrize(
    ("pred", "gold", "circular", "error"),
    [
        (30.0, 0.0, True, 30.0),
        (-30.0, 0.0, True, 30.0),
        (170.0, -170.0, True, 20.0),  # across +-180: 170 -> 180 -> -170 is 20, not 340
        (-179.0, 179.0, True, 2.0),
        (180.0, -180.0, True, 0.0),  # the same direction
        (0.0, 180.0, True, 180.0),  # the largest circular error
        (90.0, -90.0, True, 180.0),
        (370.0, 10.0, True, 0.0),  # a full turn apart
        (270.0, -90.0, True, 0.0),  # "270 degrees" is -90
        (-100.0, 100.0, True, 160.0),  # 200 one way, 160 the other
        (170.0, -170.0, False, 340.0),  # bounded angles do not wrap
        (-10.0, 25.0, False, 35.0),
        (45.0, 45.0, False, 0.0),
    ],
)
def test_angle_error_golden_values(pred, gold, circular, error):
    assert math.degrees(angle_error_rad(r(pred), r(gold), circular=circular)) == pytest.approx(
        error, abs=1e-9
    )
    assert angle_error_rad(r(gold), r(pred), circular=circular) == pytest.approx(
        angle_error_rad(r(pred), r(gold), circular=circular), abs=1e-15
    )  # symmetric


def test_angle_error_is_exact_at_the_threshold_and_undefined_for_bad_input():
    # math.remainder is exact: pi/6 - 0 stays pi/6, so the inclusive threshold holds at the boundary.
    assert angle_error_rad(math.pi / 6, 0.0, circular=True) == math.pi / 6
    assert angle_within(math.pi / 6, 0.0, math.pi / 6, circular=True)
    assert not angle_within(math.pi / 6 + 1e-12, 0.0, math.pi / 6, circular=True)
    assert angle_within(-math.pi / 6, 0.0, math.pi / 6, circular=False)
    for bad in (math.nan, math.inf, -math.inf):
        assert math.isnan(angle_error_rad(bad, 0.0, circular=True))
        assert not angle_within(bad, 0.0, math.pi / 6, circular=True)
        assert not angle_within(0.0, bad, math.pi / 6, circular=False)


@pytest.mark.parametrize(
    ("pred", "gold", "circular", "threshold", "ok"),
    [
        (170.0, -170.0, True, 30.0, True),  # 20 <= 30 across the wrap
        (170.0, -170.0, False, 30.0, False),  # 340 as a bounded angle
        (-150.0, 170.0, True, 30.0, False),  # 320 one way, 40 the other
        (-165.0, 170.0, True, 30.0, True),  # 335 one way, 25 the other
        (12.0, 3.0, False, 10.0, True),  # 9 <= 10
        (14.0, 3.0, False, 10.0, False),  # 11 > 10
    ],
)
def test_angle_within_golden_values(pred, gold, circular, threshold, ok):
    assert angle_within(r(pred), r(gold), r(threshold), circular=circular) is ok


def test_viewpoint_thresholds_are_pi_over_6_and_pi_over_18():
    assert VIEWPOINT_AZIMUTH_THRESHOLD_RAD == math.pi / 6  # 30 deg, PASCAL3D+ / ImageNet3D Acc_pi/6
    assert VIEWPOINT_ELEVATION_THRESHOLD_RAD == math.pi / 18  # 10 deg


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("reply", "degrees", "unit"),
    [
        ("35 degrees", 35.0, "deg"),
        ("It is 35\u00b0.", 35.0, "deg"),
        ("35 deg", 35.0, "deg"),
        ("35deg", 35.0, "deg"),
        ("about 35 \u00ba", 35.0, "deg"),
        ("One degree.", 1.0, "deg"),
        ("ninety degrees", 90.0, "deg"),
        ("-90\u00b0", -90.0, "deg"),
        ("\u221245 degrees", -45.0, "deg"),  # typographic minus
        ("The answer is 270 degrees.", 270.0, "deg"),  # not wrapped: the metric wraps
        ("roughly 30-40 degrees", 35.0, "deg"),  # a range: its mean
        ("0.5 rad", math.degrees(0.5), "rad"),
        ("1.2 radians", math.degrees(1.2), "rad"),
        ("The car is 6 meters away and seen at 45 degrees.", 45.0, "deg"),  # lengths never answer
        ("35", 35.0, None),  # a bare number: degrees by default
        ("Answer: 120", 120.0, None),
    ],
)
def test_parse_angle_reads_degrees_and_radians(reply, degrees, unit):
    parsed = parse_angle(reply)
    assert parsed.ok, parsed
    assert parsed.value == pytest.approx(math.radians(degrees), abs=1e-12)
    assert parsed.unit == unit


def test_parse_angle_refusals_and_non_angles():
    assert parse_angle("It is 3 meters away.").status == "invalid"
    assert parse_angle("Either 30 or 40 degrees.").status == "ambiguous"
    assert parse_angle("I cannot determine the angle.").status == "refusal"
    assert parse_angle("").status == "no_answer"
    assert parse_angle("35", default_unit=None).status == "invalid"  # a bare number needs a default unit
    assert parse_angle("35 degrees", to_unit="deg").value == pytest.approx(35.0)
    with pytest.raises(ValueError, match="angle unit"):
        parse_angle("35 degrees", to_unit="m")
    with pytest.raises(ValueError, match="does not fit"):
        parse_number("35 degrees", to_unit="m", default_unit="deg")


def test_other_requests_read_exactly_as_before():
    # Angle units are only read in an angle request: degrees stay bare numbers for every other to_unit,
    # lengths keep winning over them, and "none" returns the number as written without a unit.
    assert parse_number("It is rotated by 30\u00b0.", to_unit="none").value == 30.0
    assert parse_number("It is rotated by 30\u00b0.", to_unit="none").unit is None
    assert parse_number("90 degrees", to_unit="none").value == 90.0
    assert parse_number("3 meters at 45 degrees", to_unit="m").value == 3.0
    assert parse_number("45 degrees", to_unit="m", default_unit="m").value == 45.0  # bare, as before
    assert parse_number("30\u00b0 to 40\u00b0", to_unit="none").value == 40.0  # two numbers, not a range
    assert PARSER_VERSION == "1.1.0"


def test_angle_units_convert_within_their_dimension_only():
    assert convert(180.0, "deg", "rad") == pytest.approx(math.pi)
    assert convert(math.pi, "rad", "deg") == pytest.approx(180.0)
    assert dimension("deg") == dimension("rad") != dimension("m")
    assert canonical_angle_unit("Degrees") == "deg" and canonical_angle_unit("\u00b0") == "deg"
    assert canonical_angle_unit("meters") is None
    with pytest.raises(ValueError, match="different dimensions"):
        convert(1.0, "deg", "m")


# ---------------------------------------------------------------- scoring through bench.rules

AZIMUTH = ScoringRule("angle", "angle_within", {}, {"threshold_rad": math.pi / 6, "circular": True})
ELEVATION = ScoringRule("angle", "angle_within", {}, {"threshold_rad": math.pi / 18, "circular": False})


def _item(reply: str, gold: object, gold_unit: str | None = "rad") -> PredictionItem:
    return PredictionItem("q1", "object_viewpoint_angle", reply, gold, gold_unit=gold_unit)


def test_score_angle_items():
    gold = r(170.0)
    right = score_item(_item("About -175 degrees.", gold), AZIMUTH)  # 15 deg the short way
    assert (right.score, right.correct, right.parse_status) == (1.0, True, "ok")
    assert right.gold_value == pytest.approx(gold) and "error 15.0 deg" in right.reason
    wrong = score_item(_item("135 degrees", gold), AZIMUTH)  # 35 deg > 30
    assert (wrong.score, wrong.correct) == (0.0, False)
    assert score_item(_item("-175", gold), AZIMUTH).score == 1.0  # a bare number is read in degrees
    # Bounded: 170 vs -175 is 345 deg apart, never wrapped; 12 vs 3 is 9 <= 10, 14 vs 3 is 11 > 10.
    assert score_item(_item("-175", gold), ELEVATION).score == 0.0
    assert score_item(_item("12 degrees", r(3.0)), ELEVATION).score == 1.0
    assert score_item(_item("14 degrees", r(3.0)), ELEVATION).score == 0.0
    unparsed = score_item(_item("No idea, sorry, I cannot tell.", gold), AZIMUTH)
    assert (unparsed.score, unparsed.correct, unparsed.parse_status) == (0.0, False, "refusal")


def test_score_angle_golds_in_degrees_or_text():
    assert score_item(_item("35 degrees", 40.0, gold_unit="deg"), AZIMUTH).score == 1.0
    assert score_item(_item("35 degrees", "40 degrees", gold_unit=None), AZIMUTH).score == 1.0
    assert score_item(_item("35 degrees", "40", gold_unit=None), AZIMUTH).score == 1.0  # text: degrees
    assert score_item(_item("0.6 rad", 0.7, gold_unit=None), AZIMUTH).score == 1.0  # number: radians
    for bad, unit in ((True, None), ("north", None), (1.0, "m"), (math.inf, "rad")):
        with pytest.raises(ValueError, match="q1"):
            score_item(_item("35 degrees", bad, gold_unit=unit), AZIMUTH)


def test_angle_rules_need_their_parameters():
    with pytest.raises(ValueError, match="threshold_rad and circular"):
        score_item(_item("35 degrees", 0.6), ScoringRule("angle", "angle_within", {}, {"circular": True}))
    with pytest.raises(ValueError, match="true or false"):
        score_item(
            _item("35 degrees", 0.6),
            ScoringRule("angle", "angle_within", {}, {"threshold_rad": 0.5, "circular": "yes"}),
        )
    with pytest.raises(ValueError, match="radians"):
        score_item(
            _item("35 degrees", 0.6),
            ScoringRule(
                "angle", "angle_within", {"to_unit": "deg"}, {"threshold_rad": 0.5, "circular": True}
            ),
        )


# ---------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_angle_never_raises(text):
    parsed = parse_angle(text)
    assert parsed.ok == (parsed.value is not None)
    if parsed.ok:
        assert math.isfinite(parsed.value)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-1e4, 1e4, allow_nan=False),
    st.floats(-1e4, 1e4, allow_nan=False),
    st.integers(-5, 5),
)
def test_circular_error_is_symmetric_bounded_and_turn_invariant(a, b, turns):
    err = angle_error_rad(a, b, circular=True)
    assert 0.0 <= err <= math.pi
    assert angle_error_rad(b, a, circular=True) == pytest.approx(err, abs=1e-9)
    assert angle_error_rad(a + turns * 2 * math.pi, b, circular=True) == pytest.approx(err, abs=1e-9)
    assert err <= angle_error_rad(a, b, circular=False) + 1e-12
