"""Point-list replies (pointing tasks) -> a tuple of (x, y) points in normalised 0-1 image coordinates.

RoboSpatial-Home's context questions end with the instruction "Your answer should be formatted as a list of
tuples, i.e. [(x1, y1), ...], where each tuple contains the x and y coordinates of a point satisfying the
conditions above. The coordinates should be between 0 and 1, indicating the normalized pixel locations of the
points." (the released question text, HF dataset chanhee-luke/RoboSpatial-Home). x runs left to right, y top
to bottom, both as fractions of the image side.

Read forms of a point: "(0.31, 0.72)", "[0.31, 0.72]", "{0.31 0.72}" (two numbers in brackets), so Python
tuple lists, JSON lists of pairs and `{"point_2d": [0.31, 0.72]}` objects all read.
Where: an explicit answer statement (text.answer_spans: "Answer: [...]", `<answer>...</answer>`) first, else
the whole reply. Which points: a bracketed list of points ("[(x1, y1), (x2, y2)]") is the answer and
points written outside it are context ("the bowl is at (0.5, 0.6); free space: [(0.2, 0.6), ...]"); two
different lists where the answer is read are "ambiguous". Without a list, every point written is the answer,
in reply order.

The official RoboSpatial-Eval scorer (chanhee-luke/RoboSpatial-Eval evaluation.py, `evaluate_answer`) reads
the first "(x, y)" of unsigned decimals anywhere in the reply, else the first "[x, y]", else the first
bracketed list through ast.literal_eval. It therefore scores a point the reply only mentions (an object's
position stated before the answer list) and never reads ".5" or a signed number. We read the answer list
instead; on a reply that is just the list, as the prompt asks, both read the same first point.

A point off the 0-1 scale (a coordinate < 0 or > 1: pixels, or a 0-1000 grid) is "invalid": the prompt asks
for fractions, and such a point can never lie in a region on the 0-1 scale (the official scorer scores it as
an ordinary miss).
"""

from __future__ import annotations

import math
import re

from spatialforge.bench.parsers.base import AMBIGUOUS, INVALID, NO_ANSWER, OK, REFUSAL, Parsed, failed
from spatialforge.bench.parsers.text import final_answer_segments, is_refusal, prepare_reply

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"
# Two numbers in brackets, separated by a comma or a space: one point.
_POINT = rf"[(\[{{]\s*{_NUM}\s*(?:,\s*|\s+){_NUM}\s*[)\]}}]"
POINT_RE = re.compile(rf"[(\[{{]\s*({_NUM})\s*(?:,\s*|\s+)({_NUM})\s*[)\]}}]")
# A list of points: "[" point ("," point)* [","] "]". Points inside JSON objects ({"point_2d": [x, y]}) are
# read as loose points, one per object.
_LIST_RE = re.compile(rf"\[\s*{_POINT}(?:\s*,\s*{_POINT})*\s*,?\s*\]")

Point = tuple[float, float]


def _points_in(text: str) -> list[Point]:
    return [(float(m[1]), float(m[2])) for m in POINT_RE.finditer(text)]


def _read(segment: str) -> Parsed | None:
    """The points of one segment (module docstring), or None when it has none."""
    lists = [_points_in(m[0][1:-1]) for m in _LIST_RE.finditer(segment)]
    if lists:
        distinct = list(dict.fromkeys(tuple(points) for points in lists))
        if len(distinct) > 1:
            return failed(AMBIGUOUS, f"{len(distinct)} different point lists")
        return Parsed(distinct[0], OK, f"{len(distinct[0])} point(s) from a point list")
    loose = _points_in(segment)
    if not loose:
        return None
    return Parsed(tuple(loose), OK, f"{len(loose)} point(s)")


def _off_scale(points: tuple[Point, ...]) -> Point | None:
    for x, y in points:
        if not (math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            return x, y
    return None


def parse_points(text: str) -> Parsed:
    """The points a reply gives, as a tuple of (x, y) in [0, 1] (module docstring for what counts)."""
    reply = prepare_reply(text)
    if isinstance(reply, Parsed):
        return reply
    for segment in final_answer_segments(reply):
        read = _read(segment)
        if read is None:
            continue
        if not read.ok:
            return read
        bad = _off_scale(read.value)  # type: ignore[arg-type]
        if bad is not None:
            return failed(
                INVALID, f"point ({bad[0]:g}, {bad[1]:g}) is not on the 0-1 scale the prompt asks for"
            )
        return read
    if is_refusal(reply):
        return failed(REFUSAL, "refusal")
    return failed(NO_ANSWER, "no point found")
