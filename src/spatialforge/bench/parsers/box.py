"""2D box replies on SPAR's 0-1000 image grid -> (x0, y0, x1, y1) floats, min corner first.

SPAR's position_matching asks for the box of an object in another view, its coordinates normalised to 0-1000
(SPAR paper 003, appendix 7.5 "Position matching"; the grid as for its points, eq. 9). Read forms:
- four numbers in brackets: "[120, 340, 560, 780]", "(120, 340, 560, 780)", numpy style "[120 340 560 780]";
- two corner points: "(120, 340), (560, 780)", "[[120, 340], [560, 780]]", "top-left (120, 340) and
  bottom-right (560, 780)";
- labelled corners: "x1=120, y1=340, x2=560, y2=780" (also "x0"/"y0", "x_min"/"xmax", ":" for "=");
- failing all of those, exactly four bare numbers ("120, 340, 560, 780"); numbers that name an image, a
  frame, a camera, ... ("image 2") are references, not coordinates.
Where: an explicit answer statement (text.answer_spans) is read first, the whole reply only when the statement
holds no box. Several different boxes where the answer is read (a chain of thought repeating the reference
box of the question, then giving its own) are "ambiguous": nothing says which one answers; the same box
written twice (as a list and as labelled corners) is one box. More than four bare numbers are "ambiguous";
one to three are "invalid" (no box).
A box is two corners: when a reply writes x1 < x0 or y1 < y0 the corners are reordered (min, max) and
Parsed.detail says so. A coordinate outside [0, 1000] is "invalid" (the question states the grid), as is a
box whose four coordinates all lie in [0, 1] with a fraction among them (a box normalised to 0-1, not
0-1000: read on the grid it would be a speck in the corner, so it is not silently scored as one), and a box
with zero width or height.
"""

from __future__ import annotations

import math
import re

from spatialforge.bench.parsers.base import AMBIGUOUS, INVALID, NO_ANSWER, OK, REFUSAL, Parsed, failed
from spatialforge.bench.parsers.text import final_answer_segments, is_refusal, prepare_reply

# SPAR's image grid: coordinates normalised to 0..1000 (paper 003, appendix 7.5, eq. 9).
GRID_MIN = 0.0
GRID_MAX = 1000.0

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_SEP = r"(?:\s*[,;]\s*|\s+)"
_OPEN, _CLOSE = r"[(\[{]", r"[)\]}]"
_BOX4_RE = re.compile(rf"{_OPEN}\s*({NUM}){_SEP}({NUM}){_SEP}({NUM}){_SEP}({NUM})\s*{_CLOSE}")
POINT_RE = re.compile(rf"{_OPEN}\s*({NUM}){_SEP}({NUM})\s*{_CLOSE}")
# "x1=120", "y_min: 340", "xmax = 560": axis, corner key, value.
_LABELLED_RE = re.compile(rf"\b([xy])[\s_]*(0|1|2|min|max)\s*[=:]\s*({NUM})")
_CORNER_ORDER = {"0": 0, "1": 1, "2": 2, "min": 0, "max": 1}
# A bare number, optionally in pixels; `bare_numbers` drops those glued to a word or another number ("x1",
# "2d", "1.2.3").
_BARE_RE = re.compile(rf"(?<![\w.])({NUM})(?:\s*(?:px|pixels?)\b)?")
# Numbers that name something ("image 2", "camera #2", "frame-3") rather than measure it.
REFERENCE_RE = re.compile(
    r"(?:\b(?:images?|imgs?|pictures?|photos?|frames?|views?|cameras?|cams?|objects?|obj|options?|choices?"
    r"|steps?|figures?|fig|regions?|items?|ids?)|#)\s*[\[(#:.-]?\s*$"
)
_REFERENCE_LOOKBACK = 12

Box = tuple[float, float, float, float]


def is_reference(text: str, start: int) -> bool:
    """True when the number starting at `start` follows a noun that makes it a label ("image 2")."""
    return REFERENCE_RE.search(text, max(0, start - _REFERENCE_LOOKBACK), start) is not None


def bare_numbers(text: str) -> list[float]:
    """The numbers of `text` that are not labels or references, in order."""
    out = []
    for match in _BARE_RE.finditer(text):
        after = text[match.end() : match.end() + 2]
        glued = after[:1].isalnum() or (after[:1] == "." and after[1:].isdigit())
        if not glued and not is_reference(text, match.start()):
            out.append(float(match[1]))
    return out


def _corners(a: tuple[str, str], b: tuple[str, str]) -> Box:
    return (float(a[0]), float(a[1]), float(b[0]), float(b[1]))


def _labelled_box(segment: str) -> Box | Parsed | None:
    """The box of "x1=.., y1=.., x2=.., y2=.."; a failed Parsed when a label repeats with another value."""
    values: dict[tuple[str, int], str] = {}
    for match in _LABELLED_RE.finditer(segment):
        key = (match[1], _CORNER_ORDER[match[2]])
        if key in values and float(values[key]) != float(match[3]):
            return failed(AMBIGUOUS, f"{match[1]}{match[2]} given twice ({values[key]} and {match[3]})")
        values[key] = match[3]
    xs = sorted(k for a, k in values if a == "x")
    ys = sorted(k for a, k in values if a == "y")
    if len(xs) != 2 or xs != ys:
        return None  # a point ("x=512, y=340"), or labels that do not make two corners
    lo, hi = xs
    return _corners((values[("x", lo)], values[("y", lo)]), (values[("x", hi)], values[("y", hi)]))


def _structured_boxes(segment: str) -> list[Box] | Parsed:
    """Boxes written as 4-tuples, corner pairs or labelled corners, in reply order, duplicates kept."""
    boxes: list[tuple[int, Box]] = []
    taken: list[tuple[int, int]] = []
    for match in _BOX4_RE.finditer(segment):
        boxes.append((match.start(), _corners((match[1], match[2]), (match[3], match[4]))))
        taken.append(match.span())
    points = [m for m in POINT_RE.finditer(segment) if not any(lo <= m.start() < hi for lo, hi in taken)]
    if len(points) >= 3 and len(points) % 2 == 1:
        return failed(AMBIGUOUS, f"{len(points)} corner points; a box is two")
    if len(points) >= 2:
        for first, second in zip(points[::2], points[1::2], strict=True):
            boxes.append((first.start(), _corners((first[1], first[2]), (second[1], second[2]))))
    elif len(points) == 1 and not boxes:
        return failed(INVALID, "one point; a box needs two corners")
    labelled = _labelled_box(segment)
    if isinstance(labelled, Parsed):
        return labelled
    if labelled is not None:
        boxes.append((len(segment), labelled))
    return [box for _, box in sorted(boxes, key=lambda pair: pair[0])]


def _normalised(box: Box) -> tuple[Box, str]:
    x0, y0, x1, y1 = box
    swapped = [axis for axis, (lo, hi) in (("x", (x0, x1)), ("y", (y0, y1))) if hi < lo]
    note = f"corners reordered ({' and '.join(swapped)} written max first)" if swapped else ""
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), note


def _fmt(box: Box) -> str:
    return "[" + ", ".join(f"{c:g}" for c in box) + "]"


def _read(segment: str) -> tuple[Box, str] | Parsed | None:
    """The one box of a segment (with a note), a failed Parsed, or None when the segment has none."""
    structured = _structured_boxes(segment)
    if isinstance(structured, Parsed):
        return structured
    if structured:
        distinct = list(dict.fromkeys(_normalised(box)[0] for box in structured))
        if len(distinct) > 1:
            return failed(AMBIGUOUS, f"{len(distinct)} different boxes: {', '.join(map(_fmt, distinct))}")
        return _normalised(structured[0])
    numbers = bare_numbers(segment)
    if len(numbers) > 4:
        return failed(AMBIGUOUS, f"{len(numbers)} numbers; a box is 4")
    if len(numbers) == 4:
        return _normalised((numbers[0], numbers[1], numbers[2], numbers[3]))
    return None if not numbers else failed(INVALID, f"{len(numbers)} number(s); a box needs 4")


def check_on_grid(values: tuple[float, ...], what: str) -> str | None:
    """Why grid coordinates are unusable (non-finite, off the 0-1000 grid), or None when they are fine."""
    for value in values:
        if not math.isfinite(value):
            return f"{what} coordinate is not finite"
        if not GRID_MIN <= value <= GRID_MAX:
            return f"{what} coordinate {value:g} is outside the 0-1000 grid"
    return None


def looks_normalised_to_one(values: tuple[float, ...]) -> bool:
    """All coordinates in [0, 1] with a fraction among them: a 0-1 answer, not a 0-1000 one."""
    return all(0.0 <= v <= 1.0 for v in values) and any(not float(v).is_integer() for v in values)


def parse_box(text: str) -> Parsed:
    """The box a reply gives on the 0-1000 grid as (x0, y0, x1, y1), x0 <= x1, y0 <= y1 (module docstring)."""
    reply = prepare_reply(text)
    if isinstance(reply, Parsed):
        return reply
    read: tuple[Box, str] | Parsed | None = None
    for segment in final_answer_segments(reply):
        read = _read(segment)
        if read is not None and not (isinstance(read, Parsed) and read.status == INVALID):
            break  # a box, or an ambiguous statement; a statement without a box falls back to the reply
    if read is None or isinstance(read, Parsed):
        if is_refusal(reply):  # "I cannot tell where the chair is" even with a stray number
            return failed(REFUSAL, "refusal")
        return read or failed(NO_ANSWER, "no box found")
    box, note = read
    why = check_on_grid(box, "box")
    if why is not None:
        return failed(INVALID, why)
    if looks_normalised_to_one(box):
        return failed(INVALID, f"box {_fmt(box)} is on a 0-1 scale, not the 0-1000 grid")
    if box[0] == box[2] or box[1] == box[3]:
        return failed(INVALID, f"box {_fmt(box)} has zero width or height")
    return Parsed(box, OK, note)
