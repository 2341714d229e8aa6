"""Drawing markers on a copy of an image: exact pixels, sizes that scale, named refusals."""

import numpy as np
import pytest
from PIL import Image

from spatialforge.qa.draw_markers import (
    BLACK,
    MARKER_REJECTIONS,
    MARKER_RGB,
    WHITE,
    MarkerDrawError,
    PixelBox,
    box_line_width_px,
    box_pixels,
    draw_markers,
    edge_width_px,
    marker_rejection,
    point_radius_px,
    ring_colour,
    ring_width_px,
)
from spatialforge.qa.records import Marker, norm_from_px
from spatialforge.qa.references import MARKER_COLOURS

BACKGROUND = (40, 40, 40)


def canvas(width: int = 640, height: int = 480) -> Image.Image:
    return Image.new("RGB", (width, height), BACKGROUND)


def box(colour: str, px: tuple[float, float, float, float], width: int = 640, height: int = 480) -> Marker:
    return Marker("box", colour, 0, norm_from_px(px, width, height), px)


def point(colour: str, px: tuple[float, float], width: int = 640, height: int = 480) -> Marker:
    return Marker("point", colour, 0, norm_from_px(px, width, height), px)


def rgb(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return image.getpixel((x, y))


# ---------------------------------------------------------------- colours and sizes


def test_every_reference_colour_has_a_distinct_rgb():
    assert set(MARKER_RGB) == set(MARKER_COLOURS)
    assert len(set(MARKER_RGB.values())) == len(MARKER_RGB)
    assert MARKER_RGB["red"] == (255, 0, 0)


def test_ring_contrasts_with_the_dot():
    # Rec. 601 luma: yellow 0.299*255 + 0.587*255 = 225.9 > 128 -> black; red 0.299*255 = 76.2 -> white.
    assert ring_colour(MARKER_RGB["yellow"]) == BLACK
    assert ring_colour(MARKER_RGB["red"]) == WHITE
    assert ring_colour(MARKER_RGB["blue"]) == WHITE


def test_sizes_scale_with_the_longer_side():
    # line: max(2, round(L / 200)): 640 -> 3.2 -> 3; 1920 -> 9.6 -> 10; 320 -> 1.6 -> 2 (floor of 2 px).
    assert box_line_width_px(640, 480) == 3
    assert box_line_width_px(1920, 1080) == 10
    assert box_line_width_px(320, 240) == 2
    assert box_line_width_px(480, 640) == 3  # portrait: the longer side counts
    # dot radius: max(4, round(L / 80)): 640 -> 8; 1920 -> 24; 160 -> 2 -> floor 4.
    assert point_radius_px(640, 480) == 8
    assert point_radius_px(1920, 1080) == 24
    assert point_radius_px(160, 120) == 4
    assert ring_width_px(8) == 2 and edge_width_px(8) == 1  # round(8/4), max(1, round(8/12) = 1)
    assert ring_width_px(24) == 6 and edge_width_px(24) == 2


# ---------------------------------------------------------------- boxes


def test_box_pixels_follow_the_pixel_centre_convention():
    # x_min = 100.0 lies in pixel 100's cell [99.5, 100.5): floor(100.5) = 100;
    # x_max = 300.0 in pixel 300's: ceil(300.5) - 1 = 300.
    assert box_pixels((100.0, 50.0, 300.0, 250.0), 640, 480) == PixelBox(100, 50, 300, 250)
    # 100.6 lies in pixel 101's cell; 299.4 in pixel 299's.
    assert box_pixels((100.6, 50.4, 299.4, 249.6), 640, 480) == PixelBox(101, 50, 299, 250)
    # A box over the whole image area [-0.5, W - 0.5] covers every pixel.
    assert box_pixels((-0.5, -0.5, 639.5, 479.5), 640, 480) == PixelBox(0, 0, 639, 479)


def test_box_outline_has_the_colour_and_the_inside_does_not():
    image = draw_markers(canvas(), [box("red", (100.0, 50.0, 300.0, 250.0))])
    red = MARKER_RGB["red"]
    # Pixels 100..300 x 50..250; line 3 px (640 px image), running inward from the box edge.
    for x, y in [
        (100, 150),
        (101, 150),
        (102, 150),
        (300, 150),
        (298, 150),
        (200, 50),
        (200, 52),
        (200, 250),
    ]:
        assert rgb(image, x, y) == red, (x, y)
    for x, y in [(103, 150), (297, 150), (200, 53), (200, 247), (200, 150)]:  # inside
        assert rgb(image, x, y) == BACKGROUND, (x, y)
    for x, y in [(99, 150), (301, 150), (200, 49), (200, 251)]:  # just outside
        assert rgb(image, x, y) == BACKGROUND, (x, y)
    # Exactly the outline changed: (201 * 201) - (195 * 195) pixels = 40401 - 38025 = 2376.
    changed = np.any(np.asarray(image) != np.asarray(canvas()), axis=2)
    assert changed.sum() == 201 * 201 - 195 * 195


def test_line_width_scales_with_the_image():
    # The same box on the 0-1000 grid, drawn on a 640x480 and a 1920x1440 image: 3 px vs 10 px lines.
    small = draw_markers(canvas(), [box("green", (64.0, 48.0, 320.0, 240.0))])
    big = draw_markers(canvas(1920, 1440), [box("green", (192.0, 144.0, 960.0, 720.0), 1920, 1440)])
    green = MARKER_RGB["green"]

    def run_length(image: Image.Image, x0: int, y: int) -> int:
        n = 0
        while rgb(image, x0 + n, y) == green:
            n += 1
        return n

    assert run_length(small, 64, 150) == 3
    assert run_length(big, 192, 450) == 10


def test_small_box_keeps_its_inside_visible():
    # 8x8 pixel box (10..17): line = max(1, min(3, 8 // 4)) = 2, so pixels 12..15 stay untouched.
    image = draw_markers(canvas(), [box("blue", (10.0, 10.0, 17.0, 17.0))])
    assert rgb(image, 11, 11) == MARKER_RGB["blue"]
    assert rgb(image, 12, 12) == BACKGROUND and rgb(image, 15, 15) == BACKGROUND
    assert rgb(image, 16, 13) == MARKER_RGB["blue"]


def test_box_partly_outside_is_clipped_and_every_side_stays_visible():
    # (-20, -20, 100, 100) clips to (-0.5, -0.5, 100, 100): pixels 0..100; the left line is columns 0..2.
    image = draw_markers(canvas(), [box("orange", (-20.0, -20.0, 100.0, 100.0))])
    orange = MARKER_RGB["orange"]
    assert rgb(image, 0, 50) == orange and rgb(image, 2, 50) == orange and rgb(image, 3, 50) == BACKGROUND
    assert rgb(image, 50, 0) == orange and rgb(image, 100, 50) == orange and rgb(image, 101, 50) == BACKGROUND


# ---------------------------------------------------------------- points


def test_point_is_a_dot_with_a_contrasting_ring_and_edge():
    # 640x480: radius 8, ring 2, edge 1. Pixel centres along the row through (320, 240), distance d:
    # d <= 8 dot (d < 8.5), 9..10 ring (d < 10.5), 11 edge (d < 11.5), 12 untouched.
    image = draw_markers(canvas(), [point("blue", (320.0, 240.0))])
    assert rgb(image, 320, 240) == MARKER_RGB["blue"]
    assert rgb(image, 328, 240) == MARKER_RGB["blue"]
    assert rgb(image, 329, 240) == WHITE and rgb(image, 330, 240) == WHITE
    assert rgb(image, 331, 240) == BLACK
    assert rgb(image, 332, 240) == BACKGROUND
    assert rgb(image, 320, 240 - 11) == BLACK  # the same rings upwards
    # Diagonal (326, 246): d = 6 * sqrt(2) = 8.49 < 8.5 -> dot; (327, 247): 9.90 -> ring.
    assert rgb(image, 326, 246) == MARKER_RGB["blue"] and rgb(image, 327, 247) == WHITE


def test_light_point_gets_a_black_ring_and_a_white_edge():
    image = draw_markers(canvas(), [point("yellow", (100.0, 100.0))])
    assert rgb(image, 100, 100) == MARKER_RGB["yellow"]
    assert rgb(image, 109, 100) == BLACK and rgb(image, 111, 100) == WHITE


def test_point_radius_scales_with_the_image():
    # 1920x1080: radius 24, so pixel 24 to the right is still the dot and 25 is the ring.
    image = draw_markers(canvas(1920, 1080), [point("red", (960.0, 540.0), 1920, 1080)])
    assert rgb(image, 984, 540) == MARKER_RGB["red"] and rgb(image, 985, 540) == WHITE


def test_point_on_the_border_is_drawn_clipped():
    image = draw_markers(canvas(), [point("red", (639.5, 0.0))])
    assert rgb(image, 639, 0) == MARKER_RGB["red"]


# ---------------------------------------------------------------- copies, order


def test_original_image_is_never_drawn_on():
    original = canvas()
    before = np.asarray(original).copy()
    out = draw_markers(original, [box("red", (10.0, 10.0, 100.0, 100.0)), point("blue", (300.0, 300.0))])
    assert out is not original
    assert np.array_equal(np.asarray(original), before)


def test_later_markers_are_drawn_on_top():
    a, b = box("red", (10.0, 10.0, 100.0, 100.0)), box("green", (10.0, 10.0, 200.0, 200.0))
    assert rgb(draw_markers(canvas(), [a, b]), 10, 50) == MARKER_RGB["green"]
    assert rgb(draw_markers(canvas(), [b, a]), 10, 50) == MARKER_RGB["red"]


def test_non_rgb_input_is_converted():
    image = draw_markers(Image.new("L", (64, 48), 90), [box("red", (5.0, 5.0, 40.0, 40.0), 64, 48)])
    assert image.mode == "RGB" and rgb(image, 5, 20) == MARKER_RGB["red"] and rgb(image, 20, 20) == (90,) * 3


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        (box("teal", (10.0, 10.0, 50.0, 50.0)), "unknown_colour"),
        (Marker("polygon", "red", 0, (1.0, 2.0), (1.0, 2.0)), "unknown_kind"),
        (box("red", (100.0, 10.0, 100.0, 50.0)), "box_degenerate"),
        (box("red", (120.0, 10.0, 100.0, 50.0)), "box_degenerate"),
        (box("red", (700.0, 10.0, 800.0, 50.0)), "box_outside_image"),
        (box("red", (10.0, -90.0, 50.0, -10.0)), "box_outside_image"),
        (point("red", (640.0, 10.0)), "point_outside_image"),  # past the last cell's edge, 639.5
        (point("red", (10.0, -0.6)), "point_outside_image"),
        # Normalised on a 1280x960 image: (78, 52, 234, 260) vs (156, 104, 469, 521) on 640x480.
        (box("red", (100.0, 50.0, 300.0, 250.0), 1280, 960), "marker_geometry_inconsistent"),
        (point("red", (320.0, 240.0), 1280, 960), "marker_geometry_inconsistent"),
    ],
)
def test_bad_markers_are_refused_by_name(marker, reason):
    assert reason in MARKER_REJECTIONS
    found = marker_rejection(marker, 640, 480)
    assert found is not None and found.reason == reason
    original = canvas()
    with pytest.raises(MarkerDrawError) as info:
        draw_markers(original, [box("red", (10.0, 10.0, 50.0, 50.0)), marker])
    assert info.value.rejection.reason == reason
    assert np.all(np.asarray(original) == BACKGROUND)


def test_norm_off_by_one_rounding_is_accepted():
    # geometry_norm comes from rounding; a record from another rounding rule may differ by one unit.
    px = (100.0, 50.0, 300.0, 250.0)
    norm = tuple(v + 1 for v in norm_from_px(px, 640, 480))
    assert marker_rejection(Marker("box", "red", 0, norm, px), 640, 480) is None
