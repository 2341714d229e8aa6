"""The Parquet / HF datasets writer (export/parquet.py) on a small synthetic generate run."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import datasets  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from PIL import Image  # noqa: E402

from spatialforge.engine.generate import GenerateConfig, run_generate  # noqa: E402
from spatialforge.errors import RecordError  # noqa: E402
from spatialforge.export import parquet  # noqa: E402
from spatialforge.export.base import ExportOptions, ShardContext, ShardStats  # noqa: E402
from spatialforge.export.groups import SceneGroup, iter_qa_file  # noqa: E402
from spatialforge.export.media import MediaCache  # noqa: E402
from spatialforge.export.parquet import (  # noqa: E402
    ParquetWriter,
    arrow_schema,
    hf_features,
    read_records,
    record_from_row,
    typed_answer,
)
from spatialforge.qa.draw_markers import MARKER_RGB  # noqa: E402
from spatialforge.synth.run import run_synth  # noqa: E402
from spatialforge.synth.world import SynthConfig  # noqa: E402
from spatialforge.tasks.registry import TASKS

datasets.disable_progress_bars()

WIDTH, HEIGHT = 160, 120  # synthetic images; max_side 80 halves them to 80 x 60


# The tasks whose records show one image: the fixtures below count samples and markers per view.
SINGLE_VIEW_TASKS = tuple(name for name, spec in TASKS.items() if "multi_view" not in spec.requires)


@pytest.fixture(scope="session")
def parquet_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(scenes.jsonl, data.jsonl) of 2 indoor scenes x 2 views at 160 x 120."""
    root = tmp_path_factory.mktemp("parquet_run")
    run_synth(root / "S", 2, SynthConfig(setting="indoor", views=2, width=WIDTH, height=HEIGHT))
    # One image per record here (tests/export/test_multi_image.py covers multi-view records).
    run_generate(
        root / "S" / "scenes.jsonl", root / "Q", GenerateConfig(tasks=SINGLE_VIEW_TASKS), n_buckets=2
    )
    return root / "S" / "scenes.jsonl", root / "Q" / "data.jsonl"


@pytest.fixture(scope="session")
def parquet_groups(parquet_run: tuple[Path, Path]) -> list[SceneGroup]:
    scenes, qa = parquet_run
    groups = list(iter_qa_file(qa, scenes))
    assert len(groups) == 2 and sum(len(g.records) for g in groups) > 20
    return groups


def originals(groups: Sequence[SceneGroup]) -> list[dict[str, Any]]:
    return [copy.deepcopy(r) for g in groups for r in g.records]


def options(**kwargs: Any) -> ExportOptions:
    return ExportOptions(writers=("parquet",), **{"max_side": 80, **kwargs})


def write_shard(out: Path, groups: Sequence[SceneGroup], opts: ExportOptions, shard: int = 0) -> ShardStats:
    """What export/run.py does for one shard: one media cache, started on each scene before add."""
    media = MediaCache(opts.max_side, opts.jpeg_quality)
    writer = ParquetWriter(ShardContext(out, shard, opts, media))
    for group in groups:
        media.start(group.scene)
        writer.add(group)
    return writer.close()


def with_records(group: SceneGroup, change: Callable[[int, dict[str, Any]], dict[str, Any]]) -> SceneGroup:
    """The group with each record replaced by change(index, deep copy of the record)."""
    return SceneGroup(group.scene, [change(i, copy.deepcopy(r)) for i, r in enumerate(group.records)])


def load_hf(data_files: Any, cache: Path) -> datasets.DatasetDict:
    return datasets.load_dataset("parquet", data_files=data_files, cache_dir=str(cache))


# ---------------------------------------------------------------- round trips


def test_round_trip_via_pyarrow_is_exact(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    stats = write_shard(tmp_path, parquet_groups, options())
    expected = originals(parquet_groups)
    assert stats.files == ["parquet/train-00000.parquet"]
    assert stats.samples == stats.records == len(expected)
    assert stats.extra["rows"] == {"train": len(expected)}
    back = list(read_records(tmp_path / "parquet" / "train-00000.parquet"))
    assert back == expected
    # the export folder and its parquet/ folder read the same
    assert list(read_records(tmp_path)) == expected
    assert list(read_records(tmp_path / "parquet")) == expected


@pytest.mark.parametrize("images", [False, True])
def test_round_trip_via_datasets(tmp_path: Path, parquet_groups: list[SceneGroup], images: bool) -> None:
    write_shard(tmp_path / "out", parquet_groups, options(parquet_images=images))
    ds = load_hf({"train": str(tmp_path / "out" / "parquet" / "train-*.parquet")}, tmp_path / "hf")
    train = ds["train"]
    assert ("image" in train.column_names) == images
    rows = train.remove_columns(["image"]) if images else train
    assert [record_from_row(row) for row in rows] == originals(parquet_groups)


def test_answer_value_keeps_its_json_type(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    """2 and 2.0 are equal in Python but not the same JSON: answer_value_json keeps the difference."""
    group = parquet_groups[0]
    free = [i for i, r in enumerate(group.records) if r["format"] == "free"][:2]
    assert len(free) == 2
    values = {free[0]: 2, free[1]: 2.0}

    def set_value(i: int, record: dict[str, Any]) -> dict[str, Any]:
        if i in values:
            record["answer_value"] = values[i]
        return record

    write_shard(tmp_path, [with_records(group, set_value)], options())
    back = list(read_records(tmp_path))
    assert type(back[free[0]]["answer_value"]) is int and type(back[free[1]]["answer_value"]) is float
    table = pq.read_table(tmp_path / "parquet" / "train-00000.parquet", columns=["answer_value_json"])
    assert table.column(0)[free[0]].as_py() == "2" and table.column(0)[free[1]].as_py() == "2.0"


def test_typed_answer_columns() -> None:
    assert typed_answer(True) == (None, True, None)  # a bool is not a number
    assert typed_answer(3) == (3.0, None, None)
    assert typed_answer(1.25) == (1.25, None, None)
    assert typed_answer("B") == (None, None, "B")
    assert typed_answer([1.0, 2.0, 3.0]) == (None, None, None)


def test_typed_columns_match_answer_value(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    write_shard(tmp_path, parquet_groups, options())
    table = pq.read_table(tmp_path / "parquet" / "train-00000.parquet")
    kinds = set()
    for row in table.to_pylist():
        value = json.loads(row["answer_value_json"])
        assert (row["answer_number"], row["answer_bool"], row["answer_string"]) == typed_answer(value)
        kinds.add(type(value).__name__)
    assert {"bool", "str", "list"} <= kinds  # the run exercises every column


def test_image_paths_and_marked_refs(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    out = tmp_path / "out"
    write_shard(out, parquet_groups, options(image_root=str(tmp_path.parent)))
    table = pq.read_table(out / "parquet" / "train-00000.parquet", columns=["images", "markers", "scene_id"])
    assets = {g.scene.scene_id: g.scene for g in parquet_groups}
    marked_seen = 0
    for row in table.to_pylist():
        scene = assets[row["scene_id"]]
        for index, image in enumerate(row["images"]):
            absolute = scene.resolve(scene.view(image["view_id"]).image_path)
            assert Path(image["path"]) == Path(absolute).resolve().relative_to(tmp_path.parent)
            assert image["source_path"] == scene.view(image["view_id"]).image_path
            has_markers = any(m["image_index"] == index for m in row["markers"])
            assert (image["marked_ref"] is not None) == has_markers
            if has_markers:  # relative to --image-root, a JPEG the export wrote
                marked_seen += 1
                assert Image.open(tmp_path.parent / image["marked_ref"]).size == (80, 60)
    assert marked_seen > 0


# ---------------------------------------------------------------- embedded images


def test_embedded_images_decode_via_datasets(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    write_shard(tmp_path / "out", parquet_groups, options(parquet_images=True))
    train = load_hf(str(tmp_path / "out" / "parquet" / "*.parquet"), tmp_path / "hf")["train"]
    assert train.features["image"] == datasets.List(datasets.Image())
    for row in train.select(range(5)):
        assert len(row["image"]) == len(row["images"])
        for picture in row["image"]:
            assert isinstance(picture, Image.Image)
            assert picture.size == (80, 60) and picture.format == "JPEG"  # 160 x 120 halved by max_side 80


def test_unmarked_image_is_the_resized_jpeg(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    opts = options(parquet_images=True)
    write_shard(tmp_path, parquet_groups[:1], opts)
    table = pq.read_table(
        tmp_path / "parquet" / "train-00000.parquet", columns=["images", "markers", "image"]
    )
    media = MediaCache(opts.max_side, opts.jpeg_quality)
    media.start(parquet_groups[0].scene)
    row = next(r for r in table.to_pylist() if not r["markers"])
    assert row["image"] == [{"bytes": media.jpeg(row["images"][0]["view_id"]), "path": None}]


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)  # (h, w, 3)


def _marker_coloured(pixels: np.ndarray, rgb: tuple[int, int, int], margin: int = 60) -> np.ndarray:
    """(h, w) bool: pixels whose channels that are full in `rgb` (a primary: red, green, blue, yellow) exceed
    every channel that is off by more than `margin`. JPEG darkens a 2 px line ((0, 0, 255) comes back
    near (15, 14, 135)), so an exact colour match would not find it."""
    on = [c for c in range(3) if rgb[c] == 255]
    off = [c for c in range(3) if rgb[c] == 0]
    assert on and off and len(on) + len(off) == 3, f"{rgb} is not a primary colour"
    return pixels[..., on].min(axis=-1) - pixels[..., off].max(axis=-1) > margin


def test_marked_point_is_drawn_at_the_scaled_position(
    tmp_path: Path, parquet_groups: list[SceneGroup]
) -> None:
    write_shard(tmp_path, parquet_groups, options(parquet_images=True))
    table = pq.read_table(tmp_path / "parquet" / "train-00000.parquet", columns=["markers", "image"])
    rows = [r for r in table.to_pylist() if r["markers"]]
    assert rows
    for row in rows:
        (marker,) = [m for m in row["markers"] if m["image_index"] == 0]
        pixels = _decode(row["image"][0]["bytes"])
        # geometry_px is on the 160 x 120 original; the embedded image is 80 x 60: scale 0.5.
        x, y = (round(c * 0.5) for c in marker["geometry_px"])
        assert _marker_coloured(pixels[y, x], MARKER_RGB[marker["colour"]]), (row["markers"], pixels[y, x])


def test_marked_box_lies_inside_the_scaled_box(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    """A blue box at px (40, 30)-(120, 90) on the 160 x 120 image: norm 40/160*1000 = 250, 30/120*1000 = 250,
    120/160*1000 = 750, 90/120*1000 = 750; on the 80 x 60 embedded image it is (20, 15)-(60, 45)."""
    group = parquet_groups[0]
    target = next(i for i, r in enumerate(group.records) if len(r["images"]) == 1 and r["format"] == "free")
    box = {
        "kind": "box",
        "colour": "blue",
        "image_index": 0,
        "geometry_norm": [250, 250, 750, 750],
        "geometry_px": [40.0, 30.0, 120.0, 90.0],
    }

    def add_box(i: int, record: dict[str, Any]) -> dict[str, Any]:
        if i == target:
            record["markers"] = [box]
        return record

    edited = with_records(group, add_box)
    write_shard(tmp_path, [edited], options(parquet_images=True))
    rows = list(pq.read_table(tmp_path / "parquet" / "train-00000.parquet").to_pylist())
    marked = _decode(rows[target]["image"][0]["bytes"])
    plain = _decode(
        next(
            r
            for r in rows
            if r["images"][0]["view_id"] == rows[target]["images"][0]["view_id"] and not r["markers"]
        )["image"][0]["bytes"]
    )
    blue = MARKER_RGB["blue"]
    new_blue = _marker_coloured(marked, blue) & ~_marker_coloured(plain, blue)
    ys, xs = np.nonzero(new_blue)
    assert len(xs) > 100  # the outline (2 px wide, perimeter ~ 2 * (40 + 30)) is there
    # ... and nowhere outside the scaled box, give or take one pixel of JPEG bleed
    assert xs.min() >= 19 and xs.max() <= 61 and ys.min() >= 14 and ys.max() <= 46
    assert not new_blue[19:42, 24:57].any()  # an outline (rows 15-16 ... 43-44): its inside is untouched
    assert list(read_records(tmp_path))[target]["markers"] == [box]


# ---------------------------------------------------------------- schema, files, splits


def test_schema_is_identical_across_shards(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    opts = options(parquet_images=True)
    first = write_shard(tmp_path, parquet_groups[:1], opts, shard=0)
    second = write_shard(tmp_path, parquet_groups[1:], opts, shard=1)
    assert first.files == ["parquet/train-00000.parquet"] and second.files == ["parquet/train-00001.parquet"]
    schemas = [pq.read_schema(tmp_path / f) for f in first.files + second.files]
    # (check_metadata=True would also compare nested fields' metadata, which Parquet does not keep)
    assert schemas[0].equals(schemas[1]) and schemas[0].metadata == schemas[1].metadata
    assert schemas[0].equals(arrow_schema(True)) and schemas[0].metadata == arrow_schema(True).metadata
    assert not arrow_schema(False).equals(arrow_schema(True))  # the image column is the only option
    assert arrow_schema(True).names == [*arrow_schema(False).names, "image"]


def test_hf_features_describe_the_arrow_schema() -> None:
    for images in (False, True):
        schema = arrow_schema(images)
        features = datasets.Features.from_dict(hf_features(schema))
        assert features.arrow_schema.equals(schema.remove_metadata())
        # datasets takes every column's feature from the metadata (none is re-inferred)
        assert datasets.Features.from_arrow_schema(schema) == features
    assert datasets.Features.from_dict(hf_features(arrow_schema(True)))["image"] == datasets.List(
        datasets.Image()
    )


def test_splits_get_files_of_their_own(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    """Records of split train / val / None land in train-, val- and unsplit- files (HF: val -> validation)."""
    names = ["train", "val", None]
    opts = options()
    stats = [
        write_shard(tmp_path, [with_records(g, lambda i, r: {**r, "split": names[i % 3]})], opts, shard=k)
        for k, g in enumerate(parquet_groups)
    ]
    assert stats[0].files == [f"parquet/{s}-00000.parquet" for s in ("train", "unsplit", "val")]
    manifest = ParquetWriter.finalize(tmp_path, opts, stats)
    total = sum(len(g.records) for g in parquet_groups)
    assert sum(manifest["num_rows"].values()) == total
    assert manifest["data_files"]["val"] == ["parquet/val-00000.parquet", "parquet/val-00001.parquet"]
    info = json.loads((tmp_path / "parquet" / "dataset_info.json").read_text())
    assert info["splits"]["unsplit"]["files"] == ["unsplit-00000.parquet", "unsplit-00001.parquet"]
    assert {s: v["num_rows"] for s, v in info["splits"].items()} == manifest["num_rows"]
    assert [name for name, _ in info["columns"]] == arrow_schema(False).names
    # every record comes back, with its own split (None included)
    back = sorted(read_records(tmp_path), key=lambda r: r["id"])
    expected = sorted(
        (
            r
            for g in parquet_groups
            for r in with_records(g, lambda i, r: {**r, "split": names[i % 3]}).records
        ),
        key=lambda r: r["id"],
    )
    assert back == expected
    # the manifest's map is what load_dataset takes as data_files (paths relative to the export folder)
    data_files = {s: [str(tmp_path / f) for f in files] for s, files in manifest["data_files"].items()}
    ds = load_hf(data_files, tmp_path / "hf")
    assert {name: len(split) for name, split in ds.items()} == manifest["num_rows"]
    # data_dir alone: HF's split keywords take train- and val- (as "validation"); unsplit- matches none
    ds = datasets.load_dataset("parquet", data_dir=str(tmp_path / "parquet"), cache_dir=str(tmp_path / "hf2"))
    assert {name: len(split) for name, split in ds.items()} == {
        "train": manifest["num_rows"]["train"],
        "validation": manifest["num_rows"]["val"],
    }


def test_empty_shard_writes_no_file(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    """Every record filtered out (the run has no sentence records): no file, the skips counted, and
    finalize still writes a dataset_info.json with no splits."""
    opts = options(formats=("sentence",))
    stats = write_shard(tmp_path, parquet_groups, opts)
    assert stats.files == [] and stats.samples == 0 and stats.bytes == 0
    assert stats.skipped["format_filtered"] == sum(len(g.records) for g in parquet_groups)
    assert not (tmp_path / "parquet").exists() or not list((tmp_path / "parquet").glob("*.parquet*"))
    manifest = ParquetWriter.finalize(tmp_path, opts, [stats])
    assert manifest["data_files"] == {} and manifest["num_rows"] == {}
    assert json.loads((tmp_path / "parquet" / "dataset_info.json").read_text())["splits"] == {}
    assert list(read_records(tmp_path)) == []


def test_format_filter_keeps_only_the_chosen_formats(
    tmp_path: Path, parquet_groups: list[SceneGroup]
) -> None:
    stats = write_shard(tmp_path, parquet_groups, options(formats=("mcq",)))
    expected = [r for r in originals(parquet_groups) if r["format"] == "mcq"]
    assert expected and list(read_records(tmp_path)) == expected
    assert stats.skipped["format_filtered"] == len(originals(parquet_groups)) - len(expected)


def test_bytes_are_deterministic(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    """The same shard written twice into the same folder (marked_ref names a file under it) is the same
    bytes, images embedded and dataset_info.json included."""
    opts = options(parquet_images=True)
    made = []
    for _ in range(2):
        ParquetWriter.finalize(tmp_path, opts, [write_shard(tmp_path, parquet_groups, opts)])
        made.append({f.name: f.read_bytes() for f in (tmp_path / "parquet").iterdir()})
        shutil.rmtree(tmp_path / "parquet")
    assert set(made[0]) == {"train-00000.parquet", "dataset_info.json"}
    assert made[0] == made[1]


def test_row_groups_by_rows_and_by_image_bytes(
    tmp_path: Path, parquet_groups: list[SceneGroup], monkeypatch: pytest.MonkeyPatch
) -> None:
    n = sum(len(g.records) for g in parquet_groups)
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 10)
    write_shard(tmp_path / "rows", parquet_groups, options())
    meta = pq.ParquetFile(tmp_path / "rows" / "parquet" / "train-00000.parquet").metadata
    assert meta.num_row_groups == -(-n // 10)  # ceil(n / 10)
    monkeypatch.setattr(parquet, "ROW_GROUP_IMAGE_BYTES", 1)  # every row's image flushes its group
    write_shard(tmp_path / "bytes", parquet_groups, options(parquet_images=True))
    assert pq.ParquetFile(tmp_path / "bytes" / "parquet" / "train-00000.parquet").metadata.num_row_groups == n
    assert list(read_records(tmp_path / "bytes")) == originals(parquet_groups)


def test_abort_leaves_no_partial_file(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    opts = options()
    media = MediaCache(opts.max_side, opts.jpeg_quality)
    writer = ParquetWriter(ShardContext(tmp_path, 0, opts, media))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parquet, "ROW_GROUP_ROWS", 1)  # a row group is written, so a .partial exists
        media.start(parquet_groups[0].scene)
        writer.add(parquet_groups[0])
        assert list((tmp_path / "parquet").glob("*.partial"))
        writer.abort()
    assert list((tmp_path / "parquet").iterdir()) == []


# ---------------------------------------------------------------- bad input


def _write_one(tmp_path: Path, group: SceneGroup, change: Callable[[dict[str, Any]], None]) -> None:
    def first_only(i: int, record: dict[str, Any]) -> dict[str, Any]:
        if i == 0:
            change(record)
        return record

    write_shard(tmp_path, [with_records(group, first_only)], options())


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        (lambda r: r.pop("question"), "missing_field", "question"),
        (lambda r: r.update(extra=1), "unknown_field", "extra"),
        (lambda r: r.update(level="1"), "wrong_type", "level"),
        (lambda r: r.update(split="train/2"), "invalid_value", "split"),
        (lambda r: r.update(seed=2**64), "invalid_value", "seed"),
        (lambda r: r.update(seed=-1), "invalid_value", "seed"),
    ],
)
def test_bad_record_is_a_named_error(
    tmp_path: Path,
    parquet_groups: list[SceneGroup],
    change: Callable[[dict[str, Any]], None],
    reason: str,
    field: str,
) -> None:
    with pytest.raises(RecordError) as err:
        _write_one(tmp_path, parquet_groups[0], change)
    assert err.value.reason == reason and err.value.field is not None and field in err.value.field
    assert err.value.record == parquet_groups[0].records[0]["id"]


def test_undrawable_marker_is_a_named_error(tmp_path: Path, parquet_groups: list[SceneGroup]) -> None:
    """A box whose pixels disagree with its 0-1000 geometry (made for another image size) is refused."""
    bad = {"kind": "box", "colour": "red", "image_index": 0, "geometry_norm": [0, 0, 100, 100],
           "geometry_px": [80.0, 60.0, 150.0, 110.0]}  # fmt: skip
    with pytest.raises(RecordError) as err:
        _write_one(tmp_path, parquet_groups[0], lambda r: r.update(markers=[bad]))
    assert err.value.reason == "marker_geometry_inconsistent" and err.value.field == "markers"


def test_registry_imports_without_pyarrow_and_the_writer_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None\n"
        "from spatialforge.export.base import WRITERS\n"
        "import spatialforge.export.parquet as p\n"
        "assert WRITERS['parquet'] is p.ParquetWriter\n"
        "try:\n"
        "    p.arrow_schema(False)\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "the parquet writer needs pyarrow: pip install 'spatialforge[export]'"
