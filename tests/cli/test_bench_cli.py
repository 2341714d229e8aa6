"""`spatialforge bench ...` and `spatialforge eval` as a user runs them: exit codes, messages, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig
from tests.bench.builder.conftest import hand_scene, write_hand_scenes

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_synth")
    report = run_synth(
        root / "tabletop", 4, SynthConfig(setting="tabletop", width=160, height=120), n_buckets=1
    )
    return Path(report.output_dir) / "scenes.jsonl"


@pytest.fixture(scope="module")
def bench(scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli_bench") / "bench"
    result = run(
        "bench",
        "build",
        "-s",
        scenes,
        "-p",
        "spatialvqa",
        "-o",
        out,
        "--fraction",
        "0.5",
        "--n-per-task",
        2,
        "--name",
        "mini",
    )
    assert result.exit_code == 0, result.output
    assert "benchmark mini" in result.output and "items.jsonl" in result.output
    return out


def test_presets_and_exclusions_are_listed() -> None:
    result = run("bench", "presets")
    assert result.exit_code == 0
    for name in ("spatialvqa", "hispatial", "sparbench_single", "object_distance_camera"):
        assert name in result.output
    result = run("bench", "exclusions")
    assert result.exit_code == 0
    for name in ("spatialvqa", "cvbench3d", "spatialrgpt_bench", "sparbench", "vsibench"):
        assert name in result.output


def test_split_writes_both_sides_and_counts_exclusions(tmp_path: Path) -> None:
    path = write_hand_scenes(
        tmp_path / "in.jsonl",
        [hand_scene(f"s{i}", f"c{i // 2}") for i in range(20)]
        + [hand_scene("omni/t", source="omni3d", split="test")],
    )
    listed = tmp_path / "mine.txt"
    listed.write_text("capture:c0\n")
    out = tmp_path / "out"
    result = run(
        "bench",
        "split",
        "-s",
        path,
        "-o",
        out,
        "--fraction",
        "0.5",
        "--exclude",
        "spatialvqa",
        "--exclude-list",
        listed,
    )
    assert result.exit_code == 0, result.output
    split = json.loads((out / "split.json").read_text())
    assert split["excluded_scenes"] == {"spatialvqa/source_split": 1, "mine/capture": 2}
    assert sum(split["scenes"].values()) == 18
    assert (out / "train.scenes.jsonl").is_file() and (out / "benchmark.scenes.jsonl").is_file()


def test_split_bad_line_stops_or_is_counted(tmp_path: Path) -> None:
    path = write_hand_scenes(tmp_path / "in.jsonl", [hand_scene("a"), hand_scene("b")])
    path.write_text(path.read_text() + "{broken\n")
    result = run("bench", "split", "-s", path, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "line 3" in result.output and "in.jsonl" in result.output
    result = run("bench", "split", "-s", path, "-o", tmp_path / "out2", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output


def test_split_refuses_unknown_list_and_bad_fraction(tmp_path: Path) -> None:
    path = write_hand_scenes(tmp_path / "in.jsonl", [hand_scene("a")])
    result = run("bench", "split", "-s", path, "-o", tmp_path / "out", "--exclude", "nosuchbench")
    assert result.exit_code == 2 and "nosuchbench" in result.output
    result = run("bench", "split", "-s", path, "-o", tmp_path / "out", "--fraction", "1.5")
    assert result.exit_code == 2 and "fraction" in result.output


def test_build_refuses_an_unknown_preset(scenes: Path, tmp_path: Path) -> None:
    result = run("bench", "build", "-s", scenes, "-p", "vqa9000", "-o", tmp_path / "b")
    assert result.exit_code == 2 and "vqa9000" in result.output


def test_leakage_exit_codes(bench: Path, tmp_path: Path) -> None:
    split = bench / "work" / "split"
    report_path = tmp_path / "leak.json"
    result = run(
        "bench", "leakage", bench, split / "benchmark.scenes.jsonl", "--hash-images", "-o", report_path
    )
    assert result.exit_code == 1, result.output
    assert "leakage" in result.output
    report = json.loads(report_path.read_text())
    assert report["leaked"] and report["overlaps"]["capture_id"]["shared"] >= 1
    result = run("bench", "leakage", bench, split / "train.scenes.jsonl", "--hash-images")
    assert result.exit_code == 0, result.output
    assert "no overlap" in result.output
    result = run("bench", "leakage", bench / "captures.json", split / "train.scenes.jsonl")
    assert result.exit_code == 0, result.output
    result = run("bench", "leakage", bench, tmp_path / "missing.jsonl")
    assert result.exit_code == 2 and "missing.jsonl" in result.output


def test_eval_runs_resumes_and_refuses_another_model(bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("eval", "-b", bench, "-o", out, "--no-report", "--no-progress")
    n_items = len((bench / "items.jsonl").read_text().splitlines())
    result = run(*args, "-m", "chance:seed=1", "--limit", 2)
    assert result.exit_code == 0, result.output
    assert "asked 2 this run" in result.output and "2/2 answered" in result.output
    result = run(*args, "-m", "chance:seed=1")
    assert result.exit_code == 0, result.output
    assert f"asked {n_items - 2} this run" in result.output
    tables = json.loads((out / "tables.json").read_text())
    assert tables["n_items"] == n_items and tables["answered"] == n_items
    assert not (out / "report.html").exists()
    result = run(*args, "-m", "chance:seed=2")
    assert result.exit_code == 2 and "model" in result.output


def test_eval_bad_inputs_exit_2(bench: Path, tmp_path: Path) -> None:
    result = run("eval", "-b", tmp_path, "-m", "chance", "-o", tmp_path / "o", "--no-report", "--no-progress")
    assert result.exit_code == 2 and "benchmark.json" in result.output
    result = run(
        "eval", "-b", bench, "-m", "nosuchmodel", "-o", tmp_path / "o2", "--no-report", "--no-progress"
    )
    assert result.exit_code == 2 and "nosuchmodel" in result.output
