"""ScanNet adapter on scans built from code (tests/sources/posed_scans.py): frames, keyframes, boxes from
annotations and from the VoteNet export, depth-tested observations, bad input, CLI round trip, generate."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.errors import RecordError
from spatialforge.geometry.boxes import project_box_to_2d
from spatialforge.geometry.boxes2d import box2d_iou
from spatialforge.scene.codec import scene_to_dict
from spatialforge.scene.depth import load_depth
from spatialforge.scene.io import read_scenes
from spatialforge.scene.records import Scene
from spatialforge.scene.validate import check_scene
from spatialforge.sources.base import SourceAdapter
from spatialforge.sources.scannet import ScanNetSource, room_of
from tests.sources.posed_scans import (
    AXIS_ALIGNMENT,
    SCANNET_COLOR,
    ScanSpec,
    default_poses,
    matrix_text,
    render_depth,
    write_scannet_scan,
)

SCENE = "scene0007_01"


def load(root: Path, **options: str) -> list[Scene | RecordError]:
    return list(ScanNetSource.open(root, options).iter_items())


def one_scene(root: Path, **options: str) -> Scene:
    items = load(root, **options)
    assert len(items) == 1 and isinstance(items[0], Scene), items
    return check_scene(items[0])


def one_error(root: Path, **options: str) -> RecordError:
    items = load(root, **options)
    assert len(items) == 1 and isinstance(items[0], RecordError), items
    return items[0]


@pytest.fixture
def scan_root(tmp_path: Path) -> Path:
    write_scannet_scan(tmp_path, ScanSpec())
    return tmp_path


def test_scan_becomes_one_multi_view_scene(scan_root: Path) -> None:
    scene = one_scene(scan_root)
    assert scene.scene_id == f"scannet/{SCENE}" and scene.capture_id == "scannet/scene0007"
    assert scene.asset_root == str((scan_root / "scans" / SCENE).resolve())
    # Six frames; 1 and 3 repeat 0 and 2 within 2 cm: keyframes 0, 2, 4, 5 (0.15 m / 10 deg defaults).
    assert [v.view_id for v in scene.views] == ["0", "2", "4", "5"]
    assert scene.metadata["keyframes"] == {
        "frames_in": 6, "frames_kept": 4, "translation_m": 0.15, "rotation_deg": 10.0, "frame_stride": 1
    }  # fmt: skip
    view = scene.views[1]
    assert view.image_path == "color/2.jpg" and view.camera == SCANNET_COLOR
    assert view.depth is not None and (view.depth.path, view.depth.kind, view.depth.scale_to_m) == (
        "depth/2.png", "png_u16", 0.001
    )  # fmt: skip
    assert view.metadata["depth_camera"] == {
        "fx": 126.0,
        "fy": 127.0,
        "cx": 79.0,
        "cy": 60.0,
        "width": 160,
        "height": 120,
    }
    # world_from_cam = axisAlignment @ pose recovers the pose the scan was built with (files hold 6 decimals).
    truth = default_poses()[2]
    np.testing.assert_allclose(view.world_from_cam.rotation, truth.rotation, atol=1e-5)
    np.testing.assert_allclose(view.world_from_cam.translation, truth.translation, atol=1e-5)
    assert scene.gravity is not None and scene.gravity.down_world == (0.0, 0.0, -1.0)
    assert scene.gravity.source == "scan_alignment"
    np.testing.assert_allclose(scene.metadata["world_from_scan"], AXIS_ALIGNMENT.matrix(), atol=1e-8)
    assert scene.mesh is not None and (scene.mesh.path, scene.mesh.kind, scene.mesh.frame) == (
        f"{SCENE}_vh_clean_2.ply", "ply", "scan"
    )  # fmt: skip


def test_annotation_boxes_are_axis_aligned_bounds_of_the_aligned_vertices(scan_root: Path) -> None:
    scene = one_scene(scan_root)
    by_category = {o.category: o for o in scene.objects}
    assert sorted(by_category) == ["kitchen cabinet", "office chair", "table"]  # the wall instance is dropped
    assert scene.metadata["objects_dropped"] == {"structure_dropped": 1}
    table = by_category["table"]
    np.testing.assert_allclose(table.box.center, [0.0, 1.6, 0.4], atol=1e-5)
    np.testing.assert_allclose(table.box.size, [1.2, 0.8, 0.8], atol=1e-5)
    np.testing.assert_array_equal(table.box.rotation, np.eye(3))
    # The chair is turned 20 deg: its axis-aligned bounds are 0.5 (cos 20 + sin 20) = 0.64086 wide.
    chair = by_category["office chair"]
    np.testing.assert_allclose(chair.box.size, [0.64086, 0.64086, 0.9], atol=1e-5)
    assert all(not o.has_front for o in scene.objects)  # axis-aligned: no front, even for a chair
    assert table.source_id == f"{SCENE}.aggregation.json:segGroups[0]" and table.object_id == "0"
    assert chair.source_category == "office chair" and table.attributes == {"box_source": "annotations"}


def test_observations_follow_what_the_depth_shows(scan_root: Path) -> None:
    scene = one_scene(scan_root)
    by_category = {o.category: o for o in scene.objects}
    table, cabinet = by_category["table"], by_category["kitchen cabinet"]
    assert [ob.view_id for ob in table.observations] == ["0", "2", "4", "5"]
    # The cabinet stands behind a partition spanning x in [-1.0, 0.6]; only the rightmost camera (x = 0.8)
    # sees its right part past the partition's edge.
    assert [ob.view_id for ob in cabinet.observations] == ["5"]
    assert scene.metadata["visibility_rejected"] == {"low_visible_fraction": 3}
    for ob in table.observations:
        view = scene.view(ob.view_id)
        exact = project_box_to_2d(table.box.transformed(view.cam_from_world()), view.camera)
        assert exact is not None and box2d_iou(ob.box2d, exact) > 0.8
        assert ob.box2d_kind == "visible_points" and 0.3 < ob.visibility <= 1.0 and ob.truncation == 0.0


def test_bbox_npy_route_and_options(tmp_path: Path) -> None:
    write_scannet_scan(tmp_path, ScanSpec(boxes="bbox_npy"))
    scene = one_scene(tmp_path)
    assert scene.metadata["box_source"] == "bbox_npy"
    rows = {o.category: o for o in scene.objects}
    assert sorted(rows) == ["cabinet", "table"]  # NYU40 names of ids 3 and 7 (the turned chair is not in it)
    assert rows["table"].source_category == "nyu40:7" and rows["table"].source_id == f"{SCENE}_bbox.npy:0"
    np.testing.assert_allclose(rows["table"].box.center, [0.0, 1.6, 0.4])
    # The export may live in a folder of its own (VoteNet's scannet_train_detection_data).
    moved = tmp_path / "scannet_train_detection_data"
    moved.mkdir()
    (tmp_path / "scans" / SCENE / f"{SCENE}_bbox.npy").rename(moved / f"{SCENE}_bbox.npy")
    assert len(one_scene(tmp_path).objects) == 2
    assert len(one_scene(tmp_path, bbox_dir=str(moved)).objects) == 2
    (moved / f"{SCENE}_bbox.npy").unlink()
    e = one_error(tmp_path)
    assert e.reason == "missing_file" and e.field == "boxes"


def test_bbox_rows_are_checked(tmp_path: Path) -> None:
    write_scannet_scan(tmp_path, ScanSpec(boxes="bbox_npy"))
    path = tmp_path / "scans" / SCENE / f"{SCENE}_bbox.npy"
    np.save(path, np.array([[0, 0, 0, 1, 1, 1, 41.0]]))
    e = one_error(tmp_path)
    assert e.reason == "unknown_label_id" and e.field == "row 0 label" and str(path) in str(e)
    np.save(path, np.zeros((2, 6)))
    assert one_error(tmp_path).reason == "wrong_shape"


def test_label_map_names_nyu40_classes(scan_root: Path, tmp_path: Path) -> None:
    tsv = tmp_path / "labels.tsv"
    tsv.write_text(
        "id\traw_category\tnyu40class\n1\ttable\ttable\n2\toffice chair\tchair\n3\tkitchen cabinet\tcabinet\n"
    )
    scene = one_scene(scan_root, label_map=str(tsv))
    assert sorted(o.category for o in scene.objects) == ["cabinet", "chair", "table"]
    assert sorted(o.source_category for o in scene.objects) == ["kitchen cabinet", "office chair", "table"]


def test_no_axis_alignment_means_identity_and_says_so(tmp_path: Path) -> None:
    write_scannet_scan(tmp_path, ScanSpec(axis_alignment=None))
    scene = one_scene(tmp_path)
    assert scene.metadata["axis_alignment"] == "absent: identity"
    assert scene.metadata["world_from_scan"] == np.eye(4).tolist()
    assert scene.mesh is not None and scene.mesh.frame == "world"
    np.testing.assert_allclose(
        {o.category: o for o in scene.objects}["table"].box.center, [0.0, 1.6, 0.4], atol=1e-5
    )


def test_bad_frames_are_skipped_and_counted(scan_root: Path) -> None:
    scan = scan_root / "scans" / SCENE
    (scan / "pose" / "1.txt").write_text("-inf -inf -inf -inf\n" * 4)  # lost tracking
    (scan / "pose" / "3.txt").write_text(matrix_text(2.0 * np.eye(4)))  # scaled: not rigid
    (scan / "pose" / "6.txt").write_text("1 0 0 0\n0 1 0 0\n")  # no color / depth: missing_color first
    (scan / "color" / "7.jpg").write_bytes((scan / "color" / "0.jpg").read_bytes())  # no pose / depth
    (scan / "depth" / "4.png").write_bytes(b"not a png")  # keyframe 4: its depth cannot be read
    scene = one_scene(scan_root)
    assert scene.metadata["frames_skipped"] == {
        "invalid_pose": 1, "missing_color": 1, "missing_pose": 1, "non_rigid_pose": 1, "unreadable_depth": 1
    }  # fmt: skip
    assert [v.view_id for v in scene.views] == ["0", "2", "5"]


def test_malformed_pose_text(scan_root: Path) -> None:
    (scan_root / "scans" / SCENE / "pose" / "1.txt").write_text("one two three\n")
    assert one_scene(scan_root).metadata["frames_skipped"] == {"malformed_pose": 1}


def test_too_few_frames_is_an_error_naming_the_scan(scan_root: Path) -> None:
    scan = scan_root / "scans" / SCENE
    for i in range(1, 6):
        (scan / "pose" / f"{i}.txt").write_text("nan " * 16)
    e = one_error(scan_root)
    assert (
        e.reason == "too_few_frames"
        and e.record == SCENE
        and str(scan) in str(e)
        and "invalid_pose" in str(e)
    )


def test_scan_level_problems_name_file_and_field(scan_root: Path) -> None:
    scan = scan_root / "scans" / SCENE
    meta = scan / f"{SCENE}.txt"
    meta.write_text("axisAlignment = 1 0 0 0 0 1 0 0 0 0 1\n")
    e = one_error(scan_root)
    assert e.reason == "wrong_shape" and e.field == "axisAlignment" and str(meta) in str(e)
    meta.write_text("axisAlignment = 2 0 0 0 0 2 0 0 0 0 2 0 0 0 0 1\n")
    assert one_error(scan_root).reason == "non_rigid_transform"
    meta.write_text("")
    segs = scan / f"{SCENE}_vh_clean_2.0.010000.segs.json"
    data = json.loads(segs.read_text())
    segs.write_text(json.dumps({"segIndices": data["segIndices"][:-1]}))
    e = one_error(scan_root)
    assert e.reason == "inconsistent_annotation" and e.field == "segIndices"
    segs.write_text(json.dumps(data))
    (scan / "intrinsic" / "extrinsic_depth.txt").write_text(matrix_text(np.diag([1.0, 1.0, 1.0, 1.0]) + 0.01))
    assert one_error(scan_root).reason == "unsupported_extrinsics"


def test_options_are_checked(scan_root: Path) -> None:
    with pytest.raises(RecordError) as e:
        ScanNetSource.open(scan_root, {"keyframe_distance": "1"})
    assert e.value.reason == "unknown_option" and "keyframe_translation_m" in str(e.value)
    with pytest.raises(RecordError) as e:
        ScanNetSource.open(scan_root, {"keyframe_rotation_deg": "-3"})
    assert e.value.reason == "bad_option"
    with pytest.raises(RecordError) as e:
        ScanNetSource.open(scan_root, {"boxes": "meshes"})
    assert e.value.reason == "bad_option" and "annotations" in str(e.value)
    # Sources without options refuse any.
    from spatialforge.sources.registry import get_source

    kitti: type[SourceAdapter] = get_source("kitti")
    with pytest.raises(RecordError, match="takes no options"):
        kitti.open(scan_root, {"x": "1"})


def test_keyframe_options_and_stride(scan_root: Path) -> None:
    # frame_stride 2 reads frames 0, 2, 4; all three are > 0.15 m apart.
    assert [v.view_id for v in one_scene(scan_root, frame_stride="2").views] == ["0", "2", "4"]
    # 0.5 m: x = -0.4 (kept), -0.38, 0.0, 0.02 (within 0.5 m and ~6 deg of it), 0.4 (0.8 m: kept), 0.8.
    wide = one_scene(scan_root, keyframe_translation_m="0.5", keyframe_rotation_deg="20")
    assert [v.view_id for v in wide.views] == ["0", "4"]


def test_rescans_share_a_capture_id(tmp_path: Path) -> None:
    write_scannet_scan(tmp_path, ScanSpec(scene="scene0007_00"))
    write_scannet_scan(tmp_path, ScanSpec(scene="scene0007_01"))
    scenes = [s for s in load(tmp_path) if isinstance(s, Scene)]
    assert [s.scene_id for s in scenes] == ["scannet/scene0007_00", "scannet/scene0007_01"]
    assert {s.capture_id for s in scenes} == {"scannet/scene0007"}
    assert room_of("scene0123_02") == "scene0123" and room_of("office") == "office"
    # One scan folder as the input works too.
    assert one_scene(tmp_path / "scans" / "scene0007_00").scene_id == "scannet/scene0007_00"


def test_cli_ingest_round_trip_and_generate(scan_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "scenes.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "ingest",
            "-f",
            "scannet",
            "-i",
            str(scan_root),
            "-o",
            str(out),
            "--option",
            "keyframe_rotation_deg=12",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "keyframes: 4 of 6 posed frames, 4 views" in result.output
    report = json.loads(Path(str(out) + ".report.json").read_text())
    assert report["options"] == {"keyframe_rotation_deg": "12"}
    assert report["source_stats"]["frames_kept"] == 4 and report["source_stats"]["observations"] == 9
    (scene,) = read_scenes(out)
    # The JSONL round trip is lossless.
    assert scene_to_dict(scene) == scene_to_dict(one_scene(scan_root, keyframe_rotation_deg="12"))
    bad = runner.invoke(
        app, ["ingest", "-f", "scannet", "-i", str(scan_root), "-o", str(out), "--option", "nokey"]
    )
    assert bad.exit_code != 0 and "key=value" in bad.output
    gen = runner.invoke(app, ["generate", "-s", str(out), "-o", str(tmp_path / "qa")])
    assert gen.exit_code == 0, gen.output
    records = [json.loads(line) for line in (tmp_path / "qa" / "data.jsonl").read_text().splitlines()]
    assert records and {r["source"] for r in records} == {"scannet"}
    assert all(r["capture_id"] == "scannet/scene0007" for r in records)


def test_depth_of_its_own_camera_is_resampled_onto_the_image(scan_root: Path) -> None:
    """ScanNet's depth raster (160 x 120 here, intrinsics of its own) loads on the colour camera's grid, and
    agrees with depth rendered directly for the colour camera wherever the nearest depth pixel sees the
    same surface; a raster of neither size is still refused (wrong_shape)."""
    scene = one_scene(scan_root)
    view = scene.views[0]
    depth = load_depth(scene, view)  # (240, 320) m
    assert depth.shape == (SCANNET_COLOR.height, SCANNET_COLOR.width)
    direct = render_depth(ScanSpec().room, SCANNET_COLOR, view.world_from_cam)
    ok = np.isfinite(depth) & np.isfinite(direct)
    assert ok.mean() > 0.9
    # Nearest neighbour from a raster of half the resolution: a depth pixel covers two image pixels, so on the
    # slanted floor and walls its z differs from the exact one by up to about a centimetre (plus the 1 mm PNG
    # step); measured median 3.3 mm, 90th percentile 13 mm. A wrong mapping of pixels errs by decimetres.
    err = np.abs(depth[ok] - direct[ok])  # (N,) m
    assert np.median(err) < 0.005 and np.quantile(err, 0.9) < 0.02
    bad = replace(
        view, metadata={**view.metadata, "depth_camera": {**view.metadata["depth_camera"], "width": 99}}
    )
    with pytest.raises(RecordError, match="wrong_shape|depth is"):
        load_depth(scene, bad)
