"""Training data readers (train/data.py) over real engine output: synth, generate, draw-markers, export."""

from __future__ import annotations

import json
import pickle
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from spatialforge.engine.generate import GenerateConfig, run_generate
from spatialforge.errors import RecordError
from spatialforge.export.base import ExportOptions
from spatialforge.export.run import run_export
from spatialforge.models.pointmap import point_map_for_view
from spatialforge.models.processing import BLANK_GREY
from spatialforge.qa.answer_classes import answer_class
from spatialforge.qa.draw_markers import MARKER_RGB, box_pixels
from spatialforge.qa.marked_copies import run_draw_markers
from spatialforge.scene.io import read_scenes
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig
from spatialforge.tasks.registry import TASKS
from spatialforge.train.data import (
    ExampleInfo,
    SourceConfig,
    TrainDataset,
    open_source,
    open_sources,
)

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """3 synthetic rooms x 2 views at 160 x 120, their QA, draw-markers copies and the exports (80 px)."""
    root = tmp_path_factory.mktemp("traindata")
    run_synth(root / "synth", 3, SynthConfig(views=2, width=160, height=120), n_buckets=1)
    scenes = root / "synth" / "scenes.jsonl"
    run_generate(scenes, root / "qa", GenerateConfig(max_qa_per_scene=24), n_buckets=2)
    run_draw_markers(root / "qa" / "data.jsonl", scenes, root / "marked")
    options = ExportOptions(writers=("webdataset", "parquet", "chat"), max_side=80, geometry="depth")
    run_export(root / "qa", root / "exp", options)
    embedded = ExportOptions(writers=("parquet",), max_side=80, parquet_images=True)
    run_export(root / "qa", root / "exp_img", embedded)
    lines = (root / "qa" / "data.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    marked = [json.loads(line) for line in (root / "marked" / "data_marked.jsonl").read_text().splitlines()]
    return SimpleNamespace(
        root=root,
        scenes=scenes,
        records=records,
        by_id={r["id"]: r for r in records},
        marked={r["id"]: r for r in marked},
        scene={s.scene_id: s for s in read_scenes(scenes)},
    )


@pytest.fixture(scope="module")
def engine(data: SimpleNamespace) -> Any:
    return open_source(
        SourceConfig(path="qa", format="engine", scenes="synth/scenes.jsonl"), base_dir=data.root
    )


def _expected_info(record: dict[str, Any]) -> ExampleInfo:
    """Every reader gives the record's own fields, its format and its answer class (Parquet stores the answer
    value as JSON text, WebDataset inside the sample's JSON: both must come back to the same class)."""
    return ExampleInfo(
        record["id"],
        record["task"],
        record["level"],
        TASKS[record["task"]].family,
        "spatial",
        record["capture_id"],
        record["format"],
        answer_class(record),
    )


def _single_marker_record(data: SimpleNamespace, kind: str) -> tuple[dict[str, Any], int]:
    """A record and the index of one of its images that carries exactly one marker, of `kind` (so the
    draw order cannot matter)."""
    for r in data.records:
        for k in range(len(r["images"])):
            on = [m for m in r["markers"] if m["image_index"] == k]
            if len(on) == 1 and on[0]["kind"] == kind:
                return r, k
    pytest.fail(f"the fixture made no record with an image carrying one {kind} marker")


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


# ---------------------------------------------------------------- engine


def test_engine_index_matches_the_records(data: SimpleNamespace, engine: Any) -> None:
    assert isinstance(engine, TrainDataset)
    assert engine.skipped == {}
    assert len(engine) == len(data.records) > 20
    assert [engine.info(i) for i in range(len(engine))] == [_expected_info(r) for r in data.records]
    assert {engine.info(i).level for i in range(len(engine))} >= {1, 2, 3}
    with pytest.raises(IndexError):
        engine.info(len(engine))


def test_engine_sample_text_images_and_point_maps(data: SimpleNamespace, engine: Any) -> None:
    multi = next(i for i, r in enumerate(data.records) if len(r["images"]) > 1)
    for index in (0, multi):
        record = data.records[index]
        sample = engine.sample(index)
        assert sample.prompt == record["question"]
        assert sample.answer == record["answer"]
        assert len(sample.images) == len(sample.point_maps) == len(record["images"])
        scene = data.scene[record["scene_id"]]
        for image, point_map, ref in zip(sample.images, sample.point_maps, record["images"], strict=True):
            assert image.mode == "RGB" and image.size == (160, 120)
            expected = point_map_for_view(scene, scene.view(ref["view_id"]))
            assert np.array_equal(point_map.valid, expected.valid)
            assert np.array_equal(point_map.xyz, expected.xyz, equal_nan=True)


@pytest.mark.parametrize("kind", ["box", "point"])
def test_engine_markers_equal_the_draw_markers_copy(data: SimpleNamespace, engine: Any, kind: str) -> None:
    record, k = _single_marker_record(data, kind)
    index = data.records.index(record)
    drawn = _pixels(engine.sample(index).images[k])
    raw = _pixels(Image.open(data.scene[record["scene_id"]].resolve(record["images"][k]["path"])))
    copy = _pixels(Image.open(data.root / "marked" / data.marked[record["id"]]["images"][k]["marked_path"]))
    assert np.array_equal(drawn, copy)
    assert (drawn != raw).any()
    marker = next(m for m in record["markers"] if m["image_index"] == k)
    x, y = (round(c) for c in marker["geometry_px"][:2])
    if kind == "point":  # the dot's centre pixel has the marker's exact colour
        assert tuple(drawn[y, x]) == MARKER_RGB[marker["colour"]]
    else:  # the box's top-left pixel is on its outline
        box = box_pixels(marker["geometry_px"], 160, 120)
        assert tuple(drawn[box.top, box.left]) == MARKER_RGB[marker["colour"]]


def test_blank_keeps_text_and_sizes(data: SimpleNamespace, engine: Any) -> None:
    index = next(i for i, r in enumerate(data.records) if r["markers"])
    sample = engine.sample(index, blank=True)
    assert sample.prompt == data.records[index]["question"]
    assert sample.answer == data.records[index]["answer"]
    assert all(pm is None for pm in sample.point_maps)
    assert len(sample.point_maps) == len(sample.images)
    for image in sample.images:
        assert image.size == (160, 120)
        assert np.all(np.asarray(image) == np.array(BLANK_GREY, dtype=np.uint8))


def test_engine_pickles_for_dataloader_workers(engine: Any) -> None:
    engine.sample(0)  # fills the caches and opens files
    clone = pickle.loads(pickle.dumps(engine))
    a, b = engine.sample(3), clone.sample(3)
    assert a.prompt == b.prompt
    assert np.array_equal(np.asarray(a.images[0]), np.asarray(b.images[0]))


# ---------------------------------------------------------------- exports


def test_webdataset_records_markers_and_point_maps(data: SimpleNamespace, engine: Any) -> None:
    wds = open_source(SourceConfig(path="exp/webdataset", format="webdataset"), base_dir=data.root)
    assert wds.skipped == {}
    assert len(wds) == len(data.records)
    ids = [wds.info(i).id for i in range(len(wds))]
    assert sorted(ids) == sorted(data.by_id)
    for i in range(len(wds)):
        assert wds.info(i) == _expected_info(data.by_id[wds.info(i).id])
    chat = _chat_samples(data)
    for kind in ("box", "point"):
        record, k = _single_marker_record(data, kind)
        sample = wds.sample(ids.index(record["id"]))
        assert (sample.prompt, sample.answer) == (record["question"], record["answer"])
        assert sample.images[k].size == (80, 60)
        # The exporter's marked copy of this record (chat export): drawn before JPEG, ours after decoding.
        copy = _pixels(Image.open(chat[record["id"]]["images"][k]))
        ours = _pixels(sample.images[k])
        again = _pixels(wds.sample(ids.index(record["id"])).images[k])
        assert np.abs(ours - copy).mean() < 4.0
        unmarked = _wds_plain_image(wds, ids.index(record["id"]), k)
        assert (ours != unmarked).any()
        assert np.abs(copy - unmarked).mean() > np.abs(ours - copy).mean()
        assert np.array_equal(ours, again)  # deterministic
    # Point map: from the 16-bit log depth at the resized size, close to the scene's own.
    index = ids.index(data.records[0]["id"])
    point_map = wds.sample(index).point_maps[0]
    expected = engine.sample(0).point_maps[0]
    assert point_map.xyz.shape == (60, 80, 3)
    rows, cols = np.arange(60) * 2 + 1, np.arange(80) * 2 + 1  # media.resize_depth's nearest pixels
    sub_xyz, sub_valid = expected.xyz[np.ix_(rows, cols)], expected.valid[np.ix_(rows, cols)]
    assert np.array_equal(point_map.valid, sub_valid)
    z, z_ref = point_map.xyz[..., 2][sub_valid], sub_xyz[..., 2][sub_valid]
    assert np.allclose(z, z_ref, rtol=1e-3)
    # x, y: the resized pixel's centre ray is half an original pixel from the original one's.
    assert np.allclose(
        point_map.xyz[sub_valid][:, :2], sub_xyz[sub_valid][:, :2], atol=0.6 * z_ref.max() / 97
    )


def _wds_plain_image(wds: Any, index: int, k: int) -> np.ndarray:
    meta, _ = wds.record(index)
    sample = wds._samples[wds._where[index]]
    data = wds._member(sample, meta["views"][k]["image"])
    import io

    return _pixels(Image.open(io.BytesIO(data)))


def _chat_samples(data: SimpleNamespace) -> dict[str, dict[str, Any]]:
    out = {}
    for part in sorted((data.root / "exp" / "chat" / "parts").glob("*.jsonl")):
        for line in part.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            out[sample["id"]] = sample
    return out


def test_chat_reader(data: SimpleNamespace, engine: Any) -> None:
    chat = open_source(
        SourceConfig(path="exp", format="chat", scenes="synth/scenes.jsonl"), base_dir=data.root
    )
    assert chat.skipped == {}
    assert len(chat) == len(data.records)
    exported = _chat_samples(data)
    for i in range(len(chat)):
        info = chat.info(i)
        # The chat export has no answer value: no answer class, so answer balance leaves it as generated.
        expected = replace(_expected_info(data.by_id[info.id]), answer_format=None, answer_class=None)
        assert info == expected
    record, k = _single_marker_record(data, "box")
    index = [chat.info(i).id for i in range(len(chat))].index(record["id"])
    sample = chat.sample(index)
    assert (sample.prompt, sample.answer) == (record["question"], record["answer"])
    assert np.array_equal(_pixels(sample.images[k]), _pixels(Image.open(exported[record["id"]]["images"][k])))
    expected = engine.sample(data.records.index(record)).point_maps[k]
    assert np.array_equal(sample.point_maps[k].xyz, expected.xyz, equal_nan=True)
    without = open_source(SourceConfig(path="exp/chat/parts", format="chat"), base_dir=data.root)
    assert without.sample(index).point_maps == (None,) * len(record["images"])


def test_parquet_reader_files_and_embedded(data: SimpleNamespace, engine: Any) -> None:
    files = open_source(
        SourceConfig(path="exp/parquet", format="parquet", scenes="synth/scenes.jsonl"), base_dir=data.root
    )
    embedded = open_source(SourceConfig(path="exp_img", format="parquet"), base_dir=data.root)
    for ds in (files, embedded):
        assert ds.skipped == {}
        assert len(ds) == len(data.records)
        assert sorted(ds.info(i).id for i in range(len(ds))) == sorted(data.by_id)
    record, k = _single_marker_record(data, "point")
    ids = [files.info(i).id for i in range(len(files))]
    a, b = files.sample(ids.index(record["id"])), embedded.sample(ids.index(record["id"]))
    assert (a.prompt, a.answer) == (b.prompt, b.answer) == (record["question"], record["answer"])
    assert files.info(ids.index(record["id"])) == _expected_info(record)
    # The file reader opens the exporter's marked copy; the embedded bytes are the same marked JPEG.
    assert np.array_equal(_pixels(a.images[k]), _pixels(b.images[k]))
    assert a.images[k].size == (80, 60)
    expected = engine.sample(data.records.index(record)).point_maps[k]
    assert np.array_equal(a.point_maps[k].xyz, expected.xyz, equal_nan=True)
    assert b.point_maps == (None,) * len(record["images"])  # no scenes, and the export has no depth column


# ---------------------------------------------------------------- configs and errors


def test_source_config_round_trip_and_errors() -> None:
    config = SourceConfig.from_dict(
        {"path": "qa", "format": "engine", "scenes": "s.jsonl", "weight": 2, "options": {"point_maps": False}}
    )
    assert SourceConfig.from_dict(config.to_dict()) == config
    assert config.weight == 2.0 and config.kind == "spatial" and config.display_name == "qa"
    assert SourceConfig.from_dict({"path": "s.jsonl", "format": "general"}).kind == "general"
    with pytest.raises(ValueError, match="unknown field"):
        SourceConfig.from_dict({"path": "qa", "format": "engine", "wieght": 1})
    with pytest.raises(ValueError, match="field format"):
        SourceConfig(path="qa", format="tfrecord")
    with pytest.raises(ValueError, match="field weight"):
        SourceConfig(path="qa", format="engine", weight=0)
    with pytest.raises(ValueError, match="field kind"):
        SourceConfig(path="qa", format="engine", kind="other")
    with pytest.raises(ValueError, match="missing field path"):
        SourceConfig.from_dict({"format": "engine"})


def test_open_sources_and_missing_inputs(data: SimpleNamespace, tmp_path: Path) -> None:
    sources = [
        SourceConfig(path="qa", format="engine", scenes="synth/scenes.jsonl", name="a"),
        SourceConfig(path="qa", format="engine", scenes="synth/scenes.jsonl", name="a"),
    ]
    with pytest.raises(ValueError, match="more than once"):
        open_sources(sources, data.root)
    with pytest.raises(RecordError, match="scenes file not found") as err:
        open_source(
            SourceConfig(path=str(data.root / "qa"), format="engine", scenes=str(tmp_path / "no.jsonl"))
        )
    assert "no.jsonl" in str(err.value)
    with pytest.raises(ValueError, match="needs field scenes"):
        open_source(SourceConfig(path=str(data.root / "qa" / "data.jsonl"), format="engine"))
    with pytest.raises(RecordError, match="not found"):
        open_source(SourceConfig(path=str(tmp_path / "none.jsonl"), format="engine", scenes=str(data.scenes)))
    with pytest.raises(RecordError, match=r"no \.tar"):
        open_source(SourceConfig(path=str(tmp_path), format="webdataset"))


def test_bad_records_are_skipped_and_counted(data: SimpleNamespace, tmp_path: Path) -> None:
    records = data.records
    lines = [json.dumps(r) for r in records]
    lines.append("{not json")
    lines.append(json.dumps({**records[0], "scene_id": "nowhere/1"}))
    lines.append(json.dumps({**records[0], "images": [{"path": "images/x.png", "view_id": "v9"}]}))
    no_question = dict(records[0])
    del no_question["question"]
    lines.append(json.dumps(no_question))
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ds = open_source(SourceConfig(path=str(qa), format="engine", scenes=str(data.scenes)))
    assert len(ds) == len(records)
    assert ds.skipped == {"invalid_json": 1, "scene_not_found": 1, "view_not_found": 1, "missing_field": 1}


def test_missing_and_broken_images(data: SimpleNamespace, tmp_path: Path) -> None:
    """A missing image is skipped at open; a file that is there but broken fails in sample(), file named."""
    copy = tmp_path / "synth"
    shutil.copytree(data.root / "synth", copy)
    scenes = copy / "scenes.jsonl"
    text = scenes.read_text(encoding="utf-8").replace(str(data.root / "synth"), str(copy))
    scenes.write_text(text, encoding="utf-8")
    first = data.records[0]
    broken = copy / first["images"][0]["path"]
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    other = next(r for r in data.records if r["images"][0]["path"] != first["images"][0]["path"])
    (copy / other["images"][0]["path"]).unlink()
    ds = open_source(SourceConfig(path=str(data.root / "qa"), format="engine", scenes=str(scenes)))
    gone = sum(any(im["path"] == other["images"][0]["path"] for im in r["images"]) for r in data.records)
    assert ds.skipped == {"image_missing": gone}
    assert len(ds) == len(data.records) - gone
    with pytest.raises(RecordError, match="image_unreadable") as err:
        ds.sample(0)
    assert str(broken) in str(err.value)


def test_chat_relative_paths_need_a_root_and_stay_inside(tmp_path: Path, data: SimpleNamespace) -> None:
    image = data.scene[data.records[0]["scene_id"]].resolve(data.records[0]["images"][0]["path"])
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(image, root / "a.png")

    def sample(path: str) -> str:
        return json.dumps(
            {
                "id": path,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "path": path}, {"type": "text", "text": "Q?"}],
                    },
                    {"role": "assistant", "content": [{"type": "text", "text": "A."}]},
                ],
                "task": "object_depth",
                "level": 1,
            }
        )

    file = tmp_path / "chat.jsonl"
    file.write_text("\n".join([sample("a.png"), sample("../escape.png")]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="image_root"):
        open_source(SourceConfig(path=str(file), format="chat"))
    ds = open_source(SourceConfig(path=str(file), format="chat", options={"image_root": str(root)}))
    assert len(ds) == 1 and ds.skipped == {"path_escapes_root": 1}
    assert ds.sample(0).prompt == "Q?" and ds.sample(0).answer == "A."
    assert ds.info(0).family == TASKS["object_depth"].family
    general = open_source(
        SourceConfig(path=str(file), format="chat", kind="general", options={"image_root": str(root)})
    )
    assert general.info(0) == ExampleInfo("a.png", "general/object_depth", None, "general", "general", None)


def test_spatial_info_classes_an_answer_and_tolerates_missing_or_malformed_fields() -> None:
    from spatialforge.train.data import spatial_info

    mcq = {
        "format": "mcq",
        "answer_value": "B",
        "choices": [{"label": "A", "text": "left"}, {"label": "B", "text": "right"}],
    }
    info = spatial_info("r1", "relative_direction", 2, "c1", mcq)
    assert (info.answer_format, info.answer_class) == ("mcq", "option:right")
    plain = spatial_info("r2", "relative_direction", 2, None)
    assert (plain.answer_format, plain.answer_class) == (None, None)
    no_value = spatial_info("r3", "relative_direction", 2, None, {"format": "tf"})
    assert (no_value.answer_format, no_value.answer_class) == (None, None)
    broken = spatial_info(
        "r4",
        "relative_direction",
        2,
        None,
        {"format": "mcq", "answer_value": "A", "choices": [{"text": "x"}]},
    )
    assert (broken.answer_format, broken.answer_class) == ("mcq", None)  # a choice without a label
