"""`spatialforge generate`: every task and format, determinism, kill/resume, balance, caps, report, CLI."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.demo.run import DEMO_SOURCES, fixtures_root
from spatialforge.engine.generate import (
    COUNT_KEYS,
    GenerateConfig,
    generate_scene,
    run_generate,
)
from spatialforge.engine.runner import ConfigMismatchError, SceneResult, run_sharded
from spatialforge.engine.seeds import bucket_of
from spatialforge.jsonl import encode_line
from spatialforge.qa.records import qa_from_dict, qa_to_dict
from spatialforge.scene.io import read_scenes, write_scenes
from spatialforge.scene.records import Scene
from spatialforge.sources.ingest import ingest
from spatialforge.tasks.banks import DERIVED_FORMATS, bank_of
from spatialforge.tasks.registry import TASKS
from tests.tasks.multiview_scenes import synthetic_trajectories, walkthroughs

N_SCENES = 40
N_BUCKETS = 8
REASON_RE = re.compile(r"^[a-z0-9_]+$")


@pytest.fixture(scope="module")
def box_scenes() -> list[Scene]:
    return list(random_box_scenes(N_SCENES, seed=0))


@pytest.fixture(scope="module")
def scenes_path(box_scenes: list[Scene], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenes") / "scenes.jsonl"
    write_scenes(path, box_scenes)
    return path


@pytest.fixture(scope="module")
def multiview_scenes(tmp_path_factory: pytest.TempPathFactory) -> list[Scene]:
    root = tmp_path_factory.mktemp("multiview")
    return synthetic_trajectories(root, count=16) + walkthroughs(root, count=40)


@pytest.fixture(scope="module")
def fixture_scenes(tmp_path_factory: pytest.TempPathFactory) -> list[Scene]:
    """The demo's fixture datasets ingested as spatialforge/demo/run.py does (KITTI, SUN RGB-D, Omni3D)."""
    root = tmp_path_factory.mktemp("demo")
    scenes: list[Scene] = []
    for src in DEMO_SOURCES:
        copy = root / src.fixture
        if not copy.exists():
            shutil.copytree(fixtures_root() / src.fixture, copy)
        out = root / f"{src.name.replace('/', '_')}.jsonl"
        ingest(src.format, copy / src.input, out, skip_invalid=True, check_files=True)
        scenes += list(read_scenes(out))
    assert len(scenes) == 9 and any(s.gravity is None for s in scenes)
    return scenes


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _question_id(template_id: str) -> str:
    """ "<task>/<format>/<question id>[+<answer id>]@<version>" -> "<question id>"."""
    return template_id.split("/")[2].split("@")[0].split("+")[0]


# ---------------------------------------------------------------- (a) registry sweep


@pytest.mark.parametrize("name", list(TASKS))
def test_registry_sweep_every_task_every_format(
    name: str, box_scenes: list[Scene], fixture_scenes: list[Scene], multiview_scenes: list[Scene]
) -> None:
    spec = TASKS[name]
    bank = bank_of(spec)
    # The default mix (free, mcq, tf), then SPAR's fill and sentence alike (the default mix has neither).
    configs = [
        GenerateConfig(tasks=(name,), max_qa_per_scene=40),
        GenerateConfig(tasks=(name,), max_qa_per_scene=40, format_weights=(("fill", 1.0), ("sentence", 1.0))),
    ]
    questions: dict[str, set[str]] = defaultdict(set)
    for config, scene in itertools.product(configs, fixture_scenes + box_scenes[:10] + multiview_scenes):
        result = generate_scene(scene, config)
        assert len(result.records) <= 40
        for record in result.records:
            assert qa_to_dict(qa_from_dict(record)) == record
            assert record["task"] == name and record["level"] == spec.level
            assert record["format"] in spec.formats
            qid = _question_id(record["template_id"])
            own_format = DERIVED_FORMATS.get(record["format"], record["format"])
            assert qid in {t.id for t in bank.questions[own_format]}
            questions[record["format"]].add(qid)
        for key in result.rejected:
            task, _, reason = key.partition("/")
            assert task == name and REASON_RE.match(reason), key
    assert set(questions) == set(spec.formats)
    for fmt, ids in questions.items():
        assert len(ids) >= 5, (name, fmt, sorted(ids))


def test_all_tasks_together_on_the_fixtures(fixture_scenes: list[Scene]) -> None:
    config = GenerateConfig(max_qa_per_scene=200)
    seen: Counter[str] = Counter()
    for scene in fixture_scenes:
        for record in generate_scene(scene, config).records:
            assert qa_to_dict(qa_from_dict(record)) == record
            assert record["scene_id"] == scene.scene_id and record["source"] == scene.source
            seen[record["task"]] += 1
    # No fixture dataset declares depth: tasks that require it are skipped there ("<task>/no_depth") and
    # are checked on the box scenes (ray-cast depth) by the registry sweep instead. The fixtures are single
    # images: the multi-view tasks leave their mix (checked on synthetic trajectories by the sweep).
    assert set(seen) == {
        name for name, spec in TASKS.items() if not {"depth", "multi_view"} & set(spec.requires)
    }


# ---------------------------------------------------------------- (b) determinism


def _expected_data(box_scenes: list[Scene], config: GenerateConfig, n_buckets: int) -> bytes:
    """data.jsonl as it must be: per bucket in order, the bucket's scenes in input order, each scene's
    records as generate_scene returns them."""
    lines = []
    for b in range(n_buckets):
        for scene in box_scenes:
            if bucket_of(scene.scene_id, n_buckets) == b:
                lines += [encode_line(r) + "\n" for r in generate_scene(scene, config).records]
    return "".join(lines).encode("utf-8")


def test_one_vs_two_workers_byte_identical(
    box_scenes: list[Scene], scenes_path: Path, tmp_path: Path
) -> None:
    config = GenerateConfig(seed=3)
    one = run_generate(scenes_path, tmp_path / "w1", config, workers=1, n_buckets=N_BUCKETS)
    two = run_generate(scenes_path, tmp_path / "w2", config, workers=2, n_buckets=N_BUCKETS)
    data = (tmp_path / "w1" / "data.jsonl").read_bytes()
    assert data == (tmp_path / "w2" / "data.jsonl").read_bytes()
    assert data == _expected_data(box_scenes, config, N_BUCKETS)
    assert one.records == two.records > N_SCENES and one.counts == two.counts and one.tallies == two.tallies
    assert one.rejected == two.rejected


def test_seed_changes_the_data_and_scenes_are_independent(box_scenes: list[Scene]) -> None:
    a, b = GenerateConfig(seed=0), GenerateConfig(seed=1)
    scene = box_scenes[4]
    assert generate_scene(scene, a).records == generate_scene(scene, a).records
    assert generate_scene(scene, a).records != generate_scene(scene, b).records
    # A scene's records depend on its own id and content only, not on which scenes came before.
    for other in box_scenes[:3]:
        generate_scene(other, a)
    assert generate_scene(scene, a) == generate_scene(scene, a)


# ---------------------------------------------------------------- (c) kill / resume


@dataclasses.dataclass(frozen=True)
class CrashConfig:
    generate: GenerateConfig
    # While this file exists, processing `crash_scene` raises: a crash in the middle of a bucket.
    crash_flag: str = ""
    crash_scene: str = ""


def crashing_generate(scene: Scene, config: CrashConfig) -> SceneResult:
    if config.crash_flag and Path(config.crash_flag).exists() and scene.scene_id == config.crash_scene:
        raise RuntimeError(f"simulated crash on {scene.scene_id}")
    return generate_scene(scene, config.generate)


def test_crash_then_resume_equals_uninterrupted(
    box_scenes: list[Scene], scenes_path: Path, tmp_path: Path
) -> None:
    gen = GenerateConfig(seed=5)
    # A scene of a middle bucket that holds several scenes: earlier buckets finish, this one is torn.
    crash = next(
        s.scene_id
        for s in box_scenes[10:]
        if 2 <= bucket_of(s.scene_id, N_BUCKETS) <= 5
        and sum(bucket_of(t.scene_id, N_BUCKETS) == bucket_of(s.scene_id, N_BUCKETS) for t in box_scenes) >= 3
    )
    flag = tmp_path / "crash.flag"
    flag.touch()
    config = CrashConfig(gen, str(flag), crash)
    kwargs: dict[str, Any] = {"config": config, "n_buckets": N_BUCKETS, "count_keys": COUNT_KEYS}
    out = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_sharded(scenes_path, out, crashing_generate, **kwargs)
    assert not (out / "data.jsonl").exists()
    crashed_bucket = bucket_of(crash, N_BUCKETS)
    assert (out / "buckets" / f"bucket-{crashed_bucket:05d}.jsonl.partial").exists()
    flag.unlink()
    report = run_sharded(scenes_path, out, crashing_generate, **kwargs)
    assert report.buckets_resumed == crashed_bucket
    clean = run_generate(scenes_path, tmp_path / "clean", gen, n_buckets=N_BUCKETS)
    data = (out / "data.jsonl").read_bytes()
    assert data == (tmp_path / "clean" / "data.jsonl").read_bytes()
    assert (
        report.counts == clean.counts
        and report.tallies == clean.tallies
        and report.rejected == clean.rejected
    )
    ids = [r["id"] for r in _lines(out / "data.jsonl")]
    assert len(ids) == len(set(ids)) == clean.records


def test_lost_markers_and_torn_files_are_redone(scenes_path: Path, tmp_path: Path) -> None:
    config = GenerateConfig(seed=2)
    out = tmp_path / "out"
    first = run_generate(scenes_path, out, config, n_buckets=N_BUCKETS)
    before = (out / "data.jsonl").read_bytes()
    buckets = out / "buckets"
    (buckets / "bucket-00001.done.json").unlink()
    (buckets / "bucket-00001.jsonl").write_text('{"torn": ', encoding="utf-8")
    (buckets / "bucket-00006.done.json").unlink()
    (buckets / "bucket-00006.jsonl").unlink()
    (buckets / "bucket-00006.jsonl.partial").write_text("stale\n", encoding="utf-8")
    (out / "data.jsonl").unlink()
    report = run_generate(scenes_path, out, config, n_buckets=N_BUCKETS)
    assert report.buckets_resumed == N_BUCKETS - 2
    assert (out / "data.jsonl").read_bytes() == before
    assert report.counts == first.counts and report.records == first.records
    ids = [r["id"] for r in _lines(out / "data.jsonl")]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------- (d) tf balance, (e) per-scene cap


def test_tf_exactly_balanced_per_scene_task_and_variant(
    box_scenes: list[Scene], fixture_scenes: list[Scene]
) -> None:
    config = GenerateConfig(seed=1, max_qa_per_scene=60)
    total_tf = 0
    for scene in box_scenes + fixture_scenes:
        result = generate_scene(scene, config)
        records = result.records
        tf = [r for r in records if r["format"] == "tf"]
        total_tf += len(tf)
        # Pairs are adjacent in a drawn order: one True and one False, one template, one set of objects.
        i = 0
        while i < len(records):
            r = records[i]
            if r["format"] != "tf":
                i += 1
                continue
            mate = records[i + 1]
            assert mate["format"] == "tf" and {r["answer_value"], mate["answer_value"]} == {True, False}
            assert (mate["template_id"], mate["objects"]) == (r["template_id"], r["objects"])
            i += 2
        by_task = Counter((r["task"], r["answer_value"]) for r in tf)
        for task in {t for t, _ in by_task}:
            assert by_task[(task, True)] == by_task[(task, False)], (scene.scene_id, task)
        # Per (task, variant) from the scene's own tallies, which must agree with the records.
        tally = result.tallies.get("tf_answer", {})
        assert sum(tally.values()) == len(tf)
        for key, n in tally.items():
            task, variant, answer = key.split("/")
            assert task in TASKS and answer in ("True", "False")
            assert tally.get(f"{task}/{variant}/{'False' if answer == 'True' else 'True'}") == n, (
                scene.scene_id,
                key,
            )
    assert total_tf > 100


@pytest.mark.parametrize("cap", [1, 2, 5, 48])
def test_per_scene_cap_respected(cap: int, box_scenes: list[Scene]) -> None:
    config = GenerateConfig(max_qa_per_scene=cap)
    total = 0
    for scene in box_scenes[:20]:
        result = generate_scene(scene, config)
        n = len(result.records)
        total += n
        assert n <= cap
        if cap == 1:
            assert all(r["format"] != "tf" for r in result.records)  # a tf pair needs two slots
        quota = result.tallies["quota"]
        asked = {k.split("/")[0]: v for k, v in quota.items() if k.endswith("/asked")}
        produced = {k.split("/")[0]: v for k, v in quota.items() if k.endswith("/produced")}
        assert sum(asked.values()) == cap and set(produced) == set(asked)
        per_task = Counter(r["task"] for r in result.records)
        for task, p in produced.items():
            assert p == per_task[task] <= asked[task]
    assert total >= 10 * min(cap, 10)  # the cap is a ceiling, not what a scene usually gets stuck at


# ---------------------------------------------------------------- (f) report and config


def test_report_and_config(scenes_path: Path, tmp_path: Path) -> None:
    config = GenerateConfig(seed=4, max_qa_per_scene=20)
    out = tmp_path / "out"
    report = run_generate(scenes_path, out, config, n_buckets=4)
    records = _lines(out / "data.jsonl")
    saved = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert saved["records"] == report.records == len(records) and saved["scenes"] == N_SCENES
    assert set(saved["counts"]) == {"task", "level", "format", "source", "license"}
    assert saved["counts"]["task"] == dict(Counter(r["task"] for r in records))
    assert saved["counts"]["level"] == dict(Counter(str(r["level"]) for r in records))
    assert saved["counts"]["format"] == dict(Counter(r["format"] for r in records))
    assert sum(saved["counts"]["format"].values()) == len(records)
    assert saved["rejected"]
    for key in saved["rejected"]:
        task, sep, reason = key.partition("/")
        assert sep and task in TASKS and REASON_RE.match(reason), key
    tallies = saved["tallies"]
    assert {"task_format", "mcq_answer_letter", "tf_answer", "quota"} <= set(tallies)
    assert tallies["task_format"] == dict(Counter(f"{r['task']}/{r['format']}" for r in records))
    mcq = [r for r in records if r["format"] == "mcq"]
    assert tallies["mcq_answer_letter"] == dict(Counter(f"{r['task']}/{r['answer_value']}" for r in mcq))
    tf = [r for r in records if r["format"] == "tf"]
    tf_true = sum(v for k, v in tallies["tf_answer"].items() if k.endswith("/True"))
    assert tf_true == sum(r["answer_value"] is True for r in tf) == len(tf) // 2
    asked = sum(v for k, v in tallies["quota"].items() if k.endswith("/asked"))
    assert asked == N_SCENES * 20
    produced = {
        k.removesuffix("/produced"): v for k, v in tallies["quota"].items() if k.endswith("/produced")
    }
    assert {k: v for k, v in produced.items() if v} == saved["counts"]["task"]
    saved_config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert saved_config["process_scene"] == "spatialforge.engine.generate:generate_scene"
    assert saved_config["n_buckets"] == 4 and saved_config["count_keys"] == list(COUNT_KEYS)
    assert saved_config["params"] == json.loads(json.dumps(dataclasses.asdict(config)))
    assert saved_config["params"]["seed"] == 4 and saved_config["params"]["max_qa_per_scene"] == 20
    # The same config resumes (nothing to redo); another one is refused.
    again = run_generate(scenes_path, out, config, n_buckets=4)
    assert again.buckets_resumed == 4 and again.records == report.records
    with pytest.raises(ConfigMismatchError, match="params"):
        run_generate(scenes_path, out, GenerateConfig(seed=5, max_qa_per_scene=20), n_buckets=4)
    with pytest.raises(ConfigMismatchError, match="params"):
        run_generate(scenes_path, out, dataclasses.replace(config, formats=("free",)), n_buckets=4)
    with pytest.raises(ConfigMismatchError, match="n_buckets"):
        run_generate(scenes_path, out, config, n_buckets=8)


# ---------------------------------------------------------------- (g) filters


def test_task_and_format_filters(box_scenes: list[Scene]) -> None:
    config = GenerateConfig(
        tasks=("object_size", "relative_direction"), formats=("mcq", "tf"), max_qa_per_scene=30
    )
    seen = Counter()
    for scene in box_scenes[:10]:
        for r in generate_scene(scene, config).records:
            seen[(r["task"], r["format"])] += 1
    assert set(seen) == {(t, f) for t in ("object_size", "relative_direction") for f in ("mcq", "tf")}
    free_only = GenerateConfig(formats=("free",), max_qa_per_scene=60)
    formats = {r["format"] for s in box_scenes[:5] for r in generate_scene(s, free_only).records}
    assert formats == {"free"}


def test_filters_that_leave_nothing_or_name_nothing(scenes_path: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyError, match=rf"unknown task 'nope'; registered: {next(iter(TASKS))}, "):
        GenerateConfig(tasks=("object_size", "nope"))
    with pytest.raises(ValueError, match="formats must be a non-empty subset"):
        GenerateConfig(formats=("essay",))
    with pytest.raises(ValueError, match="formats must be a non-empty subset"):
        GenerateConfig(formats=())
    with pytest.raises(ValueError, match="max_qa_per_scene"):
        GenerateConfig(max_qa_per_scene=0)
    with pytest.raises(ValueError, match="weights must be finite numbers >= 0"):
        GenerateConfig(format_weights=(("free", -1.0), ("mcq", 1.0)))
    # object_location is free-form only: asking it for mcq leaves nothing to generate, before any work.
    with pytest.raises(ValueError, match="no task can render any of the formats"):
        run_generate(
            scenes_path, tmp_path / "none", GenerateConfig(tasks=("object_location",), formats=("mcq",))
        )
    assert not (tmp_path / "none").exists()


def test_zero_weight_task_is_left_out(box_scenes: list[Scene]) -> None:
    config = GenerateConfig(
        tasks=("object_depth", "object_size"), task_weights=(("object_depth", 0.0),), max_qa_per_scene=20
    )
    tasks = {r["task"] for s in box_scenes[:5] for r in generate_scene(s, config).records}
    assert tasks == {"object_size"}


# ---------------------------------------------------------------- (h) CLI


cli = CliRunner()


def _cli(*args: Any):
    return cli.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_cli_generate(box_scenes: list[Scene], tmp_path: Path) -> None:
    scenes = tmp_path / "scenes.jsonl"
    write_scenes(scenes, box_scenes[:6])
    out = tmp_path / "qa"
    args = ["generate", "--scenes", scenes, "--output", out, "--tasks", "object_size,relative_direction"]
    args += [
        "--formats",
        "free",
        "--formats",
        "tf",
        "--buckets",
        "4",
        "--max-qa-per-scene",
        "10",
        "--seed",
        "9",
    ]
    result = _cli(*args)
    assert result.exit_code == 0, result.output
    records = _lines(out / "data.jsonl")
    assert 6 < len(records) <= 60
    assert {r["task"] for r in records} == {"object_size", "relative_direction"}
    assert {r["format"] for r in records} == {"free", "tf"}
    assert f"{len(records)} QA from 6 scenes" in result.output
    params = json.loads((out / "config.json").read_text())["params"]
    assert params["tasks"] == ["object_size", "relative_direction"] and params["formats"] == ["free", "tf"]
    assert params["seed"] == 9 and params["max_qa_per_scene"] == 10
    # Same command again: resumed, same data; another seed into the same folder: refused with exit 2.
    before = (out / "data.jsonl").read_bytes()
    again = _cli(*args)
    assert again.exit_code == 0 and "4 of 4 buckets resumed" in again.output
    assert (out / "data.jsonl").read_bytes() == before
    other = _cli(*args[:-1], "10")
    assert other.exit_code == 2 and "different config" in other.output


def test_cli_generate_bad_task_or_format(box_scenes: list[Scene], tmp_path: Path) -> None:
    scenes = tmp_path / "scenes.jsonl"
    write_scenes(scenes, box_scenes[:2])
    result = _cli("generate", "--scenes", scenes, "--output", tmp_path / "a", "--tasks", "object_size,nope")
    assert result.exit_code == 2
    assert "unknown task 'nope'" in result.output and "registered:" in result.output
    assert not (tmp_path / "a" / "data.jsonl").exists()
    result = _cli("generate", "--scenes", scenes, "--output", tmp_path / "b", "--formats", "essay")
    assert result.exit_code == 2 and "formats must be a non-empty subset" in result.output
    result = _cli("generate", "--scenes", tmp_path / "missing.jsonl", "--output", tmp_path / "c")
    assert result.exit_code == 2 and "missing.jsonl" in result.output


def test_cli_tasks_lists_the_registry() -> None:
    result = _cli("tasks")
    assert result.exit_code == 0
    for name in TASKS:
        assert name in result.output


def test_tf_pair_order_is_drawn_not_fixed(box_scenes: list[Scene]) -> None:
    # A file read in order must not give the answer away: the True item leads about half the pairs.
    config = GenerateConfig(seed=3, max_qa_per_scene=60, formats=("tf",))
    first = [generate_scene(s, config).records[0::2] for s in box_scenes]
    leads = Counter(r["answer_value"] for recs in first for r in recs)
    assert leads[True] > 0.3 * sum(leads.values()) and leads[False] > 0.3 * sum(leads.values())


def test_cli_weight_overrides_a_tasks_share(box_scenes: list[Scene], tmp_path: Path) -> None:
    scenes = tmp_path / "scenes.jsonl"
    write_scenes(scenes, box_scenes[:6])
    out = tmp_path / "qa"
    # relative_distance's weight set to 0: it disappears from the mix; the config records the override.
    result = _cli(
        "generate", "--scenes", scenes, "--output", out, "--buckets", "2", "--weight", "relative_distance=0"
    )
    assert result.exit_code == 0, result.output
    assert "relative_distance" not in {r["task"] for r in _lines(out / "data.jsonl")}
    params = json.loads((out / "config.json").read_text())["params"]
    assert params["task_weights"] == [["relative_distance", 0.0]]
    for bad in ("relative_distance", "relative_distance=x", "nope=2", "object_size=-1", "object_size=inf"):
        result = _cli("generate", "--scenes", scenes, "--output", tmp_path / "bad", "--weight", bad)
        assert result.exit_code == 2, (bad, result.output)


# ---------------------------------------------------------------- bad input: counted, never asked


def _with_box(scene: Scene, index: int, center: Any = None, size: Any = None) -> Scene:
    from spatialforge.geometry.boxes import OrientedBox3D

    obj = scene.objects[index]
    box = OrientedBox3D(
        obj.box.center if center is None else center, obj.box.rotation, obj.box.size if size is None else size
    )
    objects = list(scene.objects)
    objects[index] = dataclasses.replace(obj, box=box)
    return dataclasses.replace(scene, objects=tuple(objects))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # numpy on the inf centre
@pytest.mark.parametrize(
    "center, size",
    [([float("nan"), 3.0, -0.8], None), (None, [0.5, 0.0, 0.9]), ([0.0, float("inf"), -0.8], None)],
)
def test_degenerate_box_is_counted_and_never_asked(box_scenes: list[Scene], center: Any, size: Any) -> None:
    scene = _with_box(box_scenes[0], 2, center, size)
    bad_id = scene.objects[2].object_id
    result = generate_scene(scene, GenerateConfig(max_qa_per_scene=200))
    assert result.rejected["scene/degenerate_box"] == 1
    assert result.records, "the other objects are still asked about"
    for r in result.records:
        assert bad_id not in [o["object_id"] for o in r["objects"]]
        qa_from_dict(json.loads(encode_line(r)))  # finite everywhere: the strict encoder would raise on NaN


def test_unreadable_scene_lines_are_counted_not_fatal(box_scenes: list[Scene], tmp_path: Path) -> None:
    scenes = tmp_path / "scenes.jsonl"
    write_scenes(scenes, box_scenes[:3])
    lines = scenes.read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["views"]  # a scene record without its views: the strict codec names the field
    scenes.write_text("\n".join([lines[0], json.dumps(broken), "{not json", lines[2]]) + "\n")
    report = run_generate(scenes, tmp_path / "qa", GenerateConfig(), n_buckets=2)
    assert report.scenes == 2
    assert report.rejected.get("scene_line_without_id") == 1
    assert sum(v for k, v in report.rejected.items() if k.startswith("scene_missing")) == 1, report.rejected


def test_a_scene_without_objects_gives_no_records_and_no_error() -> None:
    # Without depth: with it, an empty room still has a floor for the pixel (level 0) tasks to ask about.
    # Those tasks are then skipped for the view, counted as "<task>/no_depth": the only rejections.
    scene = dataclasses.replace(next(iter(random_box_scenes(1, seed=0, depth=False))), objects=())
    result = generate_scene(scene, GenerateConfig())
    assert result.records == [] and {key.partition("/")[2] for key in result.rejected} <= {"no_depth"}
