"""benchmarks/numeric_option_prior.py: which items count as numeric multiple choice, and the per-task rows."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "numeric_option_prior.py"


def _script():
    spec = importlib.util.spec_from_file_location("numeric_option_prior", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
