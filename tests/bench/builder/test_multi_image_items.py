"""Multi-image benchmark items (bench/builder/pipeline.py item_images / bench_item, items.py): every image of
an item copied under its content hash, in the record's order; a marked copy per image that carries markers,
showing that image's markers only; images without markers copied as is; items.jsonl read back unchanged.

The records are hand-built on a synthetic three-view room (tests/multi_image_fixtures.py)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.bench.builder.items import read_bench_items
from spatialforge.bench.builder.pipeline import ImageStore, item_images
from spatialforge.qa.draw_markers import MARKER_RGB, box_pixels
from spatialforge.qa.records import QARecord, qa_to_dict
from spatialforge.scene.records import Scene
from tests.multi_image_fixtures import HEIGHT, WIDTH, mv_records, mv_scene, write_mv_bench


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, dict[str, QARecord]]:
    scene, _ = mv_scene(tmp_path_factory.mktemp("mv_room") / "S")
    return scene, mv_records(scene)


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def test_item_images_copy_every_image_in_order_and_mark_only_the_marked(room, tmp_path: Path) -> None:
    scene, records = room
    rel = records["rel_oo"]  # red box on image 1, blue box on image 2, image 0 unmarked
    store = ImageStore(tmp_path)
    paths, marked = item_images(scene, qa_to_dict(rel), store)
    assert marked == [1, 2] and len(paths) == 3 and len(set(paths)) == 3
    for index, rel_path in enumerate(paths):
        data = (tmp_path / rel_path).read_bytes()
        assert Path(rel_path).stem == hashlib.sha256(data).hexdigest()[:20]  # content-hash name
        source = scene.resolve(rel.images[index].path)
        if index == 0:  # no marker: the original file, byte for byte
            assert data == source.read_bytes()
            continue
        shown, original = _pixels(tmp_path / rel_path), _pixels(source)
        changed = (shown != original).any(axis=-1)
        [marker] = [m for m in rel.markers if m.image_index == index]
        box = box_pixels(marker.geometry_px, WIDTH, HEIGHT)
        inside = np.zeros((HEIGHT, WIDTH), dtype=bool)
        inside[box.top : box.bottom + 1, box.left : box.right + 1] = True
        assert changed.any() and not (changed & ~inside).any()  # its own marker, nothing else
        assert (shown[changed] == MARKER_RGB[marker.colour]).all()
    # A second record showing v0 unmarked reuses image 0's file; the store writes each file once.
    again, _ = item_images(scene, qa_to_dict(records["imag_oc"]), store)
    assert again[0] != paths[0]  # imag_oc marks image 0 (green box): its own copy
    view_chg, none_marked = item_images(scene, qa_to_dict(records["view_chg"]), store)
    assert none_marked == [] and view_chg[1] == paths[0]  # (v2, v0): v0 unmarked is rel's image 0
    assert len(list((tmp_path / "images").iterdir())) == len(store.written)


def test_items_jsonl_lists_images_in_order_with_views_and_marked_indices(room, tmp_path: Path) -> None:
    scene, records = room
    # view_chg's images in reverse capture order (v2, v0), under a registered task
    reverse = dataclasses.replace(records["view_chg"], task="relative_direction_mv")
    chosen = [records["rel_oo"], records["imag_oc"], reverse, records["single"]]
    bench = write_mv_bench(tmp_path, scene, chosen)
    items = {i.qa_id: i for i in read_bench_items(bench)}
    for rec in chosen:
        item = items[rec.id]
        assert len(item.images) == len(rec.images)
        assert item.extra["view_ids"] == [im.view_id for im in rec.images]
        assert item.extra["source_images"] == [im.path for im in rec.images]
        marked = sorted({m.image_index for m in rec.markers})
        assert item.extra["marked_images"] == marked and item.extra["marked"] == bool(marked)
        for index, rel_path in enumerate(item.images):
            data = (bench / rel_path).read_bytes()
            source = scene.resolve(rec.images[index].path).read_bytes()
            assert (data == source) == (index not in marked)
    assert items[reverse.id].extra["view_ids"] == ["v2", "v0"]
