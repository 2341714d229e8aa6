"""Multi-image QA records through every writer: all images kept in order with their view ids, every marker on
the image it names, read back with each format's own reader (qa_from_dict, json, HF `datasets`, `webdataset`,
and SPAR's released loader's logic written out here).

The records are hand-built on a synthetic three-view room (tests/multi_image_fixtures.py): markers sit on
images 1 and 2 of a three-image question, image 0 (the main view) has none."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import webdataset as wds  # noqa: E402

from spatialforge.export.base import ExportOptions  # noqa: E402
from spatialforge.export.llava import read_llava  # noqa: E402
from spatialforge.export.parquet import read_records  # noqa: E402
from spatialforge.export.run import ExportReport, run_export  # noqa: E402
from spatialforge.export.spar import (  # noqa: E402
    OWN_TYPE_PREFIX,
    SPAR_LAYOUTS,
    SPAR_TYPE_NAMES,
    spar_drawing_problems,
    spar_markers,
    spar_type,
    validate_spar_record,
)
from spatialforge.export.wds import sample_key  # noqa: E402
from spatialforge.qa.draw_markers import MARKER_RGB  # noqa: E402
from spatialforge.qa.io import read_qa, write_qa  # noqa: E402
from spatialforge.qa.records import QARecord, qa_from_dict, qa_to_dict  # noqa: E402
from spatialforge.scene.records import Scene  # noqa: E402
from tests.multi_image_fixtures import mv_records, mv_scene, write_run_dir  # noqa: E402

MAX_SIDE = 80  # 160 x 120 -> 80 x 60
WRITERS = ("llava", "chat", "spar", "parquet", "webdataset")


class Exported:
    def __init__(self, scene: Scene, records: dict[str, QARecord], out: Path, report: ExportReport) -> None:
        self.scene = scene
        self.records = records
        self.by_id = {r.id: (name, r) for name, r in records.items()}
        self.out = out
        self.report = report


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    root = tmp_path_factory.mktemp("mv_export")
    scene, scenes_path = mv_scene(root / "S")
    records = mv_records(scene)
    run = write_run_dir(root, scenes_path, list(records.values()))
    options = ExportOptions(writers=WRITERS, max_side=MAX_SIDE, geometry="both", parquet_images=True)
    report = run_export(run, root / "out", options)
    return Exported(scene, records, root / "out", report)


def _resized(scene: Scene, view_id: str) -> np.ndarray:
    """The view's image resized as the export resizes it (Lanczos to 80 x 60), (60, 80, 3) float."""
    with Image.open(scene.resolve(scene.view(view_id).image_path)) as im:
        return np.asarray(im.convert("RGB").resize((80, 60), Image.Resampling.LANCZOS)).astype(float)


def _near(pixels: np.ndarray, colour: str, within: float) -> int:
    """How many pixels lie within `within` (L1) of the marker colour's exact RGB."""
    return int((np.abs(pixels - np.array(MARKER_RGB[colour])).sum(axis=-1) < within).sum())


def _check_shown_image(pixels: np.ndarray, rec: QARecord, index: int, scene: Scene) -> None:
    """The exported picture of image `index` shows that image's markers and no other image's."""
    plain = _resized(scene, rec.images[index].view_id)
    own = {m.colour for m in rec.markers if m.image_index == index}
    for (
        colour
    ) in own:  # drawn: JPEG keeps some pixel near the exact colour (same check as the writers' tests)
        assert _near(pixels, colour, 60) > 0, (rec.id, index, colour)
    for m in rec.markers:
        if m.image_index != index and m.colour not in own:
            # another image's marker is not drawn here: no more pixels of its colour than the plain image has
            assert _near(pixels, m.colour, 60) <= _near(plain, m.colour, 60), (rec.id, index, m.colour)
    if not own:  # no marker: the picture is the plain image (up to JPEG)
        assert np.abs(pixels - plain).mean() < 6


# ---------------------------------------------------------------------------------------- native JSONL


def test_native_jsonl_keeps_images_in_order_and_markers_on_their_image(tmp_path: Path) -> None:
    scene, _ = mv_scene(tmp_path / "S")
    records = list(mv_records(scene).values())
    path = tmp_path / "qa.jsonl"
    assert write_qa(path, records) == len(records)
    assert list(read_qa(path)) == records
    for line, rec in zip(path.read_text().splitlines(), records, strict=True):
        data = json.loads(line)
        assert [(im["path"], im["view_id"]) for im in data["images"]] == [
            (im.path, im.view_id) for im in rec.images
        ]
        assert [m["image_index"] for m in data["markers"]] == [m.image_index for m in rec.markers]
        assert qa_from_dict(data) == rec and qa_to_dict(qa_from_dict(data)) == data
    rel = mv_records(scene)["rel_oo"]
    assert [im.view_id for im in rel.images] == ["v0", "v1", "v2"]
    assert [(m.colour, m.image_index) for m in rel.markers] == [("red", 1), ("blue", 2)]


# ---------------------------------------------------------------------------------------- LLaVA and chat


def test_llava_one_image_token_per_image_in_order(exported: Exported) -> None:
    samples = read_llava(exported.out / "llava" / "llava.json")
    assert {s["id"] for s in samples} == set(exported.by_id)
    for s in samples:
        _, rec = exported.by_id[s["id"]]
        n = len(rec.images)
        images = [s["image"]] if n == 1 else s["image"]
        assert isinstance(s["image"], str if n == 1 else list) and len(images) == n
        human = s["conversations"][0]["value"]
        assert human == "<image>\n" * n + rec.question and human.count("<image>") == n
        assert s["view_ids"] == [im.view_id for im in rec.images]
        for index, ref in enumerate(images):
            marked = any(m.image_index == index for m in rec.markers)
            if marked:  # a drawn copy of this view
                assert "/marked/" in ref
            else:  # the original file of this view, not a copy
                assert Path(ref) == exported.scene.resolve(rec.images[index].path)
            pixels = np.asarray(Image.open(ref).convert("RGB").resize((80, 60))).astype(float)
            _check_shown_image(pixels, rec, index, exported.scene)


def test_llava_marked_copies_are_one_per_marked_image(exported: Exported) -> None:
    rel = exported.records["rel_oo"]
    [sample] = [s for s in read_llava(exported.out / "llava" / "llava.json") if s["id"] == rel.id]
    first, second, third = sample["image"]
    assert "/marked/" not in first and "/marked/" in second and "/marked/" in third and second != third


def test_chat_parts_list_images_in_order_and_load_with_datasets(exported: Exported, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    parts = sorted(str(p) for p in (exported.out / "chat" / "parts").glob("*.jsonl"))
    ds = datasets.load_dataset("json", data_files=parts, split="train", cache_dir=str(tmp_path / "hf"))
    llava = {s["id"]: s for s in read_llava(exported.out / "llava" / "llava.json")}
    assert len(ds) == len(exported.records)
    for row in ds:
        _, rec = exported.by_id[row["id"]]
        user = row["messages"][0]["content"]
        assert [p["type"] for p in user] == ["image"] * len(rec.images) + ["text"]
        assert [p["path"] for p in user[:-1]] == row["images"]
        expected = llava[row["id"]]["image"]
        assert row["images"] == ([expected] if isinstance(expected, str) else expected)  # the same files
        assert row["view_ids"] == [im.view_id for im in rec.images]


# ---------------------------------------------------------------------------------------- Parquet


def test_parquet_rows_keep_image_lists_and_marker_indices_through_datasets(
    exported: Exported, tmp_path: Path
) -> None:
    datasets = pytest.importorskip("datasets")
    files = [str(exported.out / f) for f in exported.report.writers["parquet"]["files"]]
    ds = datasets.load_dataset("parquet", data_files={"train": files}, cache_dir=str(tmp_path / "hf"))[
        "train"
    ]
    assert len(ds) == len(exported.records)
    for row in ds:
        _, rec = exported.by_id[row["id"]]
        assert [im["view_id"] for im in row["images"]] == [im.view_id for im in rec.images]
        assert [im["source_path"] for im in row["images"]] == [im.path for im in rec.images]
        assert [(m["colour"], m["image_index"]) for m in row["markers"]] == [
            (m.colour, m.image_index) for m in rec.markers
        ]
        for index, im in enumerate(row["images"]):
            marked = any(m.image_index == index for m in rec.markers)
            assert (im["marked_ref"] is not None) == marked
        assert len(row["image"]) == len(rec.images)  # one HF Image per record image, in order
        for index, picture in enumerate(row["image"]):
            assert picture.size == (80, 60)
            _check_shown_image(np.asarray(picture.convert("RGB")).astype(float), rec, index, exported.scene)
    assert list(read_records(exported.out)) == [qa_to_dict(r) for r in exported.records.values()]


# ---------------------------------------------------------------------------------------- WebDataset


def test_webdataset_numbers_image_files_by_position(exported: Exported) -> None:
    urls = [str(exported.out / f) for f in exported.report.writers["webdataset"]["files"]]
    samples = {s["__key__"]: s for s in wds.WebDataset(urls, shardshuffle=False, empty_check=False)}
    scene = exported.scene
    three = samples[sample_key(scene.scene_id, ("v0", "v1", "v2"))]
    fields = sorted(k for k in three if not k.startswith("__"))
    per_image = [f"{i}.{ext}" for i in range(3) for ext in ("depth.png", "jpg", "points.npy")]
    assert fields == sorted([*per_image, "json"])
    meta = json.loads(three["json"])
    assert [(v["view_id"], v["image"]) for v in meta["views"]] == [
        ("v0", "0.jpg"),
        ("v1", "1.jpg"),
        ("v2", "2.jpg"),
    ]
    names = {"rel_oo", "imag_oc", "closer", "order_box"}  # the records about (v0, v1, v2)
    assert {q["id"] for q in meta["qa"]} == {exported.records[n].id for n in names}
    for qa in meta["qa"]:
        assert qa_from_dict(qa) == exported.by_id[qa["id"]][1]  # unchanged, marker indices included
    # Markers are not drawn on the sample's images; the numbered files are the views in record order.
    for index, view_id in enumerate(("v0", "v1", "v2")):
        pixels = np.asarray(Image.open(io.BytesIO(three[f"{index}.jpg"])).convert("RGB")).astype(float)
        assert np.abs(pixels - _resized(scene, view_id)).mean() < 6
    # (v2, v0): reverse capture order is another sample, image 0 is v2
    reverse = samples[sample_key(scene.scene_id, ("v2", "v0"))]
    meta = json.loads(reverse["json"])
    assert [v["view_id"] for v in meta["views"]] == ["v2", "v0"]
    first = np.asarray(Image.open(io.BytesIO(reverse["0.jpg"])).convert("RGB")).astype(float)
    assert np.abs(first - _resized(scene, "v2")).mean() < np.abs(first - _resized(scene, "v0")).mean()


# ---------------------------------------------------------------------------------------- SPAR


def spar_loader_draws(data: dict[str, Any]) -> list[tuple[str, int]]:
    """(marker key, image index) of each mark SPAR's released loader draws for a record, written out from
    toy_dataset.py (one image: the draw function gets that image; more: the list) and draw_marker.py (what
    each type's function reads, in its order). Raises KeyError where SPAR's function would (a key it reads is
    missing) and ValueError for a type it has no draw function for ("Unsupported data type")."""
    type_, n = data["type"], len(data["image"])

    def idx(kind: str) -> list[int]:
        return data[f"{kind}_img_idx"][0]

    def on(keys: list[str], images: list[int]) -> list[tuple[str, int]]:
        for key in keys:
            data[key]  # noqa: B018 - SPAR indexes the record: a missing key raises KeyError
        return list(zip(keys, images, strict=True))

    if n == 1:  # single-image path: every mark on the one image
        single = {
            "obj_spatial_relation_oo": ["red_bbox", "blue_bbox"],
            "spatial_imagination_oc": ["red_bbox", "blue_bbox", "green_bbox"],
            "distance_prediction_oc": ["red_point"],
            "obj_count": [],
        }
        if type_ not in single:
            raise ValueError(f"Unsupported data type: {type_}")
        return on(single[type_], [0] * len(single[type_]))
    if type_ == "obj_spatial_relation_oo_mv":
        present = [k for k in ("red_bbox", "blue_bbox", "green_bbox") if k in data]
        if len(present) != 2:
            raise ValueError("Unexpected data entry")
        return on(present, idx("bbox")[:2])
    if type_ == "spatial_imagination_oc_mv":
        i = idx("bbox")
        return on(["red_bbox", "green_bbox", "blue_bbox"], [i[2], i[0], i[1]])
    if type_ == "distance_infer_center_oo_mv":
        i = idx("point")
        return on(["red_point", "green_point", "blue_point"], [i[0], i[1], i[2]])
    if type_ == "depth_prediction_oc_mv":
        i = idx("point")
        return on(["red_point", "blue_point"], [i[0], i[1]])
    if type_ == "position_matching":
        return on(["red_bbox"], [0])
    if type_ in ("view_change_infer", "camera_motion_infer", "appearance_order", "room_size", "obj_count"):
        return []
    raise ValueError(f"Unsupported data type: {type_}")


def _spar_lines(out: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    return {
        (d := json.loads(line))["id"]: (path, d)
        for path in sorted((out / "spar" / "qa_jsonl").rglob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    }


EXPECTED_SPAR = {
    # name: (type, {index list key: value})
    "rel_oo": ("obj_spatial_relation_oo_mv", {"bbox_img_idx": [[1, 2]]}),
    # SPAR reads green, blue, red: green on image 0, blue on 1, red on 2 (colour order would give [2, 1, 0])
    "imag_oc": ("spatial_imagination_oc_mv", {"bbox_img_idx": [[0, 1, 2]]}),
    # SPAR reads red, green, blue: red on 0, green on 2, blue on 1
    "closer": ("distance_infer_center_oo_mv", {"point_img_idx": [[0, 2, 1]]}),
    # SPAR's depth_prediction_oc_mv draws a red and a blue point: a record with one box keeps our name
    "depth_box": ("object_depth_mv", {"bbox_img_idx": [[1]]}),
    "pm_first": ("position_matching", {"bbox_img_idx": [[0]]}),
    # SPAR would draw the red box on image 0, not on image 1 where the question has it
    "pm_second": (OWN_TYPE_PREFIX + "position_matching", {"bbox_img_idx": [[1]]}),
    # SPAR draws nothing for appearance_order: the boxes would be missing from its pictures
    "order_box": (OWN_TYPE_PREFIX + "appearance_order", {"bbox_img_idx": [[1, 2]]}),
    "view_chg": ("view_change_infer", {}),
    "single": ("obj_spatial_relation_oo", {"bbox_img_idx": [[0, 0]]}),
}


def test_spar_types_and_index_lists_of_multi_view_records(exported: Exported) -> None:
    lines = _spar_lines(exported.out)
    assert set(lines) == set(exported.by_id)
    for name, (type_, index_lists) in EXPECTED_SPAR.items():
        rec = exported.records[name]
        path, d = lines[rec.id]
        assert d["type"] == type_, name
        assert {k: v for k, v in d.items() if k.endswith("_img_idx")} == index_lists, name
        assert path.parent.parent.name == type_  # spar/qa_jsonl/<split>/<type>/<format dir>/
        assert d["image"] == [str(exported.scene.resolve(im.path)) for im in rec.images]  # unmarked, in order
        assert d["view_ids"] == [im.view_id for im in rec.images]
        assert validate_spar_record(d) == [] and spar_drawing_problems(d) == [], name
    unmatched = exported.report.writers["spar"]["extra"]["spar_type_unmatched"]
    assert unmatched == {"object_depth_mv": 1, "position_matching": 1, "appearance_order": 1}


def test_spars_loader_draws_every_marker_on_the_image_the_record_names(exported: Exported) -> None:
    for _, d in _spar_lines(exported.out).values():
        name, rec = exported.by_id[d["id"]]
        expected = sorted(
            (f"{m.colour}_{'bbox' if m.kind == 'box' else 'point'}", m.image_index) for m in rec.markers
        )
        if d["type"] in SPAR_TYPE_NAMES:
            assert sorted(spar_loader_draws(d)) == expected, name
        else:  # our own type: SPAR's loader refuses the record instead of drawing a wrong picture
            with pytest.raises(ValueError, match="Unsupported data type"):
                spar_loader_draws(d)


def test_spar_index_lists_follow_the_types_draw_order() -> None:
    # imag_oc's markers as SPAR keys: red on image 2, green on 0, blue on 1.
    record = {
        "id": "q",
        "markers": [
            {"kind": "box", "colour": c, "image_index": i, "geometry_norm": [1, 2, 3, 4]}
            for c, i in (("red", 2), ("green", 0), ("blue", 1))
        ],
    }
    [layout] = SPAR_LAYOUTS["spatial_imagination_oc_mv"]
    assert spar_markers(record)["bbox_img_idx"] == [[2, 1, 0]]  # SPAR's colour order: red, blue, green
    assert spar_markers(record, layout.keys)["bbox_img_idx"] == [[0, 1, 2]]  # the type's order
    assert spar_type("spatial_imagination_oc_mv", spar_markers(record), n_images=3) == layout.type
    # a multi-view type needs the loader's multi-image path; a single-view type its single-image path
    assert spar_type("spatial_imagination_oc_mv", spar_markers(record), n_images=1) is None
    two_boxes = {"red_bbox": [[0, 0, 1, 1]], "blue_bbox": [[0, 0, 1, 1]], "bbox_img_idx": [[0, 0]]}
    assert spar_type("relative_direction", two_boxes, n_images=2) is None
    assert spar_type("relative_direction", two_boxes, n_images=1) == "obj_spatial_relation_oo"
    # obj_spatial_relation_oc_mv draws every box on images[idx[0]]: boxes on two images do not fit it
    same = {"red_bbox": [[0, 0, 1, 1]], "blue_bbox": [[0, 0, 1, 1]], "bbox_img_idx": [[1, 1]]}
    apart = {**same, "bbox_img_idx": [[0, 1]]}
    assert spar_type("object_relation_oc_mv", same, n_images=2) == "obj_spatial_relation_oc_mv"
    assert spar_type("object_relation_oc_mv", apart, n_images=2) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("blue_bbox"), "SPAR draws"),  # a key the draw function reads is missing
        (lambda d: d.update(image=d["image"][:1]), "not drawn where"),  # one image: the single-image path
        (lambda d: d.update(bbox_img_idx=[[1]]), "one image per bbox"),
    ],
)
def test_spar_drawing_problems_name_what_spars_loader_would_trip_on(
    exported: Exported, change: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    _, d = _spar_lines(exported.out)[exported.records["rel_oo"].id]
    assert spar_drawing_problems(d) == []
    broken = json.loads(json.dumps(d))
    change(broken)
    assert any(problem in p for p in spar_drawing_problems(broken))
