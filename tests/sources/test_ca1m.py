"""CA-1M adapter on capture tars built from code: frames, gravity, boxes, extracted assets, hostile tars,
bad frames, CLI round trip and generate."""

from __future__ import annotations

import io
import json
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.errors import RecordError
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.scene.codec import scene_to_dict
from spatialforge.scene.depth import load_depth
from spatialforge.scene.io import read_scenes
from spatialforge.scene.records import Scene
from spatialforge.scene.validate import check_scene
from spatialforge.scene.visibility import resample_depth_to_camera
from spatialforge.sources import ca1m
from spatialforge.sources.ca1m import Ca1mSource, rotation_taking, upright_box
from tests.sources.posed_scans import (
    CA1M_DEPTH,
    CA1M_IMAGE,
    DEFAULT_ROOM,
    LASER_FROM_WORLD,
    ca1m_members,
    default_poses,
    look_at,
    render_depth,
    write_tar,
)

VIDEO = "42898570"
TAR = f"ca1m-val-{VIDEO}.tar"


def load(path: Path, assets: Path, **options: str) -> list[Scene | RecordError]:
    return list(Ca1mSource.open(path, {"assets": str(assets), **options}).iter_items())


def one_scene(path: Path, assets: Path, **options: str) -> Scene:
    items = load(path, assets, **options)
    assert len(items) == 1 and isinstance(items[0], Scene), items
    return check_scene(items[0])


def one_error(path: Path, assets: Path, **options: str) -> RecordError:
    items = load(path, assets, **options)
    assert len(items) == 1 and isinstance(items[0], RecordError), items
    return items[0]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return write_tar(tmp_path / TAR, ca1m_members(DEFAULT_ROOM, default_poses(), VIDEO))


def test_capture_becomes_one_multi_view_scene(capture: Path, tmp_path: Path) -> None:
    scene = one_scene(capture, tmp_path / "assets")
    assert (
        scene.scene_id == f"ca1m/val/{VIDEO}" and scene.capture_id == f"ca1m/{VIDEO}" and scene.split == "val"
    )
    assert scene.asset_root == str((tmp_path / "assets" / VIDEO).resolve())
    # Frames at t = 1..6 s; 2 and 4 repeat 1 and 3 within 2 cm: keyframes 1, 3, 5, 6 s.
    assert [v.view_id for v in scene.views] == ["1000000000", "3000000000", "5000000000", "6000000000"]
    assert [v.timestamp_s for v in scene.views] == [1.0, 3.0, 5.0, 6.0]
    assert scene.gravity is not None and scene.gravity == ca1m.Gravity((0.0, 0.0, -1.0), "calibration")
    assert scene.metadata["gravity_spread_deg"] < 1e-6
    assert scene.metadata["objects_from"] == "world.gt/instances.json"
    assert scene.metadata["objects_dropped"] == {"structure_dropped": 1}  # the wall
    assert all(o.category == "object" and not o.has_front for o in scene.objects)


def test_geometry_is_the_built_room_seen_from_the_built_cameras(capture: Path, tmp_path: Path) -> None:
    # The laser frame is y-up (LASER_FROM_WORLD = a -90 deg turn about x and a shift). The world is the
    # laser frame turned back by the smallest rotation taking its "down" to -z, i.e. rot_x(+90): our world
    # plus a shift R^T t. So camera-frame geometry is exactly the built one, and world z is up.
    scene = one_scene(capture, tmp_path / "assets")
    np.testing.assert_allclose(
        np.asarray(scene.metadata["world_from_laser"])[:3, :3], rot_x(math.radians(90.0)), atol=1e-9
    )
    shift = LASER_FROM_WORLD.rotation.T @ LASER_FROM_WORLD.translation
    poses = {str(1_000_000_000 * (i + 1)): p for i, p in enumerate(default_poses())}
    for obj, thing in zip(scene.objects, DEFAULT_ROOM.objects, strict=True):
        np.testing.assert_allclose(obj.box.center, np.asarray(thing.center) + shift, atol=1e-9)
        np.testing.assert_allclose(obj.box.size, thing.size, atol=1e-9)
        np.testing.assert_allclose(obj.box.rotation, rot_z(math.radians(thing.yaw_deg)), atol=1e-9)
        for view in scene.views:
            built = poses[view.view_id].inverse().apply(np.asarray(thing.center))
            np.testing.assert_allclose(view.center_in_camera(obj.box.center), built, atol=1e-9)


def test_assets_are_the_keyframes_only(capture: Path, tmp_path: Path) -> None:
    scene = one_scene(capture, tmp_path / "assets")
    root = Path(scene.asset_root)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        f"{v.view_id}.{kind}.png" for v in scene.views for kind in ("image", "depth")
    )
    view = scene.views[0]
    with tarfile.open(capture) as tar:
        stored = tar.extractfile(f"{VIDEO}/{view.view_id}.wide/image.png").read()  # type: ignore[union-attr]
    assert (root / view.image_path).read_bytes() == stored  # copied byte for byte
    # The written depth has the image camera's size and is the depth raster resampled (nearest) into it.
    assert view.camera == CA1M_IMAGE and view.metadata["source_depth_camera"]["width"] == CA1M_DEPTH.width
    depth = load_depth(scene, view)
    assert depth.shape == (CA1M_IMAGE.height, CA1M_IMAGE.width)
    raster = np.round(render_depth(DEFAULT_ROOM, CA1M_DEPTH, default_poses()[0]) * 1000) / 1000
    np.testing.assert_allclose(depth, resample_depth_to_camera(raster, CA1M_DEPTH, CA1M_IMAGE), atol=1e-6)


def test_observations_follow_the_depth(capture: Path, tmp_path: Path) -> None:
    scene = one_scene(capture, tmp_path / "assets")
    seen = {o.object_id: [ob.view_id for ob in o.observations] for o in scene.objects}
    assert seen["obj0"] == [v.view_id for v in scene.views]  # the table, in front of every camera
    assert seen["obj2"] == ["6000000000"]  # the cabinet behind the partition: only from the right
    assert scene.metadata["visibility_rejected"] == {"low_visible_fraction": 3}


def test_per_frame_instances_when_no_world_file(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / TAR, ca1m_members(DEFAULT_ROOM, default_poses(), VIDEO, world_instances=False)
    )
    scene = one_scene(path, tmp_path / "assets")
    assert scene.metadata["objects_from"].startswith("per-frame")
    shift = LASER_FROM_WORLD.rotation.T @ LASER_FROM_WORLD.translation
    for obj, thing in zip(scene.objects, DEFAULT_ROOM.objects, strict=True):
        np.testing.assert_allclose(obj.box.center, np.asarray(thing.center) + shift, atol=1e-9)
        assert obj.source_id == f"1000000000.wide/instances.json:{obj.object_id}"


def turning_poses() -> list:
    """Cameras looking 25 deg down in four different directions: a transposed T_gravity tilts each
    frame's "down" by 50 deg in a different direction."""
    targets = [(0.0, 2.0, 0.5), (2.0, 0.0, 0.5), (0.0, -2.0, 0.5), (-2.0, 0.0, 0.5)]
    out = []
    for i, (x, y, _) in enumerate(targets):
        h = 1.5 + math.tan(math.radians(25.0)) * math.hypot(x, y)
        out.append(look_at((0.0, 0.0, h), (x, y, 0.0), str(i)))
    return out


def test_gravity_convention_is_checked_across_frames(tmp_path: Path) -> None:
    good = write_tar(tmp_path / "a" / TAR, ca1m_members(DEFAULT_ROOM, turning_poses(), VIDEO))
    assert one_scene(good, tmp_path / "assets").metadata["gravity_spread_deg"] < 1e-6
    bad = write_tar(
        tmp_path / "b" / TAR, ca1m_members(DEFAULT_ROOM, turning_poses(), VIDEO, transpose_gravity=True)
    )
    e = one_error(bad, tmp_path / "assets")
    assert e.reason == "inconsistent_gravity" and e.field == "T_gravity" and str(bad) in str(e)


def _info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        (_info("/etc/passwd", size=3), "unsafe_tar_member"),
        (_info(f"{VIDEO}/../../escape.png", size=3), "unsafe_tar_member"),
        (_info(f"{VIDEO}/1.wide/link.png", tarfile.SYMTYPE, link="/etc/passwd"), "unsafe_tar_member"),
        (
            _info(f"{VIDEO}/1.wide/hard.png", tarfile.LNKTYPE, link=f"{VIDEO}/1000000000.gt/RT.json"),
            "unsafe_tar_member",
        ),
        (_info(f"{VIDEO}/1.wide/dev", tarfile.CHRTYPE), "unsafe_tar_member"),
    ],
)
def test_hostile_members_refuse_the_capture(tmp_path: Path, info: tarfile.TarInfo, reason: str) -> None:
    path = write_tar(tmp_path / TAR, ca1m_members(DEFAULT_ROOM, default_poses(), VIDEO), extra=[info])
    e = one_error(path, tmp_path / "assets")
    assert e.reason == reason and e.field == f"member {info.name}" and str(path) in str(e)
    assert not (tmp_path / "assets").exists()  # nothing written
    assert not (tmp_path.parent / "escape.png").exists()


def test_oversized_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_tar(tmp_path / TAR, ca1m_members(DEFAULT_ROOM, default_poses(), VIDEO))
    monkeypatch.setattr(ca1m, "MAX_MEMBER_BYTES", 1000)  # the PNGs are larger than this
    e = one_error(path, tmp_path / "assets")
    assert e.reason == "oversized_tar_member" and "limit 1000" in str(e)


def test_mixed_captures_and_unreadable_tar(tmp_path: Path) -> None:
    members = ca1m_members(DEFAULT_ROOM, default_poses(), VIDEO)
    members["99999/1.gt/RT.json"] = b"[]"
    assert one_error(write_tar(tmp_path / TAR, members), tmp_path / "a").reason == "mixed_captures"
    junk = tmp_path / "junk" / TAR
    junk.parent.mkdir()
    junk.write_bytes(b"not a tar at all" * 100)
    assert one_error(junk, tmp_path / "a").reason == "unreadable_file"


def test_bad_frames_are_skipped_and_counted(tmp_path: Path) -> None:
    members = ca1m_members(DEFAULT_ROOM, default_poses(), VIDEO)
    t = [str(1_000_000_000 * (i + 1)) for i in range(6)]
    del members[f"{VIDEO}/{t[1]}.gt/RT.json"]  # missing pose
    members[f"{VIDEO}/{t[3]}.gt/RT.json"] = b"[[1, 0, 0, Infinity], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]"
    members[f"{VIDEO}/{t[4]}.wide/image.png"] = b"garbage"  # a keyframe whose image cannot be read
    del members[f"{VIDEO}/{t[5]}.wide/depth.png"]  # a keyframe without depth
    scene_or_error = load(write_tar(tmp_path / TAR, members), tmp_path / "assets")
    # Left: frames 1, 3, 5 s posed -> keyframes 1, 3, 5 s; 5 s has a bad image: two views remain.
    (scene,) = scene_or_error
    assert isinstance(scene, Scene)
    assert [v.view_id for v in scene.views] == [t[0], t[2]]
    assert scene.metadata["frames_skipped"] == {
        "invalid_pose": 1, "missing_depth": 1, "missing_pose": 1, "unreadable_image": 1
    }  # fmt: skip


def test_bad_instances_are_dropped_and_counted(tmp_path: Path) -> None:
    members = ca1m_members(DEFAULT_ROOM, default_poses(), VIDEO)
    world = json.loads(members[f"{VIDEO}/world.gt/instances.json"])
    world[1]["scale"] = [0.5, -0.5, 0.9]
    members[f"{VIDEO}/world.gt/instances.json"] = json.dumps(world).encode()
    scene = one_scene(write_tar(tmp_path / TAR, members), tmp_path / "assets")
    assert [o.object_id for o in scene.objects] == ["obj0", "obj2"]
    assert scene.metadata["objects_dropped"] == {"bad_instance": 1, "structure_dropped": 1}
    assert "not positive" in scene.metadata["first_errors"]["bad_instance"]


def test_depth_option_and_missing_assets_option(capture: Path, tmp_path: Path) -> None:
    e = one_error(capture, tmp_path / "assets", depth="gt")  # the fixture has no gt/depth.png
    assert e.reason == "too_few_frames" and "missing_depth" in str(e)
    with pytest.raises(RecordError) as err:
        Ca1mSource.open(capture)
    assert err.value.reason == "missing_option" and "assets" in str(err.value)


def test_upright_box_and_rotation_helpers() -> None:
    # A box whose local y is world up (a y-up source): after the permutation local z is up, sizes follow.
    r = rot_x(math.radians(90.0))  # local y -> world z
    box = upright_box(np.zeros(3), r, np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(box.rotation[:, 2], [0.0, 0.0, 1.0], atol=1e-12)
    assert box.size.tolist() == [3.0, 1.0, 2.0] and np.linalg.det(box.rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(np.sort(np.abs(box.corners()), axis=0), np.sort(np.abs(box.corners()), axis=0))
    # Same physical box: the corner sets agree.
    from spatialforge.geometry.boxes import OrientedBox3D

    original = OrientedBox3D(np.zeros(3), r, np.array([1.0, 2.0, 3.0]))
    assert sorted(map(tuple, np.round(original.corners(), 9))) == sorted(
        map(tuple, np.round(box.corners(), 9))
    )
    down = np.array([0.3, -0.2, -0.9])
    np.testing.assert_allclose(
        rotation_taking(down, np.array([0.0, 0.0, -1.0])) @ (down / np.linalg.norm(down)),
        [0, 0, -1],
        atol=1e-12,
    )
    np.testing.assert_allclose(
        rotation_taking(np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, -1.0])) @ [0, 0, 1],
        [0, 0, -1],
        atol=1e-12,
    )


def test_cli_ingest_writes_assets_beside_the_output_and_generate_runs(capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "ca1m.jsonl"
    out.parent.mkdir()
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "-f", "ca1m", "-i", str(capture.parent), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "keyframes: 4 of 6 posed frames, 4 views" in result.output
    (scene,) = read_scenes(out)
    assert scene.asset_root == str((tmp_path / "out" / "ca1m.jsonl.assets" / VIDEO).resolve())
    assert scene_to_dict(scene) == scene_to_dict(check_scene(scene))
    gen = runner.invoke(app, ["generate", "-s", str(out), "-o", str(tmp_path / "qa")])
    assert gen.exit_code == 0, gen.output
    records = [json.loads(line) for line in (tmp_path / "qa" / "data.jsonl").read_text().splitlines()]
    assert records and {r["source"] for r in records} == {"ca1m"}
    # Every marker / image referenced exists in the extracted assets.
    image = Image.open(io.BytesIO((Path(scene.asset_root) / scene.views[0].image_path).read_bytes()))
    assert image.size == (CA1M_IMAGE.width, CA1M_IMAGE.height)
