"""Visual markers drawn on copies of the images: boxes and points, SPAR / HiSpatial style.

A QA record that names an object by a marker ("the chair (highlighted by the red box)", HiSpatial paper 002
sec. 3 and appendix "referring expressions"; "the table (red point)", SPAR paper 003 appendix task examples)
always stores the marker's geometry (qa/records.py `Marker`). This module draws those markers on a *copy* of
the image, on request, so a model can be shown what the question refers to:

- box: a rectangle outline in the marker's colour; its outer edge is the box's edge (the line runs inward),
  so every side stays visible even where the box touches the image border. Geometry outside the image is
  clipped; a box wholly outside is refused.
- point: a filled dot in the marker's colour, a ring in a contrasting colour (black around light colours,
  white around dark ones) and a one-pixel-or-more edge in the opposite of the ring, so the dot separates from
  light and dark backgrounds alike. A point outside the image is refused (the question would name a mark the
  viewer cannot see).

Pixel convention (geometry/boxes2d.py): pixel (i, j) is centred at x = i, y = j and covers
[i - 0.5, i + 0.5]; the image area is [-0.5, W - 0.5] x [-0.5, H - 0.5]. Drawing is done on a numpy copy
without antialiasing, so a marker pixel has exactly its colour's RGB (MARKER_RGB), which tests and
downstream checks can rely on.

Sizes scale with the image's longer side L (pixels), so marks read alike at 640 px and at 1920 px:
box line width max(2, round(L / 200)) (3 px at 640, 10 px at 1920); dot radius max(4, round(L / 80))
(8 px at 640, 24 px at 1920); ring max(2, round(radius / 4)); edge max(1, round(radius / 12)).

Bad geometry is a `MarkerRejection` with a named reason (MARKER_REJECTIONS), never a silently wrong drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from PIL import Image

from spatialforge.qa.records import NORM_GRID, Marker, norm_from_px
from spatialforge.qa.references import MARKER_COLOURS

RGB = tuple[int, int, int]

# Exact RGB of every marker colour name. CSS / X11 named colours, two adjusted for photos: "green" is CSS
# lime (CSS green, (0, 128, 0), is too dark to find on an indoor photo) and "purple" is X11 purple (CSS
# purple, (128, 0, 128), is as dark). Saturated primaries so that the word in the question matches what a
# person (or a VLM) would call the colour.
MARKER_RGB: dict[str, RGB] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "purple": (160, 32, 240),
    "orange": (255, 165, 0),
}
assert set(MARKER_RGB) == set(MARKER_COLOURS), "every colour the references hand out needs an RGB"

WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)
# A ring is black around colours brighter than this Rec. 601 luma, white around darker ones: yellow (226),
# green (150) and orange (173) get black, red (76), blue (29) and purple (89) white.
RING_LUMA_SPLIT = 128.0

# geometry_norm may differ from norm_from_px(geometry_px) by rounding only: 1 unit of the 0-1000 grid.
# A larger difference means the record was made for an image of another size (or edited by hand).
NORM_TOLERANCE = 1.0

MARKER_REJECTIONS = (
    "unknown_colour",  # colour name not in MARKER_RGB
    "unknown_kind",  # marker kind this module cannot draw
    "box_degenerate",  # x_max <= x_min or y_max <= y_min
    "box_outside_image",  # nothing of the box is left after clipping to the image area
    "point_outside_image",  # the point lies outside [-0.5, W - 0.5] x [-0.5, H - 0.5]
    "marker_geometry_inconsistent",  # geometry_norm disagrees with geometry_px on this image size
)


class MarkerRejection(NamedTuple):
    """Why a marker cannot be drawn on an image of this size: reason is one of MARKER_REJECTIONS."""

    reason: str
    detail: str


class MarkerDrawError(ValueError):
    """draw_markers was given a marker that check_markers refuses; carries the rejection."""

    def __init__(self, rejection: MarkerRejection) -> None:
        self.rejection = rejection
        super().__init__(f"{rejection.detail} [{rejection.reason}]")


# ---------------------------------------------------------------- sizes


def box_line_width_px(width: int, height: int) -> int:
    """Outline width for an image of width x height pixels: 3 px at 640x480, 10 px at 1920x1080."""
    return max(2, round(max(width, height) / 200))


def point_radius_px(width: int, height: int) -> int:
    """Radius of a point's coloured dot: 8 px at 640x480, 24 px at 1920x1080."""
    return max(4, round(max(width, height) / 80))


def ring_width_px(radius: int) -> int:
    return max(2, round(radius / 4))


def edge_width_px(radius: int) -> int:
    return max(1, round(radius / 12))


def ring_colour(colour: RGB) -> RGB:
    """Black around light marker colours, white around dark ones (Rec. 601 luma)."""
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    return BLACK if luma > RING_LUMA_SPLIT else WHITE


# ---------------------------------------------------------------- geometry checks


class PixelBox(NamedTuple):
    """Inclusive pixel index range of a box clipped to the image: columns left..right, rows top..bottom."""

    left: int
    top: int
    right: int
    bottom: int


def box_pixels(geometry_px: Sequence[float], width: int, height: int) -> PixelBox | MarkerRejection:
    """The pixels a box (x_min, y_min, x_max, y_max), continuous pixel coordinates, covers in the image.

    Clipped to the image area [-0.5, W - 0.5] x [-0.5, H - 0.5]; then the first column is the pixel whose
    cell holds x_min, floor(x_min + 0.5), and the last the pixel whose cell holds x_max from the left,
    ceil(x_max + 0.5) - 1 (so a box over the whole image, [-0.5, W - 0.5], covers columns 0..W-1)."""
    x0, y0, x1, y1 = geometry_px
    if not (x1 > x0 and y1 > y0):
        return MarkerRejection("box_degenerate", f"box {tuple(geometry_px)} has no area")
    cx0, cx1 = min(max(x0, -0.5), width - 0.5), min(max(x1, -0.5), width - 0.5)
    cy0, cy1 = min(max(y0, -0.5), height - 0.5), min(max(y1, -0.5), height - 0.5)
    if not (cx1 > cx0 and cy1 > cy0):
        return MarkerRejection(
            "box_outside_image", f"box {tuple(geometry_px)} lies outside the {width}x{height} image"
        )
    left, top = math.floor(cx0 + 0.5), math.floor(cy0 + 0.5)
    right, bottom = math.ceil(cx1 + 0.5) - 1, math.ceil(cy1 + 0.5) - 1
    # A sliver thinner than one pixel cell still gets its one column / row.
    return PixelBox(left, top, max(left, right), max(top, bottom))


def box_is_clipped(geometry_px: Sequence[float], width: int, height: int) -> bool:
    x0, y0, x1, y1 = geometry_px
    return x0 < -0.5 or y0 < -0.5 or x1 > width - 0.5 or y1 > height - 0.5


def marker_rejection(marker: Marker, width: int, height: int) -> MarkerRejection | None:
    """None if `marker` can be drawn on a width x height image, else why not."""
    if marker.colour not in MARKER_RGB:
        return MarkerRejection(
            "unknown_colour", f"marker colour {marker.colour!r} is not one of {sorted(MARKER_RGB)}"
        )
    if marker.kind == "box":
        found = box_pixels(marker.geometry_px, width, height)
        if isinstance(found, MarkerRejection):
            return found
    elif marker.kind == "point":
        u, v = marker.geometry_px
        if not (-0.5 <= u <= width - 0.5 and -0.5 <= v <= height - 0.5):
            return MarkerRejection(
                "point_outside_image", f"point ({u}, {v}) lies outside the {width}x{height} image"
            )
    else:
        return MarkerRejection("unknown_kind", f"cannot draw a marker of kind {marker.kind!r}")
    expected = norm_from_px(marker.geometry_px, width, height)
    worst = max(abs(a - b) for a, b in zip(expected, marker.geometry_norm, strict=True))
    if worst > NORM_TOLERANCE:
        return MarkerRejection(
            "marker_geometry_inconsistent",
            f"geometry_norm {tuple(marker.geometry_norm)} != {expected} computed from geometry_px "
            f"{tuple(marker.geometry_px)} on a {width}x{height} image (0-{NORM_GRID:g} grid)",
        )
    return None


def markers_rejection(markers: Sequence[Marker], width: int, height: int) -> MarkerRejection | None:
    """The first marker's rejection, or None when all of them can be drawn."""
    for m in markers:
        found = marker_rejection(m, width, height)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------- drawing


def draw_markers(image: Image.Image, markers: Sequence[Marker]) -> Image.Image:
    """A new RGB image: `image` with `markers` drawn in order (later ones on top); `image` is not changed.

    Raises MarkerDrawError if any marker is refused by marker_rejection (nothing is drawn then: a copy
    missing one of the question's marks would be a wrong picture). The markers' image_index is not looked
    at: the caller passes the markers of this image."""
    width, height = image.size
    rejection = markers_rejection(markers, width, height)
    if rejection is not None:
        raise MarkerDrawError(rejection)
    pixels = np.array(image.convert("RGB"), dtype=np.uint8)  # (H, W, 3) a copy, never a view of `image`
    for m in markers:
        if m.kind == "box":
            _draw_box(pixels, m.geometry_px, MARKER_RGB[m.colour])
        else:
            _draw_point(pixels, m.geometry_px, MARKER_RGB[m.colour])
    return Image.fromarray(pixels, "RGB")


def _draw_box(pixels: np.ndarray, geometry_px: Sequence[float], colour: RGB) -> None:
    height, width = pixels.shape[:2]
    box = box_pixels(geometry_px, width, height)
    assert isinstance(box, PixelBox)  # checked by draw_markers
    box_w, box_h = box.right - box.left + 1, box.bottom - box.top + 1
    # Thinner lines on small boxes: the outline never covers more than half of the box's shorter side, so
    # the object inside stays visible (a 10 px box keeps a 6 px window at the 2 px minimum).
    line = max(1, min(box_line_width_px(width, height), min(box_w, box_h) // 4))
    rows, cols = slice(box.top, box.bottom + 1), slice(box.left, box.right + 1)
    pixels[box.top : box.top + line, cols] = colour
    pixels[box.bottom - line + 1 : box.bottom + 1, cols] = colour
    pixels[rows, box.left : box.left + line] = colour
    pixels[rows, box.right - line + 1 : box.right + 1] = colour


def _draw_point(pixels: np.ndarray, geometry_px: Sequence[float], colour: RGB) -> None:
    height, width = pixels.shape[:2]
    u, v = geometry_px  # pixels, pixel-centre convention
    radius = point_radius_px(width, height)
    ring = ring_width_px(radius)
    edge = edge_width_px(radius)
    outer = radius + ring + edge
    # Only the patch around the point: distances from each pixel centre to (u, v).
    c0, c1 = max(0, math.floor(u - outer)), min(width, math.ceil(u + outer) + 1)
    r0, r1 = max(0, math.floor(v - outer)), min(height, math.ceil(v + outer) + 1)
    cols = np.arange(c0, c1, dtype=float)  # (w,) pixel centres x
    rows = np.arange(r0, r1, dtype=float)  # (h,) pixel centres y
    dist = np.hypot(cols[None, :] - u, rows[:, None] - v)  # (h, w) pixels
    patch = pixels[r0:r1, c0:c1]
    ring_rgb = ring_colour(colour)
    edge_rgb = WHITE if ring_rgb == BLACK else BLACK
    # A pixel belongs to a disc of radius R when its centre is within R + 0.5: the cell straddling the rim
    # counts. (dist <= R alone leaves one-pixel nubs at the four axis points of an integer centre.)
    patch[dist < outer + 0.5] = edge_rgb
    patch[dist < radius + ring + 0.5] = ring_rgb
    patch[dist < radius + 0.5] = colour
