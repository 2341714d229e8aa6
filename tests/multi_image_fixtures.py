"""Hand-built multi-image QA records on a synthetic three-view room, for the multi-image tests of the writers,
the marked copies, the benchmark folder and the evaluation runner.

`mv_scene(root)` renders one synthetic indoor room with three 160 x 120 views (v0, v1, v2; seed 0) and returns
it; `mv_records(scene)` builds records the way multi-view tasks do (images[0] the main view, markers on any
image, marker.image_index naming it), each with markers placed where a test can check them:

    rel_oo     relative_direction_mv, images (v0, v1, v2): red box on image 1, blue box on image 2,
               nothing on image 0
    imag_oc    spatial_imagination_oc_mv, images (v0, v1, v2): green box on image 0, blue on image 1,
               red on image 2 (SPAR's draw order for this type is green, blue, red)
    closer     closer_of_two_mv, images (v0, v1, v2): red point on image 0, blue on image 1, green on
               image 2 (SPAR reads this type's points red, green, blue)
    depth_box  object_depth_mv, images (v0, v2): one red box on image 1 (SPAR's draw function for the type
               reads a red and a blue point: no SPAR type)
    pm_first   position_matching, images (v0, v2): red box on image 0 (SPAR draws it on images[0])
    pm_second  position_matching, images (v0, v1): red box on image 1 (SPAR would draw it on image 0)
    order_box  appearance_order, images (v0, v1, v2): red box on image 1, blue on image 2 (SPAR's
               draw function for the type draws nothing)
    view_chg   view_change_infer, images (v2, v0): no markers, images in reverse capture order
    single     relative_direction, images (v0,): red and blue box on image 0 (a single-view record)

Boxes are the objects' mask boxes in that view, clipped to the image (what qa/references.py puts on a
marker); points are box centres. `write_run_dir(root, scenes_path, records)` lays the records out as a
finished one-bucket `spatialforge generate` run (engine/runner.py layout), so `run_export` reads them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NamedTuple

from spatialforge.engine.runner import bucket_path, split_path
from spatialforge.qa.io import write_qa
from spatialforge.qa.records import (
    Choice,
    Marker,
    QAImage,
    QAObject,
    QARecord,
    Tolerance,
    norm_from_px,
    qa_id,
)
from spatialforge.scene.io import iter_scene_lines
from spatialforge.scene.records import Object3D, Scene
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig

WIDTH, HEIGHT = 160, 120
VIEWS = ("v0", "v1", "v2")


def mv_scene(root: Path) -> tuple[Scene, Path]:
    """One synthetic indoor room with three views (seed 0) under root; (scene, scenes.jsonl path)."""
    report = run_synth(
        root, 1, SynthConfig(setting="indoor", views=len(VIEWS), width=WIDTH, height=HEIGHT), n_buckets=1
    )
    scenes_path = Path(report.output_dir) / "scenes.jsonl"
    [scene] = [s for s in iter_scene_lines(scenes_path) if isinstance(s, Scene)]
    assert tuple(v.view_id for v in scene.views) == VIEWS
    return scene, scenes_path


def seen_everywhere(scene: Scene) -> list[Object3D]:
    """Objects with a 2D box in every view, largest (in v0) first: markers on them exist in any image."""
    found = []
    for obj in scene.objects:
        boxes = [obj.observation(v) for v in VIEWS]
        if all(o is not None and o.box2d is not None and o.box2d.is_valid() for o in boxes):
            found.append(obj)
    found.sort(key=lambda o: -o.observation("v0").box2d.clipped(WIDTH, HEIGHT).area)
    assert len(found) >= 4, "the synthetic room must show four objects in all three views"
    return found


def box_px(obj: Object3D, view_id: str) -> tuple[float, ...]:
    """obj's mask box in view_id clipped to the image, pixels xyxy."""
    return tuple(obj.observation(view_id).box2d.clipped(WIDTH, HEIGHT).as_list())


def box_marker(obj: Object3D, colour: str, image_index: int, view_id: str) -> Marker:
    px = box_px(obj, view_id)
    return Marker("box", colour, image_index, norm_from_px(px, WIDTH, HEIGHT), px)


def point_marker(obj: Object3D, colour: str, image_index: int, view_id: str) -> Marker:
    x0, y0, x1, y1 = box_px(obj, view_id)
    px = ((x0 + x1) / 2, (y0 + y1) / 2)
    return Marker("point", colour, image_index, norm_from_px(px, WIDTH, HEIGHT), px)


class Placed(NamedTuple):
    """A marker to put on a record: kind ("box"/"point"), colour, the image index, the object."""

    kind: str
    colour: str
    image: int
    obj: Object3D


def record(
    scene: Scene,
    name: str,
    task: str,
    views: tuple[str, ...],
    placed: tuple[Placed, ...],
    *,
    question: str | None = None,
    format: str = "mcq",
) -> QARecord:
    """A two-option multiple-choice record (answer A) about `views` of `scene` with `placed` markers."""
    markers = tuple(
        (box_marker if p.kind == "box" else point_marker)(p.obj, p.colour, p.image, views[p.image])
        for p in placed
    )
    objects = tuple(
        QAObject(p.obj.object_id, p.obj.source_id, p.obj.category, f"o{k}") for k, p in enumerate(placed)
    )
    view_of = {v.view_id: v for v in scene.views}
    seed = sum(map(ord, name))
    object_ids = [o.object_id for o in objects]
    mcq = format == "mcq"
    return QARecord(
        id=qa_id(scene.scene_id, task, f"{task}/{format}/hand@1", seed, object_ids, format, views),
        scene_id=scene.scene_id,
        capture_id=scene.capture_id,
        source=scene.source,
        split=scene.split,
        license=scene.license,
        images=tuple(QAImage(view_of[v].image_path, v) for v in views),
        task=task,
        level=2,
        difficulty=None,
        format=format,
        question=question
        or f"[{name}] Is the first object (in image 2) left of the second (in image 3)?"
        + ("\nA. yes\nB. no" if mcq else ""),
        answer="A" if mcq else "yes",
        answer_value="A" if mcq else True,
        unit=None,
        choices=(Choice("A", "yes"), Choice("B", "no")) if mcq else (),
        objects=objects,
        markers=markers,
        frame=f"cam:{views[0]}",
        tolerance=Tolerance("accuracy", {"answer_type": "choice" if mcq else "yes_no"}),
        reasoning=(f"hand-built record {name}",),
        template_id=f"{task}/{format}/hand@1",
        seed=seed,
    )


def mv_records(scene: Scene) -> dict[str, QARecord]:
    """The records of the module docstring, by name."""
    a, b, c, d = seen_everywhere(scene)[:4]
    three = VIEWS
    return {
        "rel_oo": record(
            scene,
            "rel_oo",
            "relative_direction_mv",
            three,
            (Placed("box", "red", 1, a), Placed("box", "blue", 2, b)),
        ),
        "imag_oc": record(
            scene,
            "imag_oc",
            "spatial_imagination_oc_mv",
            three,
            (Placed("box", "red", 2, a), Placed("box", "green", 0, b), Placed("box", "blue", 1, c)),
        ),
        "closer": record(
            scene,
            "closer",
            "closer_of_two_mv",
            three,
            (Placed("point", "red", 0, a), Placed("point", "blue", 1, b), Placed("point", "green", 2, c)),
        ),
        "depth_box": record(
            scene, "depth_box", "object_depth_mv", ("v0", "v2"), (Placed("box", "red", 1, d),)
        ),
        "pm_first": record(
            scene, "pm_first", "position_matching", ("v0", "v2"), (Placed("box", "red", 0, b),)
        ),
        "pm_second": record(
            scene, "pm_second", "position_matching", ("v0", "v1"), (Placed("box", "red", 1, b),)
        ),
        "order_box": record(
            scene,
            "order_box",
            "appearance_order",
            three,
            (Placed("box", "red", 1, c), Placed("box", "blue", 2, d)),
        ),
        "view_chg": record(scene, "view_chg", "view_change_infer", ("v2", "v0"), ()),
        "single": record(
            scene,
            "single",
            "relative_direction",
            ("v0",),
            (Placed("box", "red", 0, a), Placed("box", "blue", 0, b)),
            format="tf",
        ),
    }


def write_run_dir(root: Path, scenes_path: Path, records: list[QARecord]) -> Path:
    """A finished one-bucket generate run (engine/runner.py layout) holding `records` (all of one scene, or
    grouped by scene in scenes-file order); returns the run folder."""
    run = root / "run"
    split_path(run, 0).parent.mkdir(parents=True, exist_ok=True)
    bucket_path(run, 0).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(scenes_path, split_path(run, 0))
    write_qa(bucket_path(run, 0), records)
    shutil.copyfile(bucket_path(run, 0), run / "data.jsonl")
    bucket_path(run, 0).with_name("bucket-00000.done.json").write_text("{}\n")
    (run / "config.json").write_text(json.dumps({"n_buckets": 1, "note": "hand-built records"}) + "\n")
    scenes = len({r.scene_id for r in records})
    (run / "report.json").write_text(
        json.dumps({"scenes": scenes, "records": len(records), "counts": {}, "tallies": {}}) + "\n"
    )
    return run


def write_mv_bench(root: Path, scene: Scene, records: list[QARecord]) -> Path:
    """A benchmark folder (bench/builder layout: images/, items.jsonl, benchmark.json) with one item per
    record, written by the builder's own item_images / bench_item (every record's task as its item task,
    asked as multiple choice). Returns the folder."""
    from spatialforge.bench.builder.items import BENCH_ITEMS_FILE, BENCH_MANIFEST_FILE
    from spatialforge.bench.builder.pipeline import ImageStore, bench_item, item_images
    from spatialforge.bench.builder.presets import Preset, PresetTask
    from spatialforge.jsonl import JsonlWriter
    from spatialforge.qa.records import qa_to_dict

    tasks = sorted({r.task for r in records})
    preset = Preset(
        name="mv_test",
        description="hand-built multi-image items",
        source="tests/multi_image_fixtures.py",
        tasks=tuple(PresetTask(t, t, 1, ("sentence",)) for t in tasks),
        totals_rule="micro",
    )
    entries = {t.name: t for t in preset.tasks}
    bench = root / "bench"
    store = ImageStore(bench)
    items = []
    for rec in records:
        data = qa_to_dict(rec)
        images, marked = item_images(scene, data, store)
        items.append(bench_item(entries[rec.task], data, images, bool(marked), preset, marked))
    with JsonlWriter(bench / BENCH_ITEMS_FILE, lambda item: item.to_json()) as writer:
        writer.write_all(items)
    manifest = {"name": preset.name, "preset": None, "totals_rule": "micro", "n_items": len(items)}
    (bench / BENCH_MANIFEST_FILE).write_text(json.dumps(manifest) + "\n")
    return bench
