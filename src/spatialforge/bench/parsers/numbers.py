"""Numeric replies -> a float in the requested unit (metres by default; areas in m^2 and volumes in m^3 on
request), or a reason why there is none.

Which number ("pick"). Benchmarks disagree, so the caller chooses; the conventions of the released scorers:
- VSI-Bench (lmms_eval/tasks/vsibench/utils.py, `fuzzy_matching` + `to_float`): the FIRST whitespace-separated
  word of the reply must itself be the number ("3.5 meters" -> 3.5; "About 3.5 m" -> unparsed, scored 0).
  -> pick="first".
- SPAR-Bench (lmms_eval/tasks/sparbench/utils.py, `process_na`): every unsigned number `\\d+\\.\\d+|\\d+` not
  after "^"; the FIRST one for the single-view tasks (depth_prediction_oc/oo, distance_prediction_oc/oo), the
  LAST one for the multi-view `*_mv` tasks. -> pick="first" / "last" per task.
- SpatialRGPT-Bench (AnjieCheng/SpatialRGPT, scripts/srgpt/eval/evaluate_spatial_with_gpt4.py): no regex, a
  GPT-4-turbo judge converts the reply to metres. HiSpatial's L3 uses a GPT-4.1 judge (paper). We replace
  judges with this parser; the final statement of a reply is its answer -> pick="last" (the default).
- Q-Spatial has its own syntax: see qspatial.py.
Both released harnesses ignore units: any number is read in the benchmark's unit, so "350 cm" would be 350 m.
We honour a written unit, and read a bare number in default_unit= (pass the benchmark's unit for them).
Not supported: decimal commas ("2,5 m" reads as 2 and 5 m).

What is read:
- digits with decimals, thousands separators ("1,200"), a sign attached to the number ("-0.5"), scientific
  notation ("1.5e2", "1.5 x 10^2"); number words zero..twenty, thirty..ninety with compounds ("twenty-five"),
  hundreds, "a dozen", "... and a half", and "a"/"an"/"half a" before a unit word ("about a metre");
- units: m, cm, mm, km, in, ft, yd in their usual spellings (units.UNIT_ALIASES), ' and " as feet / inches;
  "in" counts as inches only where it cannot be the preposition (end of sentence, "30 in wide");
- area units (since 1.1.0): squares of those lengths, "square meters", "sq m", "sq. ft", "sqft", "m^2", "m2",
  "m\u00b2", "ft\u00b2", "meters squared" ...; volume units: cubes, "cubic feet", "cu ft", "m^3", "m\u00b3",
  "feet cubed", "liters" / "litres" / "l", "milliliters" / "ml", "cc" (units.AREA_ALIASES, VOLUME_ALIASES);
- compounds "5 feet 3 inches", 5'3", "1 m 20 cm" -> one length; ranges "2-3 m", "2 to 3 m", "between 2 and
  3 meters" -> their mean (ranges="mean") or status "ambiguous" (ranges="reject"); alternatives "2 or 3 m" are
  always "ambiguous".
What is not a number of the answer (skipped):
- references: "image 2", "Frame-3", "Region [0]", "object 1", "step 2", "option 3", "#4", "fig. 2";
- numbers glued to letters ("2D", "3rd", "Qwen2"), after "^" ("m^2", as SPAR's regex), tolerances ("±0.5 m"),
  numbers before "%", "o'clock";
- list markers "1." / "2)" at the start of lines, when the reply has at least two such lines;
- coordinate tuples "(120, 340)" / "[0.2, -0.5, 0.8]" (two or more comma-separated numbers in brackets).
Units: when to_unit is a length (area, volume) unit, numbers that carry a unit of that dimension win over bare
numbers; numbers whose unit has another dimension are never converted and never answer ("3 meters" asked in
m^3, "20 liters" asked in m); if no number in the answer carries a fitting unit, default_unit (which must have
to_unit's dimension) is applied to the bare numbers when given, else the reply is "invalid" (detail "no unit",
or "wrong unit" when the only numbers with a unit have another dimension) - a bare number is never silently
taken as metres, square metres or cubic metres. A range or "or" never joins two numbers of different
dimensions. to_unit="none" is for unit-less quantities (counts, degrees): the number is returned as written, a
written unit of any dimension is ignored (still reported in Parsed.unit).
Angles: to_unit "rad" or "deg" (parse_angle) reads degrees and radians as units ("35 degrees", "35\u00b0", "35
deg", "0.6 rad", "ninety degrees") and converts them; lengths and the rest never answer an angle. Angle units
are recognised only in such a request (their own token patterns), so every other request reads exactly as
before; to_unit="none" still returns "30\u00b0" as 30 with no unit.
Where: an explicit answer statement (text.answer_spans: tags, "final answer", "the answer is", "Answer:") is
read first, its last occurrence; the whole reply only when it has none or it holds no usable number.
Refusals: a reply is a "refusal" only when it has a refusal phrase AND no usable number; "I can't be exact,
but it is about 3 m" is an answer.
"""

from __future__ import annotations

import math
import re
import string
from typing import NamedTuple

from spatialforge.bench.parsers.base import AMBIGUOUS, INVALID, NO_ANSWER, OK, REFUSAL, Parsed, failed
from spatialforge.bench.parsers.numwords import NUMBER_WORDS_PATTERN, SMALL_WORDS, number_words_value
from spatialforge.bench.parsers.text import final_answer_segments, is_refusal, prepare_reply
from spatialforge.bench.parsers.units import (
    ANGLE,
    ANGLE_ALIASES,
    DIMENSION_NAME,
    NO_UNIT,
    QUANTITY_ALIASES,
    UNIT_ALIASES,
    UNIT_WORDS,
    canonical_angle_unit,
    canonical_quantity_unit,
    check_to_unit,
    convert,
    dimension,
    is_angle_unit,
)

PICKS = ("first", "last")
RANGE_MODES = ("mean", "reject")

_EXPONENT = r"e[-+]?\d+|\s*x\s*10\s*\^\s*[-+]?\d+"


def _alias_pattern(alias: str) -> str:
    """Regex for a written unit: words may be separated by spaces or a full stop ("sq. ft", "sq.ft")."""
    if alias == "l":
        return r"l(?![-'])"  # litres, but not "2 l-shaped" / "3 l's"
    return r"(?:\.\s*|\s+)".join(re.escape(part) for part in alias.split())


def _alternation(aliases: list[str]) -> str:
    return "|".join(_alias_pattern(alias) for alias in sorted(aliases, key=len, reverse=True))


_WORD_UNITS = _alternation([alias for alias in QUANTITY_ALIASES if alias[0].isalpha() and alias != "in"])
_UNIT_WORDS = _alternation(list(UNIT_WORDS))
# Bare "in" is inches only where it cannot start a prepositional phrase.
_INCH_IN = (
    r"in(?=\.|\s*(?:$|[,;:)\]!?\n])|\s+(?:tall|wide|long|high|deep|thick|away|apart|across"
    r"|in\s+(?:height|width|length|depth|diameter)))"
)
# Angle units, read only when the caller asks for an angle (units.py): words, then the degree sign and its
# look-alike, which are not letters and so are not in _WORD_UNITS' alternation.
_ANGLE_UNITS = (
    _alternation([alias for alias in ANGLE_ALIASES if alias[0].isalpha()])
    + "|"
    + "|".join(re.escape(alias) for alias in ANGLE_ALIASES if not alias[0].isalpha())
)


def _unit_suffix(word_units: str) -> str:
    return r"(?:(?P<quote>''|'|\")(?![a-z])|\s*(?P<unit>" + word_units + "|" + _INCH_IN + r")(?![a-z]))?"


def _digit_token_re(unit_suffix: str) -> re.Pattern[str]:
    return re.compile(r"(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)(?P<exp>" + _EXPONENT + r")?" + unit_suffix)


def _word_token_re(unit_suffix: str) -> re.Pattern[str]:
    return re.compile(r"\b(?P<word>" + NUMBER_WORDS_PATTERN + r")(?![\w-])" + unit_suffix)


# All patterns run on the lower-cased reply (faster than IGNORECASE). The digit pattern starts with a digit so
# the scan is fast; what may precede a number (sign, leading "." of ".5", glued letters) is checked in code.
_UNIT_SUFFIX = _unit_suffix(_WORD_UNITS)
_DIGIT_TOKEN_RE = _digit_token_re(_UNIT_SUFFIX)
_WORD_TOKEN_RE = _word_token_re(_UNIT_SUFFIX)
# The same with the angle units added (angle requests only): "35 degrees", "35\u00b0", "ninety degrees".
_ANGLE_UNIT_SUFFIX = _unit_suffix(_ANGLE_UNITS + "|" + _WORD_UNITS)
_ANGLE_DIGIT_TOKEN_RE = _digit_token_re(_ANGLE_UNIT_SUFFIX)
_ANGLE_WORD_TOKEN_RE = _word_token_re(_ANGLE_UNIT_SUFFIX)
_ARTICLE_TOKEN_RE = re.compile(
    r"\b(?P<article>half\s+an?|an?)(?=\s+(?:" + _UNIT_WORDS + r")\b)" + _UNIT_SUFFIX
)
# The word patterns only run when the reply has a word that can start them (a set lookup is far cheaper).
_NUMBER_WORD_TRIGGERS = frozenset(SMALL_WORDS) | {"hundred", "dozen"}
_ARTICLES = frozenset({"a", "an"})
_UNIT_WORD_SET = frozenset(alias.split()[0] for alias in UNIT_WORDS)  # first words: "cubic", "liters"
_TO_SPACES = str.maketrans(dict.fromkeys(string.punctuation + "\n\t\r", " "))
_REFERENCE_RE = re.compile(
    r"(?:\b(?:image|img|picture|photo|frame|view|region|object|obj|option|choice|step|figure|fig|camera|cam"
    r"|box|bbox|item|label|id)|#)\s*[\[(#:.-]?\s*$"
)
_REFERENCE_LOOKBACK = 12
_BETWEEN_LOOKBACK = 12
_NOT_A_QUANTITY_AFTER_RE = re.compile(r"\s*(?:%|percent\b|o'?\s*clock\b|oclock\b|times\b)")
_LIST_MARKER_RE = re.compile(r"^[ \t]*(?:[-*+][ \t]*)?\d+[.)][ \t]", re.MULTILINE)
_COORDS_RE = re.compile(r"[\[(]\s*-?\d[\d.]*\s*(?:,\s*-?\d[\d.]*\s*)+[\])]")
_THOUSANDS_ONLY_RE = re.compile(r"[\[(]\s*\d{1,3}(?:,\d{3})+\s*[\])]")
_RANGE_GAP_RE = re.compile(r"\s*(?:-|to|~)\s*")
_BETWEEN_RE = re.compile(r"\bbetween\s+$")
_AND_GAP_RE = re.compile(r"\s+and\s+")
_OR_GAP_RE = re.compile(r"\s*(?:,\s*)?or\s+")
_COMPOUND_GAP_RE = re.compile(r"\s*(?:(?:,|and)\s*)?")
_COMPOUND_PAIRS = frozenset({("ft", "in"), ("m", "cm")})
_ARTICLE_VALUES = {"a": 1.0, "an": 1.0, "half a": 0.5, "half an": 0.5}


class _Token(NamedTuple):
    start: int
    end: int
    value: float
    unit: str | None


class _Candidate(NamedTuple):
    kind: str  # "single" | "range" | "alternatives"
    low: float
    high: float
    unit: str | None  # canonical unit the values are in
    written: str | None  # unit as reported ("ft+in" for compounds)


def _token_unit(match: re.Match[str], reply: str, start: int) -> str | None:
    if match["unit"] is not None:
        # Angle units only match in angle requests (the patterns above), so this lookup changes nothing else.
        return canonical_quantity_unit(match["unit"]) or canonical_angle_unit(match["unit"])
    quote = match["quote"]
    if quote is None:
        return None
    opened = reply[start - 1 : start]
    return None if opened == quote[0] else UNIT_ALIASES[quote]  # '3' is a quoted number, not 3 feet


def _not_a_quantity(match: re.Match[str], start: int, reply: str, list_markers: bool) -> bool:
    """True for numbers that are labels or references rather than quantities."""
    end = match.end()
    if match["unit"] is None and match["quote"] is None and end < len(reply) and reply[end].isalpha():
        return True  # "2D", "3rd"
    if _REFERENCE_RE.search(reply, max(0, start - _REFERENCE_LOOKBACK), start):
        return True
    if _NOT_A_QUANTITY_AFTER_RE.match(reply, end):
        return True
    if list_markers and reply[end : end + 1] in (".", ")"):
        line_start = reply.rfind("\n", 0, start) + 1
        return not reply[line_start:start].strip(" \t-*+")
    return False


def _digit_token(match: re.Match[str], reply: str, list_markers: bool) -> _Token | None:
    """The number at `match` with its sign / leading point, or None when it is not a quantity."""
    start, digits = match.start(), match["num"]
    before = reply[start - 1] if start else " "
    before2 = reply[start - 2] if start > 1 else " "
    tail_of_dotted = before == "." and (before2.isalnum() or not digits.isdigit())  # "1.2.3", ".0.0"
    if before.isalnum() or before in "_^\u00b1" or tail_of_dotted:
        return None  # glued to a word ("x2", "qwen2"), an exponent ("m^2"), a tolerance ("±0.5")
    value = float(("." if before == "." else "") + digits.replace(",", ""))
    if before in ".-" and not (before2.isalnum() or before2 in "._"):
        start -= 1  # ".5" / "-0.5"; a "-" after a word or number is a dash ("frame-3", "2-3")
        value = -value if before == "-" else value
    if match["exp"]:  # via float("1e...") so a huge exponent gives inf, not a huge integer
        value *= float("1e" + match["exp"].replace(" ", "").rsplit("^", 1)[-1].lstrip("e"))
    if _not_a_quantity(match, start, reply, list_markers):
        return None
    return _Token(start, match.end(), value, _token_unit(match, reply, start))


def _word_tokens(reply: str, angles: bool) -> list[_Token]:
    words = set(reply.translate(_TO_SPACES).split())
    matches = []
    if not _NUMBER_WORD_TRIGGERS.isdisjoint(words):
        word_re = _ANGLE_WORD_TOKEN_RE if angles else _WORD_TOKEN_RE
        matches += [(m, number_words_value(m["word"])) for m in word_re.finditer(reply)]
    if not _ARTICLES.isdisjoint(words) and not _UNIT_WORD_SET.isdisjoint(words):
        matches += [
            (m, _ARTICLE_VALUES[" ".join(m["article"].split())]) for m in _ARTICLE_TOKEN_RE.finditer(reply)
        ]
    return [
        _Token(m.start(), m.end(), value, _token_unit(m, reply, m.start()))
        for m, value in matches
        if reply[m.start() - 1 : m.start()] != "-" and not _not_a_quantity(m, m.start(), reply, False)
    ]


def _tokens(reply: str, angles: bool) -> list[_Token]:
    list_markers = "\n" in reply and len(_LIST_MARKER_RE.findall(reply)) >= 2
    digit_re = _ANGLE_DIGIT_TOKEN_RE if angles else _DIGIT_TOKEN_RE
    tokens = [t for m in digit_re.finditer(reply) if (t := _digit_token(m, reply, list_markers))]
    if "," in reply and ("(" in reply or "[" in reply):
        coords = [m.span() for m in _COORDS_RE.finditer(reply) if not _THOUSANDS_ONLY_RE.fullmatch(m.group())]
        tokens = [t for t in tokens if not any(lo <= t.start < hi for lo, hi in coords)]
    words = _word_tokens(reply, angles)
    return sorted(tokens + words) if words else tokens


def _pair(first: _Token, second: _Token, kind: str) -> _Candidate:
    """Two numbers read as one range / alternatives; a unit written once applies to both ("2 to 3 m")."""
    unit = second.unit or first.unit
    low = first.value if first.unit in (None, unit) else convert(first.value, first.unit, unit)
    return _Candidate(kind, low, second.value, unit, unit)


def _same_dimension(first: _Token, second: _Token) -> bool:
    return first.unit is None or second.unit is None or dimension(first.unit) == dimension(second.unit)


def _candidates(reply: str, angles: bool = False) -> list[_Candidate]:
    """Numbers of the reply in order, with ranges, alternatives and compound lengths merged; angles: also
    read angle units (an angle request)."""
    tokens = _tokens(reply, angles)
    out: list[_Candidate] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None:
            gap_start, gap_end = tok.end, nxt.start
            compound = (tok.unit, nxt.unit) in _COMPOUND_PAIRS
            if compound and _COMPOUND_GAP_RE.fullmatch(reply, gap_start, gap_end):
                value = tok.value + convert(nxt.value, nxt.unit, tok.unit)
                out.append(_Candidate("single", value, value, tok.unit, f"{tok.unit}+{nxt.unit}"))
                i += 2
                continue
            pairable = _same_dimension(tok, nxt)  # "2 m to 3 m^2" is two numbers, not a range
            if pairable and (
                _RANGE_GAP_RE.fullmatch(reply, gap_start, gap_end)
                or (
                    _AND_GAP_RE.fullmatch(reply, gap_start, gap_end)
                    and _BETWEEN_RE.search(reply, max(0, tok.start - _BETWEEN_LOOKBACK), tok.start)
                )
            ):
                out.append(_pair(tok, nxt, "range"))
                i += 2
                continue
            if pairable and _OR_GAP_RE.fullmatch(reply, gap_start, gap_end):
                out.append(_pair(tok, nxt, "alternatives"))
                i += 2
                continue
        out.append(_Candidate("single", tok.value, tok.value, tok.unit, tok.unit))
        i += 1
    return out


def _usable(cands: list[_Candidate], to_unit: str, default_unit: str | None) -> tuple[list[_Candidate], str]:
    """Apply the unit policy; returns the candidates to pick from and, if none, why."""
    if not cands:
        return [], "no number"
    if to_unit == NO_UNIT:
        return cands, ""
    wanted = dimension(to_unit)
    fitting = [c for c in cands if c.unit is not None and dimension(c.unit) == wanted]
    if fitting:
        return fitting, ""
    bare = [c for c in cands if c.unit is None]
    if bare and default_unit is not None:
        return [c._replace(unit=default_unit) for c in bare], f"default unit {default_unit}"
    other = [c for c in cands if c.unit is not None]  # units of another dimension are never converted
    if other:
        c = other[-1]
        article = "an" if wanted == ANGLE else "a"  # the older messages keep their wording ("a area")
        name = DIMENSION_NAME[wanted]
        return [], f"wrong unit: {c.written} is not {article} {name} (read {c.high:g} {c.written})"
    return [], f"no unit (read {cands[-1].high:g})"


def _finish(cand: _Candidate, to_unit: str, ranges: str, note: str) -> Parsed:
    if cand.kind == "alternatives":
        return failed(AMBIGUOUS, f"alternatives {cand.low:g} or {cand.high:g}")
    if cand.kind == "range":
        if ranges == "reject":
            return failed(AMBIGUOUS, f"range {cand.low:g}-{cand.high:g}")
        note = f"mean of range {cand.low:g}-{cand.high:g}" + (f"; {note}" if note else "")
    value = cand.low / 2 + cand.high / 2  # halves first: the sum of two huge values must not overflow
    if to_unit != NO_UNIT:
        value = convert(value, cand.unit, to_unit)
    if not math.isfinite(value):
        return failed(INVALID, "number is not finite")
    return Parsed(value, OK, note, cand.written)


def parse_number(
    text: str,
    *,
    pick: str = "last",
    default_unit: str | None = None,
    to_unit: str = "m",
    ranges: str = "mean",
) -> Parsed:
    """The number a reply answers with, converted to `to_unit` (see the module docstring for the rules).

    pick: "first" | "last" number of the answer; default_unit: unit for bare numbers, of the same dimension as
    to_unit (None: bare numbers are "invalid" unless to_unit is "none"); to_unit: a length "m", "cm", "mm",
    "km", "in", "ft", "yd", an area "m^2" (or "cm^2", "mm^2", "km^2", "sq in", "sq ft", "sq yd"), a volume
    "m^3" (or "cm^3", "mm^3", "L", "mL", "cu in", "cu ft", "cu yd"), an angle "rad" or "deg" (only then are
    degree and radian units read), or "none"; ranges: "mean" | "reject".
    """
    if pick not in PICKS:
        raise ValueError(f"pick must be one of {PICKS}, got {pick!r}")
    if ranges not in RANGE_MODES:
        raise ValueError(f"ranges must be one of {RANGE_MODES}, got {ranges!r}")
    check_to_unit(to_unit, allow_none=True, lengths_only=False)
    if default_unit is not None:
        canonical = canonical_quantity_unit(default_unit) or canonical_angle_unit(default_unit)
        if canonical is None:
            raise ValueError(
                f"default_unit must be a length, area, volume or angle unit, got {default_unit!r}"
            )
        if to_unit != NO_UNIT and dimension(canonical) != dimension(to_unit):
            raise ValueError(f"default_unit {default_unit!r} does not fit to_unit {to_unit!r}")
        default_unit = canonical
    reply = prepare_reply(text)
    if isinstance(reply, Parsed):
        return reply
    usable, why = [], "no number"
    angles = is_angle_unit(to_unit)
    for segment in final_answer_segments(reply):
        usable, why = _usable(_candidates(segment, angles), to_unit, default_unit)
        if usable:
            break
    if not usable:
        if is_refusal(reply):
            return failed(REFUSAL, "refusal")
        return failed(INVALID if why.startswith(("no unit", "wrong unit")) else NO_ANSWER, why)
    cand = usable[0] if pick == "first" else usable[-1]
    return _finish(cand, to_unit, ranges, why)


ANGLE_DEFAULT_UNIT = "deg"


def parse_angle(
    text: str,
    *,
    pick: str = "last",
    default_unit: str | None = ANGLE_DEFAULT_UNIT,
    to_unit: str = "rad",
    ranges: str = "mean",
) -> Parsed:
    """An angle reply in radians (to_unit "rad", or "deg"): parse_number asked for an angle. "35 degrees",
    "35\u00b0", "35 deg", "0.61 rad" are read with their unit; a bare number is read in default_unit, degrees
    unless told otherwise (questions ask for degrees), since a bare "35" is how models answer "how many
    degrees". Lengths and other units never answer. The value is returned as written and converted, never
    wrapped: 270 degrees stays 4.71 rad (the angle metric compares the short way round when it is circular).
    """
    if not is_angle_unit(to_unit):
        raise ValueError(f"to_unit must be an angle unit ('rad' or 'deg'), got {to_unit!r}")
    return parse_number(text, pick=pick, default_unit=default_unit, to_unit=to_unit, ranges=ranges)
