"""Tests of export/media.py: the 16-bit log depth PNG (golden values, round trip, HiSpatial's decoding
formula, error bound), resizing and scaled intrinsics, nearest depth resize, point maps and MediaCache on a
small synthetic scene. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import dataclasses
import io
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.errors import RecordError
from spatialforge.export.media import (
    DEPTH_PNG_INFINITE,
    DEPTH_PNG_INVALID,
    MediaCache,
    decode_depth_png,
    encode_depth_png,
    intrinsics_dict,
    point_map,
    resize_depth,
    resized_size,
    scaled_intrinsics,
)
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.depth import load_depth
from spatialforge.scene.io import iter_scene_lines
from spatialforge.scene.records import Scene, View
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def png_values(data: bytes) -> tuple[np.ndarray, dict[str, str]]:
    image = Image.open(io.BytesIO(data))
    return np.asarray(image).astype(np.int64), dict(image.info)


def hispatial_read_depth(data: bytes) -> np.ndarray:
    """Our own rewrite of HiSpatial's `read_depth` (hispatial/data/vqa_dataset.py): float32 t, then
    near ** (1 - t) * far ** t; 0 -> NaN, 65535 -> inf."""
    image = Image.open(io.BytesIO(data))
    near, far = float(image.info["near"]), float(image.info["far"])
    raw = np.array(image)
    t = (raw.astype(np.float32) - 1) / 65533
    depth = near ** (1 - t) * far**t
    depth[raw == 0] = np.nan
    depth[raw == 65535] = np.inf
    return depth


def log_step_bound(near: float, far: float) -> float:
    """Largest relative error of the log quantisation: half a step of ln(far / near) / 65533."""
    return (far / near) ** (1 / (2 * 65533)) - 1


# ---------------------------------------------------------------------------------------- depth PNG


def test_depth_png_golden_values() -> None:
    # near = 1, far = 10 (min / max of the valid values). t = log10(d); v = 1 + rint(65533 t):
    # 1 m -> t 0 -> 1; 10^0.25 m -> t 0.25 -> 1 + rint(16383.25) = 16384; 10 m -> t 1 -> 65534;
    # NaN and 0 m (no data) -> 0; +inf -> 65535.
    depth = np.array([[1.0, 10**0.25, 10.0], [np.nan, np.inf, 0.0]])
    values, info = png_values(encode_depth_png(depth))
    np.testing.assert_array_equal(values, [[1, 16384, 65534], [0, 65535, 0]])
    assert (info["near"], info["far"]) == ("1.0", "10.0")
    assert Image.open(io.BytesIO(encode_depth_png(depth))).mode == "I;16"


def test_depth_png_explicit_range_clips_and_negative_is_no_data() -> None:
    # near/far 1..10: 0.5 m clips to near (v 1), 20 m clips to far (v 65534); -3 m is no data (v 0).
    values, info = png_values(encode_depth_png(np.array([[0.5, 20.0, -3.0]]), near_far=(1.0, 10.0)))
    np.testing.assert_array_equal(values, [[1, 65534, 0]])
    assert (info["near"], info["far"]) == ("1.0", "10.0")


def test_depth_png_round_trip_within_log_bound() -> None:
    rng = np.random.default_rng(7)
    depth = np.exp(rng.uniform(math.log(0.3), math.log(80.0), size=(40, 50)))  # log-uniform metres
    depth[3, 4], depth[5, 6] = np.nan, np.inf
    decoded = decode_depth_png(encode_depth_png(depth))
    assert decoded.dtype == np.float32 and decoded.shape == depth.shape
    assert np.isnan(decoded[3, 4]) and np.isposinf(decoded[5, 6])
    finite = np.isfinite(depth)
    near, far = depth[finite].min(), depth[finite].max()
    rel = np.abs(decoded[finite] - depth[finite]) / depth[finite]
    assert rel.max() <= log_step_bound(near, far) + 1e-6  # + float32 rounding of the decoded value


def test_hispatial_formula_decodes_our_png() -> None:
    """HiSpatial's read_depth (rewritten here, float32 as in its code) reads what we write."""
    rng = np.random.default_rng(3)
    depth = np.exp(rng.uniform(math.log(0.5), math.log(30.0), size=(24, 32)))
    depth[0, 0], depth[1, 1] = np.nan, np.inf
    data = encode_depth_png(depth)
    theirs, ours = hispatial_read_depth(data), decode_depth_png(data)
    np.testing.assert_array_equal(np.isnan(theirs), np.isnan(depth))
    np.testing.assert_array_equal(np.isposinf(theirs), np.isposinf(depth))
    finite = np.isfinite(depth)
    np.testing.assert_allclose(theirs[finite], ours[finite], rtol=2e-6)
    rel = np.abs(theirs[finite] - depth[finite]) / depth[finite]
    assert rel.max() <= log_step_bound(0.5, 30.0) + 2e-6


def test_quantisation_error_bound_for_0_1_to_100_m() -> None:
    # ln(1000) / 65533 / 2 = 5.2705e-5: the worst relative error over 0.1..100 m is 0.0053 %. A dense sweep
    # gets close to it (metamorphic: the bound is tight, not just an upper limit).
    depth = np.geomspace(0.1, 100.0, 200_001).reshape(1, -1)
    decoded = decode_depth_png(encode_depth_png(depth)).astype(np.float64)
    rel = np.abs(decoded - depth) / depth
    bound = log_step_bound(0.1, 100.0)
    assert bound == pytest.approx(5.2706e-5, rel=1e-4)
    assert 0.9 * bound < rel.max() <= bound + 1e-6


def test_flat_and_empty_depth_maps() -> None:
    # A flat map: near = far = 2 -> far is nudged to 2.002 and every value is t = 0 (v 1), decoded exactly.
    flat = np.full((3, 4), 2.0)
    values, _ = png_values(encode_depth_png(flat))
    assert (values == 1).all()
    np.testing.assert_array_equal(decode_depth_png(encode_depth_png(flat)), flat.astype(np.float32))
    # No valid pixel: all DEPTH_PNG_INVALID, decoded all NaN.
    empty = np.full((2, 2), np.nan)
    values, _ = png_values(encode_depth_png(empty))
    assert (values == DEPTH_PNG_INVALID).all()
    assert np.isnan(decode_depth_png(encode_depth_png(empty))).all()
    assert DEPTH_PNG_INFINITE == 65535


def test_depth_png_bad_input() -> None:
    with pytest.raises(ValueError, match="must be \\(H, W\\)"):
        encode_depth_png(np.ones((2, 2, 1)))
    with pytest.raises(ValueError, match="near/far"):
        encode_depth_png(np.ones((2, 2)), near_far=(0.0, 5.0))
    buf = io.BytesIO()
    Image.fromarray(np.ones((2, 2), dtype=np.uint16)).save(buf, format="PNG")  # no near/far chunks
    with pytest.raises(RecordError) as err:
        decode_depth_png(buf.getvalue())
    assert err.value.reason == "missing_field"


# ---------------------------------------------------------------------------------------- resizing


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((160, 120), 80, (80, 60)),  # scale 0.5
        ((120, 160), 80, (60, 80)),  # portrait: the longer side is the height
        ((640, 480), 100, (100, 75)),  # 480 * 100 / 640 = 75
        ((161, 120), 80, (80, 60)),  # 120 * 80 / 161 = 59.63 -> 60
        ((50, 40), 80, (50, 40)),  # never upscaled
        ((160, 120), None, (160, 120)),  # None keeps the size
    ],
)
def test_resized_size(size: tuple[int, int], max_side: int | None, expected: tuple[int, int]) -> None:
    assert resized_size(*size, max_side) == expected


def make_view(cx: float, cy: float) -> View:
    camera = PinholeCamera(100.0, 90.0, cx, cy, 160, 120)
    pose = RigidTransform(np.eye(3), np.zeros(3), "world", "cam:v0")
    return View("v0", "v0.png", camera, pose)


def test_scaled_intrinsics_hand_checked() -> None:
    # 160x120 -> 80x60: s = 0.5. fx 100 -> 50, fy 90 -> 45; cx' = (cx + 0.5) * s - 0.5:
    # centred cx 79.5 -> 39.5, cy 59.5 -> 29.5; off-centre cx 70 -> 34.75, cy 50 -> 24.75.
    k = scaled_intrinsics(make_view(79.5, 59.5), (80, 60))
    assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height) == (50.0, 45.0, 39.5, 29.5, 80, 60)
    k = scaled_intrinsics(make_view(70.0, 50.0), (80, 60))
    assert (k.cx, k.cy) == (34.75, 24.75)
    assert intrinsics_dict(k)["K"] == [[50.0, 0.0, 34.75], [0.0, 45.0, 24.75], [0.0, 0.0, 1.0]]


def test_scaled_intrinsics_keep_projection_in_image_area() -> None:
    """Metamorphic: a point projects to u in the original and (u + 0.5) * s - 0.5 in the resized image."""
    view = make_view(70.0, 50.0)
    k = scaled_intrinsics(view, (100, 75))  # s = 0.625 on both axes
    point = np.array([0.3, -0.2, 2.5])  # m, cam
    u, v = 100.0 * 0.3 / 2.5 + 70.0, 90.0 * -0.2 / 2.5 + 50.0  # original pixels
    assert k.fx * point[0] / point[2] + k.cx == pytest.approx((u + 0.5) * 0.625 - 0.5)
    assert k.fy * point[1] / point[2] + k.cy == pytest.approx((v + 0.5) * 0.625 - 0.5)


def test_resize_depth_nearest_hand_checked() -> None:
    grid = np.arange(16.0).reshape(4, 4)
    # 4 -> 2: target pixel j covers source [2j, 2j + 2); its centre 2j + 1 lies in source pixel 2j + 1.
    np.testing.assert_array_equal(resize_depth(grid, (2, 2)), [[5, 7], [13, 15]])
    # 3 -> 2: centres at (j + 0.5) * 1.5 = 0.75, 2.25 -> source pixels 0, 2.
    np.testing.assert_array_equal(resize_depth(np.arange(9.0).reshape(3, 3), (2, 2)), [[0, 2], [6, 8]])
    # 2 -> 4: centres at 0.25, 0.75, 1.25, 1.75 -> 0, 0, 1, 1 (no averaging, NaN stays NaN).
    small = np.array([[1.0, np.nan], [3.0, 4.0]])
    up = resize_depth(small, (4, 4))
    np.testing.assert_array_equal(up[0], [1.0, 1.0, np.nan, np.nan])
    np.testing.assert_array_equal(up[3], [3.0, 3.0, 4.0, 4.0])
    assert resize_depth(grid, (4, 4)) is grid


def test_point_map_hand_checked() -> None:
    # fx 2, fy 4, cx 1, cy 0.5. Pixel (u 0, v 0), z 2: x = (0 - 1) / 2 * 2 = -1,
    # y = (0 - 0.5) / 4 * 2 = -0.25.
    # Pixel (u 2, v 1), z 4: x = (2 - 1) / 2 * 4 = 2, y = (1 - 0.5) / 4 * 4 = 0.5. NaN depth -> NaN point.
    intrinsics = PinholeCamera(2.0, 4.0, 1.0, 0.5, 3, 2)
    depth = np.array([[2.0, 1.0, np.nan], [1.0, 1.0, 4.0]], dtype=np.float32)
    points = point_map(depth, intrinsics)
    assert points.shape == (2, 3, 3) and points.dtype == np.float32
    np.testing.assert_allclose(points[0, 0], [-1.0, -0.25, 2.0])
    np.testing.assert_allclose(points[1, 2], [2.0, 0.5, 4.0])
    np.testing.assert_allclose(points[0, 1], [0.0, -0.125, 1.0])
    assert np.isnan(points[0, 2]).all()


# ---------------------------------------------------------------------------------------- MediaCache


@pytest.fixture(scope="session")
def media_synth_scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """One synthetic indoor scene, one 160x120 view with npy depth."""
    out = tmp_path_factory.mktemp("media_synth")
    run_synth(out, 1, SynthConfig(setting="indoor", views=1, width=160, height=120))
    scenes = [s for s in iter_scene_lines(out / "scenes.jsonl") if isinstance(s, Scene)]
    assert len(scenes) == 1
    return scenes[0]


def test_media_cache_resizes_image_intrinsics_depth_points(media_synth_scene: Scene) -> None:
    scene = media_synth_scene
    view = scene.views[0]
    media = MediaCache(80, 90)
    media.start(scene)
    assert media.size(view.view_id) == (80, 60)
    assert Image.open(io.BytesIO(media.jpeg(view.view_id))).size == (80, 60)
    k = media.intrinsics(view.view_id)
    assert k.fx == pytest.approx(view.camera.fx / 2) and k.fy == pytest.approx(view.camera.fy / 2)
    assert k.cx == pytest.approx((view.camera.cx + 0.5) / 2 - 0.5)
    # 160 -> 80 nearest: target pixel j takes source pixel 2j + 1 (test_resize_depth_nearest_hand_checked).
    expected = load_depth(scene, view)[1::2, 1::2]
    np.testing.assert_array_equal(media.depth(view.view_id), expected)
    points = media.points(view.view_id)
    np.testing.assert_array_equal(points[..., 2], expected)
    u = np.arange(80, dtype=np.float32)
    np.testing.assert_allclose(points[7, :, 0], (u - k.cx) / k.fx * expected[7], rtol=1e-5, atol=1e-6)
    decoded = decode_depth_png(media.depth_png(view.view_id))
    valid = np.isfinite(expected)
    near, far = expected[valid].min(), expected[valid].max()
    rel = np.abs(decoded[valid] - expected[valid]) / expected[valid]
    assert rel.max() <= log_step_bound(near, far) + 1e-6


def test_media_cache_unreadable_and_wrong_shape_images(media_synth_scene: Scene, tmp_path: Path) -> None:
    scene = media_synth_scene
    view = scene.views[0]
    missing = dataclasses.replace(view, image_path="images/not_there.png")
    media = MediaCache(80, 90)
    media.start(dataclasses.replace(scene, views=(missing,)))
    with pytest.raises(RecordError) as err:
        media.jpeg(view.view_id)
    assert err.value.reason == "unreadable_image"

    Image.new("RGB", (10, 10)).save(tmp_path / "small.png")
    small = dataclasses.replace(view, image_path="small.png")
    media.start(dataclasses.replace(scene, asset_root=str(tmp_path), views=(small,)))
    with pytest.raises(RecordError) as err:
        media.jpeg(view.view_id)
    assert err.value.reason == "wrong_shape"


def test_media_cache_start_drops_previous_scene(media_synth_scene: Scene) -> None:
    scene = media_synth_scene
    view = scene.views[0]
    media = MediaCache(None, 90)
    media.start(scene)
    full = media.jpeg(view.view_id)
    assert Image.open(io.BytesIO(full)).size == (160, 120)
    flipped = dataclasses.replace(view, image_path="images/not_there.png")
    media.start(dataclasses.replace(scene, views=(flipped,)))
    with pytest.raises(RecordError):  # a cached JPEG of the previous scene would hide the missing file
        media.jpeg(view.view_id)
