"""Numbers in human units for rendered QA text (SPEC section 3); the SI value is always kept beside the text.

Lengths: the unit is drawn with SpatialRGPT's probabilities (SPEC section 3, from the SpatialRGPT data
pipeline): below 1 m: centimetres 0.2 / inches 0.8; below 3 m: metres 0.5 / feet 0.5; otherwise metres 0.7 /
feet 0.3. Areas and volumes have no published mix; ours mirrors the >= 3 m length bucket (metric 0.7 /
imperial 0.3), with litres instead of cubic metres below LITRE_BELOW_M3. Angles are always degrees.

Precision (half of the last shown digit is the largest rounding error, `RenderedQuantity.half_step_si`):
- cm: integer (1 decimal below 10 cm, so a 4 mm gap does not print as "0 cm"); inches: 1 decimal;
  metres: 2 decimals; feet: 1 decimal. Worst case 1.5 cm (feet), i.e. <= 0.5 % above 3 m.
- areas and volumes: 3 significant figures (relative error <= 0.5 %); angles: integer degrees.
Text uses US spellings as SpatialRGPT does ("meters", "feet"); every form reads back with
bench.parsers.parse_number (lengths to_unit "m", areas "m^2", volumes "m^3"; degrees with to_unit="none").

Randomness is passed in (numpy Generator or random.Random); nothing here touches global state.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spatialforge.bench.parsers.units import UNIT_TO_M

Rng = np.random.Generator | random.Random

# (upper bound in SI units, ((unit, probability), ...)); the first bucket whose bound exceeds the value wins.
LENGTH_BUCKETS: tuple[tuple[float, tuple[tuple[str, float], ...]], ...] = (
    (1.0, (("cm", 0.2), ("in", 0.8))),  # SpatialRGPT: < 1 m
    (3.0, (("m", 0.5), ("ft", 0.5))),  # SpatialRGPT: < 3 m
    (math.inf, (("m", 0.7), ("ft", 0.3))),  # SpatialRGPT: otherwise
)
# Below this volume litres read better than cubic metres (a 0.02 m^3 box is "20 litres").
LITRE_BELOW_M3 = 0.1
AREA_UNITS: tuple[tuple[str, float], ...] = (("m^2", 0.7), ("sq ft", 0.3))
VOLUME_BUCKETS: tuple[tuple[float, tuple[tuple[str, float], ...]], ...] = (
    (LITRE_BELOW_M3, (("L", 0.7), ("cu ft", 0.3))),
    (math.inf, (("m^3", 0.7), ("cu ft", 0.3))),
)

# Fixed decimals per length unit (module docstring); cm get one more decimal below CM_EXTRA_DECIMAL_BELOW.
LENGTH_DECIMALS = {"cm": 0, "in": 1, "m": 2, "ft": 1}
CM_EXTRA_DECIMAL_BELOW = 10.0
SIGNIFICANT_FIGURES = 3  # areas and volumes

FT_M = UNIT_TO_M["ft"]  # exact: 0.3048 m
# SI value of one display unit.
AREA_TO_M2 = {"m^2": 1.0, "sq ft": FT_M**2}
VOLUME_TO_M3 = {"m^3": 1.0, "L": 0.001, "cu ft": FT_M**3}

_SINGULAR = {"meters": "meter", "feet": "foot", "inches": "inch", "centimeters": "centimeter"}
_WORDS = {
    "cm": "centimeters",
    "in": "inches",
    "m": "meters",
    "ft": "feet",
    "m^2": "square meters",
    "sq ft": "square feet",
    "m^3": "cubic meters",
    "L": "liters",
    "cu ft": "cubic feet",
    "deg": "degrees",
}


@dataclass(frozen=True, slots=True)
class RenderedQuantity:
    """A quantity as shown in text, with its machine-readable values.

    text: e.g. "1.25 meters"; value: the shown number (rounded); unit: the shown unit ("cm", "in", "m", "ft",
    "m^2", "sq ft", "m^3", "L", "cu ft", "deg"); si_value: the exact input in si_unit ("m", "m^2", "m^3",
    "rad"); half_step_si: the largest rounding error of `value`, in si_unit.
    """

    text: str
    value: float
    unit: str
    si_value: float
    si_unit: str
    half_step_si: float


def draw_unit(rng: Rng, options: Sequence[tuple[str, float]]) -> str:
    """One unit from (unit, probability) pairs whose probabilities sum to 1."""
    u = rng.random()
    for unit, p in options[:-1]:
        if u < p:
            return unit
        u -= p
    return options[-1][0]


def _bucket(value: float, buckets: Sequence[tuple[float, tuple[tuple[str, float], ...]]]) -> tuple:
    for bound, options in buckets:
        if value < bound:
            return options
    raise ValueError(f"{value} is beyond the last bucket")  # unreachable: the last bound is infinite


def _check(value: float, what: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be finite and >= 0, got {value}")


def unit_word(unit: str) -> str:
    """The plural word of a display unit ("m" -> "meters", "cu ft" -> "cubic feet", "deg" -> "degrees")."""
    return _WORDS[unit]


def _text(shown: float, decimals: int, unit: str) -> str:
    number = f"{shown:.{decimals}f}"
    word = _WORDS[unit]
    return f"{number} {_SINGULAR.get(word, word) if number == '1' else word}"


def _sig_decimals(x: float) -> int:
    """Decimals that show `x` with SIGNIFICANT_FIGURES significant figures (never negative)."""
    if x == 0:
        return SIGNIFICANT_FIGURES - 1
    return max(0, SIGNIFICANT_FIGURES - 1 - math.floor(math.log10(abs(x))))


def length_unit_options(length_m: float) -> tuple[tuple[str, float], ...]:
    """The (unit, probability) pairs used for a length (SpatialRGPT's buckets)."""
    _check(length_m, "length_m")
    return _bucket(length_m, LENGTH_BUCKETS)


def area_unit_options(area_m2: float) -> tuple[tuple[str, float], ...]:
    """The (unit, probability) pairs used for an area (AREA_UNITS, whatever its size)."""
    _check(area_m2, "area_m2")
    return tuple(AREA_UNITS)


def volume_unit_options(volume_m3: float) -> tuple[tuple[str, float], ...]:
    """The (unit, probability) pairs used for a volume (litres or cubic metres, or cubic feet)."""
    _check(volume_m3, "volume_m3")
    return _bucket(volume_m3, VOLUME_BUCKETS)


def _length_text(length_m: float, unit: str) -> tuple[str, float, int]:
    x = length_m / UNIT_TO_M[unit]
    decimals = LENGTH_DECIMALS[unit]
    # Decide the extra centimetre decimal on the value as it would be shown without it, so that formatting the
    # shown value again gives the same text (9.96 cm is "10 centimeters", not "10.0 centimeters").
    if unit == "cm" and round(x, decimals) < CM_EXTRA_DECIMAL_BELOW:
        decimals += 1
    shown = round(x, decimals)
    return _text(shown, decimals, unit), shown, decimals


def length_text(length_m: float, unit: str) -> tuple[str, float]:
    """(text, shown number in `unit`) of a length in metres: format_length without its checks and record, for
    hot loops whose values are known finite and non-negative (distractor draws)."""
    text, shown, _ = _length_text(length_m, unit)
    return text, shown


def format_length(length_m: float, unit: str) -> RenderedQuantity:
    """A length in metres shown in `unit` ("cm", "in", "m", "ft") with the module's precision."""
    _check(length_m, "length_m")
    text, shown, decimals = _length_text(length_m, unit)
    half_step = 0.5 * 10.0**-decimals * UNIT_TO_M[unit]
    return RenderedQuantity(text, shown, unit, length_m, "m", half_step)


def render_length(length_m: float, rng: Rng) -> RenderedQuantity:
    """A length in metres in a human unit drawn with SpatialRGPT's probabilities."""
    return format_length(length_m, draw_unit(rng, length_unit_options(length_m)))


def _scaled_text(si: float, unit: str, to_si: dict[str, float]) -> tuple[str, float, int]:
    x = si / to_si[unit]
    decimals = _sig_decimals(x)
    shown = round(x, decimals)
    return _text(shown, decimals, unit), shown, decimals


def area_text(area_m2: float, unit: str) -> tuple[str, float]:
    """(text, shown number in `unit`) of an area: format_area without its checks and record."""
    text, shown, _ = _scaled_text(area_m2, unit, AREA_TO_M2)
    return text, shown


def volume_text(volume_m3: float, unit: str) -> tuple[str, float]:
    """(text, shown number in `unit`) of a volume: format_volume without its checks and record."""
    text, shown, _ = _scaled_text(volume_m3, unit, VOLUME_TO_M3)
    return text, shown


def _format_scaled(si: float, unit: str, to_si: dict[str, float], si_unit: str) -> RenderedQuantity:
    text, shown, decimals = _scaled_text(si, unit, to_si)
    half_step = 0.5 * 10.0**-decimals * to_si[unit]
    return RenderedQuantity(text, shown, unit, si, si_unit, half_step)


def format_area(area_m2: float, unit: str) -> RenderedQuantity:
    """An area in m^2 shown in "m^2" or "sq ft", 3 significant figures."""
    _check(area_m2, "area_m2")
    return _format_scaled(area_m2, unit, AREA_TO_M2, "m^2")


def render_area(area_m2: float, rng: Rng) -> RenderedQuantity:
    _check(area_m2, "area_m2")
    return format_area(area_m2, draw_unit(rng, AREA_UNITS))


def format_volume(volume_m3: float, unit: str) -> RenderedQuantity:
    """A volume in m^3 shown in "m^3", "L" or "cu ft", 3 significant figures."""
    _check(volume_m3, "volume_m3")
    return _format_scaled(volume_m3, unit, VOLUME_TO_M3, "m^3")


def render_volume(volume_m3: float, rng: Rng) -> RenderedQuantity:
    _check(volume_m3, "volume_m3")
    return format_volume(volume_m3, draw_unit(rng, _bucket(volume_m3, VOLUME_BUCKETS)))


def render_angle(angle_rad: float) -> RenderedQuantity:
    """An angle in radians as integer degrees ("35 degrees"); negative angles keep their sign."""
    if not math.isfinite(angle_rad):
        raise ValueError(f"angle_rad must be finite, got {angle_rad}")
    shown = float(round(math.degrees(angle_rad))) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = f"{shown:.0f} {'degree' if abs(shown) == 1 else 'degrees'}"
    return RenderedQuantity(text, shown, "deg", angle_rad, "rad", math.radians(0.5))
