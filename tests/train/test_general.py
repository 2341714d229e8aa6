"""General (non-spatial) VQA from scene views (train/general.py): English forms, a hand-checked scene, and
the dataset over real synthetic scenes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.models.pointmap import point_map_for_view
from spatialforge.models.processing import BLANK_GREY
from spatialforge.qa.references import visible_objects
from spatialforge.scene.io import read_scenes, write_scenes
from spatialforge.scene.records import Gravity, Object3D, ObjectObservation, Scene, View
from spatialforge.synth.assets import CATALOGUE, categories
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig
from spatialforge.train.data import ExampleInfo, SourceConfig, open_source
from spatialforge.train.general import (
    GENERAL_TEMPLATES,
    article,
    counted,
    join_list,
    plural,
    view_questions,
    with_article,
)

INDOOR = [spec.name for spec in categories("indoor")]


def test_english_forms() -> None:
    assert plural("chair") == "chairs"
    assert plural("bus") == "buses"
    assert plural("box") == "boxes"
    assert plural("bookshelf") == "bookshelves"
    assert plural("traffic cone") == "traffic cones"
    assert plural("person") == "people"
    assert plural("tv") == "TVs"
    assert plural("library") == "libraries" and plural("toy") == "toys"
    assert article("apple") == "an" and article("lamp") == "a" and article("umbrella") == "an"
    assert article("unicycle") == "a" and article("hour") == "an" and article("SUV") == "an"
    assert with_article("tv") == "a TV" and with_article("traffic_sign") == "a traffic sign"
    assert counted("chair", 1) == "a chair" and counted("chair", 2) == "two chairs"
    assert counted("glass_cup", 13) == "13 glass cups"
    assert join_list(["a sofa"]) == "a sofa"
    assert join_list(["a sofa", "a lamp"]) == "a sofa and a lamp"
    assert join_list(["a sofa", "two chairs", "a lamp"]) == "a sofa, two chairs and a lamp"


def _object(oid: str, category: str, box2d: tuple[float, ...] | None, visibility: float = 0.9) -> Object3D:
    observations = () if box2d is None else (ObjectObservation("v0", Box2D(*box2d), "annotated", visibility),)
    box = OrientedBox3D(np.array([0.0, 0.0, 3.0]), np.eye(3), np.array([0.5, 0.5, 0.5]))
    return Object3D(oid, f"hand:{oid}", category, box, False, observations=observations)


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, Path]:
    """A hand-built indoor view: a sofa (largest), two chairs, a lamp in view; a bed in the scene but mostly
    occluded and a table in the scene but not observed in the view; no depth."""
    root = tmp_path_factory.mktemp("room")
    Image.new("RGB", (160, 120), (90, 60, 30)).save(root / "v0.png")
    camera = PinholeCamera(100.0, 100.0, 79.5, 59.5, 160, 120)
    view = View("v0", "v0.png", camera, RigidTransform.identity("world", "cam:v0"))
    objects = (
        _object("1", "chair", (120, 60, 150, 100)),
        _object("2", "sofa", (10, 50, 110, 110)),
        _object("3", "lamp", (130, 10, 140, 40)),
        _object("4", "chair", (5, 5, 30, 40)),
        _object("5", "bed", (40, 40, 100, 80), visibility=0.1),
        _object("6", "table", None),
    )
    scene = Scene(
        "hand/room", "hand/room", "hand", "train", "CC0-1.0", str(root), (view,), objects,
        Gravity(), metadata={"setting": "indoor"},
    )  # fmt: skip
    write_scenes(root / "scenes.jsonl", [scene])
    return scene, root / "scenes.jsonl"


def test_hand_checked_view(room: tuple[Scene, Path]) -> None:
    scene, _ = room
    view = scene.views[0]
    questions = view_questions(scene, view, categories=INDOOR, seed=3, presence_per_view=40)
    by_kind: dict[str, list] = {}
    for q in questions:
        by_kind.setdefault(q.kind, []).append(q)
    (caption,) = by_kind["caption"]
    assert caption.prompt in GENERAL_TEMPLATES["caption"]["question"]
    assert caption.answer == "An indoor room with a sofa, two chairs and a lamp."
    (objects,) = by_kind["objects"]
    assert objects.answer == "A sofa, two chairs and a lamp."
    yes = {q.prompt: q.answer for q in by_kind["presence"] if q.answer.startswith("Yes")}
    no = {q.prompt: q.answer for q in by_kind["presence"] if q.answer.startswith("No")}
    assert len(yes) == 3 and len(no) == len(INDOOR) - 5  # sofa, chair, lamp / every category not in the scene
    chair = next(p for p in yes if "a chair" in p)
    assert yes[chair] == "Yes, there are two chairs in the image."
    lamp = next(p for p in yes if "a lamp" in p)
    assert yes[lamp] == "Yes, there is a lamp in the image."
    prompts = " ".join(q.prompt for q in by_kind["presence"])
    assert "bed" not in prompts and "table" not in prompts  # in the scene, not visible: never asked
    tv = next(p for p in no if "TV" in p)
    assert tv.endswith(("a TV in the image?", "a TV in this picture?", "a TV?"))
    assert no[tv] == "No, there is no TV in the image."
    # Same seed, same questions; the first two presence questions are one yes and one no.
    again = view_questions(scene, view, categories=INDOOR, seed=3, presence_per_view=2)
    assert [q.answer.split(",")[0] for q in again if q.kind == "presence"] == ["Yes", "No"]
    assert again == view_questions(scene, view, categories=INDOOR, seed=3, presence_per_view=2)


def test_general_dataset_on_the_hand_scene(room: tuple[Scene, Path]) -> None:
    scene, scenes = room
    ds = open_source(SourceConfig(path=str(scenes), format="general", scenes=str(scenes)))
    assert ds.skipped == {}
    assert [ds.info(i) for i in range(len(ds))] == [
        ExampleInfo(
            "general:hand/room:v0:caption:0", "general/caption", None, "general", "general", "hand/room"
        ),
        ExampleInfo(
            "general:hand/room:v0:presence:0", "general/presence", None, "general", "general", "hand/room"
        ),
        ExampleInfo(
            "general:hand/room:v0:presence:1", "general/presence", None, "general", "general", "hand/room"
        ),
        ExampleInfo(
            "general:hand/room:v0:objects:0", "general/objects", None, "general", "general", "hand/room"
        ),
    ]
    sample = ds.sample(0)
    assert sample.answer == "An indoor room with a sofa, two chairs and a lamp."
    assert sample.point_maps == (None,)  # the view has no depth
    assert np.array_equal(
        np.asarray(sample.images[0]), np.asarray(Image.open(Path(scene.asset_root) / "v0.png"))
    )
    fixed = open_source(
        SourceConfig(
            path="x",
            format="general",
            scenes=str(scenes),
            options={"categories": ["piano"], "kinds": ["presence"]},
        )
    )
    answers = [fixed.sample(i).answer for i in range(len(fixed))]
    assert answers[1] == "No, there is no piano in the image." and len(answers) == 2


@pytest.fixture(scope="module")
def synth_scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("general_synth")
    run_synth(root, 3, SynthConfig(views=2, width=160, height=120), n_buckets=1)
    return root / "scenes.jsonl"


def test_general_dataset_on_synthetic_scenes(synth_scenes: Path) -> None:
    source = SourceConfig(path="general", format="general", scenes="scenes.jsonl", options={"seed": 1})
    ds = open_source(source, base_dir=synth_scenes.parent)
    assert ds.skipped == {} and len(ds) >= 6 * 3
    scenes = {s.scene_id: s for s in read_scenes(synth_scenes)}
    for i in range(len(ds)):
        scene_id, view_id, prompt, answer = ds.question(i)
        scene = scenes[scene_id]
        view = scene.view(view_id)
        seen = {o.category for o in visible_objects(scene, view)}
        if ds.info(i).task == "general/presence":
            category = next(c for c in CATALOGUE if re.search(rf"\b{re.escape(with_article(c))}\b", prompt))
            if answer.startswith("Yes"):
                assert category in seen
            else:
                assert category not in {o.category for o in scene.objects}
    sample = ds.sample(0)
    scene_id, view_id, _, _ = ds.question(0)
    expected = point_map_for_view(scenes[scene_id], scenes[scene_id].view(view_id))
    assert np.array_equal(sample.point_maps[0].xyz, expected.xyz, equal_nan=True)
    blank = ds.sample(0, blank=True)
    assert blank.point_maps == (None,) and blank.prompt == sample.prompt
    assert np.all(np.asarray(blank.images[0]) == np.array(BLANK_GREY, dtype=np.uint8))
    # Deterministic across opens; another seed asks other questions.
    again = open_source(source, base_dir=synth_scenes.parent)
    assert [again.question(i) for i in range(len(again))] == [ds.question(i) for i in range(len(ds))]
    other = open_source(
        SourceConfig(path="g", format="general", scenes=str(synth_scenes), options={"seed": 2})
    )
    assert [other.question(i) for i in range(len(other))] != [ds.question(i) for i in range(len(ds))]


def test_general_errors(tmp_path: Path, room: tuple[Scene, Path]) -> None:
    with pytest.raises(ValueError, match="needs field scenes"):
        open_source(SourceConfig(path="x", format="general"))
    with pytest.raises(ValueError, match="options.kinds"):
        open_source(
            SourceConfig(path="x", format="general", scenes=str(room[1]), options={"kinds": ["poem"]})
        )
    missing = tmp_path / "scenes.jsonl"
    missing.write_text(room[1].read_text().replace('"v0.png"', '"gone.png"'))
    ds = open_source(SourceConfig(path="x", format="general", scenes=str(missing)))
    assert len(ds) == 0 and ds.skipped == {"image_missing": 1}
