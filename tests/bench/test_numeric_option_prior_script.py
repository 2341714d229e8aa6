"""benchmarks/numeric_option_prior.py: which items count as numeric multiple choice, and the per-task rows."""

from __future__ import annotations

import json

from tests.benchmark_scripts import load_script, script_path

SCRIPT = script_path("numeric_option_prior")


def _script():
    return load_script("numeric_option_prior")


def _mcq(item_id: str, task: str, texts: list[str]) -> dict:
    choices = [{"label": "ABCD"[i], "text": t} for i, t in enumerate(texts)]
    return {"id": item_id, "task": task, "format": "mcq", "choices": choices}


def test_only_all_numeric_option_sets_are_scored(tmp_path):
    script = _script()
    items = [
        _mcq("d1", "object_depth", ["2.10 meters", "3.40 meters", "5.00 meters", "7.9 feet"]),
        _mcq("d2", "object_depth", ["1.2 meters", "4.0 meters"]),
        _mcq(
            "v1", "object_size", ["0.12 cubic meters", "0.30 cubic meters", "0.05 cubic meters", "40 liters"]
        ),
        _mcq("c1", "object_depth", ["the chair", "the table", "3.0 meters", "4.0 meters"]),  # not all numeric
        _mcq("n1", "spatial_counting", ["2", "3", "4", "5"]),  # bare numbers: no unit
        {"id": "f1", "task": "object_depth", "format": "free", "choices": []},
    ]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items))
    found = script.numeric_items(tmp_path)
    assert sorted(found) == ["d1", "d2", "v1"]
    scores = tmp_path / "scores.jsonl"
    rows = [("d1", 1.0), ("d2", 0.0), ("v1", 1.0), ("c1", 1.0), ("f1", 1.0)]
    scores.write_text("".join(json.dumps({"id": i, "score": s}) + "\n" for i, s in rows))
    table = script.per_task(found, scores)
    assert table == {
        "object_depth": {"n": 2, "blind": 0.5, "chance": 0.375},  # (1/4 + 1/2) / 2
        "object_size": {"n": 1, "blind": 1.0, "chance": 0.25},
    }


def test_missing_files_and_benchmarks_without_numeric_items_stop_with_the_path(tmp_path):
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, str(SCRIPT), *args, "--out", str(tmp_path / "out.json")]
        return subprocess.run(command, capture_output=True, text=True)

    qa = tmp_path / "data.jsonl"
    qa.write_text("")
    missing = run("--qa", str(tmp_path / "nope.jsonl"), "--bench", str(tmp_path))
    assert missing.returncode != 0 and "nope.jsonl: no such file" in missing.stderr
    no_bench = run("--qa", str(qa), "--bench", str(tmp_path))
    assert no_bench.returncode != 0 and "items.jsonl: no such file" in no_bench.stderr
    (tmp_path / "items.jsonl").write_text(
        json.dumps(_mcq("c1", "relative_size", ["the chair", "the bed"])) + "\n"
    )
    empty = run("--qa", str(qa), "--bench", str(tmp_path))
    assert empty.returncode != 0 and "no multiple-choice item with numeric options" in empty.stderr
    assert not (tmp_path / "out.json").exists()
