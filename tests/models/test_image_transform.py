"""One plan for an image and its point map (models/image_transform.py): golden plans, normalisation, and
the consistency that matters - after the transform, every point-map pixel carries the point of the image
pixel it sits on, at the image's resolution and at a lower one, so the patch a marker lands in carries the
marker's point.

Coordinates: ImageTransform writes image pixel (u, v) as the cell [u, u + 1) x [v, v + 1); the point
maps here encode their own pixel index (x = u, y = v), so a point names the image pixel it came from.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from spatialforge.geometry.camera import PinholeCamera
from spatialforge.models.image_transform import ImageTransform
from spatialforge.models.markers import mark_image, parse_coordinates
from spatialforge.models.pointmap import point_map_from_depth

SIZES = [(40, 30), (30, 40), (37, 23), (64, 48), (17, 17), (5, 9)]
OUTS = [7, 10, 16, 24, 50]
MODES = ["stretch", "shortest_edge_crop"]


@pytest.mark.parametrize(
    ("mode", "width", "height", "size", "crop"),
    [
        ("stretch", 640, 480, 224, (0.0, 0.0, 640.0, 480.0)),
        ("shortest_edge_crop", 640, 480, 336, (80.0, 0.0, 560.0, 480.0)),
        ("shortest_edge_crop", 300, 500, 224, (0.0, 100.0, 300.0, 400.0)),
        ("shortest_edge_crop", 5, 2, 4, (1.5, 0.0, 3.5, 2.0)),  # odd difference: a half-pixel crop
        ("shortest_edge_crop", 64, 64, 32, (0.0, 0.0, 64.0, 64.0)),
    ],
)
def test_plan_golden(mode: str, width: int, height: int, size: int, crop: tuple[float, ...]):
    plan = ImageTransform(size, mode).plan(width, height)
    assert plan.crop == crop and plan.out == (size, size)


def test_bad_settings():
    with pytest.raises(ValueError, match="resize mode"):
        ImageTransform(8, "pad")
    with pytest.raises(ValueError, match="positive"):
        ImageTransform(0)
    with pytest.raises(ValueError, match="empty"):
        ImageTransform(8).plan(0, 5)
    with pytest.raises(ValueError, match="point map"):
        ImageTransform(8).point_map(np.zeros((4, 4, 2)), np.zeros((4, 4), bool), (4, 4))


def test_normalisation_golden():
    image = Image.new("RGB", (6, 4), (255, 0, 51))
    out = ImageTransform(3).image(image)  # SigLIP's mean = std = 0.5: [0, 1] -> [-1, 1]
    assert out.shape == (3, 3, 3) and out.dtype == np.float32
    assert out[:, 1, 1] == pytest.approx([1.0, -1.0, 51 / 255 * 2 - 1], abs=1e-6)
    clip = ImageTransform(
        3, "shortest_edge_crop", (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
    )
    got = clip.image(image)[:, 0, 0]
    assert got == pytest.approx(
        [(1 - 0.48145466) / 0.26862954, -0.4578275 / 0.26130258, (0.2 - 0.40821073) / 0.27577711], abs=1e-5
    )
    # Greyscale input is read as RGB.
    assert ImageTransform(2).image(Image.new("L", (2, 2), 255)).tolist() == np.ones((3, 2, 2)).tolist()


def pixel_index_map(width: int, height: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A point map of (height / step, width / step) whose pixel (c, r) holds (c, r, 1): at step 1 each
    point names its image pixel; at step s its cell covers image pixels [s c, s c + s)."""
    h, w = height // step, width // step
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([u, v, np.ones_like(u)], axis=-1), np.ones((h, w), bool)


def source_positions(transform: ImageTransform, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous image coordinates ([u, u + 1) = pixel u) of the output pixel centres, from the plan."""
    plan = transform.plan(width, height)
    x0, y0, x1, y1 = plan.crop
    xs = x0 + (np.arange(plan.out[0]) + 0.5) * (x1 - x0) / plan.out[0]
    ys = y0 + (np.arange(plan.out[1]) + 0.5) * (y1 - y0) / plan.out[1]
    return xs, ys


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_point_map_sits_on_the_image_pixel_it_came_from(mode: str, width: int, height: int):
    for size in OUTS:
        transform = ImageTransform(size, mode)
        xyz, valid = pixel_index_map(width, height)
        out, out_valid = transform.point_map(xyz, valid, (width, height))
        assert out.shape == (size, size, 3) and out_valid.all()
        xs, ys = source_positions(transform, width, height)
        # Output pixel (i, j) carries the point of the image pixel whose cell holds its centre.
        assert np.all(out[..., 0] == np.floor(xs)[None, :]) and np.all(out[..., 1] == np.floor(ys)[:, None])
        # Pillow's nearest resize of an image encoding (u, v) through the same plan picks the same pixels,
        # up to a centre exactly on a cell border, where either neighbour is nearest.
        u, v = np.mgrid[0:height, 0:width][::-1]
        image = Image.fromarray(np.stack([u, v, np.zeros_like(u)], axis=-1).astype(np.uint8))
        plan = transform.plan(width, height)
        near = np.asarray(image.resize(plan.out, Image.Resampling.NEAREST, box=plan.crop)).astype(np.float32)
        tie_x, tie_y = (xs == np.floor(xs))[None, :], (ys == np.floor(ys))[:, None]
        dx, dy = out[..., 0] - near[..., 0], out[..., 1] - near[..., 1]
        assert np.all((dx == 0) | (tie_x & (np.abs(dx) <= 1)))
        assert np.all((dy == 0) | (tie_y & (np.abs(dy) <= 1)))


@pytest.mark.parametrize("mode", MODES)
def test_lower_resolution_point_map_follows_the_same_plan(mode: str):
    width, height, step = 64, 48, 4  # a 16 x 12 sensor behind a 64 x 48 image
    for size in OUTS:
        transform = ImageTransform(size, mode)
        full, full_valid = pixel_index_map(width, height)
        coarse, coarse_valid = pixel_index_map(width, height, step)
        coarse_valid[0, 0] = False
        fine, _ = transform.point_map(full, full_valid, (width, height))
        low, low_valid = transform.point_map(coarse, coarse_valid, (width, height))
        # The coarse cell under each output pixel is the one holding the image pixel under it ...
        np.testing.assert_array_equal(low[..., :2], np.floor(fine[..., :2] / step))
        # ... and validity travels with its point.
        np.testing.assert_array_equal(low_valid, ~((low[..., 0] == 0) & (low[..., 1] == 0)))


@pytest.mark.parametrize("mode", MODES)
def test_bicubic_image_and_nearest_points_agree_inside(mode: str):
    # Colour = 4 x pixel index: bicubic reproduces a linear ramp away from the borders, so the decoded
    # colour is the continuous position of the output centre (in pixel-centre coordinates) and the point
    # map's pixel is within half a pixel of it.
    width, height, k = 60, 40, 4
    v, u = np.mgrid[0:height, 0:width]
    image = Image.fromarray(np.stack([k * u, k * v, np.zeros_like(u)], axis=-1).astype(np.uint8))
    transform = ImageTransform(16, mode)
    pixels = transform.image(image)  # (3, 16, 16), mean = std = 0.5
    decoded = (pixels * 0.5 + 0.5) * 255 / k  # (3, 16, 16) image coordinates of what each pixel shows
    xyz, valid = pixel_index_map(width, height)
    points, _ = transform.point_map(xyz, valid, (width, height))
    xs, ys = source_positions(transform, width, height)
    margin = 2 * max(width, height) / 16 + 2  # bicubic support when shrinking, in source pixels
    inside_x = (xs > margin) & (xs < width - margin)
    inside_y = (ys > margin) & (ys < height - margin)
    assert inside_x.sum() >= 4 and inside_y.sum() >= 4
    gap_x = np.abs(decoded[0][:, inside_x] - points[..., 0][:, inside_x])
    gap_y = np.abs(decoded[1][inside_y] - points[..., 1][inside_y])
    assert gap_x.max() <= 0.5 + 0.5 / k + 1e-3 and gap_y.max() <= 0.5 + 0.5 / k + 1e-3


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", [(40.0, 20.0), (12.0, 40.0), (55.0, 5.0)])
def test_the_patch_a_marker_lands_in_carries_its_point(mode: str, where: tuple[float, float]):
    width, height, size, patch = 64, 48, 32, 8
    # Camera with f = 1 and the principal point at the origin: the point map at z = 1 is (u, v, 1).
    camera = PinholeCamera(1.0, 1.0, 0.0, 0.0, width, height)
    pm = point_map_from_depth(np.ones((height, width), np.float32), camera)
    marked = mark_image(Image.new("RGB", (width, height), (90, 90, 90)), points=[where])
    transform = ImageTransform(size, mode)
    if transform.plan(width, height).crop[0] > where[0] + 0.5:
        pytest.skip("cropped away")
    pixels = transform.image(marked.image)  # red dot: R high, G and B low
    red = (pixels[0] > 0.5) & (pixels[1] < -0.5) & (pixels[2] < -0.5)  # (size, size)
    grid = size // patch
    counts = red.reshape(grid, patch, grid, patch).sum(axis=(1, 3))  # (rows, cols) red pixels per patch
    points, _ = transform.point_map(pm.xyz, pm.valid, (width, height))
    patches = points.reshape(grid, patch, grid, patch, 3)
    gap = np.linalg.norm(patches[..., :2] - np.asarray(where, np.float32), axis=-1)  # (r, p, c, p)
    nearest = np.unravel_index(np.argmin(gap), gap.shape)
    # The patch with most of the dot is the patch holding the point nearest the marker's centre.
    assert np.unravel_index(np.argmax(counts), counts.shape) == (nearest[0], nearest[2])
    assert gap.min() <= max(width, height) / size  # within one output pixel's footprint


# ---------------------------------------------------------- prompts with drawn markers (models/markers.py)


def test_mark_image_phrases_colours_and_geometry():
    image = Image.new("RGB", (64, 48), (90, 90, 90))
    marked = mark_image(image, boxes=[(10, 10, 30, 30), (0, 0, 5, 5)], points=[(40, 20)])
    assert marked.phrases == ("the red box", "the green box", "the blue point")
    assert [m.geometry_norm for m in marked.markers] == [(156, 208, 469, 625), (0, 0, 78, 104), (625, 417)]
    # Drawn by qa/draw_markers.py: exact marker RGB on the box edge and at the dot's centre.
    assert marked.image.getpixel((10, 20)) == (255, 0, 0) and marked.image.getpixel((40, 20)) == (0, 0, 255)
    assert image.getpixel((10, 20)) == (90, 90, 90)  # the input is not drawn on


def test_mark_image_refusals():
    image = Image.new("RGB", (64, 48))
    with pytest.raises(ValueError, match="box_outside_image"):
        mark_image(image, boxes=[(100, 100, 120, 120)])
    with pytest.raises(ValueError, match="point_outside_image"):
        mark_image(image, points=[(-3, 5)])
    with pytest.raises(ValueError, match="box_degenerate"):
        mark_image(image, boxes=[(10, 10, 10, 20)])
    with pytest.raises(ValueError, match="needs 4 numbers"):
        mark_image(image, boxes=[(1, 2, 3)])
    with pytest.raises(ValueError, match="7 markers but only 6 colours"):
        mark_image(image, points=[(1, 1)] * 7)


def test_parse_coordinates():
    assert parse_coordinates(" 1, 2.5,3,4 ", 4, "--box") == (1.0, 2.5, 3.0, 4.0)
    for text in ("1,2,3", "1,2,x,4", "1,2,nan,4", ""):
        with pytest.raises(ValueError, match="--box"):
            parse_coordinates(text, 4, "--box")
