"""Per-patch pretraining targets (train/dense_targets.py): hand-checked grids, camera metamorphics, errors."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.errors import RecordError
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.models.image_transform import ImageTransform
from spatialforge.scene.io import read_scenes
from spatialforge.synth.run import SynthConfig, run_synth
from spatialforge.train.dense_targets import (
    INSTANCE_MASK_KEY,
    NONE,
    category_vocabulary,
    instance_table,
    patch_ranges,
    patch_targets,
    read_instance_mask,
)

STRETCH = ImageTransform(size=32)


@pytest.fixture(scope="module")
def synth_scene(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("dense_synth")
    run_synth(root, 2, SynthConfig(views=1, width=64, height=48), n_buckets=1)
    return next(iter(read_scenes(root / "scenes.jsonl")))


def test_patch_ranges_round_edges_and_never_empty() -> None:
    # 160 px in 6 patches: edges at 0, 26.7, 53.3, 80, 106.7, 133.3, 160 rounded
    assert patch_ranges(0.0, 160.0, 6, 160) == [
        (0, 27),
        (27, 53),
        (53, 80),
        (80, 107),
        (107, 133),
        (133, 160),
    ]
    # a crop (the centred square of shortest_edge_crop) offsets the edges
    assert patch_ranges(20.0, 140.0, 2, 160) == [(20, 80), (80, 140)]
    # more patches than pixels: each reads at least the pixel under it, inside the image
    ranges = patch_ranges(0.0, 3.0, 6, 3)
    assert all(0 <= lo < hi <= 3 for lo, hi in ranges) and len(ranges) == 6


def test_category_vocabulary_is_sorted_with_none_first() -> None:
    assert category_vocabulary(["sofa", "chair", "sofa", NONE, "bed"]) == (NONE, "bed", "chair", "sofa")


def test_patch_targets_hand_checked_grid() -> None:
    # 8 x 8 image, 2 x 2 patches of 4 x 4 pixels
    mask = np.zeros((8, 8), dtype=np.int64)
    mask[0:4, 0:4] = 1  # top-left: all instance 1
    mask[0:4, 4:8] = 2  # top-right: instance 2 on 9 pixels, instance 1 on 7
    mask[0:2, 4:7] = 1
    mask[2, 4] = 1
    mask[4:8, 4:6] = 3  # bottom-right: a tie 8 / 8 between background (0) and 3 -> the smaller id, 0
    depth = np.full((8, 8), 2.0, dtype=np.float32)
    depth[0:4, 0:4] = [[1.0, 2.0, 3.0, 4.0]] * 4  # median 2.5
    depth[4:8, 0:4] = np.nan  # bottom-left: no depth
    depth[0:4, 4:8] = 0.0  # zero is no data too ...
    depth[3, 7] = 5.0  # ... but for one pixel
    categories = {1: 4, 2: 7, 3: 9}
    facings = {1: np.array([0.6, 0.8])}  # instance 1 has a front; 2 and 3 do not
    targets = patch_targets(mask, depth, categories, facings, STRETCH, (2, 2))
    np.testing.assert_array_equal(targets.category, [[4, 7], [0, 0]])
    np.testing.assert_allclose(targets.log_depth, [[math.log(2.5), math.log(5.0)], [np.nan, math.log(2.0)]])
    np.testing.assert_allclose(targets.facing[0, 0], [0.6, 0.8])
    assert np.isnan(targets.facing[0, 1]).all() and np.isnan(targets.facing[1]).all()


def test_patch_targets_without_depth_and_unknown_instances() -> None:
    mask = np.full((4, 4), 5, dtype=np.int64)  # an instance the scene does not list
    targets = patch_targets(mask, None, {}, {5: np.array([1.0, 0.0])}, STRETCH, (1, 1))
    assert targets.category.tolist() == [[0]]  # NONE
    assert np.isnan(targets.log_depth).all() and np.isnan(targets.facing).all()
    with pytest.raises(ValueError, match="differ in size"):
        patch_targets(mask, np.ones((3, 4)), {}, {}, STRETCH, (1, 1))


def test_patch_targets_follow_the_transform_crop() -> None:
    # 12 x 6 image: shortest_edge_crop keeps the centred 6 x 6 square (columns 3..8)
    mask = np.zeros((6, 12), dtype=np.int64)
    mask[:, 0:3] = 1  # cropped away on the left
    mask[:, 6:9] = 2  # the square's right half
    crop = ImageTransform(size=32, mode="shortest_edge_crop")
    targets = patch_targets(mask, None, {1: 1, 2: 2}, {}, crop, (1, 2))
    assert targets.category.tolist() == [[0, 2]]
    assert patch_targets(mask, None, {1: 1, 2: 2}, {}, STRETCH, (1, 4)).category.tolist() == [[1, 0, 2, 0]]


def test_instance_table_matches_the_object_boxes_in_the_camera(synth_scene) -> None:
    view = synth_scene.views[0]
    vocabulary = {c: i for i, c in enumerate(category_vocabulary([o.category for o in synth_scene.objects]))}
    categories, facings = instance_table(synth_scene, view, vocabulary)
    with_front = 0
    for obj in synth_scene.objects:
        instance = obj.attributes["instance_id"]
        assert categories[instance] == vocabulary[obj.category]
        if obj.has_front:
            with_front += 1
            front = synth_scene.object_in_camera(obj, view).front_direction()  # another path to the same
            expected = np.array([front[0], front[2]]) / math.hypot(front[0], front[2])
            np.testing.assert_allclose(facings[instance], expected, atol=1e-9)
        else:
            assert instance not in facings
    assert with_front > 0


def test_instance_table_facing_turns_with_the_camera(synth_scene) -> None:
    """Metamorphic: yawing the camera by +t about its own y axis (down) turns every facing by -t in x-z."""
    view = synth_scene.views[0]
    vocabulary = {c: i for i, c in enumerate(category_vocabulary([o.category for o in synth_scene.objects]))}
    _, before = instance_table(synth_scene, view, vocabulary)
    t = math.radians(30.0)
    # old_cam_from_new_cam: a rotation by t about the camera's y axis
    yaw = np.array([[math.cos(t), 0.0, math.sin(t)], [0.0, 1.0, 0.0], [-math.sin(t), 0.0, math.cos(t)]])
    pose = view.world_from_cam
    turned = dataclasses.replace(
        view, world_from_cam=RigidTransform(pose.rotation @ yaw, pose.translation, pose.dst, pose.src)
    )
    _, after = instance_table(synth_scene, turned, vocabulary)
    assert before.keys() == after.keys() and before
    for instance, (x, z) in before.items():
        # a vector v in the old camera is yaw.T @ v in the new one
        new = yaw.T @ np.array([x, 0.0, z])
        np.testing.assert_allclose(after[instance], new[[0, 2]], atol=1e-9)


def test_read_instance_mask_errors_name_the_field(synth_scene, tmp_path: Path) -> None:
    view = synth_scene.views[0]
    mask = read_instance_mask(synth_scene, view)
    assert mask.shape == (view.camera.height, view.camera.width) and mask.max() > 0
    no_mask = dataclasses.replace(view, metadata={})
    with pytest.raises(RecordError, match="instance_mask") as missing:
        read_instance_mask(synth_scene, no_mask)
    assert missing.value.reason == "missing_field"
    root = Path(synth_scene.asset_root)
    (root / "broken.png").write_bytes(b"not a png")
    Image.new("RGB", (view.camera.width, view.camera.height)).save(root / "rgb.png")
    Image.new("I;16", (3, 3)).save(root / "small.png")
    for name, reason in (
        ("broken.png", "unreadable_file"),
        ("rgb.png", "wrong_type"),
        ("small.png", "wrong_shape"),
    ):
        bad = dataclasses.replace(view, metadata={INSTANCE_MASK_KEY: name})
        with pytest.raises(RecordError) as error:
            read_instance_mask(synth_scene, bad)
        assert error.value.reason == reason and name in str(error.value)
    hostile = dataclasses.replace(view, metadata={INSTANCE_MASK_KEY: "../../etc/passwd"})
    with pytest.raises(RecordError) as escaped:
        read_instance_mask(synth_scene, hostile)
    assert escaped.value.reason == "unsafe_path" and INSTANCE_MASK_KEY in str(escaped.value)
