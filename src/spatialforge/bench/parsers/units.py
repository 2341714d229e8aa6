"""Units of lengths, areas and volumes: conversion factors to SI and the spellings models use for them.

Length factors are exact by definition (1 in = 0.0254 m, 1 ft = 0.3048 m, 1 yd = 0.9144 m), the same ones
SpatialRGPT's judge prompt states (AnjieCheng/SpatialRGPT, scripts/srgpt/eval/evaluate_spatial_with_gpt4.py)
and Q-Spatial's evaluator uses in centimetres (andrewliao11/Q-Spatial-Bench-code,
examples/evaluate_success_rate.ipynb: m 100, cm 1, ft 30.48, in 2.54, mm 0.1).

Areas (to m^2) and volumes (to m^3) are the squares and cubes of those exact length factors (sq ft =
0.3048^2 m^2, cu ft = 0.3048^3 m^3), plus litres by definition (1 L = 0.001 m^3, 1 mL = 1 cm^3).
Canonical symbols: areas "m^2", "cm^2", "mm^2", "km^2", "sq in", "sq ft", "sq yd"; volumes "m^3", "cm^3",
"mm^3", "L", "mL", "cu in", "cu ft", "cu yd" (qa.units renders "m^2", "sq ft", "m^3", "L", "cu ft").
Spellings: "square meters" / "sq m" / "sq. m" / "sqm" / "m^2" / "m^{2}" / "m2" / "m" + superscript two
(U+00B2) / "meters squared"; "cubic feet" / "cu ft" / "cuft" / "ft^3" / "ft" + superscript three (U+00B3) /
"feet cubed"; "liters" / "litres" / "l"; "milliliters" / "ml"; "cc" (= cm^3); and the same for every length
unit (UNIT_ALIASES, QUANTITY_ALIASES).

`canonical_unit` and UNIT_TO_M stay length-only (Q-Spatial and view-change replies are lengths);
`canonical_quantity_unit` knows the three spatial dimensions.

Angles, a fourth dimension read only on request: "rad" and "deg" (1 deg = pi / 180 rad), written "degrees" /
"degree" / "degs" / "deg" / the degree sign (U+00B0) / the masculine ordinal sign (U+00BA, a common
look-alike) and "radians" / "radian" / "rads" / "rad" (ANGLE_ALIASES, `canonical_angle_unit`). parse_number
reads them only when asked for an angle (to_unit "rad" or "deg"), so length, area, volume and unit-less
("none") parsing is exactly what it was. `dimension` and `convert` know all four dimensions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType

UNIT_TO_M: Mapping[str, float] = MappingProxyType(
    {"m": 1.0, "cm": 0.01, "mm": 0.001, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "yd": 0.9144}
)
UNIT_TO_M2: Mapping[str, float] = MappingProxyType(
    {
        "m^2": 1.0,
        "cm^2": 1e-4,
        "mm^2": 1e-6,
        "km^2": 1e6,
        "sq in": UNIT_TO_M["in"] ** 2,
        "sq ft": UNIT_TO_M["ft"] ** 2,
        "sq yd": UNIT_TO_M["yd"] ** 2,
    }
)
UNIT_TO_M3: Mapping[str, float] = MappingProxyType(
    {
        "m^3": 1.0,
        "cm^3": 1e-6,
        "mm^3": 1e-9,
        "L": 1e-3,
        "mL": 1e-6,
        "cu in": UNIT_TO_M["in"] ** 3,
        "cu ft": UNIT_TO_M["ft"] ** 3,
        "cu yd": UNIT_TO_M["yd"] ** 3,
    }
)
UNIT_TO_RAD: Mapping[str, float] = MappingProxyType({"rad": 1.0, "deg": math.pi / 180.0})
# Exponent of the metre of each dimension (angles, which have none, get 0), its SI unit and its name.
ANGLE, LENGTH, AREA, VOLUME = 0, 1, 2, 3
SI_UNIT: Mapping[int, str] = MappingProxyType({LENGTH: "m", AREA: "m^2", VOLUME: "m^3", ANGLE: "rad"})
DIMENSION_NAME: Mapping[int, str] = MappingProxyType(
    {LENGTH: "length", AREA: "area", VOLUME: "volume", ANGLE: "angle"}
)
_TO_SI = {**UNIT_TO_M, **UNIT_TO_M2, **UNIT_TO_M3, **UNIT_TO_RAD}
_DIMENSION = {
    **dict.fromkeys(UNIT_TO_M, LENGTH),
    **dict.fromkeys(UNIT_TO_M2, AREA),
    **dict.fromkeys(UNIT_TO_M3, VOLUME),
    **dict.fromkeys(UNIT_TO_RAD, ANGLE),
}

_LENGTH_WORDS = {
    "m": ("meter", "meters", "metre", "metres"),
    "cm": ("centimeter", "centimeters", "centimetre", "centimetres"),
    "mm": ("millimeter", "millimeters", "millimetre", "millimetres"),
    "km": ("kilometer", "kilometers", "kilometre", "kilometres"),
    "in": ("inch", "inches"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
}
_AREA_OF = {"m": "m^2", "cm": "cm^2", "mm": "mm^2", "km": "km^2", "in": "sq in", "ft": "sq ft", "yd": "sq yd"}
_VOLUME_OF = {"m": "m^3", "cm": "cm^3", "mm": "mm^3", "km": None, "in": "cu in", "ft": "cu ft", "yd": "cu yd"}

# Written form (lower case) -> canonical symbol. The quote marks are the feet / inch signs (5'3").
UNIT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("m", *_LENGTH_WORDS["m"]), "m"),
        **dict.fromkeys(("cm", "cms", *_LENGTH_WORDS["cm"]), "cm"),
        **dict.fromkeys(("mm", *_LENGTH_WORDS["mm"]), "mm"),
        **dict.fromkeys(("km", *_LENGTH_WORDS["km"]), "km"),
        **dict.fromkeys(("in", *_LENGTH_WORDS["in"], '"', "''"), "in"),
        **dict.fromkeys(("ft", *_LENGTH_WORDS["ft"], "'"), "ft"),
        **dict.fromkeys(("yd", "yds", *_LENGTH_WORDS["yd"]), "yd"),
    }
)


def _power_aliases(
    power: int, of: Mapping[str, str | None], word: str, abbreviation: str, suffix: str
) -> dict[str, str]:
    """Spellings of the squares (power 2) or cubes (power 3) of the length units."""
    superscript = "\u00b2" if power == 2 else "\u00b3"
    out: dict[str, str] = {}
    for length, words in _LENGTH_WORDS.items():
        target = of[length]
        if target is None:
            continue
        out.update(dict.fromkeys((f"{word} {w}" for w in words), target))  # "square meters"
        out.update(dict.fromkeys((f"{w} {suffix}" for w in words), target))  # "meters squared"
        out.update(dict.fromkeys((f"{abbreviation} {w}" for w in (length, *words)), target))  # "sq ft"
        exponents = (f"^{power}", f"^{{{power}}}", str(power), superscript)
        out.update(dict.fromkeys((length + e for e in exponents), target))  # "m^2", "m^{2}", "m2", "m²"
        if length != "in":
            out[f"{length} {suffix}"] = target  # "m squared" ("in squared" would be a preposition)
    return out


AREA_ALIASES: Mapping[str, str] = MappingProxyType(
    {**_power_aliases(2, _AREA_OF, "square", "sq", "squared"), "sqm": "m^2", "sqft": "sq ft"}
)
VOLUME_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **_power_aliases(3, _VOLUME_OF, "cubic", "cu", "cubed"),
        "cuft": "cu ft",
        "cc": "cm^3",
        "ccs": "cm^3",
        **dict.fromkeys(("l", "liter", "liters", "litre", "litres"), "L"),
        **dict.fromkeys(("ml", "milliliter", "milliliters", "millilitre", "millilitres"), "mL"),
    }
)
# Every unit parse_number reads: lengths, areas and volumes.
QUANTITY_ALIASES: Mapping[str, str] = MappingProxyType({**UNIT_ALIASES, **AREA_ALIASES, **VOLUME_ALIASES})

_ABBREVIATIONS = frozenset({"cms", "yds", "ccs", "sqm", "sqft", "cuft"})
# Units spelled as words: only these may follow "a" / "an" / "half a" ("about a metre" = 1 m, "a liter").
UNIT_WORDS = tuple(
    alias
    for alias in QUANTITY_ALIASES
    if len(alias) > 2
    and alias not in _ABBREVIATIONS
    and all(len(part) > 2 and part.isalpha() for part in alias.split())
)

# Written angle units (lower case) -> "deg" / "rad"; kept out of QUANTITY_ALIASES so that only an angle
# request reads them (see the module docstring).
ANGLE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("deg", "degs", "degree", "degrees", "\u00b0", "\u00ba"), "deg"),
        **dict.fromkeys(("rad", "rads", "radian", "radians"), "rad"),
    }
)

NO_UNIT = "none"  # to_unit for unit-less quantities (counts, degrees); the number is read as written

_SEPARATORS_RE = re.compile(r"[.\s]+")


def _normalise(written: str) -> str:
    """Lower case, full stops and runs of spaces to one space ("Sq. Ft." -> "sq ft")."""
    return _SEPARATORS_RE.sub(" ", written.lower()).strip()


def canonical_unit(written: str) -> str | None:
    """Canonical symbol for a written unit ("Metres." -> "m"), None if it is not a known length unit."""
    return UNIT_ALIASES.get(written.strip().rstrip(".").strip().lower())


def canonical_quantity_unit(written: str) -> str | None:
    """Canonical symbol for a written length, area or volume unit ("Sq. Ft." -> "sq ft", "Liters" -> "L"),
    None if it is none of them."""
    length = canonical_unit(written)
    return length if length is not None else QUANTITY_ALIASES.get(_normalise(written))


def canonical_angle_unit(written: str) -> str | None:
    """The canonical "deg" or "rad" of a written angle unit ("Degrees" -> "deg"), None for anything else."""
    return ANGLE_ALIASES.get(_normalise(written))


def is_angle_unit(unit: str) -> bool:
    """True for the canonical angle symbols "rad" and "deg"."""
    return unit in UNIT_TO_RAD


def dimension(unit: str) -> int:
    """LENGTH, AREA, VOLUME or ANGLE for a canonical symbol."""
    return _DIMENSION[unit]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert between canonical units of the same dimension (length, area, volume or angle)."""
    if from_unit == to_unit:
        return value
    if _DIMENSION[from_unit] != _DIMENSION[to_unit]:
        raise ValueError(f"cannot convert {from_unit} to {to_unit}: different dimensions")
    return value * _TO_SI[from_unit] / _TO_SI[to_unit]


def check_to_unit(to_unit: str, *, allow_none: bool, lengths_only: bool = True) -> None:
    """Reject a bad target unit early: a programming error, not a property of the reply."""
    units = UNIT_TO_M if lengths_only else _TO_SI
    if to_unit in units or (allow_none and to_unit == NO_UNIT):
        return
    allowed = sorted(units) + ([NO_UNIT] if allow_none else [])
    raise ValueError(f"to_unit must be one of {allowed}, got {to_unit!r}")
