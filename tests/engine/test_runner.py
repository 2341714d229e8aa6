"""Seeds, buckets and the sharded runner: determinism across workers, kill/resume, config refusal."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spatialforge.engine.runner import (
    ConfigMismatchError,
    SceneResult,
    iter_records,
    run_sharded,
)
from spatialforge.engine.seeds import bucket_of, rng_for, scene_seeds, seed_for
from spatialforge.scene.io import SceneWriter
from spatialforge.scene.records import Scene
from tests.scene.builders import tiny_scene

N_SCENES = 40
N_BUCKETS = 8


@dataclasses.dataclass(frozen=True)
class DummyConfig:
    global_seed: int = 3
    # While this file exists, processing `crash_scene` raises: a crash the resume does not see.
    crash_flag: str = ""
    crash_scene: str = ""


def dummy_process(scene: Scene, config: DummyConfig) -> SceneResult:
    """One record per front-facing object, a rejection per front-less one; a seeded draw per record."""
    if config.crash_flag and Path(config.crash_flag).exists() and scene.scene_id == config.crash_scene:
        raise RuntimeError(f"simulated crash on {scene.scene_id}")
    rng = rng_for(config.global_seed, scene.scene_id, "dummy")
    records = [
        {
            "scene_id": scene.scene_id,
            "task": "front",
            "level": 1 + i % 2,
            "object": o.object_id,
            "draw": rng.random(),
        }
        for i, o in enumerate(scene.objects)
        if o.has_front
    ]
    return SceneResult(records, Counter(no_front=sum(not o.has_front for o in scene.objects)))


@pytest.fixture(scope="module")
def scenes_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scenes")
    base = tiny_scene(root, write_image=False)
    path = root / "scenes.jsonl"
    with SceneWriter(path) as w:
        for i in range(N_SCENES):
            w.write(dataclasses.replace(base, scene_id=f"toy/train/{i:04d}"))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"no_id": 1}\n')  # a line the split cannot place: counted, not fatal
    return path


def _run(scenes: Path, out: Path, config: DummyConfig = DummyConfig(), workers: int = 1):
    return run_sharded(
        scenes,
        out,
        dummy_process,
        config=config,
        n_buckets=N_BUCKETS,
        workers=workers,
        count_keys=("task", "level"),
    )


# --- seeds and buckets ------------------------------------------------------------------------------


def test_bucket_of_pinned_values() -> None:
    # Pinned: changing these reshuffles every existing output dir (bump ENGINE_FORMAT if ever intended).
    ids = ["toy/train/0001", "scannet/scene0000_00", "kitti/000123", ""]
    assert [bucket_of(s, 16) for s in ids] == [10, 12, 3, 2]
    expected = int.from_bytes(
        hashlib.blake2b(b"kitti/000123", digest_size=8, person=b"sf.bucket.v1").digest(), "big"
    )
    assert bucket_of("kitti/000123", 1000) == expected % 1000


def test_seed_pinned_and_independent_of_each_key() -> None:
    assert seed_for(0, "toy/train/0001", "count") == 14088157386651301152
    assert seed_for(7, "toy/train/0001", "count") == 11475456944771916058
    assert (
        len({seed_for(0, "a", "b"), seed_for(1, "a", "b"), seed_for(0, "b", "b"), seed_for(0, "a", "a")}) == 4
    )
    # No concatenation ambiguity between scene_id and task.
    assert seed_for(0, "ab", "c") != seed_for(0, "a", "bc")
    assert rng_for(0, "a", "b").random() == rng_for(0, "a", "b").random()


@given(st.integers(0, 2**40), st.text(max_size=20), st.lists(st.text(max_size=12), max_size=5))
def test_scene_seeds_hash_the_json_of_each_key(global_seed: int, scene_id: str, keys: list[str]) -> None:
    """The shared prefix is an optimisation only: each seed is the hash of json.dumps([seed, scene, key])."""

    def expected(key: str) -> int:
        payload = json.dumps([global_seed, scene_id, key]).encode("utf-8")
        return int.from_bytes(hashlib.blake2b(payload, digest_size=8, person=b"sf.seed.v1").digest(), "big")

    assert scene_seeds(global_seed, scene_id, keys) == [expected(k) for k in keys]
    assert [seed_for(global_seed, scene_id, k) for k in keys] == [expected(k) for k in keys]


@given(st.text(max_size=30), st.integers(1, 500))
def test_bucket_in_range(scene_id: str, n: int) -> None:
    assert 0 <= bucket_of(scene_id, n) < n


def test_bucket_rejects_zero() -> None:
    with pytest.raises(ValueError):
        bucket_of("x", 0)


# --- runner -----------------------------------------------------------------------------------------


def test_run_writes_records_report_and_config(scenes_path: Path, tmp_path: Path) -> None:
    report = _run(scenes_path, tmp_path / "out")
    records = [json.loads(line) for line in (tmp_path / "out" / "data.jsonl").read_text().splitlines()]
    assert len(records) == N_SCENES == report.records  # tiny_scene: one car (front), one ball (no front)
    assert {r["scene_id"] for r in records} == {f"toy/train/{i:04d}" for i in range(N_SCENES)}
    assert records == list(iter_records(tmp_path / "out"))
    # Bucket order, then input order within a bucket.
    keys = [(bucket_of(r["scene_id"], N_BUCKETS), r["scene_id"]) for r in records]
    assert keys == sorted(keys)
    assert report.scenes == N_SCENES
    assert report.counts == {"task": {"front": N_SCENES}, "level": {"1": N_SCENES}}
    assert report.rejected == {"no_front": N_SCENES, "scene_line_without_id": 1}
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["counts"] == report.counts and saved["rejected"] == report.rejected
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["process_scene"] == "tests.engine.test_runner:dummy_process"
    assert config["params"] == dataclasses.asdict(DummyConfig())


def test_one_vs_two_workers_byte_identical(scenes_path: Path, tmp_path: Path) -> None:
    _run(scenes_path, tmp_path / "w1", workers=1)
    _run(scenes_path, tmp_path / "w2", workers=2)
    assert (tmp_path / "w1" / "data.jsonl").read_bytes() == (tmp_path / "w2" / "data.jsonl").read_bytes()


def test_crash_then_resume_equals_uninterrupted(scenes_path: Path, tmp_path: Path) -> None:
    flag = tmp_path / "crash.flag"
    flag.touch()
    config = DummyConfig(crash_flag=str(flag), crash_scene="toy/train/0017")
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(scenes_path, tmp_path / "crashed", config)
    assert not (tmp_path / "crashed" / "data.jsonl").exists()
    crashed_bucket = bucket_of("toy/train/0017", N_BUCKETS)
    assert (tmp_path / "crashed" / "buckets" / f"bucket-{crashed_bucket:05d}.jsonl.partial").exists()
    flag.unlink()
    report = _run(scenes_path, tmp_path / "crashed", config)
    assert report.buckets_resumed == crashed_bucket  # buckets before the crash were kept, not redone
    _run(scenes_path, tmp_path / "clean", config)
    assert (tmp_path / "crashed" / "data.jsonl").read_bytes() == (
        tmp_path / "clean" / "data.jsonl"
    ).read_bytes()
    assert report.counts == json.loads((tmp_path / "clean" / "report.json").read_text())["counts"]


def test_lost_marker_bucket_is_redone(scenes_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(scenes_path, out)
    before = (out / "data.jsonl").read_bytes()
    bucket = out / "buckets" / "bucket-00003.jsonl"
    (out / "buckets" / "bucket-00003.done.json").unlink()
    bucket.write_text('{"half": ')  # a stale, torn file without a marker must not survive
    report = _run(scenes_path, out)
    assert report.buckets_resumed == N_BUCKETS - 1
    assert (out / "data.jsonl").read_bytes() == before


def test_resume_with_other_config_refused(scenes_path: Path, tmp_path: Path) -> None:
    _run(scenes_path, tmp_path / "out")
    with pytest.raises(ConfigMismatchError, match="params"):
        _run(scenes_path, tmp_path / "out", DummyConfig(global_seed=4))
    with pytest.raises(ConfigMismatchError, match="n_buckets"):
        run_sharded(
            scenes_path,
            tmp_path / "out",
            dummy_process,
            config=DummyConfig(),
            n_buckets=4,
            count_keys=("task", "level"),
        )


def test_dotted_path_accepted_and_local_function_refused(scenes_path: Path, tmp_path: Path) -> None:
    by_path = run_sharded(
        scenes_path,
        tmp_path / "a",
        "tests.engine.test_runner:dummy_process",
        config=DummyConfig(),
        n_buckets=N_BUCKETS,
    )
    assert by_path.records == N_SCENES

    def local(scene: Scene, config: DummyConfig) -> SceneResult:
        return SceneResult()

    with pytest.raises(ValueError, match="top-level"):
        run_sharded(scenes_path, tmp_path / "b", local, n_buckets=N_BUCKETS)
