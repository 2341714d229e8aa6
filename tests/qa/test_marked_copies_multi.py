"""Marked copies of multi-image records (`draw-markers`, qa/marked_copies.py) and the gallery's multi-image
cards: one copy per image that carries markers, each showing only its own image's markers, images without
markers referenced unmarked, and the card's "Image k" captions.

The records are hand-built on a synthetic three-view room (tests/multi_image_fixtures.py); the copies are PNG,
so the pixel checks are exact."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.inspect.gallery import (
    GAP_PX,
    MIN_CANVAS_WIDTH_PX,
    PANEL_BACKGROUND,
    GallerySkip,
    image_captions,
    render_record,
)
from spatialforge.qa.draw_markers import MARKER_RGB, box_pixels
from spatialforge.qa.io import write_qa
from spatialforge.qa.marked_copies import MARKED_QA_NAME, run_draw_markers
from spatialforge.qa.records import Marker, QARecord, qa_from_dict
from spatialforge.scene.records import Scene
from tests.multi_image_fixtures import HEIGHT, WIDTH, mv_records, mv_scene


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, Path, dict[str, QARecord]]:
    scene, scenes_path = mv_scene(tmp_path_factory.mktemp("mv_room") / "S")
    return scene, scenes_path, mv_records(scene)


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def _changed(copy: np.ndarray, original: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels the drawing changed."""
    return (copy != original).any(axis=-1)


def _inside(box: Marker) -> np.ndarray:
    """(H, W) bool: the pixels of a box marker's clipped box (draw_markers' outline runs inside it)."""
    px = box_pixels(box.geometry_px, WIDTH, HEIGHT)
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[px.top : px.bottom + 1, px.left : px.right + 1] = True
    return mask


def test_one_copy_per_marked_image_showing_only_its_own_markers(room, tmp_path: Path) -> None:
    scene, scenes_path, records = room
    rel = records["rel_oo"]  # red box on image 1 (v1), blue box on image 2 (v2), image 0 unmarked
    qa_path = tmp_path / "qa.jsonl"
    write_qa(qa_path, [rel])
    report = run_draw_markers(qa_path, scenes_path, tmp_path / "out")
    assert (report.records_marked, report.copies, report.skipped) == (1, 2, {})
    [line] = (tmp_path / "out" / MARKED_QA_NAME).read_text().splitlines()
    marked = qa_from_dict(json.loads(line))
    # Image 0 has no markers: no copy, the record keeps pointing at the original.
    assert marked.images[0].marked_path is None
    assert [(im.path, im.view_id) for im in marked.images] == [(im.path, im.view_id) for im in rel.images]
    for index, colour in ((1, "red"), (2, "blue")):
        image = rel.images[index]
        copy = _pixels(tmp_path / "out" / marked.images[index].marked_path)
        original = _pixels(scene.resolve(image.path))
        changed = _changed(copy, original)
        [marker] = [m for m in rel.markers if m.image_index == index]
        assert marker.colour == colour
        # Drawn: the box outline in exactly the marker's colour, nothing outside its box touched.
        assert changed.sum() > 0 and not (changed & ~_inside(marker)).any()
        assert (copy[changed] == MARKER_RGB[colour]).all()
    # The copies are of different images with different markers: two files, and the other marker is absent.
    copy1 = _pixels(tmp_path / "out" / marked.images[1].marked_path)
    drawn1 = _changed(copy1, _pixels(scene.resolve(rel.images[1].path)))
    assert not (copy1 == MARKER_RGB["blue"]).all(axis=-1)[drawn1].any()


def test_copies_are_shared_per_image_and_marker_set(room, tmp_path: Path) -> None:
    scene, scenes_path, records = room
    rel = records["rel_oo"]
    # Same images and markers, another question: both of its copies are rel's.
    twin = dataclasses.replace(rel, id="twin0000000000000001", question=rel.question + " (again)")
    # Image 1's marker only, on a two-image record (v0, v1): the same picture of v1 as rel's image 1.
    half = dataclasses.replace(rel, id="half0000000000000001", images=rel.images[:2], markers=rel.markers[:1])
    qa_path = tmp_path / "qa.jsonl"
    write_qa(qa_path, [rel, twin, half])
    report = run_draw_markers(qa_path, scenes_path, tmp_path / "out")
    assert report.copies == 2 and report.records_marked == 3
    out = [qa_from_dict(json.loads(x)) for x in (tmp_path / "out" / MARKED_QA_NAME).read_text().splitlines()]
    paths = [[im.marked_path for im in r.images] for r in out]
    assert paths[0] == paths[1]
    assert paths[2] == paths[0][:2]  # [None, the v1 copy]
    assert paths[0][0] is None and paths[0][1] != paths[0][2]


def test_a_multi_image_record_is_marked_all_or_nothing(room, tmp_path: Path) -> None:
    scene, scenes_path, records = room
    rel = records["rel_oo"]
    # The blue marker's point lies outside the 160 x 120 image: image 2 cannot be drawn, so image 1's copy
    # is not used either (the question would show one marked and one unmarked picture).
    outside = Marker("point", "green", 2, (1000.0, 1000.0), (400.0, 400.0))
    bad = dataclasses.replace(rel, id="bad00000000000000001", markers=(rel.markers[0], outside))
    qa_path = tmp_path / "qa.jsonl"
    write_qa(qa_path, [bad])
    report = run_draw_markers(qa_path, scenes_path, tmp_path / "out")
    assert report.skipped == {"point_outside_image": 1} and report.records_marked == 0
    [line] = (tmp_path / "out" / MARKED_QA_NAME).read_text().splitlines()
    assert all(im.marked_path is None for im in qa_from_dict(json.loads(line)).images)


# ---------------------------------------------------------------------------------------- gallery cards


def test_gallery_card_shows_every_image_with_its_markers_and_captions(room) -> None:
    scene, _, records = room
    rel = records["rel_oo"]
    assert image_captions(rel) == ["Image 1 (v0)", "Image 2 (v1)", "Image 3 (v2)"]
    card = render_record(rel, scene)
    assert not isinstance(card, GallerySkip)
    pixels = np.asarray(card).astype(int)
    assert card.width == max(3 * WIDTH + 2 * GAP_PX, MIN_CANVAS_WIDTH_PX)  # the strip, left-aligned
    for index, view_id in enumerate(("v0", "v1", "v2")):
        left = index * (WIDTH + GAP_PX)
        shown = pixels[:HEIGHT, left : left + WIDTH]
        for m in rel.markers:  # each marker in its colour on its own image only
            px = box_pixels(m.geometry_px, WIDTH, HEIGHT)
            corner = tuple(shown[px.bottom, px.right])
            if m.image_index == index:
                assert corner == MARKER_RGB[m.colour]
            else:
                assert corner != MARKER_RGB[m.colour]
        if index == 0:  # no marker on image 0; only the thin outlines of the named objects
            assert not (shown == MARKER_RGB["red"]).all(axis=-1).any()
            assert not (shown == MARKER_RGB["blue"]).all(axis=-1).any()
        # The caption band under each image holds text (pixels darker than the background).
        band = pixels[HEIGHT : HEIGHT + 2 * GAP_PX + 20, left : left + WIDTH]
        assert (np.abs(band - np.array(PANEL_BACKGROUND)).sum(axis=-1) > 200).any(), view_id
