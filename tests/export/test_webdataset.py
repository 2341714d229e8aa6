"""Tests of the WebDataset writer (export/wds.py): shards of a small generate run read back with the
`webdataset` library and decoded by hand (HiSpatial's depth formula rewritten here), determinism, tar
splitting, keys, skips and the index."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import tarfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import webdataset as wds  # noqa: E402

from spatialforge.engine.generate import GenerateConfig, run_generate  # noqa: E402
from spatialforge.export.base import ExportOptions, ShardContext, ShardStats  # noqa: E402
from spatialforge.export.groups import SceneGroup, by_images, iter_qa_file  # noqa: E402
from spatialforge.export.media import MediaCache  # noqa: E402
from spatialforge.export.wds import (  # noqa: E402
    DUPLICATE_SAMPLE,
    UNKNOWN_VIEW,
    WebDatasetWriter,
    brace_pattern,
    sample_key,
    tar_name,
)
from spatialforge.scene.depth import load_depth  # noqa: E402
from spatialforge.scene.records import Scene  # noqa: E402
from spatialforge.synth.run import run_synth  # noqa: E402
from spatialforge.synth.world import SynthConfig  # noqa: E402
from spatialforge.tasks.registry import TASKS

MAX_SIDE = 80  # 160x120 -> 80x60: scale exactly 1/2
KEY_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")


# The tasks whose records show one image: the fixtures below count samples and markers per view.
SINGLE_VIEW_TASKS = tuple(name for name, spec in TASKS.items() if "multi_view" not in spec.requires)


@pytest.fixture(scope="session")
def wds_groups(tmp_path_factory: pytest.TempPathFactory) -> list[SceneGroup]:
    """Two synthetic indoor scenes, two 160x120 views each, and their generated QA (one group per scene)."""
    root = tmp_path_factory.mktemp("wds_run")
    run_synth(root / "S", 2, SynthConfig(setting="indoor", views=2, width=160, height=120))
    # One image per record here (tests/export/test_multi_image.py covers multi-view records).
    run_generate(root / "S" / "scenes.jsonl", root / "Q", GenerateConfig(tasks=SINGLE_VIEW_TASKS))
    groups = list(iter_qa_file(root / "Q" / "data.jsonl", root / "S" / "scenes.jsonl"))
    assert len(groups) == 2 and all(len(by_images(g.records)) == 2 for g in groups)
    return groups


def write_shard(
    out: Path, groups: Iterable[SceneGroup], shard: int = 0, **options: Any
) -> tuple[WebDatasetWriter, ShardStats]:
    """What export/run.py does for one shard: start the media cache per scene, add, close."""
    opts = ExportOptions(writers=("webdataset",), **{"max_side": MAX_SIDE, **options})
    media = MediaCache(opts.max_side, opts.jpeg_quality)
    writer = WebDatasetWriter(ShardContext(out, shard, opts, media))
    for group in groups:
        media.start(group.scene)
        writer.add(group)
    return writer, writer.close()


def read_samples(out: Path, stats: ShardStats) -> list[dict[str, Any]]:
    """Raw samples (bytes per field) in tar order, read with the webdataset library."""
    urls = [str(out / f) for f in stats.files]
    return list(wds.WebDataset(urls, shardshuffle=False, empty_check=False))


def hispatial_depth(data: bytes) -> np.ndarray:
    """HiSpatial's read_depth formula, written here from its definition: t = (v - 1) / 65533,
    depth = near ** (1 - t) * far ** t; v 0 -> NaN (no data), v 65535 -> inf."""
    image = Image.open(io.BytesIO(data))
    near, far = float(image.info["near"]), float(image.info["far"])
    v = np.asarray(image).astype(np.float64)
    t = (v - 1) / 65533
    depth = near ** (1 - t) * far**t
    depth[v == 0] = np.nan
    depth[v == 65535] = np.inf
    return depth


def with_view(scene: Scene, view_id: str, **changes: Any) -> Scene:
    views = tuple(dataclasses.replace(v, **changes) if v.view_id == view_id else v for v in scene.views)
    return dataclasses.replace(scene, views=views)


def records_of(group: SceneGroup, view_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    return by_images(group.records)[view_ids]


# ---------------------------------------------------------------------------------------- round trip


def test_round_trip_through_webdataset(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    _, stats = write_shard(tmp_path, wds_groups, geometry="both")
    samples = read_samples(tmp_path, stats)
    scenes = {g.scene.scene_id: g for g in wds_groups}
    assert len(samples) == stats.samples == 4
    markers_checked = 0
    for sample in samples:
        meta = json.loads(sample["json"])
        assert sample["__key__"] == meta["key"]
        group = scenes[meta["scene_id"]]
        scene = group.scene
        (view_meta,) = meta["views"]
        view = scene.view(view_meta["view_id"])
        assert meta["key"] == sample_key(scene.scene_id, (view.view_id,))
        assert (meta["capture_id"], meta["source"], meta["license"], meta["split"]) == (
            scene.capture_id,
            scene.source,
            scene.license,
            scene.split,
        )
        assert sorted(k for k in sample if not k.startswith("__")) == [
            "depth.png",
            "jpg",
            "json",
            "points.npy",
        ]
        assert (view_meta["image"], view_meta["depth"], view_meta["points"]) == (
            "jpg",
            "depth.png",
            "points.npy",
        )

        # Image: 160x120 resized to max side 80 -> 80x60.
        assert Image.open(io.BytesIO(sample["jpg"])).size == (80, 60)
        assert view_meta["size"] == [80, 60] and view_meta["original_size"] == [160, 120]

        # Intrinsics scaled by 1/2: fx' = fx / 2; cx' = (cx + 0.5) / 2 - 0.5 = (79.5 + 0.5) / 2 - 0.5 = 39.5.
        k = view_meta["intrinsics"]
        assert view.camera.cx == 79.5 and view.camera.cy == 59.5
        assert k["fx"] == pytest.approx(view.camera.fx / 2) and k["fy"] == pytest.approx(view.camera.fy / 2)
        assert (k["cx"], k["cy"], k["width"], k["height"]) == (39.5, 29.5, 80, 60)
        assert k["K"] == [[k["fx"], 0.0, 39.5], [0.0, k["fy"], 29.5], [0.0, 0.0, 1.0]]

        # Depth: nearest 160 -> 80 takes source pixel 2j + 1 (the centre of target pixel j, 2j + 1 in
        # edge coordinates, lies in source pixel 2j + 1); decoded within half a log step.
        expected = load_depth(scene, view)[1::2, 1::2].astype(np.float64)  # (60, 80) m
        decoded = hispatial_depth(sample["depth.png"])
        np.testing.assert_array_equal(np.isnan(decoded), np.isnan(expected))
        valid = np.isfinite(expected)
        near, far = expected[valid].min(), expected[valid].max()
        bound = (far / near) ** (1 / (2 * 65533)) - 1
        rel = np.abs(decoded[valid] - expected[valid]) / expected[valid]
        assert rel.max() <= bound + 1e-6

        # Points: float16 (60, 80, 3); z = depth, x = (u - cx') / fx' * z, y = (v - cy') / fy' * z.
        points = np.load(io.BytesIO(sample["points.npy"]), allow_pickle=False)
        assert points.dtype == np.float16 and points.shape == (60, 80, 3)
        v, u = np.mgrid[0:60, 0:80]
        xyz = np.stack([(u - 39.5) / k["fx"] * expected, (v - 29.5) / k["fy"] * expected, expected], axis=-1)
        np.testing.assert_allclose(points[valid].astype(np.float64), xyz[valid], rtol=1e-3, atol=1e-3)

        # QA: exactly the generate records of this image list, unchanged and in file order.
        assert meta["qa"] == records_of(group, (view.view_id,))

        # Markers are drawn by the loader (docs): on the 80x60 image, geometry_px * 80 / 160 and
        # geometry_norm * 80 / 1000 name the same place, up to the 0-1000 grid's rounding (0.04 px).
        for marker in (m for r in meta["qa"] for m in r["markers"]):
            scale = np.array([80 / 160, 60 / 120] * (len(marker["geometry_px"]) // 2))
            grid = np.array([80 / 1000, 60 / 1000] * (len(marker["geometry_px"]) // 2))
            from_px = np.array(marker["geometry_px"]) * scale
            np.testing.assert_allclose(
                from_px, np.array(marker["geometry_norm"]) * grid, atol=0.5 * 80 / 1000
            )
            markers_checked += 1
    assert markers_checked > 0


def test_every_record_exactly_once(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    _, stats = write_shard(tmp_path, wds_groups, samples_per_tar=3)
    written = Counter(r["id"] for s in read_samples(tmp_path, stats) for r in json.loads(s["json"])["qa"])
    source = Counter(r["id"] for g in wds_groups for r in g.records)
    assert written == source and set(written.values()) == {1}
    assert stats.records == sum(source.values()) and not stats.skipped


def test_geometry_option_selects_files(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    _, depth_only = write_shard(tmp_path / "d", wds_groups[:1], geometry="depth")
    _, points_only = write_shard(tmp_path / "p", wds_groups[:1], geometry="points")
    for sample in read_samples(tmp_path / "d", depth_only):
        assert "points.npy" not in sample and "depth.png" in sample
        assert json.loads(sample["json"])["views"][0]["points"] is None
    for sample in read_samples(tmp_path / "p", points_only):
        assert "depth.png" not in sample and "points.npy" in sample
        assert json.loads(sample["json"])["views"][0]["depth"] is None


# ---------------------------------------------------------------------------------------- tars


def test_deterministic_bytes(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    _, first = write_shard(tmp_path / "a", wds_groups, geometry="both", samples_per_tar=3)
    _, second = write_shard(tmp_path / "b", wds_groups, geometry="both", samples_per_tar=3)
    assert (
        first.files == second.files == ["webdataset/shard-00000-0000.tar", "webdataset/shard-00000-0001.tar"]
    )
    for rel in first.files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert first.as_dict() == second.as_dict()


def test_tar_headers_and_contiguous_samples(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    _, stats = write_shard(tmp_path, wds_groups, geometry="both")
    with tarfile.open(tmp_path / stats.files[0]) as tar:
        members = tar.getmembers()
    assert all(
        (m.mode, m.mtime, m.uid, m.gid, m.uname, m.gname, m.isreg()) == (0o644, 0, 0, 0, "", "", True)
        for m in members
    )
    keys = [m.name.split(".", 1)[0] for m in members]
    runs = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
    assert len(runs) == len(set(runs)) == 4  # each sample's files form one run
    assert len(members) == 4 * 4  # jpg, depth.png, points.npy, json per sample
    assert not list(tmp_path.rglob("*.partial"))


def test_samples_per_tar_splitting_and_index(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    _, whole = write_shard(tmp_path / "one", wds_groups)
    _, split = write_shard(tmp_path / "split", wds_groups, samples_per_tar=3)
    # 4 samples, 3 per tar -> parts 0 (3 samples) and 1 (1 sample).
    assert whole.extra["tars"] == 1 and split.extra["tars"] == 2
    assert split.extra["tar_samples"] == {
        "webdataset/shard-00000-0000.tar": 3,
        "webdataset/shard-00000-0001.tar": 1,
    }
    keys = [s["__key__"] for s in read_samples(tmp_path / "one", whole)]
    assert [s["__key__"] for s in read_samples(tmp_path / "split", split)] == keys
    assert split.bytes == sum((tmp_path / "split" / f).stat().st_size for f in split.files)

    options = ExportOptions(writers=("webdataset",), samples_per_tar=3)
    summary = WebDatasetWriter.finalize(tmp_path / "split", options, [split])
    index = json.loads((tmp_path / "split" / "webdataset" / "index.json").read_text())
    assert index["tars"] == [
        {"file": "shard-00000-0000.tar", "samples": 3},
        {"file": "shard-00000-0001.tar", "samples": 1},
    ]
    assert (index["samples"], index["records"]) == (4, split.records)
    assert index["pattern"] == summary["pattern"] == "shard-00000-{0000..0001}.tar"
    assert summary["tars"] == 2 and summary["samples"] == 4


def test_two_shards_index_pattern(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    _, s0 = write_shard(tmp_path, wds_groups[:1], shard=0)
    _, s1 = write_shard(tmp_path, wds_groups[1:], shard=1)
    options = ExportOptions(writers=("webdataset",))
    summary = WebDatasetWriter.finalize(tmp_path, options, [s1, s0])
    assert summary["pattern"] == "shard-{00000..00001}-0000.tar"
    urls = f"{tmp_path}/webdataset/{summary['pattern']}"
    keys = {s["__key__"] for s in wds.WebDataset(urls, shardshuffle=False)}
    assert len(keys) == summary["samples"] == 4


@pytest.mark.parametrize(
    ("grid", "pattern"),
    [
        ([(0, 0)], "shard-00000-0000.tar"),
        ([(3, 0), (4, 0), (5, 0)], "shard-{00003..00005}-0000.tar"),
        ([(0, 0), (0, 1), (1, 0), (1, 1)], "shard-{00000..00001}-{0000..0001}.tar"),
        ([(0, 0), (0, 1), (1, 0)], None),  # shard 1 has fewer parts
        ([(0, 0), (2, 0)], None),  # shard 1 missing
        ([(0, 1)], None),  # parts must start at 0
        ([], None),
    ],
)
def test_brace_pattern(grid: Sequence[tuple[int, int]], pattern: str | None) -> None:
    assert brace_pattern([tar_name(s, p) for s, p in grid]) == pattern


# ---------------------------------------------------------------------------------------- keys


def test_sample_key_golden_and_rule() -> None:
    # Readable part: "synth_indoor/000000" + "_" + "v0" with "/" -> "_"; hash: blake2b-4 of
    # '["synth_indoor/000000", "v0"]' (pinned: a changed rule would rename every exported sample).
    assert sample_key("synth_indoor/000000", ("v0",)) == "synth_indoor_000000_v0_1e6472f7"
    key = sample_key("scan.0042/room 1:é", ("cam.left", "cam/right"))
    assert key.startswith("scan_0042_room_1___cam_left_cam_right_") and KEY_CHARS.match(key)
    assert len(key.rsplit("_", 1)[1]) == 8


def test_sample_key_collision_safety() -> None:
    # Same readable part, different exact ids -> different keys (also lower-cased).
    pairs = [
        (("a/b", ("v0",)), ("a_b", ("v0",))),
        (("a", ("b_c",)), ("a_b", ("c",))),
        (("s", ("v0", "v1")), ("s", ("v0_v1",))),
        (("Scene", ("v0",)), ("scene", ("v0",))),
    ]
    for (s1, v1), (s2, v2) in pairs:
        k1, k2 = sample_key(s1, v1), sample_key(s2, v2)
        assert k1 != k2 and k1.lower() != k2.lower()
    # Order of the images matters (image 0 and 1 of a multi-image question are not interchangeable).
    assert sample_key("s", ("v0", "v1")) != sample_key("s", ("v1", "v0"))


def test_odd_scene_id_round_trips_through_webdataset(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    group = wds_groups[0]
    odd = SceneGroup(dataclasses.replace(group.scene, scene_id="odd.scene/id 1"), group.records)
    _, stats = write_shard(tmp_path, [odd])
    samples = read_samples(tmp_path, stats)
    assert {s["__key__"] for s in samples} == {sample_key("odd.scene/id 1", (v,)) for v in ("v0", "v1")}
    assert all(KEY_CHARS.match(s["__key__"]) and "jpg" in s and "json" in s for s in samples)


# ---------------------------------------------------------------------------------------- multi-image


def test_multi_image_sample(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    group = wds_groups[0]
    base = group.records[0]
    pair = {
        **base,
        "id": "multi0000000000000001",
        "images": [{"path": "x", "view_id": v} for v in ("v1", "v0")],
    }
    _, stats = write_shard(tmp_path, [SceneGroup(group.scene, [*group.records, pair])], geometry="both")
    samples = {s["__key__"]: s for s in read_samples(tmp_path, stats)}
    sample = samples[sample_key(group.scene.scene_id, ("v1", "v0"))]
    assert sorted(k for k in sample if not k.startswith("__")) == [
        "0.depth.png",
        "0.jpg",
        "0.points.npy",
        "1.depth.png",
        "1.jpg",
        "1.points.npy",
        "json",
    ]
    meta = json.loads(sample["json"])
    assert [(v["view_id"], v["image"], v["depth"], v["points"]) for v in meta["views"]] == [
        ("v1", "0.jpg", "0.depth.png", "0.points.npy"),
        ("v0", "1.jpg", "1.depth.png", "1.points.npy"),
    ]
    assert meta["qa"] == [pair]
    # Image 0 is view v1: its depth is v1's (nearest 160 -> 80, source pixels 2j + 1).
    expected = load_depth(group.scene, group.scene.view("v1"))[1::2, 1::2]
    decoded = hispatial_depth(sample["0.depth.png"])
    valid = np.isfinite(expected)
    np.testing.assert_allclose(decoded[valid], expected[valid], rtol=1e-3)
    assert stats.samples == 3 and stats.records == len(group.records) + 1


# ---------------------------------------------------------------------------------------- bad input


def test_missing_image_is_a_counted_skip(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    group = wds_groups[0]
    broken = SceneGroup(with_view(group.scene, "v1", image_path="images/gone.png"), group.records)
    _, stats = write_shard(tmp_path, [broken, wds_groups[1]])
    lost = len(records_of(group, ("v1",)))
    assert stats.skipped == Counter({"unreadable_image": lost})
    assert stats.extra["skipped_samples"] == 1
    assert stats.samples == 3 and stats.records == sum(len(g.records) for g in wds_groups) - lost
    keys = {s["__key__"] for s in read_samples(tmp_path, stats)}
    assert sample_key(group.scene.scene_id, ("v1",)) not in keys
    assert sample_key(group.scene.scene_id, ("v0",)) in keys


def test_view_without_depth_is_written_without_geometry(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    group = wds_groups[0]
    no_depth = SceneGroup(with_view(group.scene, "v0", depth=None), group.records)
    _, stats = write_shard(tmp_path, [no_depth], geometry="both")
    samples = {s["__key__"]: s for s in read_samples(tmp_path, stats)}
    bare = samples[sample_key(group.scene.scene_id, ("v0",))]
    full = samples[sample_key(group.scene.scene_id, ("v1",))]
    assert "depth.png" not in bare and "points.npy" not in bare and "jpg" in bare
    view_meta = json.loads(bare["json"])["views"][0]
    assert (view_meta["depth"], view_meta["points"]) == (None, None)
    assert "depth.png" in full and "points.npy" in full
    assert stats.extra["no_depth"] == 1 and not stats.skipped and stats.samples == 2


def test_unreadable_depth_is_a_counted_skip(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    group = wds_groups[0]
    depth = dataclasses.replace(group.scene.view("v0").depth, path="depth/none.npy")
    broken = SceneGroup(with_view(group.scene, "v0", depth=depth), group.records)
    _, stats = write_shard(tmp_path, [broken])
    assert stats.skipped == Counter({"missing_file": len(records_of(group, ("v0",)))})
    assert stats.samples == 1


def test_unknown_view_and_duplicate_scene_are_counted(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    group = wds_groups[0]
    stray = {**group.records[0], "id": "stray000000000000001", "images": [{"path": "x", "view_id": "v9"}]}
    _, stats = write_shard(tmp_path, [SceneGroup(group.scene, [*group.records, stray]), group])
    assert stats.skipped[UNKNOWN_VIEW] == 1
    assert stats.skipped[DUPLICATE_SAMPLE] == len(group.records)  # the second copy of the scene
    assert stats.samples == 2 and stats.extra["skipped_samples"] == 3


def test_format_filter(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    _, stats = write_shard(tmp_path, wds_groups, formats=("mcq",))
    written = [r for s in read_samples(tmp_path, stats) for r in json.loads(s["json"])["qa"]]
    total = sum(len(g.records) for g in wds_groups)
    mcq = [r for g in wds_groups for r in g.records if r["format"] == "mcq"]
    assert written and all(r["format"] == "mcq" for r in written)
    assert len(written) == len(mcq) == stats.records
    assert stats.skipped == Counter({"format_filtered": total - len(mcq)})


def test_empty_shard_writes_no_tar(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    group = wds_groups[0]
    no_fill = [r for r in group.records if r["format"] != "fill"]  # every record filtered out
    _, stats = write_shard(tmp_path, [SceneGroup(group.scene, no_fill)], formats=("fill",))
    assert stats.files == [] and stats.samples == 0 and stats.extra["tars"] == 0
    summary = WebDatasetWriter.finalize(tmp_path, ExportOptions(writers=("webdataset",)), [stats])
    assert summary == {
        "index": "webdataset/index.json",
        "tars": 0,
        "samples": 0,
        "records": 0,
        "pattern": None,
    }


def test_abort_removes_partial_tars(wds_groups: list[SceneGroup], tmp_path: Path) -> None:
    opts = ExportOptions(writers=("webdataset",), max_side=MAX_SIDE, samples_per_tar=1)
    media = MediaCache(opts.max_side, opts.jpeg_quality)
    writer = WebDatasetWriter(ShardContext(tmp_path, 0, opts, media))
    media.start(wds_groups[0].scene)
    writer.add(wds_groups[0])
    assert len(list(tmp_path.rglob("*.tar.partial"))) == 2 and not list(tmp_path.rglob("*.tar"))
    writer.abort()
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob("*.tar"))
