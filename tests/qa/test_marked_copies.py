"""`draw-markers` as a library: drawn copies of real generated QA, file naming and sharing, re-runs, every
skip reason, and the record's optional marked_path field."""

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import GenerateConfig, run_generate
from spatialforge.errors import RecordError
from spatialforge.qa.draw_markers import MARKER_RGB, box_pixels
from spatialforge.qa.marked_copies import (
    IMAGES_DIR,
    MARKED_QA_NAME,
    REPORT_NAME,
    SKIP_REASONS,
    canonical_markers,
    copy_name,
    run_draw_markers,
)
from spatialforge.qa.records import Marker, QAImage, qa_from_dict, qa_to_dict
from spatialforge.scene.io import write_scenes
from spatialforge.scene.records import Scene

# Level-2 tasks name objects by box markers when a category is repeated and cannot be ranked; 20 objects
# of 10 categories per scene make that common.
MARKER_TASKS = ("relative_size", "closer_of_two", "relative_direction")
N_SCENES = 4
IMAGE_RGB = (70, 110, 150)


def box_scenes(asset_root: Path) -> list[Scene]:
    return [
        dataclasses.replace(s, asset_root=str(asset_root))
        for s in random_box_scenes(N_SCENES, seed=0, n_objects=20)
    ]


@pytest.fixture(scope="module")
def generated_qa(tmp_path_factory) -> Path:
    """data.jsonl generated from the box scenes (QA does not depend on asset_root, so one run serves all)."""
    root = tmp_path_factory.mktemp("gen")
    write_scenes(root / "scenes.jsonl", box_scenes(root))
    run_generate(root / "scenes.jsonl", root / "qa", GenerateConfig(seed=0, tasks=MARKER_TASKS), n_buckets=2)
    return root / "qa" / "data.jsonl"


class Setup:
    """A test's own copy: scenes with images under tmp/assets, the QA file, the output folder."""

    def __init__(self, tmp_path: Path, qa: Path) -> None:
        self.root = tmp_path
        self.assets = tmp_path / "assets"
        self.scenes = box_scenes(self.assets)
        self.scenes_path = tmp_path / "scenes.jsonl"
        write_scenes(self.scenes_path, self.scenes)
        for s in self.scenes:
            self.write_image(s, Image.new("RGB", (640, 480), IMAGE_RGB))
        self.qa = tmp_path / "data.jsonl"
        shutil.copy(qa, self.qa)
        self.out = tmp_path / "marked"

    def image_path(self, scene: Scene) -> Path:
        return self.assets / scene.views[0].image_path

    def write_image(self, scene: Scene, image: Image.Image) -> None:
        path = self.image_path(scene)
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, format="PNG")  # PNG bytes under the .jpg name: exact pixels, PIL reads by content

    def run(self, **kwargs):
        return run_draw_markers(self.qa, self.scenes_path, self.out, **kwargs)

    def lines(self, path: Path | None = None) -> list[dict]:
        path = path or self.out / MARKED_QA_NAME
        return [json.loads(line) for line in path.read_text().splitlines()]

    def edit_qa(self, edit) -> list[str]:
        """Apply edit(record dict) -> bool to the first record with markers; returns the edited ids."""
        records = self.lines(self.qa)
        for rec in records:
            if rec["markers"] and edit(rec):
                self.qa.write_text("".join(json.dumps(r) + "\n" for r in records))
                return [rec["id"]]
        raise AssertionError("no record to edit")


@pytest.fixture
def setup(tmp_path, generated_qa) -> Setup:
    return Setup(tmp_path, generated_qa)


def marked_records(lines: list[dict]) -> list[dict]:
    return [r for r in lines if r["markers"]]


def ids_by_scene(lines: list[dict], scene_id: str) -> set[str]:
    return {r["id"] for r in lines if r["markers"] and r["scene_id"] == scene_id}


# ---------------------------------------------------------------- the happy path


def test_every_record_with_markers_gets_a_drawn_copy(setup):
    report = setup.run()
    lines = setup.lines()
    inputs = setup.lines(setup.qa)
    assert len(lines) == len(inputs) == report.records
    with_markers = marked_records(lines)
    assert len(with_markers) >= 10, "the fixture should produce marker questions"
    assert report.records_with_markers == report.records_marked == len(with_markers)
    assert report.skipped == {} and report.copies_skipped == 0
    for rec, src in zip(lines, inputs, strict=True):
        assert rec["id"] == src["id"]
        if not rec["markers"]:
            assert rec == src  # passed through
            continue
        (image,) = rec["images"]
        assert image["path"] == src["images"][0]["path"] and image["view_id"] == "v0"
        assert rec["markers"] == src["markers"]  # geometry kept
        copy = Image.open(setup.out / image["marked_path"])
        assert copy.size == (640, 480)
        for m in rec["markers"]:  # the top-left corner pixel of each box has the marker colour
            left, top, _, _ = box_pixels(m["geometry_px"], 640, 480)
            assert copy.getpixel((left, top)) == MARKER_RGB[m["colour"]]
        assert qa_from_dict(rec).images[0].marked_path == image["marked_path"]
    report_json = json.loads((setup.out / REPORT_NAME).read_text())
    assert report_json["records_marked"] == report.records_marked and report_json["draw_style_version"] == 1


def test_lines_without_markers_are_copied_verbatim(setup):
    setup.run()
    src = setup.qa.read_text().splitlines()
    out = (setup.out / MARKED_QA_NAME).read_text().splitlines()
    for a, b in zip(src, out, strict=True):
        if not json.loads(a)["markers"]:
            assert a == b


def test_records_showing_the_same_markers_share_one_file(setup):
    report = setup.run()
    with_markers = marked_records(setup.lines())
    distinct = {
        (r["scene_id"], json.dumps(sorted([m["colour"], m["geometry_px"]] for m in r["markers"])))
        for r in with_markers
    }
    paths = {r["images"][0]["marked_path"] for r in with_markers}
    assert len(paths) == len(distinct) == report.copies == report.copies_drawn < len(with_markers)
    files = [p for p in (setup.out / IMAGES_DIR).rglob("*") if p.is_file()]
    assert len(files) == report.copies
    assert all(p.suffix == ".png" and p.parent.name == p.name[:2] for p in files)


def test_rerun_draws_nothing_and_writes_the_same_data(setup):
    first = setup.run()
    data = (setup.out / MARKED_QA_NAME).read_bytes()
    mtimes = {p: p.stat().st_mtime_ns for p in (setup.out / IMAGES_DIR).rglob("*.png")}
    second = setup.run()
    assert second.copies_drawn == 0 and second.copies_reused == first.copies_drawn
    assert (setup.out / MARKED_QA_NAME).read_bytes() == data
    assert {p: p.stat().st_mtime_ns for p in (setup.out / IMAGES_DIR).rglob("*.png")} == mtimes


def test_rerun_after_a_kill_draws_only_the_missing_copy(setup):
    setup.run()
    victim = sorted((setup.out / IMAGES_DIR).rglob("*.png"))[0]
    victim.unlink()
    (victim.parent / (victim.name + ".tmp-999")).write_bytes(b"half a png")  # a killed writer's leftover
    report = setup.run()
    assert report.copies_drawn == 1 and victim.is_file()
    assert Image.open(victim).size == (640, 480)


def test_workers_give_the_same_output(setup):
    setup.run()
    one = (setup.out / MARKED_QA_NAME).read_bytes()
    shutil.rmtree(setup.out)
    report = setup.run(workers=2)
    assert report.copies_drawn == report.copies
    assert (setup.out / MARKED_QA_NAME).read_bytes() == one


def test_jpg_copies(setup):
    report = setup.run(image_format="jpg")
    rec = marked_records(setup.lines())[0]
    assert rec["images"][0]["marked_path"].endswith(".jpg")
    copy = Image.open(setup.out / rec["images"][0]["marked_path"])
    assert copy.format == "JPEG" and report.copies_drawn == report.copies
    m = rec["markers"][0]
    left, top, _, _ = box_pixels(m["geometry_px"], 640, 480)
    got = copy.getpixel((left + 1, top + 1))
    assert max(abs(a - b) for a, b in zip(got, MARKER_RGB[m["colour"]], strict=True)) < 40  # lossy


def test_unknown_image_format_is_refused(setup):
    with pytest.raises(ValueError, match="image format"):
        setup.run(image_format="gif")


# ---------------------------------------------------------------- naming


def test_copy_name_is_a_hash_of_what_the_copy_shows():
    red = Marker("box", "red", 0, (100.0, 100.0, 200.0, 200.0), (64.0, 48.0, 128.0, 96.0))
    blue = Marker("box", "blue", 1, (300.0, 300.0, 400.0, 400.0), (192.0, 144.0, 256.0, 192.0))
    name = copy_name("s/1", "v0", "images/1.jpg", [red, blue], "png")
    assert name.startswith(f"{IMAGES_DIR}/") and name.endswith(".png") and len(name.split("/")[-1]) == 36
    assert name.split("/")[1] == name.split("/")[2][:2]
    # Marker order and the record's image index do not change the picture.
    assert (
        copy_name("s/1", "v0", "images/1.jpg", [blue, dataclasses.replace(red, image_index=3)], "png") == name
    )
    assert canonical_markers([red, blue]) == canonical_markers([blue, red])
    # Anything that changes the picture changes the name.
    others = [
        copy_name("s/2", "v0", "images/1.jpg", [red, blue], "png"),
        copy_name("s/1", "v1", "images/1.jpg", [red, blue], "png"),
        copy_name("s/1", "v0", "images/2.jpg", [red, blue], "png"),
        copy_name("s/1", "v0", "images/1.jpg", [red], "png"),
        copy_name("s/1", "v0", "images/1.jpg", [dataclasses.replace(red, colour="green"), blue], "png"),
        copy_name("s/1", "v0", "images/1.jpg", [red, blue], "jpg"),
    ]
    assert len({name, *others}) == 1 + len(others)


# ---------------------------------------------------------------- bad input: named skips, never a crash


def _first_marked_scene(setup: Setup) -> Scene:
    scene_id = marked_records(setup.lines(setup.qa))[0]["scene_id"]
    return next(s for s in setup.scenes if s.scene_id == scene_id)


def _assert_skipped(setup: Setup, report, reason: str, ids: set[str]) -> None:
    assert reason in SKIP_REASONS
    assert report.skipped == {reason: len(ids)}, report.skipped
    assert reason in report.first_skip
    lines = setup.lines()
    assert len(lines) == report.records  # every record still written
    for rec in marked_records(lines):
        has_copy = "marked_path" in rec["images"][0]
        assert has_copy == (rec["id"] not in ids), rec["id"]
    assert report.records_marked == report.records_with_markers - len(ids)
    assert json.loads((setup.out / REPORT_NAME).read_text())["skipped"] == {reason: len(ids)}


def test_missing_image_is_a_counted_skip_and_no_grey_canvas(setup):
    scene = _first_marked_scene(setup)
    setup.image_path(scene).unlink()
    report = setup.run()
    ids = ids_by_scene(setup.lines(setup.qa), scene.scene_id)
    _assert_skipped(setup, report, "image_missing", ids)
    drawn = {r["images"][0]["marked_path"] for r in marked_records(setup.lines()) if r["id"] not in ids}
    assert len(list((setup.out / IMAGES_DIR).rglob("*.png"))) == len(drawn) == report.copies_drawn


def test_unreadable_image(setup):
    scene = _first_marked_scene(setup)
    setup.image_path(scene).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    report = setup.run()
    _assert_skipped(setup, report, "image_unreadable", ids_by_scene(setup.lines(setup.qa), scene.scene_id))


def test_truncated_image_is_unreadable(setup):
    scene = _first_marked_scene(setup)
    path = setup.image_path(scene)
    noisy = Image.effect_noise((640, 480), 60).convert("RGB")  # noise: the PNG cannot compress to nothing
    noisy.save(path, format="PNG")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    report = setup.run()
    _assert_skipped(setup, report, "image_unreadable", ids_by_scene(setup.lines(setup.qa), scene.scene_id))


def test_image_of_another_size(setup):
    scene = _first_marked_scene(setup)
    setup.write_image(scene, Image.new("RGB", (320, 240), IMAGE_RGB))
    report = setup.run()
    _assert_skipped(setup, report, "image_size_mismatch", ids_by_scene(setup.lines(setup.qa), scene.scene_id))


def test_image_link_leaving_the_asset_root(setup, tmp_path):
    scene = _first_marked_scene(setup)
    outside = tmp_path / "outside.png"
    Image.new("RGB", (640, 480), IMAGE_RGB).save(outside)
    setup.image_path(scene).unlink()
    os.symlink(outside, setup.image_path(scene))
    report = setup.run()
    _assert_skipped(setup, report, "path_escapes_root", ids_by_scene(setup.lines(setup.qa), scene.scene_id))


def test_image_path_with_dotdot(setup):
    scene = _first_marked_scene(setup)
    hostile = "../outside.jpg"
    Image.new("RGB", (640, 480), IMAGE_RGB).save(setup.root / "outside.jpg")
    view = dataclasses.replace(scene.views[0], image_path=hostile)
    setup.scenes = [dataclasses.replace(s, views=(view,)) if s is scene else s for s in setup.scenes]
    write_scenes(setup.scenes_path, setup.scenes)
    records = setup.lines(setup.qa)
    for r in records:
        if r["scene_id"] == scene.scene_id:
            r["images"][0]["path"] = hostile
    setup.qa.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = setup.run()
    _assert_skipped(setup, report, "path_escapes_root", ids_by_scene(records, scene.scene_id))


def test_scene_missing_from_the_scenes_file(setup):
    scene = _first_marked_scene(setup)
    write_scenes(setup.scenes_path, [s for s in setup.scenes if s is not scene])
    report = setup.run()
    _assert_skipped(setup, report, "scene_not_found", ids_by_scene(setup.lines(setup.qa), scene.scene_id))


def test_scene_listed_twice(setup):
    scene = _first_marked_scene(setup)
    write_scenes(setup.scenes_path, [*setup.scenes, scene])
    report = setup.run()
    _assert_skipped(setup, report, "scene_id_duplicate", ids_by_scene(setup.lines(setup.qa), scene.scene_id))


def _set_view(rec: dict) -> bool:
    rec["images"][0]["view_id"] = "v9"
    return True


def _set_path(rec: dict) -> bool:
    rec["images"][0]["path"] = "images/elsewhere.jpg"
    return True


def _set_colour(rec: dict) -> bool:
    rec["markers"][0]["colour"] = "teal"
    return True


def _point_outside(rec: dict) -> bool:
    # A point marker past the right edge: u = 700 > 639.5; geometry_norm clamps to 1000 (round(1093.75)).
    rec["markers"][0].update(kind="point", geometry_px=[700.0, 10.0], geometry_norm=[1000, 21])
    return True


def _norm_mismatch(rec: dict) -> bool:
    m = rec["markers"][0]
    m["geometry_norm"] = [max(0, v - 50) for v in m["geometry_norm"]]
    return m["geometry_norm"][2] > 0


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_set_view, "view_not_found"),
        (_set_path, "image_path_mismatch"),
        (_set_colour, "unknown_colour"),
        (_point_outside, "point_outside_image"),
        (_norm_mismatch, "marker_geometry_inconsistent"),
    ],
)
def test_bad_record_is_a_named_skip(setup, edit, reason):
    ids = setup.edit_qa(edit)
    report = setup.run()
    _assert_skipped(setup, report, reason, set(ids))


def test_a_record_is_marked_all_or_nothing(setup):
    records = setup.lines(setup.qa)
    base = next(r for r in records if len(r["markers"]) == 1)
    m = base["markers"][0]
    good = json.loads(json.dumps(base))
    good["id"] = "two_images_good"
    good["images"] = [base["images"][0], base["images"][0]]
    good["markers"] = [m, {**m, "colour": "green", "image_index": 1}]
    bad = json.loads(json.dumps(good))
    bad["id"] = "two_images_bad"
    bad["markers"][1].update(kind="point", geometry_px=[700.0, 10.0], geometry_norm=[1000, 21])
    setup.qa.write_text("".join(json.dumps(r) + "\n" for r in [*records, good, bad]))
    report = setup.run()
    out = {r["id"]: r for r in setup.lines()}
    first, second = (im["marked_path"] for im in out["two_images_good"]["images"])
    assert first == base_path(out, base["id"]) and second != first  # image 0 shares the single-marker copy
    assert all("marked_path" not in im for im in out["two_images_bad"]["images"])
    assert report.skipped == {"point_outside_image": 1}


def base_path(out: dict, rec_id: str) -> str:
    return out[rec_id]["images"][0]["marked_path"]


def test_input_with_stale_marked_paths_gets_fresh_ones(setup):
    setup.run()
    again = setup.root / "again"
    report = run_draw_markers(setup.out / MARKED_QA_NAME, setup.scenes_path, again)
    assert report.copies_drawn == report.copies
    assert (again / MARKED_QA_NAME).read_text() == (setup.out / MARKED_QA_NAME).read_text()


def test_bad_qa_line_stops_the_run_unless_skipped(setup):
    with open(setup.qa, "a", encoding="utf-8") as fh:
        fh.write('{"schema_version": 1, "id": "x"}\n')
    with pytest.raises(RecordError) as info:
        setup.run()
    assert info.value.reason == "missing_field" and "line" in str(info.value)
    report = setup.run(skip_invalid=True)
    assert report.invalid_lines == {"missing_field": 1}
    assert report.records == len(setup.lines(setup.qa)) - 1


def test_output_may_not_overwrite_the_input(setup):
    # Marking data_marked.jsonl again into its own folder would overwrite the input while reading it.
    (setup.root / MARKED_QA_NAME).write_text(setup.qa.read_text())
    with pytest.raises(ValueError, match="overwrite"):
        run_draw_markers(setup.root / MARKED_QA_NAME, setup.scenes_path, setup.root)


# ---------------------------------------------------------------- the record field


def _record_dict(generated_qa: Path) -> dict:
    return next(json.loads(line) for line in generated_qa.read_text().splitlines() if '"markers":[{' in line)


def test_marked_path_round_trips_and_old_records_stay_valid(generated_qa):
    data = _record_dict(generated_qa)
    rec = qa_from_dict(data)
    assert rec.images[0].marked_path is None
    assert "marked_path" not in qa_to_dict(rec)["images"][0]  # old lines keep their exact shape
    marked = dataclasses.replace(rec, images=(QAImage(rec.images[0].path, "v0", "images/ab/ab12.png"),))
    as_dict = qa_to_dict(marked)
    assert as_dict["images"][0]["marked_path"] == "images/ab/ab12.png"
    assert qa_from_dict(as_dict) == marked
    as_dict["images"][0]["marked_path"] = None  # an explicit null reads as "no copy"
    assert qa_from_dict(as_dict).images[0].marked_path is None


@pytest.mark.parametrize(
    "hostile", ["../x.png", "/abs/x.png", "images/../../x.png", "C:/x.png", "a\\b.png", ""]
)
def test_hostile_marked_path_is_refused(generated_qa, hostile):
    data = _record_dict(generated_qa)
    data["images"][0]["marked_path"] = hostile
    with pytest.raises(RecordError) as info:
        qa_from_dict(data)
    assert info.value.reason == "invalid_value" and info.value.field == "images[0].marked_path"


def test_marked_path_of_the_wrong_type(generated_qa):
    data = _record_dict(generated_qa)
    data["images"][0]["marked_path"] = 7
    with pytest.raises(RecordError) as info:
        qa_from_dict(data)
    assert info.value.reason == "wrong_type" and info.value.field == "images[0].marked_path"
