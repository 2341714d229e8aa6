"""Prompts with drawn markers at inference: `ask --box x0,y0,x1,y1` / `--point u,v`.

A model trained on questions like "the chair (highlighted by the red box)" needs the same picture at
inference: the marker drawn the way the training data drew it. This module only turns user geometry into
qa/records.py `Marker`s and draws them with qa/draw_markers.py (same colours, line widths, dot sizes and
refusals), returning the marked copy and the phrase that names each marker ("the red box").

Geometry is in the repo's pixel convention (geometry/camera.py, qa/draw_markers.py): integer coordinates
are pixel centres, the image spans [-0.5, W - 0.5] x [-0.5, H - 0.5]. Colours are handed out in
qa.references.MARKER_COLOURS order (red, green, blue, ...), boxes first, then points, so a prompt with one
box always says "the red box".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from spatialforge.qa.draw_markers import draw_markers
from spatialforge.qa.records import Marker, norm_from_px
from spatialforge.qa.references import MARKER_COLOURS


@dataclass(frozen=True)
class MarkedPrompt:
    """image: a new RGB image with the markers drawn; phrases: one per marker, in order ("the red box");
    markers: the drawn markers (pixel and 0-1000 geometry), e.g. for a record of what was asked."""

    image: Image.Image
    phrases: tuple[str, ...]
    markers: tuple[Marker, ...]


def marker_phrase(marker: Marker) -> str:
    """The words a question uses for a marker: "the red box", "the blue point"."""
    return f"the {marker.colour} {marker.kind}"


def mark_image(
    image: Image.Image,
    boxes: Sequence[Sequence[float]] = (),
    points: Sequence[Sequence[float]] = (),
    colours: Sequence[str] = MARKER_COLOURS,
) -> MarkedPrompt:
    """Draw boxes (x0, y0, x1, y1) and points (u, v), pixels, on a copy of `image`.

    ValueError when there are more markers than colours or a geometry has the wrong number of values;
    qa.draw_markers.MarkerDrawError (a ValueError with a named reason) for a degenerate box or geometry
    outside the image. `image` itself is not changed."""
    if len(boxes) + len(points) > len(colours):
        raise ValueError(f"{len(boxes) + len(points)} markers but only {len(colours)} colours: {colours}")
    width, height = image.size
    shapes = [("box", tuple(map(float, b))) for b in boxes] + [
        ("point", tuple(map(float, p))) for p in points
    ]
    markers = []
    for (kind, geometry), colour in zip(shapes, colours, strict=False):
        expected = 4 if kind == "box" else 2
        if len(geometry) != expected:
            raise ValueError(f"a {kind} marker needs {expected} numbers, got {geometry}")
        markers.append(Marker(kind, colour, 0, norm_from_px(geometry, width, height), geometry))
    drawn = draw_markers(image, markers)
    return MarkedPrompt(drawn, tuple(marker_phrase(m) for m in markers), tuple(markers))


def parse_coordinates(text: str, count: int, option: str) -> tuple[float, ...]:
    """ "x0,y0,x1,y1" -> floats (CLI values); ValueError naming the option when it is not `count` numbers."""
    parts = [part.strip() for part in text.split(",")]
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        raise ValueError(f"{option} {text!r}: expected {count} comma-separated numbers") from None
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{option} {text!r}: expected {count} comma-separated finite numbers")
    return values
