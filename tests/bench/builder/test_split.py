"""Train / benchmark split by capture: never by image, stable, and leaving excluded scenes out."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spatialforge.bench.builder.exclusions import BUILTIN_EXCLUSIONS, ExclusionList
from spatialforge.bench.builder.split import (
    BENCHMARK,
    TRAIN,
    SplitConfig,
    capture_unit,
    side_by_fraction,
    split_scenes,
)
from spatialforge.errors import RecordError
from spatialforge.scene.io import read_scenes
from tests.bench.builder.conftest import hand_scene, write_hand_scenes


def sides(out: Path) -> dict[str, str]:
    """scene id -> side, from the two files a split writes; a scene on both sides fails."""
    where: dict[str, str] = {}
    for side in (TRAIN, BENCHMARK):
        for scene in read_scenes(out / f"{side}.scenes.jsonl"):
            assert scene.scene_id not in where, f"{scene.scene_id} written twice"
            where[scene.scene_id] = side
    return where


def capture_sides(out: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for side in (TRAIN, BENCHMARK):
        for scene in read_scenes(out / f"{side}.scenes.jsonl"):
            found.setdefault(scene.capture_id, set()).add(side)
    return found


# (scene number, capture number) pairs: several scenes per capture, captures shared across the file.
scene_lists = st.lists(st.integers(0, 7), min_size=1, max_size=24).map(
    lambda caps: [(f"s{i}", f"cap{c}") for i, c in enumerate(caps)]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pairs=scene_lists,
    fraction=st.floats(0.0, 1.0),
    salt=st.text(min_size=1, max_size=8),
    order_seed=st.integers(0, 2**16),
)
def test_no_capture_crosses_and_order_does_not_matter(tmp_path_factory, pairs, fraction, salt, order_seed):
    root = tmp_path_factory.mktemp("split")
    config = SplitConfig(fraction, salt)
    scenes = [hand_scene(s, c) for s, c in pairs]
    report = split_scenes(write_hand_scenes(root / "in.jsonl", scenes), root / "a", config)
    where = sides(root / "a")
    assert set(where) == {s for s, _ in pairs}  # every scene on exactly one side
    for capture, found in capture_sides(root / "a").items():
        assert found == {side_by_fraction(capture, fraction, salt)}, capture
    assert not report.captures[TRAIN] & report.captures[BENCHMARK]
    assert sum(report.scenes.values()) == len(pairs)
    # The same scenes in another order land on the same sides, and the files keep the input order.
    shuffled = scenes[:]
    random.Random(order_seed).shuffle(shuffled)
    split_scenes(write_hand_scenes(root / "shuffled.jsonl", shuffled), root / "b", config)
    assert sides(root / "b") == where
    order = [s.scene_id for s in shuffled]
    for side in (TRAIN, BENCHMARK):
        written = [s.scene_id for s in read_scenes(root / "b" / f"{side}.scenes.jsonl")]
        assert written == [s for s in order if where[s] == side]


def test_adding_scenes_never_moves_an_existing_capture(tmp_path: Path) -> None:
    config = SplitConfig(0.3)
    old = [hand_scene(f"old{i}", f"cap{i % 15}") for i in range(40)]
    new = [hand_scene(f"new{i}", f"cap{i % 25}") for i in range(60)]  # more scenes of old and new captures
    split_scenes(write_hand_scenes(tmp_path / "old.jsonl", old), tmp_path / "a", config)
    split_scenes(write_hand_scenes(tmp_path / "all.jsonl", new + old), tmp_path / "b", config)
    before, after = sides(tmp_path / "a"), sides(tmp_path / "b")
    assert all(after[s] == side for s, side in before.items())
    found = capture_sides(tmp_path / "b")
    assert all(len(v) == 1 for v in found.values())


def test_capture_unit_is_a_fixed_number_in_the_unit_interval() -> None:
    # Pinned: a change would move captures between train and benchmark across versions.
    assert capture_unit("scannet/scene0011") == capture_unit("scannet/scene0011")
    assert capture_unit("a") != capture_unit("a", salt="other")
    values = [capture_unit(f"capture-{i}") for i in range(2000)]
    assert all(0.0 <= v < 1.0 for v in values)


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.5, 0.9])
def test_fraction_is_honoured_over_many_captures(fraction: float) -> None:
    n = 20000
    share = sum(side_by_fraction(f"kitti/drive_{i:05d}", fraction) == BENCHMARK for i in range(n)) / n
    # Binomial sd at n = 20000 is at most 0.0035: 0.015 is over 4 sd.
    assert abs(share - fraction) < 0.015


def test_fraction_zero_and_one_and_out_of_range() -> None:
    assert side_by_fraction("x", 0.0) == TRAIN
    assert side_by_fraction("x", 1.0) == BENCHMARK
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="fraction"):
            SplitConfig(bad)


def test_fraction_split_end_to_end_share(tmp_path: Path) -> None:
    scenes = [hand_scene(f"s{i}", f"cap{i // 3}") for i in range(900)]  # 300 captures of 3 scenes
    report = split_scenes(
        write_hand_scenes(tmp_path / "in.jsonl", scenes), tmp_path / "out", SplitConfig(0.2)
    )
    n_bench = len(report.captures[BENCHMARK])
    assert len(report.captures[TRAIN]) + n_bench == 300
    assert 0.2 * 300 - 25 < n_bench < 0.2 * 300 + 25  # about 3.6 sd
    assert report.scenes[BENCHMARK] == 3 * n_bench
    written = json.loads((tmp_path / "out" / "split.json").read_text())
    assert written["captures"] == {TRAIN: 300 - n_bench, BENCHMARK: n_bench}
    assert written["benchmark_capture_ids"] == sorted(report.captures[BENCHMARK])


def test_benchmark_splits_sends_a_conflicting_capture_to_the_benchmark(tmp_path: Path) -> None:
    scenes = [
        hand_scene("c1/a", "c1", split="train"),
        hand_scene("c1/b", "c1", split="test"),  # c1 has scenes on both sides of the source split
        hand_scene("c2/a", "c2", split="val"),
        hand_scene("c3/a", "c3", split="train"),
        hand_scene("c3/b", "c3", split="train"),
        hand_scene("c4/a", "c4", split=None),
    ]
    config = SplitConfig(fraction=0.0, benchmark_splits=("test", "val"))
    report = split_scenes(write_hand_scenes(tmp_path / "in.jsonl", scenes), tmp_path / "out", config)
    assert sides(tmp_path / "out") == {
        "c1/a": BENCHMARK,
        "c1/b": BENCHMARK,
        "c2/a": BENCHMARK,
        "c3/a": TRAIN,
        "c3/b": TRAIN,
        "c4/a": TRAIN,
    }
    assert report.conflicts == 1
    assert json.loads((tmp_path / "out" / "split.json").read_text())["capture_split_conflicts"] == 1


def test_excluded_scenes_go_to_neither_side_and_are_counted_per_list(tmp_path: Path) -> None:
    scenes = [
        hand_scene("keep", "k"),
        hand_scene("omni/test/1", "o1", source="omni3d", split="test"),
        hand_scene("omni/train/1", "o2", source="omni3d", split="train"),
        hand_scene("by-capture/1", "banned"),
        hand_scene("by-capture/2", "banned"),
        hand_scene("by-scene", "c9"),
        hand_scene("by-image", "c10", image_path="KITTI_object/training/image_2/000123.png"),
    ]
    mine = ExclusionList(
        "mine",
        capture_ids=frozenset({"banned"}),
        scene_ids=frozenset({"by-scene"}),
        image_keys=frozenset({"training/image_2/000123.png"}),
    )
    lists = [BUILTIN_EXCLUSIONS["spatialvqa"], mine]
    report = split_scenes(
        write_hand_scenes(tmp_path / "in.jsonl", scenes), tmp_path / "out", SplitConfig(0.5), lists
    )
    assert set(sides(tmp_path / "out")) == {"keep", "omni/train/1"}
    assert dict(report.excluded) == {
        "spatialvqa/source_split": 1,
        "mine/capture": 2,
        "mine/scene": 1,
        "mine/image": 1,
    }
    written = json.loads((tmp_path / "out" / "split.json").read_text())
    assert written["excluded_scenes"] == dict(report.excluded)
    assert [lst["name"] for lst in written["exclusion_lists"]] == ["spatialvqa", "mine"]


def test_exclusions_apply_in_benchmark_splits_mode_too(tmp_path: Path) -> None:
    scenes = [hand_scene("a", "a", split="test"), hand_scene("b", "b", split="test")]
    config = SplitConfig(benchmark_splits=("test",))
    mine = ExclusionList("mine", scene_ids=frozenset({"b"}))
    report = split_scenes(write_hand_scenes(tmp_path / "in.jsonl", scenes), tmp_path / "out", config, [mine])
    assert sides(tmp_path / "out") == {"a": BENCHMARK}
    assert dict(report.excluded) == {"mine/scene": 1}


def _with_bad_line(tmp_path: Path) -> Path:
    path = write_hand_scenes(tmp_path / "in.jsonl", [hand_scene(f"s{i}") for i in range(3)])
    lines = path.read_text().splitlines()
    lines.insert(2, '{"scene_id": "broken"')  # line 3: not JSON
    lines.append(json.dumps({"schema_version": 1, "scene_id": "x"}))  # line 5: JSON, not a scene
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("config", [SplitConfig(0.5), SplitConfig(benchmark_splits=("test",))])
def test_bad_scene_line_stops_naming_file_and_line(tmp_path: Path, config: SplitConfig) -> None:
    path = _with_bad_line(tmp_path)
    with pytest.raises(RecordError) as err:
        split_scenes(path, tmp_path / "out", config)
    assert err.value.file == str(path) and err.value.record == "line 3"


@pytest.mark.parametrize("config", [SplitConfig(0.5), SplitConfig(benchmark_splits=("test",))])
def test_skip_invalid_counts_bad_lines_once(tmp_path: Path, config: SplitConfig) -> None:
    path = _with_bad_line(tmp_path)
    report = split_scenes(path, tmp_path / "out", config, skip_invalid=True)
    assert sum(report.skipped.values()) == 2  # counted once even when the file is read twice
    assert len(sides(tmp_path / "out")) == 3
    written = json.loads((tmp_path / "out" / "split.json").read_text())
    assert sum(written["skipped_lines"].values()) == 2


def test_an_excluded_scene_takes_its_capture_with_it(tmp_path: Path) -> None:
    """One frame of a drive is in a published benchmark: the drive's other frames are capture siblings and
    must not reach training either (the split unit is the capture), counted as <list>/capture_sibling."""
    scenes = [
        hand_scene("drive/000", "drive"),
        hand_scene("drive/001", "drive", image_path="KITTI_object/training/image_2/000123.png"),
        hand_scene("drive/002", "drive"),
        hand_scene("other/000", "other"),
    ]
    mine = ExclusionList("mine", image_keys=frozenset({"training/image_2/000123.png"}))
    report = split_scenes(
        write_hand_scenes(tmp_path / "in.jsonl", scenes), tmp_path / "out", SplitConfig(0.5), [mine]
    )
    assert set(sides(tmp_path / "out")) == {"other/000"}
    assert dict(report.excluded) == {"mine/image": 1, "mine/capture_sibling": 2}
