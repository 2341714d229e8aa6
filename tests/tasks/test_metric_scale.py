"""Scenes without metric scale (Scene.metadata["metric_scale"] = false, e.g. ImageNet3D poses): only the
scale-free orientation tasks are asked, the others skip with "no_metric_scale", and references never rank
objects by distance or size."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.qa.references import reference_options
from spatialforge.scene.records import METRIC_SCALE_KEY, UNLOCATED_CATEGORIES_KEY, Scene
from spatialforge.scene.validate import scene_problems
from spatialforge.tasks.context import NO_METRIC_SCALE, ViewContext
from spatialforge.tasks.registry import TASKS
from tests.tasks.scenes import Obj, make_scene

SCALE_FREE = {"object_orientation", "object_viewpoint", "object_viewpoint_angle"}
METRIC_WORDS = ("nearest", "farthest", "largest", "smallest", "tallest", "shortest")


def _without_scale(scene: Scene) -> Scene:
    return dataclasses.replace(scene, metadata={**scene.metadata, METRIC_SCALE_KEY: False})


def test_only_orientation_tasks_are_scale_free() -> None:
    assert {name for name, spec in TASKS.items() if "metric_scale" not in spec.requires} == SCALE_FREE


def test_has_metric_scale_flag() -> None:
    (scene,) = random_box_scenes(1, seed=0)
    assert scene.has_metric_scale
    assert not _without_scale(scene).has_metric_scale
    assert dataclasses.replace(scene, metadata={METRIC_SCALE_KEY: True}).has_metric_scale


def test_generation_skips_metric_tasks_with_a_named_reason() -> None:
    scenes = [_without_scale(s) for s in random_box_scenes(6, seed=4)]
    tasks: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    for scene in scenes:
        result = generate_scene(scene, GenerateConfig(max_qa_per_scene=120))
        tasks.update(r["task"] for r in result.records)
        rejected.update(result.rejected)
        for r in result.records:
            assert not any(word in r["question"] for word in METRIC_WORDS), r["question"]
    assert set(tasks) == SCALE_FREE, tasks
    # Every metric task that got a quota is counted once per view as "<task>/no_metric_scale".
    skipped = {key.split("/")[0] for key in rejected if key.endswith(f"/{NO_METRIC_SCALE}")}
    assert skipped and skipped.isdisjoint(SCALE_FREE)
    assert all(rejected[f"{name}/{NO_METRIC_SCALE}"] <= len(scenes) for name in skipped)


def test_the_same_scene_with_metric_scale_asks_everything_it_can() -> None:
    scenes = list(random_box_scenes(6, seed=4))
    config = GenerateConfig(max_qa_per_scene=120)
    tasks = {r["task"] for s in scenes for r in generate_scene(s, config).records}
    assert len(tasks - SCALE_FREE) >= 15


@pytest.mark.parametrize("metric", [True, False])
def test_references_rank_by_size_and_distance_only_with_metric_scale(metric: bool) -> None:
    # Two chairs side by side (x = -1.5 and +1.5 m, both 5 m ahead); the right one larger and nearer:
    # metric scenes may call it "the largest/nearest/tallest chair", scale-free ones only "the rightmost".
    scene = make_scene(
        [
            Obj("0", "chair", (-1.5, 6.0, -0.85), (0.5, 0.5, 0.9)),
            Obj("1", "chair", (1.5, 4.0, -0.55), (1.0, 1.0, 1.5)),
        ]
    )
    if not metric:
        scene = _without_scale(scene)
    view = scene.views[0]
    texts = {r.text for r in reference_options(scene, view, scene.objects[1])}  # type: ignore[union-attr]
    assert "the rightmost chair" in texts
    metric_texts = {f"the {w} chair" for w in ("nearest", "largest", "tallest")}
    assert (metric_texts <= texts) if metric else texts.isdisjoint(metric_texts), texts
    assert ViewContext(scene, view).unmet_requirement(("boxes", "metric_scale")) == (
        None if metric else NO_METRIC_SCALE
    )


def test_unlocated_categories_get_markers_only() -> None:
    # One chair placed in 3D, another the source saw but could not place: "the chair" would be ambiguous.
    scene = make_scene([Obj("0", "chair", (0.0, 5.0, -0.85), (0.5, 0.5, 0.9))])
    assert [r.kind for r in reference_options(scene, scene.views[0], scene.objects[0])] == ["category"]
    scene = dataclasses.replace(scene, metadata={UNLOCATED_CATEGORIES_KEY: ["chair"]})
    options = reference_options(scene, scene.views[0], scene.objects[0])
    assert [r.kind for r in options] == ["marker"]  # type: ignore[union-attr]
    refusal = reference_options(scene, scene.views[0], scene.objects[0], allow_markers=False)
    assert refusal.reason == "unrankable_same_category"  # type: ignore[union-attr]
    assert scene_problems(dataclasses.replace(scene, metadata={UNLOCATED_CATEGORIES_KEY: "chair"}))[
        0
    ].field == (f"metadata.{UNLOCATED_CATEGORIES_KEY}")
