"""The QA gallery on real generated QA: PNG count, exact marker pixels, outlines of unmarked objects,
HTML escaping, determinism, seeds, task spread, every skip reason the brief names, reruns."""

from __future__ import annotations

import dataclasses
import html
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.demo.box_scenes import random_box_scene, random_box_scenes
from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.inspect.gallery import (
    GAP_PX,
    INDEX_NAME,
    MANIFEST_NAME,
    GalleryReport,
    GallerySkip,
    _ViewImage,
    build_gallery,
    draw_record_image,
    png_name,
    render_record,
    sample_by_task,
)
from spatialforge.inspect.gallery import _Skips as Skips
from spatialforge.inspect.style import category_colour
from spatialforge.qa.draw_markers import MARKER_RGB, box_pixels
from spatialforge.qa.io import write_qa
from spatialforge.qa.records import Marker, QAImage, QAObject, QARecord, Tolerance, norm_from_px, qa_from_dict
from spatialforge.scene.io import write_scenes
from spatialforge.scene.records import Scene

N_SCENES = 3
IMAGE_RGB = (70, 110, 150)  # the test photo: one flat colour, so every other colour was drawn
W, H = 640, 480  # random_box_scenes' camera


def _write_image(scene: Scene, view_index: int = 0, rgb: tuple[int, int, int] = IMAGE_RGB) -> Path:
    path = Path(scene.asset_root) / scene.views[view_index].image_path
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (W, H), rgb).save(path, format="PNG")  # PNG bytes under a .jpg name: PIL reads content
    return path


class Data:
    """Scenes with flat images under root/assets, their QA (every task the engine makes), file paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        assets = root / "assets"
        self.scenes = [
            dataclasses.replace(s, asset_root=str(assets))
            for s in random_box_scenes(N_SCENES, seed=0, n_objects=12)
        ]
        for s in self.scenes:
            _write_image(s)
        self.scenes_path = root / "scenes.jsonl"
        write_scenes(self.scenes_path, self.scenes)
        config = GenerateConfig(seed=0)
        self.records = [qa_from_dict(r) for s in self.scenes for r in generate_scene(s, config).records]
        self.qa_path = root / "qa.jsonl"
        write_qa(self.qa_path, self.records)
        self.by_id = {r.id: r for r in self.records}

    def lines(self) -> list[str]:
        return self.qa_path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    return Data(tmp_path_factory.mktemp("gallery_data"))


@pytest.fixture(scope="module")
def full_gallery(data: Data, tmp_path_factory: pytest.TempPathFactory) -> tuple[GalleryReport, list[str]]:
    """Every record of `data` in one gallery: (report, record id per PNG)."""
    out = tmp_path_factory.mktemp("full") / "gallery"
    report = build_gallery(data.qa_path, data.scenes_path, out, count=len(data.records), seed=0)
    return report, _ids(out)


@pytest.fixture
def own_data(tmp_path: Path) -> Data:
    """A copy a test may damage (delete images, edit lines)."""
    return Data(tmp_path / "data")


def _manifest(out: Path) -> dict:
    return json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))


def _ids(out: Path) -> list[str]:
    return [item["id"] for item in _manifest(out)["items"]]


def test_fixture_has_enough_tasks_and_markers(data: Data):
    tasks = {r.task for r in data.records}
    assert len(tasks) >= 10
    assert sum(bool(r.markers) for r in data.records) >= 5


# ---------------------------------------------------------------- files and pixels


def test_writes_count_pngs_an_index_and_nothing_else(data: Data, tmp_path: Path):
    out = tmp_path / "gallery"
    report = build_gallery(data.qa_path, data.scenes_path, out, count=10, seed=0)
    assert len(report.pngs) == 10 and report.skipped == {}
    assert report.records_seen == len(data.records)
    assert report.index_html == out / INDEX_NAME
    assert {p.name for p in out.iterdir()} == {p.name for p in report.pngs} | {INDEX_NAME, MANIFEST_NAME}
    for png in report.pngs:
        with Image.open(png) as im:
            assert im.format == "PNG"
            # the image at its own size on top, a text panel under it
            assert im.width == W and im.height > H + 40
    # the temporary folder is gone
    assert [p.name for p in tmp_path.iterdir()] == ["gallery"]


def test_markers_are_drawn_with_their_exact_colour_where_their_geometry_says(data: Data, full_gallery):
    report, ids = full_gallery
    checked = 0
    for png, rec_id in zip(report.pngs, ids, strict=True):
        rec = data.by_id[rec_id]
        pixels = np.asarray(Image.open(png).convert("RGB"))  # (H', W', 3)
        for m in rec.markers:
            rgb = MARKER_RGB[m.colour]
            if m.kind == "box":
                box = box_pixels(m.geometry_px, W, H)
                # the outline runs inward from the box's edge: its four corner pixels have the marker colour
                for v, u in ((box.top, box.left), (box.top, box.right), (box.bottom, box.left)):
                    assert tuple(pixels[v, u]) == rgb, (rec.id, m)
            else:
                u, v = round(m.geometry_px[0]), round(m.geometry_px[1])
                assert tuple(pixels[v, u]) == rgb, (rec.id, m)
            checked += 1
    assert checked >= 5


def test_named_objects_without_marker_get_an_outline_in_their_category_colour(data: Data, full_gallery):
    report, ids = full_gallery
    scenes = {s.scene_id: s for s in data.scenes}
    checked = 0
    for png, rec_id in zip(report.pngs, ids, strict=True):
        rec = data.by_id[rec_id]
        if rec.markers or not rec.objects:
            continue
        pixels = np.asarray(Image.open(png).convert("RGB"))
        scene = scenes[rec.scene_id]
        for qa_obj in rec.objects:
            obj = scene.object(qa_obj.object_id)
            box = box_pixels(obj.observation("v0").box2d.clipped(W, H).as_list(), W, H)
            # the bottom edge: labels go above the box or inside its top edge; other named objects'
            # outlines and labels may cross it, but cover only a little of it
            edge = pixels[box.bottom, box.left : box.right + 1]  # (n, 3)
            share = np.all(edge == category_colour(obj.category), axis=-1).mean()
            assert share > 0.5, (rec.id, qa_obj, share)
            checked += 1
    assert checked >= 5


def _scene_with_two_views(root: Path) -> Scene:
    """random_box_scene 0 with 3 objects, plus view v1: the same camera and boxes, another image file."""
    scene = random_box_scene(0, random.Random("0:0"), n_objects=3)
    v1 = dataclasses.replace(scene.views[0], view_id="v1", image_path="images/second.png")
    objects = tuple(
        dataclasses.replace(
            o, observations=(*o.observations, dataclasses.replace(o.observations[0], view_id="v1"))
        )
        for o in scene.objects
    )
    return dataclasses.replace(scene, asset_root=str(root), views=(*scene.views, v1), objects=objects)


def _record(scene: Scene, images: tuple[QAImage, ...], markers: tuple[Marker, ...], **kw) -> QARecord:
    fields = dict(
        id="hand0",
        scene_id=scene.scene_id,
        capture_id=scene.capture_id,
        source=scene.source,
        split=None,
        license=None,
        images=images,
        task="relative_size",
        level=2,
        difficulty=None,
        format="free",
        question="Is the a <bigger> than b & c?",
        answer="yes",
        answer_value="yes",
        unit=None,
        choices=(),
        objects=tuple(
            QAObject(o.object_id, o.source_id, o.category, role)
            for o, role in zip(scene.objects[:2], "ab", strict=True)
        ),
        markers=markers,
        frame=None,
        tolerance=Tolerance("exact"),
        reasoning=None,
        template_id="hand/free/x@1",
        seed=0,
    )
    fields.update(kw)
    return QARecord(**fields)


def _box_marker(scene: Scene, object_index: int, colour: str, image_index: int) -> Marker:
    box = scene.objects[object_index].observation("v0").box2d.clipped(W, H).as_list()
    return Marker("box", colour, image_index, norm_from_px(box, W, H), tuple(box))


def test_multi_image_records_are_side_by_side_with_markers_on_their_own_image(tmp_path: Path):
    scene = _scene_with_two_views(tmp_path)
    _write_image(scene, 0)
    _write_image(scene, 1, rgb=(30, 30, 30))
    images = (QAImage("images/000000.jpg", "v0"), QAImage("images/second.png", "v1"))
    # object 0 ("a") is marked on image 1 only; object 1 ("b") is never marked
    rec = _record(scene, images, (_box_marker(scene, 0, "red", 1),))
    picture = render_record(rec, scene)
    assert not isinstance(picture, GallerySkip)
    pixels = np.asarray(picture)
    assert picture.width == 2 * W + GAP_PX and picture.height > H
    assert tuple(pixels[H - 1, W + GAP_PX // 2]) != (30, 30, 30)  # the gap between the images
    box_a = box_pixels(scene.objects[0].observation("v0").box2d.clipped(W, H).as_list(), W, H)
    box_b = box_pixels(scene.objects[1].observation("v0").box2d.clipped(W, H).as_list(), W, H)
    offset = W + GAP_PX  # image 1 starts here
    # the marker on image 1, not on image 0; there "a" is unmarked and gets its outline
    assert tuple(pixels[box_a.bottom, offset + box_a.right]) == MARKER_RGB["red"]
    assert tuple(pixels[box_a.bottom, box_a.right]) == category_colour(scene.objects[0].category)
    # "b" is outlined on both images
    colour_b = category_colour(scene.objects[1].category)
    assert tuple(pixels[box_b.bottom, box_b.right]) == colour_b
    assert tuple(pixels[box_b.bottom, offset + box_b.right]) == colour_b


def test_a_marked_object_gets_no_outline_or_label(tmp_path: Path):
    scene = _scene_with_two_views(tmp_path)
    _write_image(scene, 0)
    image = Image.new("RGB", (W, H), IMAGE_RGB)
    obj = scene.objects[0]
    marker = _box_marker(scene, 0, "red", 0)
    named = [(QAObject(obj.object_id, obj.source_id, obj.category, "target"), obj)]
    colour = np.array(category_colour(obj.category))
    marked = np.asarray(draw_record_image(_ViewImage(image, scene.views[0]), [marker], named))
    unmarked = np.asarray(draw_record_image(_ViewImage(image, scene.views[0]), [], named))
    assert not np.all(marked == colour, axis=-1).any()
    assert np.all(unmarked == colour, axis=-1).sum() > 100  # outline and label background


# ---------------------------------------------------------------- index.html


def test_index_lists_every_sampled_question_html_escaped(own_data: Data, tmp_path: Path):
    # Make every question hostile: markup and ampersands must come out as text.
    lines = []
    for line in own_data.lines():
        rec = json.loads(line)
        rec["question"] += ' <img src=x onerror="alert(1)"> & done'
        rec["answer"] += " <b>"
        lines.append(json.dumps(rec))
    own_data.qa_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "gallery"
    report = build_gallery(own_data.qa_path, own_data.scenes_path, out, count=12, seed=3)
    text = report.index_html.read_text(encoding="utf-8")
    questions = {json.loads(line)["id"]: json.loads(line)["question"] for line in lines}
    for rec_id in _ids(out):
        assert html.escape(questions[rec_id], quote=True) in text
    answers = {json.loads(line)["id"]: json.loads(line)["answer"] for line in lines}
    for rec_id in _ids(out):
        assert html.escape(answers[rec_id], quote=True) in text
    assert "<img src=x" not in text
    assert " <b>" not in text  # the answers' suffix, never as markup
    assert text.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; done") == 12
    for png in report.pngs:
        assert f'href="{png.name}"' in text


# ---------------------------------------------------------------- sampling


def test_same_seed_same_files_same_bytes(data: Data, tmp_path: Path):
    a = build_gallery(data.qa_path, data.scenes_path, tmp_path / "a", count=8, seed=5)
    b = build_gallery(data.qa_path, data.scenes_path, tmp_path / "b", count=8, seed=5)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert [p.name for p in a.pngs] == [p.name for p in b.pngs]


def test_another_seed_samples_other_records(data: Data, tmp_path: Path):
    build_gallery(data.qa_path, data.scenes_path, tmp_path / "a", count=8, seed=0)
    build_gallery(data.qa_path, data.scenes_path, tmp_path / "b", count=8, seed=1)
    assert set(_ids(tmp_path / "a")) != set(_ids(tmp_path / "b"))


def test_gallery_spreads_over_tasks(data: Data, tmp_path: Path):
    n_tasks = len({r.task for r in data.records})
    assert n_tasks >= 5
    out = tmp_path / "gallery"
    build_gallery(data.qa_path, data.scenes_path, out, count=5, seed=0)
    tasks = [item["task"] for item in _manifest(out)["items"]]
    assert len(set(tasks)) == 5
    # round robin in sorted task order: with count <= tasks, the first `count` tasks, one record each
    assert tasks == sorted({r.task for r in data.records})[:5]
    # more than there are tasks: every task once before any task twice
    build_gallery(data.qa_path, data.scenes_path, out, count=n_tasks + 3, seed=0)
    tasks = [item["task"] for item in _manifest(out)["items"]]
    assert len(set(tasks[:n_tasks])) == n_tasks


def test_sample_is_the_smallest_seeded_keys_per_task(data: Data):
    """Hand-replay of the reservoir: one random.Random(seed) key per valid record in file order, each task
    keeping its `count` smallest keys in key order."""
    count, seed = 3, 11
    rng = random.Random(seed)
    keyed = defaultdict(list)
    for rec in data.records:
        keyed[rec.task].append((rng.random(), rec.id))
    expected = {task: [rec_id for _, rec_id in sorted(pairs)[:count]] for task, pairs in keyed.items()}
    got, seen = sample_by_task(data.qa_path, count, seed, Skips())
    assert seen == len(data.records)
    assert {task: [r.id for r in recs] for task, recs in got.items()} == expected


# ---------------------------------------------------------------- bad input


def test_bad_input_is_a_counted_skip_with_a_named_reason(own_data: Data, tmp_path: Path):
    scene0, scene1, scene2 = own_data.scenes
    (Path(scene0.asset_root) / scene0.views[0].image_path).unlink()  # image_missing
    (Path(scene1.asset_root) / scene1.views[0].image_path).write_bytes(b"not an image")  # image_unreadable
    lines = own_data.lines()
    unknown = json.loads(next(line for line in lines if json.loads(line)["scene_id"] == scene2.scene_id))
    unknown["scene_id"] = "nowhere/1"
    unknown["id"] = "unknown_scene"
    bad_level = json.loads(lines[0])
    bad_level["level"] = 7
    lines += [json.dumps(unknown), "{not json", json.dumps(bad_level)]
    own_data.qa_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    per_scene = defaultdict(int)
    for rec in own_data.records:
        per_scene[rec.scene_id] += 1

    out = tmp_path / "gallery"
    report = build_gallery(own_data.qa_path, own_data.scenes_path, out, count=len(lines), seed=0)
    assert report.skipped == {
        "record_invalid": 2,
        "scene_missing": 1,
        "image_missing": per_scene[scene0.scene_id],
        "image_unreadable": per_scene[scene1.scene_id],
    }
    assert report.records_seen == len(lines)
    assert len(report.pngs) == per_scene[scene2.scene_id]
    assert {own_data.by_id[i].scene_id for i in _ids(out)} == {scene2.scene_id}
    assert "line" in report.skip_examples["record_invalid"]
    text = report.index_html.read_text(encoding="utf-8")
    assert "image_missing: " in text and "scene_missing: 1" in text


def test_a_skipped_record_is_replaced_by_the_next_one_of_its_task(own_data: Data, tmp_path: Path):
    scene0 = own_data.scenes[0]
    intact = build_gallery(own_data.qa_path, own_data.scenes_path, tmp_path / "intact", count=6, seed=0)
    from_scene0 = [i for i in _ids(tmp_path / "intact") if own_data.by_id[i].scene_id == scene0.scene_id]
    assert from_scene0 and len(intact.pngs) == 6
    (Path(scene0.asset_root) / scene0.views[0].image_path).unlink()
    out = tmp_path / "gallery"
    report = build_gallery(own_data.qa_path, own_data.scenes_path, out, count=6, seed=0)
    assert len(report.pngs) == 6 and report.skipped["image_missing"] >= len(from_scene0)
    assert all(own_data.by_id[i].scene_id != scene0.scene_id for i in _ids(out))
    # one record of each of the first 6 tasks (sorted) that still have a drawable record
    drawable = sorted({r.task for r in own_data.records if r.scene_id != scene0.scene_id})
    assert [item["task"] for item in _manifest(out)["items"]] == drawable[:6]


def test_image_of_the_wrong_size_and_escaping_path_are_skipped(tmp_path: Path):
    scene = _scene_with_two_views(tmp_path)
    _write_image(scene, 0)
    Image.new("RGB", (W // 2, H // 2), IMAGE_RGB).save(tmp_path / "images" / "second.png")
    wrong_size = _record(scene, (QAImage("images/second.png", "v1"),), ())
    assert render_record(wrong_size, scene).reason == "image_size_mismatch"
    escaping = dataclasses.replace(scene, views=(dataclasses.replace(scene.views[0], image_path="../x.png"),))
    rec = _record(escaping, (QAImage("../x.png", "v0"),), ())
    assert render_record(rec, escaping).reason == "path_escapes_root"
    rec = _record(scene, (QAImage("images/000000.jpg", "v9"),), ())
    assert render_record(rec, scene).reason == "view_missing"
    rec = _record(
        scene, (QAImage("images/000000.jpg", "v0"),), (), objects=(QAObject("99", "s", "chair", "a"),)
    )
    assert render_record(rec, scene).reason == "object_missing"
    # a marker whose 0-1000 geometry disagrees with its pixels is refused by draw_markers' checks
    bad = Marker("box", "red", 0, (0.0, 0.0, 1000.0, 1000.0), (10.0, 10.0, 50.0, 50.0))
    rec = _record(scene, (QAImage("images/000000.jpg", "v0"),), (bad,))
    assert render_record(rec, scene).reason == "marker_geometry_inconsistent"


# ---------------------------------------------------------------- reruns and arguments


def test_rerun_replaces_the_gallery_and_foreign_folders_are_refused(data: Data, tmp_path: Path):
    out = tmp_path / "gallery"
    build_gallery(data.qa_path, data.scenes_path, out, count=10, seed=0)
    report = build_gallery(data.qa_path, data.scenes_path, out, count=3, seed=2)
    assert {p.name for p in out.iterdir()} == {p.name for p in report.pngs} | {INDEX_NAME, MANIFEST_NAME}
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="output_dir"):
        build_gallery(data.qa_path, data.scenes_path, foreign, count=3)
    assert (foreign / "keep.txt").read_text() == "x"
    with pytest.raises(ValueError, match="input"):
        build_gallery(data.qa_path, data.scenes_path, data.root, count=3)


def test_bad_arguments_raise_value_errors_naming_them(data: Data, tmp_path: Path):
    with pytest.raises(ValueError, match="count"):
        build_gallery(data.qa_path, data.scenes_path, tmp_path / "g", count=0)
    with pytest.raises(ValueError, match="qa_path"):
        build_gallery(tmp_path / "missing.jsonl", data.scenes_path, tmp_path / "g")
    with pytest.raises(ValueError, match="scenes_path"):
        build_gallery(data.qa_path, tmp_path / "missing.jsonl", tmp_path / "g")


def test_png_names_are_safe_and_distinct():
    scene = random_box_scene(0, random.Random("0:0"), n_objects=2)
    rec = _record(scene, (QAImage("images/000000.jpg", "v0"),), (), id="../a b/<c>", task="x/y")
    name = png_name(7, rec)
    assert name == "007_x_y_.._a_b__c_.png"
    assert png_name(8, rec) != name
