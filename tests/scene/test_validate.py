import dataclasses

import numpy as np
import pytest

from spatialforge.errors import RecordError
from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import AssetRef, Gravity, resolve_inside
from spatialforge.scene.validate import VALIDATION_REASONS, check_scene, scene_problems

from .builders import tiny_scene


def _view(scene, **changes):
    return dataclasses.replace(scene, views=(dataclasses.replace(scene.views[0], **changes),))


def _obj(scene, index=0, **changes):
    objs = list(scene.objects)
    objs[index] = dataclasses.replace(objs[index], **changes)
    return dataclasses.replace(scene, objects=tuple(objs))


def _obs(scene, **changes):
    obs = dataclasses.replace(scene.objects[0].observations[0], **changes)
    return _obj(scene, observations=(obs,))


BREAKERS = {
    "unsupported_schema_version": lambda s: dataclasses.replace(s, schema_version=99),
    "empty_id": lambda s: dataclasses.replace(s, capture_id=""),
    "no_views": lambda s: dataclasses.replace(s, views=(), objects=()),
    "duplicate_view_id": lambda s: dataclasses.replace(s, views=s.views * 2),
    "duplicate_object_id": lambda s: _obj(s, 1, object_id="0"),
    "non_finite": lambda s: _obj(s, box=OrientedBox3D([np.nan, 0, 0], np.eye(3), [1, 1, 1])),
    "bad_intrinsics": lambda s: _view(s, camera=PinholeCamera(-1.0, 300.0, 10, 10, 320, 240)),
    "bad_image_size": lambda s: _view(s, camera=PinholeCamera(300.0, 300.0, 10, 10, 0, 240)),
    "non_orthonormal_rotation": lambda s: _obj(
        s, box=OrientedBox3D([0, 5, 0], np.diag([1.0, 1.0, 1.2]), [1, 1, 1])
    ),
    "non_positive_size": lambda s: _obj(s, box=OrientedBox3D([0, 5, 0], np.eye(3), [1, 0, 1])),
    "unknown_view": lambda s: _obs(s, view_id="nope"),
    "invalid_box2d": lambda s: _obs(s, box2d=Box2D(10, 10, 5, 20)),
    "out_of_range": lambda s: _obs(s, visibility=1.5),
    "bad_gravity": lambda s: dataclasses.replace(s, gravity=Gravity((0.0, 0.0, -2.0), "exact")),
    "path_escapes_root": lambda s: _view(s, image_path="../../etc/passwd"),
    "missing_file": lambda s: _view(s, image_path="img/none.png"),
    "bad_type": lambda s: dataclasses.replace(s, metadata={"metric_scale": "false"}),
}


def test_clean_scene_has_no_problems(tmp_path):
    scene = tiny_scene(tmp_path)
    assert scene_problems(scene) == []
    assert check_scene(scene) is scene


def test_every_reason_is_covered():
    assert set(BREAKERS) == set(VALIDATION_REASONS)


@pytest.mark.parametrize("reason", VALIDATION_REASONS)
def test_each_reason_is_detected_and_named(tmp_path, reason):
    bad = BREAKERS[reason](tiny_scene(tmp_path))
    reasons = [p.reason for p in scene_problems(bad)]
    assert reason in reasons
    with pytest.raises(RecordError) as err:
        check_scene(bad, file="in.jsonl")
    assert f"record {bad.scene_id}" in str(err.value) and "file in.jsonl" in str(err.value)
    assert err.value.field


def test_non_orthonormal_camera_pose(tmp_path):
    scene = tiny_scene(tmp_path)
    skewed = RigidTransform(np.array([[1, 0.2, 0], [0, 1, 0], [0, 0, 1.0]]), np.zeros(3), "world", "cam:v0")
    problems = scene_problems(_view(scene, world_from_cam=skewed))
    assert [(p.reason, p.field) for p in problems] == [
        ("non_orthonormal_rotation", "views[0].world_from_cam.rotation")
    ]


def test_depth_path_is_checked_only_for_escape_when_files_are_not_checked(tmp_path):
    scene = _view(tiny_scene(tmp_path), depth=AssetRef("/abs/depth.png", "png_u16"))
    assert [p.reason for p in scene_problems(scene, check_files=False)] == ["path_escapes_root"]


@pytest.mark.parametrize("hostile", ["../x.png", "/etc/passwd", "a/../../x.png", "C:/win.png", "..\\x.png"])
def test_resolve_inside_refuses_hostile_paths(tmp_path, hostile):
    with pytest.raises(ValueError, match="escapes the dataset root"):
        resolve_inside(tmp_path, hostile)


def test_resolve_inside_refuses_symlink_escape(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="via a link"):
        resolve_inside(root, "link/file.png")
    assert resolve_inside(root, "sub/file.png") == (root / "sub" / "file.png").resolve()
