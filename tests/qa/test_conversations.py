"""Multi-turn conversations chained from QA records (qa/conversations.py)."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import GenerateConfig, run_generate
from spatialforge.errors import RecordError
from spatialforge.qa.conversations import (
    MARKER_CONFLICT,
    NOT_A_TURN_FORMAT,
    TF_PAIR_PARTNER,
    TURN_FORMATS,
    ConversationReport,
    conversations_of_scene,
    write_conversations,
)
from spatialforge.scene.io import write_scenes

TASKS = ("object_distance_camera", "relative_direction", "closer_of_two", "object_size", "extreme_and_order")


@pytest.fixture(scope="module")
def qa_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("conv")
    write_scenes(root / "scenes.jsonl", list(random_box_scenes(12, seed=3)))
    config = GenerateConfig(tasks=TASKS, max_qa_per_scene=30)
    run_generate(root / "scenes.jsonl", root / "qa", config, n_buckets=2)
    return root / "qa" / "data.jsonl"


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_conversations_follow_the_rules(qa_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "conversations.jsonl"
    report = write_conversations(qa_path, out, seed=0, min_turns=2, max_turns=5)
    records = {r["id"]: r for r in _read(qa_path)}
    conversations = _read(out)
    assert report.conversations == len(conversations) > 10
    used = Counter()
    for c in conversations:
        assert 2 <= len(c["turns"]) <= 5
        sources = [records[t["qa_id"]] for t in c["turns"]]
        for turn, source in zip(c["turns"], sources, strict=True):
            used[turn["qa_id"]] += 1
            assert source["format"] in TURN_FORMATS
            assert (turn["question"], turn["answer"], turn["answer_value"]) == (
                source["question"],
                source["answer"],
                source["answer_value"],
            )
            assert source["scene_id"] == c["scene_id"] and source["images"] == c["images"]
        # At most one record of each true/false pair.
        tf = [s for s in sources if s["format"] == "tf"]
        facts = [(s["task"], s["template_id"], s["seed"], json.dumps(s["objects"])) for s in tf]
        assert len(facts) == len(set(facts))
        # One colour, one shape; one shape, one colour.
        pairs = {(m["colour"], json.dumps(m["geometry_px"])) for s in sources for m in s["markers"]}
        assert len({c for c, _ in pairs}) == len(pairs) == len({g for _, g in pairs})
    assert max(used.values()) == 1  # no record is used twice
    left = report.left_out
    assert left[NOT_A_TURN_FORMAT] == sum(r["format"] not in TURN_FORMATS for r in records.values())
    assert left[TF_PAIR_PARTNER] > 0
    assert report.records_read == len(records) == sum(used.values()) + sum(left.values())
    assert sum(report.turns.values()) == len(conversations)
    saved = json.loads((tmp_path / "conversations.report.json").read_text(encoding="utf-8"))
    assert saved["conversations"] == len(conversations) and saved["config"]["max_turns"] == 5


def test_output_is_a_function_of_the_input_and_seed(qa_path: Path, tmp_path: Path) -> None:
    write_conversations(qa_path, tmp_path / "a.jsonl", seed=1)
    write_conversations(qa_path, tmp_path / "b.jsonl", seed=1)
    write_conversations(qa_path, tmp_path / "c.jsonl", seed=2)
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.jsonl", "b.jsonl", "c.jsonl"))
    assert a == b and a != c


def _record(i: int, colour: str | None, box: tuple[float, ...] = (10, 10, 50, 50)) -> dict[str, Any]:
    marker = {"kind": "box", "colour": colour, "image_index": 0, "geometry_norm": [0, 0, 1, 1]}
    markers = [] if colour is None else [{**marker, "geometry_px": list(box)}]
    return {
        "id": f"q{i}",
        "scene_id": "s",
        "capture_id": "s",
        "source": "test",
        "split": None,
        "license": None,
        "images": [{"path": "a.jpg", "view_id": "v0"}],
        "task": "t",
        "level": 1,
        "format": "free",
        "question": f"Question {i}?",
        "answer": f"Answer {i}.",
        "answer_value": float(i),
        "unit": "m",
        "frame": None,
        "tolerance": {"metric": "mra", "params": {}},
        "objects": [],
        "markers": markers,
        "template_id": f"t/free/f{i}@1",
        "seed": i,
    }


def test_a_colour_never_names_two_shapes_in_one_conversation() -> None:
    # Two records mark different boxes in red: they can never share a conversation.
    records = [_record(0, "red", (10, 10, 50, 50)), _record(1, "red", (60, 60, 90, 90))]
    for seed in range(20):
        report = ConversationReport()
        out = conversations_of_scene(records, random.Random(seed), report, min_turns=2, max_turns=2)
        assert out == [] and report.left_out[MARKER_CONFLICT] == 2
    # The same red box in both, plus an unmarked record: one conversation of three.
    same = [_record(0, "red"), _record(1, "red"), _record(2, None)]
    out = conversations_of_scene(same, random.Random(0), ConversationReport(), min_turns=3, max_turns=3)
    assert len(out) == 1 and len(out[0]["turns"]) == 3 and len(out[0]["markers"]) == 1


def test_scenes_must_be_contiguous_and_lines_readable(tmp_path: Path) -> None:
    a, b = _record(0, None), {**_record(1, None), "scene_id": "other"}
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (a, b, a)) + "\n", encoding="utf-8")
    with pytest.raises(RecordError, match="not contiguous") as e:
        write_conversations(path, tmp_path / "out.jsonl")
    assert str(path) in str(e.value)
    assert not (tmp_path / "out.jsonl").exists()  # nothing half-written under the final name
    path.write_text(json.dumps(a) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(RecordError, match="line 2"):
        write_conversations(path, tmp_path / "out.jsonl")


def test_turn_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="min_turns"):
        conversations_of_scene([], random.Random(0), ConversationReport(), min_turns=3, max_turns=2)


def test_cli_conversations(qa_path: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spatialforge.cli.main import app

    out = tmp_path / "conv.jsonl"
    result = CliRunner().invoke(
        app, ["conversations", "--qa", str(qa_path), "--output", str(out), "--max-turns", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "conversations from" in result.output and out.exists()
    assert all(
        2 <= len(json.loads(line)["turns"]) <= 3 for line in out.read_text(encoding="utf-8").splitlines()
    )
    bad = CliRunner().invoke(
        app,
        ["conversations", "--qa", str(qa_path), "--output", str(out), "--min-turns", "4", "--max-turns", "3"],
    )
    assert bad.exit_code == 2 and "min_turns" in bad.output
