"""Point maps from depth, from points, from a scene's view and from files (models/pointmap.py).

Pixel convention checked here (geometry/camera.py): integer pixel coordinates are pixel centres, so depth
pixel (row v, column u) unprojects to x = (u - cx) z / fx, y = (v - cy) z / fy.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.errors import RecordError
from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.gravity import level_world_from_cam
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.models.pointmap import (
    PointMap,
    point_map_for_view,
    point_map_from_depth,
    point_map_from_points,
    read_depth_file,
    read_point_map_file,
)
from spatialforge.scene.depth import rasterize_points
from spatialforge.scene.records import (
    FLOOR_HEIGHT_KEY,
    RAYCAST_DEPTH_KIND,
    AssetRef,
    Gravity,
    Object3D,
    Scene,
    View,
)
from tests.scene.builders import tiny_scene

# 4 x 3 camera, f = 100 px, principal point at the image centre (1.5, 1.0).
SMALL = PinholeCamera(100.0, 100.0, 1.5, 1.0, 4, 3)
# 8 x 6 camera with unequal focal lengths and an off-centre principal point.
SKEW = PinholeCamera(10.0, 20.0, 3.5, 2.5, 8, 6)


def reason(error: pytest.ExceptionInfo[RecordError]) -> str:
    return error.value.reason


# ---------------------------------------------------------------- from depth


def test_fronto_parallel_plane_at_two_metres():
    pm = point_map_from_depth(np.full((3, 4), 2.0, np.float32), SMALL)
    assert pm.xyz.shape == (3, 4, 3) and pm.xyz.dtype == np.float32 and pm.valid.all()
    # x = (u - 1.5) * 2 / 100, y = (v - 1) * 2 / 100 at the pixel centres u = 0..3, v = 0..2.
    assert pm.xyz[..., 0] == pytest.approx(np.array([[-0.03, -0.01, 0.01, 0.03]] * 3))
    assert pm.xyz[..., 1] == pytest.approx(np.array([[-0.02] * 4, [0.0] * 4, [0.02] * 4]))
    assert np.all(pm.xyz[..., 2] == 2.0)


def test_one_pixel_by_hand():
    depth = np.full((6, 8), np.nan)
    depth[1, 6] = 4.0  # row 1, column 6
    pm = point_map_from_depth(depth, SKEW)
    # x = (6 - 3.5) * 4 / 10 = 1.0; y = (1 - 2.5) * 4 / 20 = -0.3; z = 4.
    assert pm.xyz[1, 6] == pytest.approx([1.0, -0.3, 4.0])
    assert pm.valid.sum() == 1 and pm.valid[1, 6]
    # ... and the camera projects that point back onto the same pixel centre.
    uv, _ = SKEW.project(pm.xyz[1, 6][None].astype(float))
    assert uv[0] == pytest.approx([6.0, 1.0])


def test_invalid_depth_values():
    depth = np.array([[np.nan, np.inf, -np.inf, 0.0], [-1.0, 1e-9, 1.0, 2.5], [3.0, 3.0, 3.0, 3.0]])
    pm = point_map_from_depth(depth, SMALL)
    assert pm.valid.tolist() == [[False] * 4, [False, True, True, True], [True] * 4]
    assert np.isnan(pm.xyz[~pm.valid]).all() and np.isfinite(pm.xyz[pm.valid]).all()


def test_doubling_depth_doubles_every_point():
    depth = np.random.default_rng(0).uniform(0.5, 20.0, (6, 8))
    once, twice = point_map_from_depth(depth, SKEW), point_map_from_depth(2 * depth, SKEW)
    np.testing.assert_allclose(twice.xyz, 2 * once.xyz, rtol=1e-6)


def test_depth_of_another_size_is_refused_naming_both():
    with pytest.raises(RecordError, match=r"\(3, 5\).*\(3, 4\)") as error:
        point_map_from_depth(np.ones((3, 5)), SMALL)
    assert reason(error) == "wrong_shape"


def test_point_map_record_checks_shapes():
    with pytest.raises(ValueError, match="point map"):
        PointMap(np.zeros((3, 4, 3)), np.zeros((3, 5), bool))


# ---------------------------------------------------------------- from points


def test_points_rasterised_and_turned_back_are_the_same_points():
    rng = np.random.default_rng(1)
    v, u = np.mgrid[0:6, 0:8]
    # One point per pixel, anywhere inside its cell (+-0.45 px around the centre), 1-9 m deep.
    uv = np.stack([u.ravel(), v.ravel()], axis=1) + rng.uniform(-0.45, 0.45, (48, 2))
    z = rng.uniform(1.0, 9.0, 48)
    points = SKEW.unproject(uv, z)
    pm = point_map_from_points(points, SKEW)
    assert pm.valid.all()
    np.testing.assert_array_equal(pm.xyz.reshape(-1, 3), points.astype(np.float32))
    # The depth channel is scene.depth's z-buffer, bit for bit.
    np.testing.assert_array_equal(pm.xyz[..., 2], rasterize_points(points, SKEW))


def test_the_nearest_point_of_a_pixel_wins_and_stray_points_are_dropped():
    near = SKEW.unproject(np.array([[2.2, 3.1]]), np.array([2.0]))[0]
    far = SKEW.unproject(np.array([[1.9, 2.8]]), np.array([5.0]))[0]  # same pixel (2, 3), behind
    behind = np.array([0.0, 0.0, -1.0])
    off_image = SKEW.unproject(np.array([[20.0, 1.0]]), np.array([3.0]))[0]
    pm = point_map_from_points(np.stack([far, behind, near, off_image, [np.nan, 0, 1]]), SKEW)
    assert pm.valid.sum() == 1 and pm.valid[3, 2]
    np.testing.assert_array_equal(pm.xyz[3, 2], near.astype(np.float32))
    assert np.isnan(pm.xyz[~pm.valid]).all()


def test_depth_to_points_to_point_map_round_trip():
    depth = np.random.default_rng(2).uniform(0.5, 8.0, (6, 8))
    depth[0, 0] = np.nan
    first = point_map_from_depth(depth, SKEW)
    again = point_map_from_points(first.xyz[first.valid], SKEW)
    np.testing.assert_array_equal(again.valid, first.valid)
    np.testing.assert_array_equal(again.xyz[again.valid], first.xyz[first.valid])


def test_no_points_and_bad_point_arrays():
    pm = point_map_from_points(np.zeros((0, 3)), SMALL)
    assert pm.xyz.shape == (3, 4, 3) and not pm.valid.any()
    with pytest.raises(RecordError) as error:
        point_map_from_points(np.zeros((5, 2)), SMALL)
    assert reason(error) == "wrong_shape"


# ---------------------------------------------------------------- from a scene's view

# 64 x 48 camera, f = 50 px, principal point (32, 24), level, 1.3 m above the floor (tests/scene's wall).
WALL_CAM = PinholeCamera(50.0, 50.0, 32.0, 24.0, 64, 48)


def wall_scene() -> Scene:
    """A 4 m wide wall whose front face is 5 m ahead, on a floor 1.3 m below the camera; exact ray-cast
    depth (no file)."""
    lv = level_world_from_cam(None)
    view = View(
        "v0",
        "v0.jpg",
        WALL_CAM,
        RigidTransform(lv.rotation, lv.translation, "world", "cam:v0"),
        depth=AssetRef("", RAYCAST_DEPTH_KIND, frame="world"),
    )
    wall = Object3D("0", "test:0", "wall", OrientedBox3D([0.0, 5.25, 0.2], np.eye(3), [4.0, 0.5, 3.0]), False)
    gravity = Gravity((0.0, 0.0, -1.0), "exact")
    return Scene(
        "t/wall", "t/wall", "t", None, None, ".", (view,), (wall,), gravity, metadata={FLOOR_HEIGHT_KEY: -1.3}
    )


def test_synthetic_view_point_map_by_hand():
    scene = wall_scene()
    pm = point_map_for_view(scene, scene.views[0])
    assert (pm.height, pm.width) == (48, 64)
    assert pm.xyz[24, 32] == pytest.approx([0.0, 0.0, 5.0])  # the principal point, on the wall
    # (u, v) = (20, 10) on the wall: x = (20 - 32) * 5 / 50 = -1.2, y = (10 - 24) * 5 / 50 = -1.4.
    assert pm.xyz[10, 20] == pytest.approx([-1.2, -1.4, 5.0], abs=1e-5)
    # Floor pixels (below the wall's foot at v = 37, or beside it) are 1.3 m below the camera: y = +1.3
    # (OpenCV +y is down) - whatever their depth.
    floor = pm.valid & ~np.isclose(pm.xyz[..., 2], 5.0)
    assert floor.sum() > 100
    np.testing.assert_allclose(pm.xyz[floor][:, 1], 1.3, atol=1e-4)
    assert not pm.valid[0].any()  # above the wall and the horizon: no depth


def test_view_with_depth_file(tmp_path: Path):
    scene = tiny_scene(tmp_path)  # 320 x 240, f = 300, npy depth of 5 m everywhere
    pm = point_map_for_view(scene, scene.views[0])
    assert pm.valid.all()
    assert pm.xyz[0, 0] == pytest.approx([(0 - 159.5) * 5 / 300, (0 - 119.5) * 5 / 300, 5.0])


def test_view_without_depth_names_the_field(tmp_path: Path):
    scene = tiny_scene(tmp_path, write_image=False)
    view = dataclasses.replace(scene.views[0], depth=None)
    with pytest.raises(RecordError, match="views\\[v0\\].depth") as error:
        point_map_for_view(scene, view)
    assert reason(error) == "missing_field"


# ---------------------------------------------------------------- depth files


def test_npy_depth(tmp_path: Path):
    raw = np.array([[1.0, np.nan, -2.0], [0.0, np.inf, 0.25]], np.float32)
    np.save(tmp_path / "d.npy", raw)
    depth = read_depth_file(tmp_path / "d.npy")
    assert depth.dtype == np.float32 and depth.shape == (2, 3)
    assert depth[0, 0] == 1.0 and depth[1, 2] == 0.25
    assert np.isnan(depth[[0, 0, 1, 1], [1, 2, 0, 1]]).all()
    assert read_depth_file(tmp_path / "d.npy", scale_to_m=0.5)[0, 0] == 0.5


def test_png_depth_is_millimetres_by_default(tmp_path: Path):
    raw = np.array([[0, 1000, 2500], [65535, 1, 300]], np.uint16)
    Image.fromarray(raw).save(tmp_path / "d.png")
    depth = read_depth_file(tmp_path / "d.png")
    assert np.isnan(depth[0, 0])
    np.testing.assert_allclose(depth.ravel()[1:], [1.0, 2.5, 65.535, 0.001, 0.3], rtol=1e-6)
    # SUN RGB-D style tenths of a millimetre, given explicitly.
    assert read_depth_file(tmp_path / "d.png", scale_to_m=1e-4)[0, 1] == pytest.approx(0.1)


def test_float_tiff_depth_is_metres(tmp_path: Path):
    raw = np.array([[1.5, 0.0], [np.nan, 7.25]], np.float32)
    Image.fromarray(raw, mode="F").save(tmp_path / "d.tif")
    depth = read_depth_file(tmp_path / "d.tif")
    assert depth[0, 0] == 1.5 and depth[1, 1] == 7.25 and np.isnan(depth[[0, 1], [1, 0]]).all()


def test_bad_depth_files(tmp_path: Path):
    cases = {}
    np.save(tmp_path / "int.npy", np.ones((2, 2), np.int32))
    cases["int.npy"] = "wrong_type"
    np.save(tmp_path / "cube.npy", np.ones((2, 2, 2), np.float32))
    cases["cube.npy"] = "wrong_shape"
    np.save(tmp_path / "full.npy", np.ones((64, 64), np.float32))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "full.npy").read_bytes()[:-100])
    cases["cut.npy"] = "unreadable_file"
    (tmp_path / "header.npy").write_bytes((tmp_path / "full.npy").read_bytes()[:20])
    cases["header.npy"] = "unreadable_file"
    Image.new("L", (3, 2)).save(tmp_path / "eight_bit.png")
    cases["eight_bit.png"] = "wrong_type"
    (tmp_path / "junk.png").write_bytes(b"not a png")
    cases["junk.png"] = "unreadable_file"
    (tmp_path / "d.exr").write_bytes(b"")
    cases["d.exr"] = "unsupported_format"
    cases["absent.npy"] = "missing_file"
    for name, expected in cases.items():
        with pytest.raises(RecordError, match=name) as error:
            read_depth_file(tmp_path / name)
        assert reason(error) == expected, name


class _Payload:
    """Unpickling this would create a file: a refused pickle must never get that far."""

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def __reduce__(self):
        return (Path.touch, (self.flag,))


def test_pickled_npy_is_refused_before_loading(tmp_path: Path):
    flag = tmp_path / "unpickled"
    np.save(tmp_path / "evil.npy", np.array([_Payload(flag)], dtype=object), allow_pickle=True)
    pickle.loads(pickle.dumps(_Payload(tmp_path / "probe")))  # the payload works when unpickled ...
    assert (tmp_path / "probe").exists()
    with pytest.raises(RecordError, match="evil.npy") as error:
        read_depth_file(tmp_path / "evil.npy")
    assert reason(error) == "wrong_type" and not flag.exists()  # ... and was never unpickled here
    with pytest.raises(RecordError) as error:
        read_point_map_file(tmp_path / "evil.npy")
    assert reason(error) == "wrong_type" and not flag.exists()


# ---------------------------------------------------------------- point-map files


def test_npy_point_map_non_finite_is_invalid(tmp_path: Path):
    xyz = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    xyz[0, 1, 2] = np.nan
    xyz[1, 2, 0] = np.inf
    np.save(tmp_path / "p.npy", xyz)
    pm = read_point_map_file(tmp_path / "p.npy")
    assert pm.valid.tolist() == [[True, False, True], [True, True, False]]
    np.testing.assert_array_equal(pm.xyz[pm.valid], xyz[pm.valid])
    assert np.isnan(pm.xyz[~pm.valid]).all()


def test_npz_point_map_with_validity(tmp_path: Path):
    xyz = np.ones((2, 2, 3), np.float64)
    xyz[1, 1] = np.nan
    valid = np.array([[True, False], [True, True]])
    np.savez(tmp_path / "p.npz", xyz=xyz, valid=valid)
    pm = read_point_map_file(tmp_path / "p.npz")
    assert pm.xyz.dtype == np.float32
    assert pm.valid.tolist() == [[True, False], [True, False]]  # the mask and finiteness both count
    np.savez(tmp_path / "q.npz", xyz=xyz)
    assert read_point_map_file(tmp_path / "q.npz").valid.tolist() == [[True, True], [True, False]]


def test_bad_point_map_files(tmp_path: Path):
    good = np.zeros((2, 2, 3), np.float32)
    cases: dict[str, tuple[str, str | None]] = {}
    np.save(tmp_path / "flat.npy", np.zeros((2, 2), np.float32))
    cases["flat.npy"] = ("wrong_shape", "xyz")
    np.save(tmp_path / "ints.npy", np.zeros((2, 2, 3), np.int64))
    cases["ints.npy"] = ("wrong_type", "xyz")
    np.savez(tmp_path / "no_xyz.npz", points=good)
    cases["no_xyz.npz"] = ("missing_field", "xyz")
    np.savez(tmp_path / "valid_shape.npz", xyz=good, valid=np.ones((2, 3), bool))
    cases["valid_shape.npz"] = ("wrong_shape", "valid")
    np.savez(tmp_path / "valid_type.npz", xyz=good, valid=np.ones((2, 2), np.uint8))
    cases["valid_type.npz"] = ("wrong_type", "valid")
    np.savez(tmp_path / "pickled.npz", xyz=np.array([None], dtype=object), allow_pickle=True)
    cases["pickled.npz"] = ("wrong_type", "xyz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "valid_shape.npz").read_bytes()[:50])
    cases["cut.npz"] = ("unreadable_file", None)
    np.save(tmp_path / "whole.npy", np.zeros((32, 32, 3), np.float32))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "whole.npy").read_bytes()[:-10])
    cases["cut.npy"] = ("unreadable_file", "xyz")
    (tmp_path / "p.ply").write_bytes(b"")
    cases["p.ply"] = ("unsupported_format", None)
    cases["absent.npz"] = ("missing_file", None)
    for name, (expected, field) in cases.items():
        with pytest.raises(RecordError, match=name) as error:
            read_point_map_file(tmp_path / name)
        assert (error.value.reason, error.value.field) == (expected, field), name
