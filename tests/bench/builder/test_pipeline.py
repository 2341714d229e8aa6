"""`bench build` end to end on tiny synthetic scenes, for every preset: what the folder holds, that it is
reproducible and leakage-free, and that the reference answers score 1 through the evaluation runner."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.bench.builder.exclusions import ExclusionList
from spatialforge.bench.builder.items import BenchItem, iter_bench_items, read_manifest
from spatialforge.bench.builder.pipeline import BuildConfig, build_benchmark
from spatialforge.bench.builder.presets import PRESETS, get_preset
from spatialforge.bench.builder.split import SplitConfig
from spatialforge.bench.parsers import parse_view_change
from spatialforge.evaluate.models.base import ModelBackend, Reply, Request
from spatialforge.evaluate.run import EvalConfig, run_eval
from spatialforge.scene.io import read_scenes
from tests.bench.builder.conftest import BUILD_N_PER_TASK, build

PRESET_NAMES = sorted(PRESETS)


def items_of(folder: Path) -> list[BenchItem]:
    return list(iter_bench_items(folder))


def split_scenes_of(folder: Path, side: str) -> list:
    return list(read_scenes(folder / "work" / "split" / f"{side}.scenes.jsonl"))


class ReplyBackend(ModelBackend):
    """Answers every request with reply(item); counts what it was asked."""

    kind = "scripted"

    def __init__(self, reply) -> None:
        self.reply = reply
        self.asked: list[str] = []

    def answer(self, request: Request) -> Reply:
        self.asked.append(request.item_id)
        return Reply(self.reply(request.item))

    def describe(self) -> dict:
        return {"kind": self.kind}


def wrong_reply(item: BenchItem) -> str:
    """A reply each metric must score 0: another option, the other polarity, ten times the value, the
    opposite direction."""
    answer_type, value = item.scoring.answer_type, item.answer_value
    if answer_type == "choice":
        return next(label for label, _ in item.choices if label != value)
    if answer_type == "yes_no":
        return "no" if value else "yes"
    if answer_type == "number" and item.unit == "m":
        return f"{10 * value:.3f} meters"
    if answer_type == "number" and item.unit is None:  # a count
        return str(int(value) + 7)
    if answer_type == "angle":  # radians gold; the opposite direction, in degrees
        return f"{math.degrees(value) + 180.0:.1f} degrees"
    if answer_type == "vector":
        return "({:.3f}, {:.3f}, {:.3f})".format(*(-x for x in value))
    if answer_type == "view_change":  # every component ten times too large and of the opposite sign
        parsed = parse_view_change(str(value)).value
        keys = {"move_right": "move_left", "move_up": "move_down", "move_forward": "move_backward"}
        keys |= {"rotate_up": "rotate_down", "rotate_left": "rotate_right"}
        return ",".join(f"{keys[k]}:{10 * v + 100:.1f}" for k, v in parsed.items())
    raise AssertionError(f"no wrong reply written for {answer_type} / {item.unit}")


def decisions(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "score" / "items.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_items_reread_and_agree_with_manifest_and_datasheet(
    bench_builds: dict[str, Path], preset: str
) -> None:
    folder = bench_builds[preset]
    items = items_of(folder)
    assert items, "a build from 8 benchmark scenes must give items"
    manifest = read_manifest(folder)
    per_task = Counter(i.task for i in items)
    assert manifest["n_items"] == len(items)
    assert manifest["preset"] == preset and manifest["totals_rule"] == get_preset(preset).totals_rule
    for task in manifest["tasks"]:
        assert task["quota"] == BUILD_N_PER_TASK
        assert task["items"] == per_task.get(task["name"], 0)
        assert sum(task["answer_classes"].values()) == task["items"]
        assert task["candidates"] >= task["items"]
    assert manifest["shortfall"] == {
        t["name"]: BUILD_N_PER_TASK - t["items"] for t in manifest["tasks"] if t["items"] < BUILD_N_PER_TASK
    }
    # Every item's task, group and level come from the preset.
    entries = {t.name: t for t in get_preset(preset).tasks}
    for item in items:
        assert item.group == entries[item.task].group
        assert item.format in entries[item.task].formats
        assert item.id == f"{preset}/{item.task}/{item.qa_id}"
    sheet = json.loads((folder / "datasheet.json").read_text())
    assert sheet["benchmark"]["n_items"] == len(items)
    assert sheet["by_format"] == dict(Counter(i.format for i in items))
    assert sheet["by_level"] == dict(Counter(str(i.level) for i in items))
    assert sheet["marked_items"] == sum(bool(i.extra["marked"]) for i in items)
    assert sheet["captures"] == len({i.capture_id for i in items})
    assert sheet["scenes"] == len({i.scene_id for i in items})
    md = (folder / "datasheet.md").read_text()
    assert f"{len(items)} items from {sheet['scenes']} scenes in {sheet['captures']} captures" in md
    captures = json.loads((folder / "captures.json").read_text())["capture_ids"]
    assert captures == sorted({i.capture_id for i in items})


def test_build_is_byte_identical_for_the_same_inputs(
    bench_builds: dict[str, Path], synth_scenes: Path, tmp_path
):
    for preset in PRESET_NAMES:
        again = build(synth_scenes, tmp_path / preset, preset)
        first = bench_builds[preset]
        assert (again / "items.jsonl").read_bytes() == (first / "items.jsonl").read_bytes(), preset
        assert (again / "captures.json").read_bytes() == (first / "captures.json").read_bytes()
        assert sorted(p.name for p in (again / "images").iterdir()) == sorted(
            p.name for p in (first / "images").iterdir()
        )


def test_another_seed_changes_the_selection(bench_builds: dict[str, Path], synth_scenes: Path, tmp_path):
    other = build(synth_scenes, tmp_path / "seed1", "spatialvqa", seed=1)
    assert (other / "items.jsonl").read_bytes() != (bench_builds["spatialvqa"] / "items.jsonl").read_bytes()


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_no_benchmark_capture_in_the_train_split(bench_builds: dict[str, Path], preset: str) -> None:
    folder = bench_builds[preset]
    train = split_scenes_of(folder, "train")
    bench = split_scenes_of(folder, "benchmark")
    assert train and bench, "the fixture's fraction puts captures on both sides"
    train_captures = {s.capture_id for s in train}
    bench_captures = {s.capture_id for s in bench}
    assert not train_captures & bench_captures
    # Captures stay whole: both scenes of each capture are on its side.
    assert all(n == 2 for n in Counter(s.capture_id for s in bench).values())
    item_captures = {i.capture_id for i in items_of(folder)}
    assert item_captures <= bench_captures
    assert not item_captures & train_captures
    split = json.loads((folder / "work" / "split" / "split.json").read_text())
    assert set(split["benchmark_capture_ids"]) == bench_captures
    assert split["scenes"] == {"train": len(train), "benchmark": len(bench)}


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_images_exist_and_are_named_by_content_hash(bench_builds: dict[str, Path], preset: str) -> None:
    folder = bench_builds[preset]
    used = set()
    for item in items_of(folder):
        for rel in item.images:
            data = (folder / rel).read_bytes()
            assert Path(rel).stem == hashlib.sha256(data).hexdigest()[:20]
            used.add(Path(rel).name)
    # Each file once, and nothing left over (no .partial files).
    assert {p.name for p in (folder / "images").iterdir()} == used


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_marked_images_differ_from_the_originals(bench_builds: dict[str, Path], preset: str) -> None:
    folder = bench_builds[preset]
    scenes = {s.scene_id: s for s in split_scenes_of(folder, "benchmark")}
    marked = plain = 0
    for item in items_of(folder):
        scene = scenes[item.scene_id]
        marked_indices = set(item.extra.get("marked_images", ()))
        for index, (rel, source_rel) in enumerate(zip(item.images, item.extra["source_images"], strict=True)):
            source = scene.resolve(source_rel)
            if index in marked_indices:
                shown = np.asarray(Image.open(folder / rel).convert("RGB"))
                original = np.asarray(Image.open(source).convert("RGB"))
                assert shown.shape == original.shape
                assert not np.array_equal(shown, original), f"{item.id}: markers not drawn"
                marked += 1
            else:
                assert (folder / rel).read_bytes() == source.read_bytes()
                plain += 1
    if preset == "sparbench_single":  # SPAR's profile names every object by a drawn box
        assert marked and not plain
    elif preset == "sparbench":  # multi-view items also show images without a marker (view change, ...)
        assert marked and plain
    else:
        assert plain


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_reference_answers_score_one_and_wrong_replies_zero(
    bench_builds: dict[str, Path], preset: str, tmp_path: Path
) -> None:
    folder = bench_builds[preset]
    items = items_of(folder)
    for name, reply, expected in (("oracle", lambda i: i.answer, 1.0), ("wrong", wrong_reply, 0.0)):
        backend = ReplyBackend(reply)
        cfg = EvalConfig(
            benchmark=str(folder),
            model=name,
            output=str(tmp_path / name),
            progress=False,
            report=False,
            bootstrap=20,
        )
        report = run_eval(cfg, model=backend)
        assert sorted(backend.asked) == sorted(i.id for i in items)
        assert report.answered == len(items) and not report.failed
        scored = decisions(tmp_path / name)
        assert len(scored) == len(items)
        bad = [(d["id"], d["parse_status"], d["reason"]) for d in scored if d["score"] != expected]
        assert not bad, f"{name} replies not scored {expected}: {bad[:5]}"
        assert all(v == expected for v in report.tables["totals"].values())


def test_held_out_build_and_exclusions(synth_scenes: Path, tmp_path: Path) -> None:
    """--held-out takes every scene; an exclusion list keeps its captures out and is counted."""
    all_scenes = list(read_scenes(synth_scenes))
    excluded_capture = all_scenes[0].capture_id
    mine = ExclusionList("mine", capture_ids=frozenset({excluded_capture}))
    cfg = BuildConfig(
        scenes=str(synth_scenes), output=str(tmp_path / "b"), preset="spatialvqa", n_per_task=3, held_out=True
    )
    report = build_benchmark(cfg, [mine])
    bench = split_scenes_of(tmp_path / "b", "benchmark")
    assert len(bench) == len(all_scenes) - 2
    assert excluded_capture not in {s.capture_id for s in bench}
    assert excluded_capture not in {i.capture_id for i in items_of(tmp_path / "b")}
    manifest = read_manifest(tmp_path / "b")
    assert manifest["split"]["held_out"] is True
    assert manifest["split"]["excluded_scenes"] == {"mine/capture": 2}
    assert report.items == manifest["n_items"] == 12


def test_benchmark_splits_mode_builds_from_the_sources_evaluation_split(synth_scenes: Path, tmp_path: Path):
    # Every synthetic scene is of split "train": naming that split sends every capture to the benchmark.
    cfg = BuildConfig(
        scenes=str(synth_scenes),
        output=str(tmp_path / "b"),
        preset="spatialvqa",
        n_per_task=2,
        split=SplitConfig(benchmark_splits=("train",)),
    )
    report = build_benchmark(cfg, [])
    assert report.split["scenes"] == {"benchmark": 12}
    assert report.items == 8


def test_a_refused_rebuild_leaves_the_train_split_consistent(synth_scenes: Path, tmp_path: Path) -> None:
    """work/split/train.scenes.jsonl is what training data is generated from: a second build into the same
    folder with another split is refused, and must not leave a train split holding the items' captures."""
    out = build(synth_scenes, tmp_path / "b", "spatialvqa", split=SplitConfig(0.6))
    with pytest.raises(ValueError):
        build(synth_scenes, out, "spatialvqa", split=SplitConfig(0.45))
    train = {s.capture_id for s in split_scenes_of(out, "train")}
    assert not {i.capture_id for i in items_of(out)} & train
