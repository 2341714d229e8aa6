"""parse_number with area (to_unit="m^2") and volume (to_unit="m^3") units, added in parser version 1.1.0.

Expected values are worked out by hand from the exact definitions: 1 ft = 0.3048 m, 1 in = 0.0254 m,
1 yd = 0.9144 m, 1 L = 0.001 m^3 (so 1 sq ft = 0.09290304 m^2, 1 cu ft = 0.028316846592 m^3).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialforge.bench.parsers import PARSER_VERSION, UNIT_TO_M, parse_number, parse_qspatial
from spatialforge.bench.parsers.units import (
    AREA_ALIASES,
    UNIT_TO_M2,
    UNIT_TO_M3,
    VOLUME_ALIASES,
    canonical_quantity_unit,
    canonical_unit,
    convert,
)
from spatialforge.qa.units import AREA_TO_M2, VOLUME_TO_M3, format_area, format_volume

SQ_FT = 0.09290304  # 0.3048^2, exact
CU_FT = 0.028316846592  # 0.3048^3, exact
SQ_IN = 0.00064516  # 0.0254^2
CU_IN = 0.000016387064  # 0.0254^3
SQ_YD = 0.83612736  # 0.9144^2
CU_YD = 0.764554857984  # 0.9144^3


def test_parser_version_is_1_1_0() -> None:
    assert PARSER_VERSION == "1.1.0"


def test_area_and_volume_factors_are_the_exact_definitions() -> None:
    assert dict(UNIT_TO_M2) == pytest.approx(
        {"m^2": 1.0, "cm^2": 1e-4, "mm^2": 1e-6, "km^2": 1e6, "sq in": SQ_IN, "sq ft": SQ_FT, "sq yd": SQ_YD},
        rel=1e-15,
    )
    assert dict(UNIT_TO_M3) == pytest.approx(
        {
            "m^3": 1.0,
            "cm^3": 1e-6,
            "mm^3": 1e-9,
            "L": 1e-3,
            "mL": 1e-6,
            "cu in": CU_IN,
            "cu ft": CU_FT,
            "cu yd": CU_YD,
        },
        rel=1e-15,
    )
    # qa.units renders with the same factors, so a rendered quantity reads back exactly.
    for unit, factor in AREA_TO_M2.items():
        assert UNIT_TO_M2[unit] == factor
    for unit, factor in VOLUME_TO_M3.items():
        assert UNIT_TO_M3[unit] == factor
    with pytest.raises(TypeError):
        UNIT_TO_M3["L"] = 1.0  # type: ignore[index]


def test_length_tables_are_unchanged() -> None:
    assert set(UNIT_TO_M) == {"m", "cm", "mm", "km", "in", "ft", "yd"}
    assert canonical_unit("liters") is None and canonical_unit("sq ft") is None  # Q-Spatial: lengths only
    assert canonical_quantity_unit("Sq. Ft.") == "sq ft"
    assert canonical_quantity_unit("Litres") == "L"
    assert canonical_quantity_unit("Metres.") == "m"
    assert canonical_quantity_unit("furlong") is None
    assert not set(AREA_ALIASES) & set(VOLUME_ALIASES)


def test_convert_refuses_different_dimensions() -> None:
    assert convert(2.0, "cu ft", "L") == pytest.approx(2 * CU_FT / 1e-3)
    with pytest.raises(ValueError):
        convert(1.0, "m", "m^2")
    with pytest.raises(ValueError):
        convert(1.0, "L", "sq ft")


# --- golden cases: every spelling -------------------------------------------------------------------

VOLUME_CASES = [
    ("The box has a volume of 25.3 liters.", 0.0253, "L"),
    ("about 0.893 cubic feet", 0.893 * CU_FT, "cu ft"),
    ("0.45 cubic meters", 0.45, "m^3"),
    ("1 cubic meter", 1.0, "m^3"),
    ("2 cubic metres", 2.0, "m^3"),
    ("12.5 m^3", 12.5, "m^3"),
    ("12.5 m^{3}", 12.5, "m^3"),
    ("3 m\u00b3", 3.0, "m^3"),
    ("3 m3", 3.0, "m^3"),
    ("3 meters cubed", 3.0, "m^3"),
    ("120 L", 0.12, "L"),
    ("120 l", 0.12, "L"),
    ("1 liter", 0.001, "L"),
    ("1 litre", 0.001, "L"),
    ("2.5 litres", 0.0025, "L"),
    ("1 cubic foot", CU_FT, "cu ft"),
    ("2 cu ft", 2 * CU_FT, "cu ft"),
    ("2 cu. ft.", 2 * CU_FT, "cu ft"),
    ("2 cuft", 2 * CU_FT, "cu ft"),
    ("2 ft^3", 2 * CU_FT, "cu ft"),
    ("2 ft\u00b3", 2 * CU_FT, "cu ft"),
    ("2 feet cubed", 2 * CU_FT, "cu ft"),
    ("500 cubic centimeters", 500e-6, "cm^3"),
    ("500 cm^3", 500e-6, "cm^3"),
    ("500 cm\u00b3", 500e-6, "cm^3"),
    ("500 cc", 500e-6, "cm^3"),
    ("250 ml", 250e-6, "mL"),
    ("250 milliliters", 250e-6, "mL"),
    ("10 cubic inches", 10 * CU_IN, "cu in"),
    ("10 cu in", 10 * CU_IN, "cu in"),
    ("1 cubic yard", CU_YD, "cu yd"),
    ("It holds about a liter.", 0.001, "L"),
    ("It holds half a cubic meter.", 0.5, "m^3"),
    ("It holds two liters.", 0.002, "L"),
    ("The answer is 1,200 liters.", 1.2, "L"),
    ("Between 2 and 3 liters.", 0.0025, "L"),
    ("2-3 cubic feet", 2.5 * CU_FT, "cu ft"),
]

AREA_CASES = [
    ("4.2 square meters", 4.2, "m^2"),
    ("1 square meter", 1.0, "m^2"),
    ("4.2 square metres", 4.2, "m^2"),
    ("45.2 square feet", 45.2 * SQ_FT, "sq ft"),
    ("1 square foot", SQ_FT, "sq ft"),
    ("10 m\u00b2", 10.0, "m^2"),
    ("10 m^2", 10.0, "m^2"),
    ("10 m^{2}", 10.0, "m^2"),
    ("10 m2", 10.0, "m^2"),
    ("10 sq m", 10.0, "m^2"),
    ("10 sq. m", 10.0, "m^2"),
    ("10 sqm", 10.0, "m^2"),
    ("10 meters squared", 10.0, "m^2"),
    ("10 sq ft", 10 * SQ_FT, "sq ft"),
    ("10 sq. ft.", 10 * SQ_FT, "sq ft"),
    ("10 sqft", 10 * SQ_FT, "sq ft"),
    ("10 ft^2", 10 * SQ_FT, "sq ft"),
    ("10 ft\u00b2", 10 * SQ_FT, "sq ft"),
    ("10 square feet", 10 * SQ_FT, "sq ft"),
    ("300 square centimeters", 0.03, "cm^2"),
    ("300 cm^2", 0.03, "cm^2"),
    ("300 cm\u00b2", 0.03, "cm^2"),
    ("20 square inches", 20 * SQ_IN, "sq in"),
    ("20 sq in", 20 * SQ_IN, "sq in"),
    ("20 in^2", 20 * SQ_IN, "sq in"),
    ("3 square yards", 3 * SQ_YD, "sq yd"),
    ("The floor area is 12.5 square meters.", 12.5, "m^2"),
    ("The room is about a square meter.", 1.0, "m^2"),
    ("Final answer: 7 m^2", 7.0, "m^2"),
]


@pytest.mark.parametrize(("text", "si", "unit"), VOLUME_CASES, ids=[c[0] for c in VOLUME_CASES])
def test_volume_spellings(text: str, si: float, unit: str) -> None:
    parsed = parse_number(text, to_unit="m^3")
    assert parsed.ok, parsed
    assert parsed.value == pytest.approx(si, rel=1e-12) and parsed.unit == unit


@pytest.mark.parametrize(("text", "si", "unit"), AREA_CASES, ids=[c[0] for c in AREA_CASES])
def test_area_spellings(text: str, si: float, unit: str) -> None:
    parsed = parse_number(text, to_unit="m^2")
    assert parsed.ok, parsed
    assert parsed.value == pytest.approx(si, rel=1e-12) and parsed.unit == unit


def test_other_area_and_volume_target_units() -> None:
    assert parse_number("2 cubic meters", to_unit="L").value == pytest.approx(2000.0)
    assert parse_number("1 cubic foot", to_unit="L").value == pytest.approx(28.316846592)
    assert parse_number("1 square meter", to_unit="sq ft").value == pytest.approx(1 / SQ_FT)
    assert parse_number("1 sq yd", to_unit="sq ft").value == pytest.approx(9.0)
    assert parse_number("1 cu yd", to_unit="cu ft").value == pytest.approx(27.0)


@pytest.mark.parametrize(
    ("text", "to_unit"),
    [(text, "m^3") for text, _, _ in VOLUME_CASES] + [(text, "m^2") for text, _, _ in AREA_CASES],
)
def test_none_reads_every_area_and_volume_as_written(text: str, to_unit: str) -> None:
    written = parse_number(text, to_unit="none")
    assert written.ok and written.unit == parse_number(text, to_unit=to_unit).unit


def test_none_still_ignores_units() -> None:
    assert parse_number("The room is 25 m^2.", to_unit="none").value == 25.0
    assert parse_number("25.3 liters", to_unit="none").value == 25.3
    assert parse_number("0.893 cubic feet", to_unit="none").value == 0.893


# --- dimension mismatch -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "to_unit"),
    [
        ("3 meters", "m^3"),
        ("3 meters", "m^2"),
        ("The box is 40 cm wide.", "m^3"),
        ("5'3\"", "m^3"),
        ("20 liters", "m"),
        ("20 liters", "m^2"),
        ("0.5 cubic feet", "ft"),
        ("4.2 square meters", "m"),
        ("4.2 square meters", "m^3"),
        ("12.5 m^3", "m"),
        ("10 sq ft", "ft"),
        ("10 m\u00b2", "cm"),
        ("The answer is 3 meters squared.", "m"),
    ],
)
def test_a_unit_of_another_dimension_is_never_converted(text: str, to_unit: str) -> None:
    parsed = parse_number(text, to_unit=to_unit)
    assert parsed.status == "invalid" and parsed.value is None
    assert parsed.detail.startswith("wrong unit")


def test_a_unit_of_another_dimension_is_invalid_even_with_a_default_unit() -> None:
    parsed = parse_number("3 meters", to_unit="m^3", default_unit="m^3")
    assert parsed.status == "invalid" and "wrong unit" in parsed.detail
    parsed = parse_number("20 liters", to_unit="m", default_unit="m")
    assert parsed.status == "invalid" and "wrong unit" in parsed.detail


def test_numbers_with_the_fitting_dimension_win() -> None:
    reply = "The box is 2 m by 3 m by 0.5 m, so its volume is 3 cubic meters."
    assert parse_number(reply, to_unit="m^3", pick="first").value == pytest.approx(3.0)
    assert parse_number(reply, to_unit="m", pick="last").value == pytest.approx(0.5)
    area = "The table is 2 m long and its top is 1.5 square meters."
    assert parse_number(area, to_unit="m^2").value == pytest.approx(1.5)
    assert parse_number(area, to_unit="m").value == pytest.approx(2.0)


def test_a_range_never_joins_two_dimensions() -> None:
    parsed = parse_number("2 m to 3 m^2", to_unit="m^2")
    assert parsed.ok and parsed.value == pytest.approx(3.0) and not parsed.detail
    parsed = parse_number("2 m or 3 m^2", to_unit="m")
    assert parsed.ok and parsed.value == pytest.approx(2.0)


# --- bare numbers: the same default-unit rule as lengths ------------------------------------------


@pytest.mark.parametrize("to_unit", ["m^3", "m^2", "m"])
def test_a_bare_number_needs_a_default_unit(to_unit: str) -> None:
    parsed = parse_number("3.5", to_unit=to_unit)
    assert parsed.status == "invalid" and parsed.detail.startswith("no unit")


def test_default_unit_for_areas_and_volumes() -> None:
    parsed = parse_number("25", to_unit="m^3", default_unit="liters")
    assert parsed.ok and parsed.value == pytest.approx(0.025) and parsed.unit is None
    assert "default unit L" in parsed.detail
    assert parse_number("25", to_unit="m^2", default_unit="sq ft").value == pytest.approx(25 * SQ_FT)
    assert parse_number("25", to_unit="m^3", default_unit="m^3").value == pytest.approx(25.0)
    # A written fitting unit still wins over the default unit.
    assert parse_number("25 L", to_unit="m^3", default_unit="m^3").value == pytest.approx(0.025)
    # Bare numbers take the default unit when the only numbers with a unit have another dimension.
    reply = "The box is 2 m by 3 m by 0.5 m, so the volume is 3."
    assert parse_number(reply, to_unit="m^3", default_unit="m^3").value == pytest.approx(3.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"to_unit": "m^3", "default_unit": "m"},
        {"to_unit": "m", "default_unit": "liters"},
        {"to_unit": "m^2", "default_unit": "m^3"},
        {"to_unit": "m^4"},
        {"to_unit": "cubic meters"},
        {"to_unit": "m^3", "default_unit": "gallon"},
    ],
)
def test_bad_area_and_volume_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        parse_number("3", **kwargs)


def test_qspatial_stays_length_only() -> None:
    with pytest.raises(ValueError):
        parse_qspatial("\\scalar{1} \\distance_unit{m}", to_unit="m^3")
    parsed = parse_qspatial("\\scalar{1} \\distance_unit{liters}")
    assert parsed.status == "invalid" and "unknown unit" in parsed.detail


# --- lengths keep reading as before ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metres"),
    [
        ("The 2 L-shaped sofas are 3 m long.", 3.0),
        ("5 feet 3 inches", 1.6002),
        ("It is 30 in wide.", 0.762),
        ("About a metre.", 1.0),
        ("2 to 3 m", 2.5),
    ],
)
def test_lengths_unaffected(text: str, metres: float) -> None:
    assert parse_number(text).value == pytest.approx(metres)


# --- round trip with qa.units ------------------------------------------------------------------------

VALUES = np.geomspace(1e-5, 1e5, 400).tolist() + [0.001, 0.0253, 0.1, 1.0, 1.24, 4.2, 99.95, 100.0, 2500.0]
TEMPLATES = ("{}", "The box has a volume of {}.", "It is about {}.", "Answer: {}", "{} or so")


@pytest.mark.parametrize(
    ("formatter", "unit", "to_unit"),
    [(format_volume, unit, "m^3") for unit in VOLUME_TO_M3]
    + [(format_area, unit, "m^2") for unit in AREA_TO_M2],
    ids=[f"volume-{u}" for u in VOLUME_TO_M3] + [f"area-{u}" for u in AREA_TO_M2],
)
def test_every_rendered_area_and_volume_reads_back(formatter, unit: str, to_unit: str) -> None:
    for si in VALUES:
        q = formatter(si, unit)
        for template in TEMPLATES:
            text = template.format(q.text)
            parsed = parse_number(text, to_unit=to_unit)
            assert parsed.ok and parsed.unit == q.unit, (text, parsed)
            # The parser reads the shown number exactly; only the display rounding separates it from si.
            assert math.isclose(parsed.value, q.value * (AREA_TO_M2 | VOLUME_TO_M3)[unit], rel_tol=1e-12)
            assert abs(parsed.value - si) <= q.half_step_si * (1 + 1e-9) + 1e-15, (text, parsed, si)
            assert parse_number(text, to_unit="none").value == q.value
            wrong = "m" if to_unit != "m" else "m^3"
            assert parse_number(text, to_unit=wrong).status == "invalid"


@pytest.mark.parametrize(
    ("text", "to_unit", "si"),
    [
        ("1 liter", "m^3", 0.001),
        ("1 liters", "m^3", 0.001),
        ("1 cubic foot", "m^3", CU_FT),
        ("1 cubic feet", "m^3", CU_FT),
        ("1 cubic meter", "m^3", 1.0),
        ("1 square foot", "m^2", SQ_FT),
        ("1 square feet", "m^2", SQ_FT),
        ("1 square meter", "m^2", 1.0),
    ],
)
def test_singular_and_plural_after_one(text: str, to_unit: str, si: float) -> None:
    assert parse_number(text, to_unit=to_unit).value == pytest.approx(si, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    value=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False),
    unit=st.sampled_from(sorted(UNIT_TO_M3)),
    to_unit=st.sampled_from(sorted(UNIT_TO_M3)),
)
def test_a_written_volume_converts_exactly(value: float, unit: str, to_unit: str) -> None:
    parsed = parse_number(f"The volume is {value!r} {unit}.", to_unit=to_unit)
    assert parsed.ok and parsed.unit == unit
    assert parsed.value == pytest.approx(value * UNIT_TO_M3[unit] / UNIT_TO_M3[to_unit], rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    value=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False),
    unit=st.sampled_from(sorted(UNIT_TO_M2)),
    to_unit=st.sampled_from(sorted(UNIT_TO_M2)),
)
def test_a_written_area_converts_exactly(value: float, unit: str, to_unit: str) -> None:
    parsed = parse_number(f"The area is {value!r} {unit}.", to_unit=to_unit)
    assert parsed.ok and parsed.unit == unit
    assert parsed.value == pytest.approx(value * UNIT_TO_M2[unit] / UNIT_TO_M2[to_unit], rel=1e-12)
