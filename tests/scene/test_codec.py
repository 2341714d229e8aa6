import json

import numpy as np
import pytest

from spatialforge.errors import RecordError
from spatialforge.scene.codec import scene_from_dict, scene_to_dict
from spatialforge.scene.io import SceneWriter, iter_scene_lines, read_scenes, write_scenes

from .builders import tiny_scene


def test_round_trip_dict_is_lossless(tmp_path):
    scene = tiny_scene(tmp_path)
    d = scene_to_dict(scene)
    back = scene_from_dict(json.loads(json.dumps(d)))
    assert scene_to_dict(back) == d
    assert back.object("0").observation("v0").box2d.as_list() == [100, 90, 250, 160]
    assert back.view("v0").world_from_cam.name == "world_from_cam:v0"
    np.testing.assert_allclose(back.object("0").box.corners(), scene.object("0").box.corners())


def test_jsonl_round_trip_and_atomic_write(tmp_path):
    scene = tiny_scene(tmp_path)
    out = tmp_path / "scenes.jsonl"
    assert write_scenes(out, [scene, scene]) == 2
    assert not (tmp_path / "scenes.jsonl.partial").exists()
    scenes = list(read_scenes(out))
    assert [s.scene_id for s in scenes] == ["toy/train/0001"] * 2


def test_interrupted_writer_leaves_only_partial(tmp_path):
    scene = tiny_scene(tmp_path)
    out = tmp_path / "scenes.jsonl"
    with pytest.raises(RuntimeError):
        with SceneWriter(out) as w:
            w.write(scene)
            raise RuntimeError("killed")
    assert not out.exists()
    assert (tmp_path / "scenes.jsonl.partial").exists()


def _mutated(tmp_path, mutate):
    d = scene_to_dict(tiny_scene(tmp_path))
    mutate(d)
    return d


@pytest.mark.parametrize(
    ("mutate", "reason", "field"),
    [
        (lambda d: d.pop("capture_id"), "missing_field", "capture_id"),
        (lambda d: d.update(extra=1), "unknown_field", "extra"),
        (
            lambda d: d["objects"][0]["box"].update(rotation=[[1, 0], [0, 1]]),
            "wrong_shape",
            "objects[0].box.rotation",
        ),
        (lambda d: d["views"][0].update(width="640"), "wrong_type", "views[0].width"),
        (lambda d: d["objects"][1].pop("has_front"), "missing_field", "objects[1].has_front"),
        (
            lambda d: d["objects"][0]["observations"][0].update(box2d=[1, 2, 3]),
            "wrong_shape",
            "objects[0].observations[0].box2d",
        ),
        (lambda d: d.update(schema_version=2), "unsupported_schema_version", "schema_version"),
        (lambda d: d["views"][0]["intrinsics"].update(skew=0.0), "unknown_field", "views[0].intrinsics.skew"),
        (lambda d: d["objects"][0].update(has_front=1), "wrong_type", "objects[0].has_front"),
    ],
)
def test_strict_fields_name_the_field(tmp_path, mutate, reason, field):
    with pytest.raises(RecordError) as err:
        scene_from_dict(_mutated(tmp_path, mutate), record="line 7")
    assert err.value.reason == reason
    assert err.value.field == field
    assert f"field {field}" in str(err.value)


def test_bad_lines_are_yielded_with_file_and_line(tmp_path):
    scene = tiny_scene(tmp_path)
    out = tmp_path / "scenes.jsonl"
    write_scenes(out, [scene])
    good = out.read_text()
    broken = json.dumps({"schema_version": 1, "scene_id": "x"})
    out.write_text(good + "{not json}\n" + broken + "\n" + good + good.strip()[:50])
    items = list(iter_scene_lines(out))
    reasons = [getattr(i, "reason", "ok") for i in items]
    assert reasons == ["ok", "invalid_json", "missing_field", "ok", "truncated_line"]
    assert f"file {out}" in str(items[1]) and "record line 2" in str(items[1])
    assert "record line 5" in str(items[4])
    with pytest.raises(RecordError):
        list(read_scenes(out))


def test_writer_refuses_nan(tmp_path):
    import dataclasses

    from spatialforge.geometry.boxes import OrientedBox3D

    scene = tiny_scene(tmp_path)
    bad_obj = dataclasses.replace(scene.objects[0], box=OrientedBox3D([np.nan, 0, 0], np.eye(3), [1, 1, 1]))
    bad = dataclasses.replace(scene, objects=(bad_obj,))
    with pytest.raises(ValueError):
        write_scenes(tmp_path / "x.jsonl", [bad])


def _decoded_both_ways(d, monkeypatch):
    """(the scene decoded through the plain-object fast path, and through FieldReader for every object)."""
    import spatialforge.scene.codec as codec

    fast = scene_from_dict(json.loads(json.dumps(d)))
    with monkeypatch.context() as patch:
        patch.setattr(codec, "_plain_object", lambda _d: None)  # every object takes the field reader
        slow = scene_from_dict(json.loads(json.dumps(d)))
    return fast, slow


def test_plain_object_path_builds_what_the_field_reader_builds(tmp_path, monkeypatch):
    d = scene_to_dict(tiny_scene(tmp_path))
    # The variety the fast path must carry over: nulls, ints where floats are usual, a null box2d,
    # attributes, a source category.
    obs = d["objects"][0]["observations"][0]
    d["objects"][1]["observations"] = [{**obs, "box2d": None}]
    obs.update(visibility=1, truncation=None, occlusion_level=2, box2d_kind=None)
    d["objects"][0].update(source_category="Chair", attributes={"colour": "red"})
    fast, slow = _decoded_both_ways(d, monkeypatch)
    assert scene_to_dict(fast) == scene_to_dict(slow) == {**d, "objects": scene_to_dict(fast)["objects"]}
    assert [type(o.visibility) for o in fast.object("0").observations] == [float]
    assert fast.object("0").observations[0].occlusion_level == 2


@pytest.mark.parametrize(
    ("mutate", "reason", "field"),
    [
        (lambda o: o.update(extra=1), "unknown_field", "extra"),
        (lambda o: o.update(category=None), "missing_field", "category"),
        (lambda o: o["box"].update(size_m=[1, "2", 3]), "wrong_type", "box.size_m"),
        (lambda o: o["box"].update(size_m=[1, None, 3]), "wrong_type", "box.size_m"),
        (lambda o: o["box"].update(rotation=[[1, 0, 0], [0, 1], [0, 0, 1]]), "wrong_type", "box.rotation"),
        (lambda o: o["box"].update(center_m=[1, 2]), "wrong_shape", "box.center_m"),
        (lambda o: o["observations"][0].update(visibility=True), "wrong_type", "observations[0].visibility"),
        (lambda o: o["observations"][0].update(occlusion_level=1.5), "wrong_type",
         "observations[0].occlusion_level"),
        (lambda o: o["observations"][0].pop("behind_camera"), "missing_field",
         "observations[0].behind_camera"),
        (lambda o: o.update(observations=[7]), "wrong_type", "observations[0]"),
        (lambda o: o.update(attributes=[]), "wrong_type", "attributes"),
    ],
)  # fmt: skip
def test_an_object_off_the_plain_path_still_gets_the_named_error(tmp_path, mutate, reason, field):
    """The fast path only declines; the error is the field reader's, naming the field (here in object 1, after
    an object the fast path accepted; `field` is given relative to the object)."""
    d = scene_to_dict(tiny_scene(tmp_path))
    d["objects"][1]["observations"] = [dict(d["objects"][0]["observations"][0])]
    assert scene_from_dict(json.loads(json.dumps(d))).object("1").observations[0].view_id == "v0"
    mutate(d["objects"][1])
    with pytest.raises(RecordError) as err:
        scene_from_dict(d, record="line 3")
    assert (err.value.reason, err.value.field) == (reason, f"objects[1].{field}")


def test_a_number_where_an_int_is_allowed_is_accepted_by_both_paths(tmp_path, monkeypatch):
    d = scene_to_dict(tiny_scene(tmp_path))
    d["objects"][0]["box"]["size_m"] = [1, 2, 3]  # ints in a float array
    fast, slow = _decoded_both_ways(d, monkeypatch)
    assert fast.object("0").box.size.dtype == slow.object("0").box.size.dtype == np.float64
    assert scene_to_dict(fast) == scene_to_dict(slow)
