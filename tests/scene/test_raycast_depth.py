"""Depth at pixels (scene.depth.open_depth): the ray-cast depth kind of synthetic scenes (codec round trip,
validation, exact values) and the raster sampler's pixel rule; views that cannot give depth."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest

from spatialforge.demo.box_scenes import CAMERA_HEIGHT_M, FOCAL_PX, random_box_scene, random_box_scenes
from spatialforge.errors import RecordError
from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.gravity import level_world_from_cam
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.codec import scene_from_dict, scene_to_dict
from spatialforge.scene.depth import (
    POINT_MAP_UNSUPPORTED,
    RasterDepth,
    RaycastDepth,
    floor_plane,
    load_depth,
    open_depth,
)
from spatialforge.scene.io import read_scenes, write_scenes
from spatialforge.scene.records import (
    DEPTH_KINDS,
    FLOOR_HEIGHT_KEY,
    RAYCAST_DEPTH_KIND,
    AssetRef,
    Gravity,
    Object3D,
    Scene,
    View,
)
from spatialforge.scene.validate import VALIDATION_REASONS, scene_problems

# 64 x 48 camera, f = 50 px, principal point at (32, 24); level, at the world origin, 1.3 m above the floor.
CAM = PinholeCamera(50.0, 50.0, 32.0, 24.0, 64, 48)
RAYCAST = AssetRef("", RAYCAST_DEPTH_KIND, frame="world")


def wall_scene(floor: float | None = -CAMERA_HEIGHT_M, depth: AssetRef | None = RAYCAST) -> Scene:
    """A 4 m wide, 3 m tall wall whose front face is 5 m ahead (world y = 5), standing on the floor."""
    lv = level_world_from_cam(None)
    view = View(
        "v0", "v0.jpg", CAM, RigidTransform(lv.rotation, lv.translation, "world", "cam:v0"), depth=depth
    )
    wall = Object3D("0", "test:0", "wall", OrientedBox3D([0.0, 5.25, 0.2], np.eye(3), [4.0, 0.5, 3.0]), False)
    metadata = {} if floor is None else {FLOOR_HEIGHT_KEY: floor}
    gravity = Gravity((0.0, 0.0, -1.0), "exact")
    return Scene("t/wall", "t/wall", "t", None, None, ".", (view,), (wall,), gravity, metadata=metadata)


def test_raycast_is_a_depth_kind():
    assert RAYCAST_DEPTH_KIND in DEPTH_KINDS


def test_raycast_sampler_hand_checked():
    scene = wall_scene()
    sampler = open_depth(scene, scene.views[0])
    assert isinstance(sampler, RaycastDepth)
    uv = np.array([[32.0, 24.0], [20.0, 10.0], [32.0, 44.0], [2.0, 30.0], [32.0, 2.0]])
    z = sampler.z_at(uv)
    # (32, 24) and (20, 10): the wall, z = 5 (it spans u = 32 +- 50 * 2 / 5 = [12, 52] and, 0.2 m up,
    # v = 24 - 50 * 1.7 / 5 = 7 down to the floor line v = 24 + 50 * 1.3 / 5 = 37).
    # (32, 44): the floor, z = f h / (v - cy) = 50 * 1.3 / 20 = 3.25. (2, 30): left of the wall, floor at
    # 65 / 6 = 10.8333 m. (32, 2): above the wall and the horizon: nothing.
    assert z[:4] == pytest.approx([5.0, 5.0, 3.25, 65 / 6])
    assert np.isnan(z[4])
    assert "ray cast" in sampler.describe(32.0, 24.0)


def test_without_a_floor_the_ground_has_no_depth():
    scene = wall_scene(floor=None)
    z = open_depth(scene, scene.views[0]).z_at(np.array([[32.0, 24.0], [32.0, 44.0]]))
    assert z[0] == pytest.approx(5.0) and np.isnan(z[1])


def test_floor_follows_gravity():
    # Gravity along world -y (a y-up world): up = +y, so the floor h = -1.3 is the plane y = -1.3.
    scene = dataclasses.replace(wall_scene(), gravity=Gravity((0.0, -1.0, 0.0), "exact"))
    plane = floor_plane(scene)
    assert plane is not None and plane.normal == pytest.approx((0.0, 1.0, 0.0)) and plane.offset == -1.3


def test_load_depth_of_the_raycast_kind_is_the_sampler_at_pixel_centres():
    scene = wall_scene()
    raster = load_depth(scene, scene.views[0])
    assert raster.shape == (48, 64) and raster.dtype == np.float32
    assert raster[24, 32] == pytest.approx(5.0) and raster[44, 32] == pytest.approx(3.25)
    assert np.isnan(raster[2, 32])
    v, u = 40, 7
    assert raster[v, u] == pytest.approx(open_depth(scene, scene.views[0]).z_at(np.array([[u, v]]))[0])


def test_box_scene_depth_default_and_off():
    on = random_box_scene(3, random.Random("x"))
    off = random_box_scene(3, random.Random("x"), depth=False)
    assert on.views[0].depth == AssetRef("", RAYCAST_DEPTH_KIND, "world", 1.0)
    assert on.metadata == {FLOOR_HEIGHT_KEY: -CAMERA_HEIGHT_M}
    assert off.views[0].depth is None and off.metadata == {}
    assert [o.box.center.tolist() for o in on.objects] == [o.box.center.tolist() for o in off.objects]
    # The floor straight below the image centre column, row 479: z = f h / (479 - 239.5).
    scene = dataclasses.replace(on, objects=())
    z = open_depth(scene, scene.views[0]).z_at(np.array([[319.5, 479.0]]))
    assert z == pytest.approx([FOCAL_PX * CAMERA_HEIGHT_M / 239.5])


def test_codec_and_jsonl_round_trip_keep_the_kind_and_the_floor(tmp_path: Path):
    scenes = list(random_box_scenes(3, seed=4))
    line = json.loads(json.dumps(scene_to_dict(scenes[0])))
    assert line["views"][0]["depth"] == {
        "path": "",
        "kind": "raycast_scene",
        "frame": "world",
        "scale_to_m": 1.0,
    }
    assert line["metadata"] == {"floor_height_m": -1.3}
    assert scene_to_dict(scene_from_dict(line)) == scene_to_dict(scenes[0])
    write_scenes(tmp_path / "s.jsonl", scenes)
    back = list(read_scenes(tmp_path / "s.jsonl"))
    assert [scene_to_dict(s) for s in back] == [scene_to_dict(s) for s in scenes]
    assert back[1].views[0].depth.kind == RAYCAST_DEPTH_KIND
    assert floor_plane(back[1]) == floor_plane(scenes[1])


def test_validation_accepts_the_raycast_kind(tmp_path: Path):
    scene = dataclasses.replace(wall_scene(), asset_root=str(tmp_path))
    assert scene_problems(scene, check_files=False) == []
    # With files checked only the (absent) image is missing: the ray-cast depth has no file to look for.
    assert [(p.reason, p.field) for p in scene_problems(scene)] == [("missing_file", "views[0].image_path")]
    box = next(iter(random_box_scenes(1)))
    assert scene_problems(box, check_files=False) == []


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"metadata": {FLOOR_HEIGHT_KEY: float("nan")}}, "non_finite", f"metadata.{FLOOR_HEIGHT_KEY}"),
        ({"metadata": {FLOOR_HEIGHT_KEY: "-1.3"}}, "non_finite", f"metadata.{FLOOR_HEIGHT_KEY}"),
        ({"metadata": {FLOOR_HEIGHT_KEY: True}}, "non_finite", f"metadata.{FLOOR_HEIGHT_KEY}"),
        ({"gravity": None}, "bad_gravity", "gravity"),
    ],
)
def test_a_bad_floor_is_named_by_validation_and_by_the_sampler(change, reason, field):
    bad = dataclasses.replace(wall_scene(), **change)
    problems = scene_problems(bad, check_files=False)
    assert [(p.reason, p.field) for p in problems] == [(reason, field)]
    assert reason in VALIDATION_REASONS
    with pytest.raises(RecordError) as err:
        open_depth(bad, bad.views[0])
    assert err.value.reason == reason and err.value.field == field


def test_a_raycast_depth_with_a_path_is_refused():
    scene = wall_scene(depth=AssetRef("depth/v0.npy", RAYCAST_DEPTH_KIND, frame="world"))
    problems = scene_problems(scene, check_files=False)
    assert [(p.reason, p.field) for p in problems] == [("out_of_range", "views[0].depth.path")]


def test_raster_sampler_reads_the_pixel_containing_the_position():
    depth = np.arange(48 * 64, dtype=np.float32).reshape(48, 64)  # value = 64 * row + column
    depth[5, 7] = np.nan
    sampler = RasterDepth(depth)
    uv = np.array(
        [[2.4, 3.6], [2.5, 3.5], [2.49, 3.49], [-0.5, 0.0], [-0.51, 0.0], [63.49, 47.49], [64.0, 0.0]]
    )
    z = sampler.z_at(uv)
    # Pixel (c, r) covers [c - 0.5, c + 0.5) x [r - 0.5, r + 0.5): (2.4, 3.6) -> (2, 4); (2.5, 3.5) -> (3, 4);
    # (2.49, 3.49) -> (2, 3); -0.5 is inside column 0, -0.51 and 64 are off the image.
    assert z[:3] == pytest.approx([4 * 64 + 2, 4 * 64 + 3, 3 * 64 + 2])
    assert z[3] == 0.0 and np.isnan(z[4]) and z[5] == 47 * 64 + 63 and np.isnan(z[6])
    assert np.isnan(sampler.z_at(np.array([[7.0, 5.0]]))).all()
    assert sampler.describe(2.4, 3.6) == "depth map value at pixel (column 2, row 4)"


def test_npy_view_opens_as_a_raster(tmp_path: Path):
    (tmp_path / "d").mkdir()
    np.save(tmp_path / "d" / "v0.npy", np.full((48, 64), 2.5, dtype=np.float32))
    scene = dataclasses.replace(
        wall_scene(depth=AssetRef("d/v0.npy", "npy_f32", frame="cam:v0", scale_to_m=2.0)),
        asset_root=str(tmp_path),
    )
    sampler = open_depth(scene, scene.views[0])
    assert isinstance(sampler, RasterDepth)
    assert sampler.z_at(np.array([[10.0, 10.0]])) == pytest.approx([5.0])  # 2.5 * scale_to_m 2


def test_views_without_usable_depth_are_refused_by_name(tmp_path: Path):
    no_depth = wall_scene(depth=None)
    with pytest.raises(RecordError) as err:
        open_depth(no_depth, no_depth.views[0])
    assert err.value.reason == "missing_field"
    view = dataclasses.replace(no_depth.views[0], point_map=AssetRef("pm/v0.npy", "npy_f32", "cam:v0"))
    point_map_only = dataclasses.replace(no_depth, views=(view,))
    with pytest.raises(RecordError) as err:
        open_depth(point_map_only, view)
    assert err.value.reason == POINT_MAP_UNSUPPORTED and err.value.field == "views[v0].point_map"
    missing = dataclasses.replace(
        wall_scene(depth=AssetRef("d/none.npy", "npy_f32", "cam:v0")), asset_root=str(tmp_path)
    )
    with pytest.raises(RecordError) as err:
        open_depth(missing, missing.views[0])
    assert err.value.reason == "missing_file"
