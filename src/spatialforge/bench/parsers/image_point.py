"""Image-point replies (a point on SPAR's 0-1000 grid plus a depth) -> (x, y, depth) floats.

SPAR's camera_motion_infer ("camera pose" task) asks where the second view's camera appears in the first
image, its projection normalised to 0-1000 and its depth in metres (SPAR paper 003, appendix 7.5 "Camera
pose", eq. 9; the fill answer is "[x, y], depth", the choice options "Image Coor: (514, 95), Depth: 4.8
meters").
Read forms of the point: "(512, 340)" / "[512, 340]", "x=512, y=340" (also "x: 512 and y: 340"), and a
bracketed triple "(512, 340, 2.1)" whose third number is the depth. Where: an explicit answer statement
(text.answer_spans) first, the whole reply when the statement lacks the point or the depth. Two different
points where the answer is read are "ambiguous".

The depth is read with parse_number (units, ranges, number words, references such as "camera 2" skipped) in
this order: after the last "depth" of the text that gives a number (to the end of that sentence; "depth:
210 cm", "at a depth of 2.1 meters"), then after the point to the end of its sentence ("(512, 340), 2.1 m",
SPAR's "[271, 546], 3.8"), then before the point in its sentence ("2.1 m deep, at (512, 340)", the last
number). A bare number is read in `default_unit` (metres: the question asks for metres), a written length
unit is converted (210 cm -> 2.1 m). A point without a depth, a depth without a point, a coordinate off the
0-1000 grid, a point on a 0-1 scale (both coordinates in [0, 1], one a fraction) and a depth <= 0 are
"invalid".
"""

from __future__ import annotations

import re

from spatialforge.bench.parsers.base import AMBIGUOUS, INVALID, NO_ANSWER, OK, REFUSAL, Parsed, failed
from spatialforge.bench.parsers.box import NUM, POINT_RE, check_on_grid, looks_normalised_to_one
from spatialforge.bench.parsers.numbers import parse_number
from spatialforge.bench.parsers.text import final_answer_segments, is_refusal, prepare_reply
from spatialforge.bench.parsers.units import UNIT_TO_M, canonical_unit, convert

_SEP = r"(?:\s*[,;]\s*|\s+)"
_TRIPLE_RE = re.compile(rf"[(\[{{]\s*({NUM}){_SEP}({NUM}){_SEP}({NUM})\s*[)\]}}]")
_LABELLED_RE = re.compile(rf"\bx\s*[=:]\s*({NUM})\s*(?:[,;]\s*)?(?:and\s+)?\by\s*[=:]\s*({NUM})")
_DEPTH_RE = re.compile(r"\bdepth\b")
# End of a sentence: a newline, or a full stop, "!" or "?" followed by space or the end ("2.1 m." keeps 2.1).
# A ";" does not end it: "(512, 340) in image 1; it is 7 feet deep" states the depth with the point.
_SENTENCE_END_RE = re.compile(r"\n|[.!?](?=\s|$)")


def _points(segment: str) -> list[tuple[float, float, int, int, float | None]]:
    """Points written in the segment in reply order, as (x, y, start, end, the depth of a triple or None)."""
    found: list[tuple[float, float, int, int, float | None]] = []
    taken: list[tuple[int, int]] = []
    for match in _TRIPLE_RE.finditer(segment):
        found.append((float(match[1]), float(match[2]), match.start(), match.end(), float(match[3])))
        taken.append(match.span())
    for regex in (POINT_RE, _LABELLED_RE):
        for match in regex.finditer(segment):
            if any(lo < match.end() and match.start() < hi for lo, hi in taken):
                continue
            found.append((float(match[1]), float(match[2]), match.start(), match.end(), None))
            taken.append(match.span())
    return sorted(found, key=lambda point: point[2])


def _sentence_start(text: str, at: int) -> int:
    starts = [m.end() for m in _SENTENCE_END_RE.finditer(text, 0, at)]
    return starts[-1] if starts else 0


def _sentence_end(text: str, at: int) -> int:
    stop = _SENTENCE_END_RE.search(text, at)
    return len(text) if stop is None else stop.start()


def _depth(text: str, start: int, end: int, pick: str, units: dict[str, str | None]) -> Parsed | None:
    """The depth in text[start:end] by parse_number: a value, or why the number there is unusable
    (alternatives, a unit that is not a length); None when the span holds no number."""
    window = text[start:end]
    if not window.strip():
        return None
    parsed = parse_number(window, pick=pick, ranges="mean", **units)
    return parsed if parsed.status in (OK, AMBIGUOUS, INVALID) else None


def _read_depth(text: str, point_start: int, point_end: int, units: dict[str, str | None]) -> Parsed | None:
    """The depth stated with the point (module docstring for the order), the point's text blanked out."""
    blanked = text[:point_start] + " " * (point_end - point_start) + text[point_end:]
    for match in reversed(list(_DEPTH_RE.finditer(blanked))):
        depth = _depth(blanked, match.end(), _sentence_end(blanked, match.end()), "first", units)
        if depth is not None:
            return depth
    after = _depth(blanked, point_end, _sentence_end(blanked, point_end), "first", units)
    if after is not None:
        return after
    return _depth(blanked, _sentence_start(blanked, point_start), point_start, "last", units)


def _read(segment: str, units: dict[str, str | None]) -> Parsed | None:
    """The point and depth of one segment; None when it has no point."""
    points = _points(segment)
    if not points:
        return None
    distinct = list(dict.fromkeys((x, y) for x, y, *_ in points))
    if len(distinct) > 1:
        listed = ", ".join(f"({x:g}, {y:g})" for x, y in distinct)
        return failed(AMBIGUOUS, f"{len(distinct)} different image points: {listed}")
    x, y, start, end, written_depth = points[-1]
    if written_depth is not None:  # "(512, 340, 2.1)": a bare depth, in the default unit
        if units["default_unit"] is None:
            return failed(INVALID, f"depth {written_depth:g} without a unit")
        value = convert(written_depth, units["default_unit"], units["to_unit"])
        depth = Parsed(value, OK, f"default unit {units['default_unit']}")
    else:
        depth = _read_depth(segment, start, end, units)
    if depth is None:
        return failed(INVALID, f"image point ({x:g}, {y:g}) without a depth")
    if not depth.ok:
        return depth
    return Parsed((x, y, float(depth.value)), OK, depth.detail, depth.unit)


def parse_image_point(text: str, *, default_unit: str | None = "m", to_unit: str = "m") -> Parsed:
    """(x, y, depth): a point on the 0-1000 grid and its depth in `to_unit` (see the module docstring).

    default_unit: the unit of a bare depth (metres, as the question asks; None: a depth must state its unit);
    to_unit: a length unit for the depth.
    """
    if to_unit not in UNIT_TO_M:
        raise ValueError(f"to_unit must be a length unit {sorted(UNIT_TO_M)}, got {to_unit!r}")
    if default_unit is not None:
        canonical = canonical_unit(default_unit)
        if canonical is None:
            raise ValueError(f"default_unit must be a length unit, got {default_unit!r}")
        default_unit = canonical
    units = {"default_unit": default_unit, "to_unit": to_unit}
    reply = prepare_reply(text)
    if isinstance(reply, Parsed):
        return reply
    read = None
    for segment in final_answer_segments(reply):
        read = _read(segment, units)
        if read is not None and read.status != INVALID:
            break  # a point with its depth, or an ambiguous one; else the whole reply may complete it
    if read is None or not read.ok:
        if is_refusal(reply):
            return failed(REFUSAL, "refusal")
        if read is not None:
            return read
        depth = parse_number(reply, **units)
        if depth.ok and (depth.unit is not None or _DEPTH_RE.search(reply)):  # not "the first one"
            return failed(INVALID, f"a depth ({depth.value:g} {to_unit}) but no image point")
        return failed(NO_ANSWER, "no image point found")
    x, y, depth_value = read.value  # type: ignore[misc]
    why = check_on_grid((x, y), "point")
    if why is not None:
        return failed(INVALID, why)
    if looks_normalised_to_one((x, y)):
        return failed(INVALID, f"point ({x:g}, {y:g}) is on a 0-1 scale, not the 0-1000 grid")
    if depth_value <= 0.0:
        return failed(INVALID, f"depth {depth_value:g} {to_unit} is not positive")
    return read
