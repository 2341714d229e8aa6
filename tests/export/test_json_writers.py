"""LLaVA, chat and SPAR exports: every record exported once, read back with the consuming library equal to
what the record says, markers drawn where the question names them, SPAR's schema and layout."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.export.base import ExportOptions
from spatialforge.export.chat import chat_sample, to_openai
from spatialforge.export.llava import read_llava
from spatialforge.export.run import run_export
from spatialforge.export.spar import (
    SPAR_FORMAT_DIRS,
    spar_markers,
    spar_type,
    validate_spar_record,
)
from spatialforge.qa.draw_markers import MARKER_RGB
from tests.export.conftest import run_records


@pytest.fixture(scope="module")
def exported(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("json_export") / "out"
    run_export(small_run, out, ExportOptions(writers=("llava", "chat", "spar"), max_side=80))
    return out


def _image_refs_ok(sample_images: list[str], record: dict) -> None:
    """Unmarked images are the original files; an image with markers is a drawn copy showing them."""
    for index, ref in enumerate(sample_images):
        markers = [m for m in record["markers"] if m["image_index"] == index]
        path = Path(ref)
        assert path.is_absolute() and path.exists()
        if not markers:
            assert path.as_posix().endswith(record["images"][index]["path"])
            continue
        assert "/marked/" in path.as_posix()
        pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
        assert max(pixels.shape[:2]) == 80  # resized to max_side
        for m in markers:
            # JPEG blurs colours: some pixel within 60 (L1) of the marker's exact RGB must exist.
            distance = np.abs(pixels - np.array(MARKER_RGB[m["colour"]])).sum(axis=-1)
            assert distance.min() < 60, (m["colour"], record["id"])


def test_llava_has_every_record_once_with_its_question_answer_and_provenance(small_run, exported):
    records = {r["id"]: r for r in run_records(small_run)}
    samples = read_llava(exported / "llava" / "llava.json")
    assert Counter(s["id"] for s in samples) == Counter(records.keys())  # each record exactly once
    for s in samples:
        r = records[s["id"]]
        human, gpt = s["conversations"]
        assert human["from"] == "human" and gpt == {"from": "gpt", "value": r["answer"]}
        n_images = len(r["images"])
        assert human["value"] == "<image>\n" * n_images + r["question"]
        images = [s["image"]] if isinstance(s["image"], str) else s["image"]
        assert len(images) == n_images
        _image_refs_ok(images, r)
        for key in ("source", "license", "capture_id", "scene_id", "split", "task", "level", "format"):
            assert s[key] == r[key]
        assert s["qa_id"] == r["id"]


def test_some_llava_samples_use_marked_copies(small_run, exported):
    samples = read_llava(exported / "llava" / "llava.json")
    assert any("/marked/" in str(s["image"]) for s in samples)
    assert any("/marked/" not in str(s["image"]) for s in samples)


def test_chat_parts_load_with_hf_datasets_and_match_the_records(small_run, exported, tmp_path):
    datasets = pytest.importorskip("datasets")
    records = {r["id"]: r for r in run_records(small_run)}
    parts = sorted(str(p) for p in (exported / "chat" / "parts").glob("*.jsonl"))
    ds = datasets.load_dataset("json", data_files=parts, split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == len(records)
    for row in ds:
        r = records[row["id"]]
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert [p["type"] for p in user["content"]] == ["image"] * len(r["images"]) + ["text"]
        assert user["content"][-1]["text"] == r["question"]
        assert assistant["content"][0]["text"] == r["answer"]
        assert [p["path"] for p in user["content"][:-1]] == row["images"]
        _image_refs_ok(row["images"], r)


def test_chat_sample_in_openai_spelling():
    record = {
        "id": "q1", "scene_id": "s", "capture_id": "c", "source": "src", "license": "CC0-1.0",
        "split": "train", "task": "t", "level": 1, "format": "free", "question": "How far?", "answer": "2 m",
    }  # fmt: skip
    sample = chat_sample(record, ["/data/a.jpg"])
    assert to_openai(sample) == {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "file:///data/a.jpg"}},
                    {"type": "text", "text": "How far?"},
                ],
            },
            {"role": "assistant", "content": "2 m"},
        ]
    }


def _marker(colour: str, kind: str, norm: list[float], index: int = 0) -> dict:
    return {"kind": kind, "colour": colour, "image_index": index, "geometry_norm": norm, "geometry_px": norm}


def test_spar_markers_follow_spars_keys_and_colour_order():
    record = {
        "id": "q",
        "markers": [
            _marker("blue", "box", [10, 20, 30, 40], 1),
            _marker("red", "box", [100.4, 200.6, 300, 400], 0),
            _marker("green", "point", [5, 6], 1),
        ],
    }
    assert spar_markers(record) == {
        "blue_bbox": [[10, 20, 30, 40]],
        "red_bbox": [[100, 201, 300, 400]],
        "green_point": [[5, 6]],
        "bbox_img_idx": [[0, 1]],  # red first, then blue (SPAR's order), by their image index
        "point_img_idx": [[1]],
    }
    with pytest.raises(ValueError, match="two red box"):
        spar_markers({"id": "q", "markers": [_marker("red", "box", [0, 0, 1, 1])] * 2})


def test_spar_type_only_when_the_markers_are_those_spar_draws():
    two_boxes = {"red_bbox": [[0, 0, 1, 1]], "blue_bbox": [[0, 0, 1, 1]], "bbox_img_idx": [[0, 0]]}
    assert spar_type("relative_direction", two_boxes) == "obj_spatial_relation_oo"
    assert spar_type("relative_direction", {"red_bbox": [[0, 0, 1, 1]]}) is None  # SPAR would draw blue too
    assert spar_type("spatial_counting", {}) == "obj_count"
    assert spar_type("object_size", two_boxes) is None  # no SPAR counterpart


def test_spar_validator_catches_schema_violations():
    good = {
        "id": "q",
        "conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A"}],
        "image": ["a.jpg"],
        "type": "obj_count",
        "red_bbox": [[0, 0, 10, 10]],
        "bbox_img_idx": [[0]],
    }
    assert validate_spar_record(good) == []
    assert validate_spar_record({**good, "conversations": [good["conversations"][1]]})
    assert validate_spar_record({**good, "image": []})
    assert validate_spar_record({**good, "red_bbox": [[0, 0, 1001, 10]]})  # off the 0-1000 grid
    assert validate_spar_record({**good, "bbox_img_idx": [[1]]})  # no image 1
    assert validate_spar_record({**good, "bbox_img_idx": [[0, 0]]})  # one index per box
    assert validate_spar_record({k: v for k, v in good.items() if k != "type"})


def _spar_lines(export_dir: Path) -> list[tuple[Path, dict]]:
    return [
        (path, json.loads(line))
        for path in sorted((export_dir / "spar" / "qa_jsonl").rglob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_spar_layout_index_and_schema(small_run, exported):
    records = {r["id"]: r for r in run_records(small_run)}
    lines = _spar_lines(exported)
    assert Counter(d["id"] for _, d in lines) == Counter(records.keys())
    for path, d in lines:
        assert validate_spar_record(d) == []
        r = records[d["id"]]
        split, type_, fmt_dir = path.parent.parent.parent.name, path.parent.parent.name, path.parent.name
        assert (split, type_, fmt_dir) == (r["split"], d["type"], SPAR_FORMAT_DIRS[r["format"]])
        assert (
            d["conversations"][0]["value"] == r["question"] and d["conversations"][1]["value"] == r["answer"]
        )
        assert all(
            Path(p).as_posix().endswith(im["path"]) for p, im in zip(d["image"], r["images"], strict=True)
        )
        assert d["type"] in (r["task"], spar_type(r["task"], spar_markers(r)))
    index = json.loads((exported / "spar" / "data.json").read_text())
    for entry in index.values():
        path = exported / entry["annotation"]
        n = len(path.read_text().splitlines())
        assert entry["length"] == n and path.name.endswith(f"_{n}.jsonl") and entry["repeat_time"] == 1.0
    assert sum(e["length"] for e in index.values()) == len(records)


def test_spar_profile_records_get_spar_types(small_run_spar, tmp_path):
    # The spar profile hands out SPAR's colour order (red, blue, ...), so relative_direction records name
    # objects by the red and blue boxes SPAR's obj_spatial_relation_oo draws, and take that type.
    out = tmp_path / "out"
    report = run_export(small_run_spar, out, ExportOptions(writers=("spar",)))
    lines = [d for _, d in _spar_lines(out)]
    relations = [d for d in lines if d["type"] == "obj_spatial_relation_oo"]
    assert relations and all({"red_bbox", "blue_bbox"} <= set(d) for d in relations)
    unmatched = report.writers["spar"]["extra"].get("spar_type_unmatched", {})
    assert "relative_direction" not in unmatched
    assert all(validate_spar_record(d) == [] for d in lines)


def test_records_whose_markers_differ_from_spars_keep_our_task_name(small_run, tmp_path):
    # The default profile hands out red, then green: such relation records keep our task name, counted.
    report = run_export(small_run, tmp_path / "out", ExportOptions(writers=("spar",)))
    lines = [d for _, d in _spar_lines(tmp_path / "out")]
    relative = [d for d in lines if d["type"] == "relative_direction"]
    unmatched = report.writers["spar"]["extra"].get("spar_type_unmatched", {})
    assert unmatched.get("relative_direction", 0) == len(relative)
    expected = sum(spar_type(r["task"], spar_markers(r)) is None for r in run_records(small_run))
    assert sum(unmatched.values()) == expected
