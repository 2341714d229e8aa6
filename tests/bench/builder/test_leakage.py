"""The leakage report finds planted overlaps between datasets of any form, and nothing in clean ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from spatialforge.bench.builder.leakage import MAX_EXAMPLES, leakage_report, read_dataset_ids
from spatialforge.errors import RecordError
from tests.bench.builder.conftest import hand_scene, write_hand_scenes


def png(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (6, 4), colour).save(path, format="PNG")


def dataset(
    root: Path, name: str, scenes: list[tuple[str, str, str]], colours: dict[str, tuple] | None = None
):
    """A scene file of (scene id, capture id, image path) scenes whose images exist under root/name."""
    assets = root / name
    for i, (_, _, image) in enumerate(scenes):
        # Distinct pixels per dataset and image unless the test plants the same colour.
        png(assets / image, (colours or {}).get(image, (i * 40 % 256, 17, sum(name.encode()) % 256)))
    built = [hand_scene(s, c, image_path=im, asset_root=str(assets)) for s, c, im in scenes]
    return write_hand_scenes(root / f"{name}.scenes.jsonl", built)


def report(a: Path, b: Path, *, hash_images: bool = False) -> dict:
    return leakage_report(
        read_dataset_ids(a, hash_images=hash_images), read_dataset_ids(b, hash_images=hash_images)
    )


def shared(rep: dict) -> dict[str, int]:
    return {kind: o["shared"] for kind, o in rep["overlaps"].items() if o["shared"]}


def test_clean_datasets_report_no_leakage(tmp_path: Path) -> None:
    a = dataset(tmp_path, "a", [("a/1", "ca1", "img/a1.png"), ("a/2", "ca1", "img/a2.png")])
    b = dataset(tmp_path, "b", [("b/1", "cb1", "img/b1.png")])
    rep = report(a, b, hash_images=True)
    assert rep["leaked"] is False and shared(rep) == {}
    assert rep["overlaps"]["capture_id"]["a"] == 1 and rep["overlaps"]["scene_id"]["a"] == 2
    assert rep["overlaps"]["image_sha256"]["a"] == 2 and rep["a"]["unreadable_images"] == 0
    assert rep["a"]["form"] == rep["b"]["form"] == "scenes"


def test_a_shared_capture_is_leakage(tmp_path: Path) -> None:
    a = dataset(tmp_path, "a", [("scannet/scene0011_00", "scannet/scene0011", "x/a.png")])
    b = dataset(tmp_path, "b", [("scannet/scene0011_01", "scannet/scene0011", "y/b.png")])  # a rescan
    rep = report(a, b)
    assert rep["leaked"] and shared(rep) == {"capture_id": 1}
    assert rep["overlaps"]["capture_id"]["examples"] == ["scannet/scene0011"]


def test_a_shared_scene_id_is_leakage(tmp_path: Path) -> None:
    a = dataset(tmp_path, "a", [("s1", "c1", "x/a.png")])
    b = dataset(tmp_path, "b", [("s1", "c2", "y/b.png")])
    assert shared(report(a, b)) == {"scene_id": 1}


def test_the_same_photo_under_two_adapters_paths(tmp_path: Path) -> None:
    a = dataset(tmp_path, "omni3d", [("omni3d/1", "o1", "KITTI_object/training/image_2/000123.png")])
    b = dataset(tmp_path, "kitti", [("kitti/1", "k1", "object/training/image_2/000123.png")])
    rep = report(a, b)
    assert shared(rep) == {"image_key": 1}
    assert rep["overlaps"]["image_key"]["examples"] == ["training/image_2/000123.png"]


def test_the_same_bytes_under_another_name_only_with_hash_images(tmp_path: Path) -> None:
    same = (1, 2, 3)
    a = dataset(tmp_path, "a", [("a/1", "ca", "one/x1.png")], {"one/x1.png": same})
    b = dataset(tmp_path, "b", [("b/1", "cb", "two/y7.png")], {"two/y7.png": same})
    assert report(a, b)["leaked"] is False
    rep = report(a, b, hash_images=True)
    assert shared(rep) == {"image_sha256": 1}


def test_missing_images_are_counted_when_hashing(tmp_path: Path) -> None:
    a = dataset(tmp_path, "a", [("a/1", "ca", "one/x1.png")])
    (tmp_path / "a" / "one" / "x1.png").unlink()
    ids = read_dataset_ids(a, hash_images=True)
    assert ids.unreadable_images == 1 and not ids.ids["image_sha256"]


def test_examples_are_sorted_and_capped(tmp_path: Path) -> None:
    n = MAX_EXAMPLES + 5
    a = dataset(tmp_path, "a", [(f"a{i}", f"c{i:02d}", f"x/a{i}.png") for i in range(n)])
    b = dataset(tmp_path, "b", [(f"b{i}", f"c{i:02d}", f"y/b{i}.png") for i in range(n)])
    overlap = report(a, b)["overlaps"]["capture_id"]
    assert overlap["shared"] == n
    assert overlap["examples"] == [f"c{i:02d}" for i in range(MAX_EXAMPLES)]


def test_a_build_leaks_nothing_into_its_own_train_split(bench_builds: dict[str, Path]) -> None:
    for folder in bench_builds.values():
        rep = report(folder, folder / "work" / "split" / "train.scenes.jsonl", hash_images=True)
        assert rep["a"]["form"] == "benchmark" and rep["b"]["form"] == "scenes"
        assert rep["leaked"] is False, shared(rep)


def test_forms_benchmark_vs_scenes_generate_run_and_its_capture_list(bench_builds: dict[str, Path]) -> None:
    folder = bench_builds["spatialvqa"]  # unmarked images: their bytes are the scenes' own
    items = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]
    captures = {i["capture_id"] for i in items}
    scenes = {i["scene_id"] for i in items}
    bench_scenes = folder / "work" / "split" / "benchmark.scenes.jsonl"
    rep = report(folder, bench_scenes, hash_images=True)
    assert rep["leaked"]
    assert rep["overlaps"]["capture_id"]["shared"] == len(captures)
    assert rep["overlaps"]["scene_id"]["shared"] == len(scenes)
    images = {p for i in items for p in i["extra"]["source_images"]}
    assert rep["overlaps"]["image_key"]["shared"] == len(images)
    assert rep["overlaps"]["image_sha256"]["shared"] == len(images)
    # The generate run (folder or its data.jsonl) the items came from.
    for qa in (folder / "work" / "qa", folder / "work" / "qa" / "data.jsonl"):
        rep = report(qa, folder)
        assert rep["a"]["form"] == "qa"
        assert rep["overlaps"]["capture_id"]["shared"] == len(captures)
        assert rep["overlaps"]["image_key"]["shared"] == len(images)
    # The benchmark's captures.json as an exclusion list.
    rep = report(folder / "captures.json", bench_scenes)
    assert rep["a"]["form"] == "exclusion_list"
    assert shared(rep) == {"capture_id": len(captures)}


def test_text_exclusion_list_against_scenes(tmp_path: Path) -> None:
    a = dataset(tmp_path, "a", [("a/1", "ca", "img/training/image_2/000001.png"), ("a/2", "cb", "img/z.png")])
    lst = tmp_path / "published.txt"
    lst.write_text("image: KITTI/training/image_2/000001.png\nscene: a/2\n")
    rep = report(lst, a)
    assert shared(rep) == {"image_key": 1, "scene_id": 1}


def test_unknown_forms_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordError, match="benchmark or a generate run"):
        read_dataset_ids(tmp_path / "empty")
    with pytest.raises(RecordError, match="no such file"):
        read_dataset_ids(tmp_path / "missing.jsonl")
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(RecordError, match="neither scenes nor QA"):
        read_dataset_ids(other)


def test_bad_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    a = dataset(tmp_path, "a", [("a/1", "ca", "img/a.png")])
    a.write_text(a.read_text() + "not json\n")
    ids = read_dataset_ids(a)
    assert ids.ids["capture_id"] == {"ca"} and sum(ids.skipped.values()) == 1
