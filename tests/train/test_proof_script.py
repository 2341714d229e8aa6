"""benchmarks/proof_of_learning.py: the per-level comparisons it records (separate CIs and paired)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "proof_of_learning.py"


@pytest.fixture(scope="module")
def proof():
    spec = importlib.util.spec_from_file_location("proof_of_learning", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tables(levels: dict[int, tuple[float, list[float]]]) -> dict:
    tasks = [{"task": "near", "level": 0}, {"task": "far", "level": 0}, {"task": "above", "level": 2}]
    rows = [{"level": level, "score": score, "ci": ci} for level, (score, ci) in levels.items()]
    return {"tables": {"tasks": tasks, "levels": rows + [{"level": None, "score": 0.5, "ci": [0.4, 0.6]}]}}


def _write_scores(work: Path, arm: str, scores: dict[str, tuple[str, float]]) -> None:
    folder = work / "evals" / arm / "score"
    folder.mkdir(parents=True)
    lines = [json.dumps({"id": i, "task": t, "score": s}) for i, (t, s) in scores.items()]
    (folder / "items.jsonl").write_text("\n".join(lines) + "\n")


def test_compare_says_above_only_when_the_intervals_separate(proof):
    results = {
        "metric": _tables({0: (0.6, [0.55, 0.65]), 2: (0.5, [0.4, 0.6])}),
        "blank": _tables({0: (0.4, [0.35, 0.45]), 2: (0.45, [0.35, 0.55])}),
    }
    out = proof.compare(results, "metric", "blank")
    assert out["L0"]["non_overlapping_above"] is True
    assert out["L2"]["non_overlapping_above"] is False
    assert out["L0"]["metric"] == 0.6 and out["L0"]["blank_ci"] == [0.35, 0.45]
    assert proof.compare(results, "metric", "rgb") == {}


def test_paired_levels_is_the_mean_item_difference_per_level(proof, tmp_path):
    results = {"metric": _tables({}), "blank": _tables({})}
    # level 0: metric right on all four items, blank on one -> +0.75, every resample positive
    _write_scores(
        tmp_path,
        "metric",
        {"a": ("near", 1.0), "b": ("near", 1.0), "c": ("far", 1.0), "d": ("far", 1.0), "e": ("above", 0.0)},
    )
    _write_scores(
        tmp_path,
        "blank",
        {"a": ("near", 1.0), "b": ("near", 0.0), "c": ("far", 0.0), "d": ("far", 0.0), "e": ("above", 1.0)},
    )
    out = proof.paired_levels(tmp_path, results, "metric", "blank")
    assert set(out) == {"L0", "L2"}
    assert out["L0"]["n"] == 4 and out["L0"]["metric_minus_blank"] == pytest.approx(0.75)
    assert out["L0"]["ci"][0] >= 0.25 and out["L0"]["above_zero"] is True
    assert out["L2"]["metric_minus_blank"] == pytest.approx(-1.0) and out["L2"]["above_zero"] is False


def test_paired_levels_is_empty_without_both_arms_item_scores(proof, tmp_path):
    results = {"metric": _tables({}), "blank": _tables({})}
    _write_scores(tmp_path, "metric", {"a": ("near", 1.0)})
    assert proof.paired_levels(tmp_path, results, "metric", "blank") == {}  # blank's scores are elsewhere
    assert proof.paired_levels(tmp_path, {"metric": results["metric"]}, "metric", "blank") == {}
