"""Reading a benchmark's items.jsonl: round trip, and hostile or broken lines refused naming file, line and
field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from spatialforge.bench.builder.items import BenchItem, item_from_json, iter_bench_items, read_manifest
from spatialforge.bench.rules import ScoringRule, score_item
from spatialforge.errors import RecordError


def record(**changes: Any) -> dict[str, Any]:
    base = {
        "version": 1,
        "id": "b/t/1",
        "task": "t",
        "level": 1,
        "format": "mcq",
        "question": "Which is closer?\nA. the mug\nB. the cup",
        "images": ["images/abc.png"],
        "choices": [{"label": "A", "text": "the mug"}, {"label": "B", "text": "the cup"}],
        "answer": "B. the cup",
        "answer_value": "B",
        "unit": None,
        "scoring": {"answer_type": "choice", "metric": "accuracy", "parse": {}, "params": {}},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def write_items(folder: Path, lines: list[Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    (folder / "items.jsonl").write_text(text)
    return folder


def refused(folder: Path) -> RecordError:
    with pytest.raises(RecordError) as err:
        list(iter_bench_items(folder))
    return err.value


def test_round_trip_through_to_json(tmp_path: Path) -> None:
    item = BenchItem(
        id="b/dir/1",
        task="dir",
        level=2,
        format="free",
        question="Which way?",
        images=("images/a.png", "images/b.png"),
        choices=(),
        answer="(0.6, 0, 0.8)",
        answer_value=(0.6, 0.0, 0.8),
        unit=None,
        scoring=ScoringRule("vector", "direction_angle", {}, {"threshold_deg": 30.0}),
        group="L2",
        capture_id="cap",
        scene_id="scene",
        objects=({"category": "mug", "role": "a"},),
        extra={"marked": False},
    )
    write_items(tmp_path, [item.to_json(), record(id="b/t/2")])
    first, second = iter_bench_items(tmp_path)
    assert first == BenchItem(**{**item.__dict__, "answer_value": [0.6, 0.0, 0.8]})
    assert second.options == {"A": "the mug", "B": "the cup"}
    assert first.prediction_item("(0.6, 0, 0.8)").gold == (0.6, 0.0, 0.8)
    assert score_item(first.prediction_item("(0.6, 0.0, 0.8)"), first.scoring).score == 1.0


def test_number_items_carry_their_unit_to_the_scoring_core() -> None:
    item = item_from_json(
        record(
            format="fill",
            choices=[],
            answer="84.0",
            answer_value=25.6,
            unit="m",
            scoring={
                "answer_type": "number",
                "metric": "mra",
                "parse": {"to_unit": "m", "default_unit": "ft", "pick": "first"},
            },
        ),
        file="f",
        line=1,
    )
    pred = item.prediction_item("84")
    assert pred.gold_unit == "m" and pred.options is None
    assert score_item(pred, item.scoring).score == 1.0  # 84 ft = 25.6 m


@pytest.mark.parametrize(
    "path",
    [
        "../x.png",
        "/etc/passwd",
        "C:/x.png",
        "C:x.png",
        "images\\..\\x.png",
        "images/../../x.png",
        "",
        "images//x.png",
        "images/",
    ],
)
def test_hostile_image_paths_are_refused_naming_the_field(tmp_path: Path, path: str) -> None:
    err = refused(write_items(tmp_path, [record(images=["images/ok.png", path])]))
    assert err.field == "images" and err.record.startswith("line 1")
    assert err.file == str(tmp_path / "items.jsonl")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"answer_value": ...}, "answer_value"),
        ({"answer_value": None}, "answer_value"),
        ({"scoring": {"answer_type": "essay", "metric": "accuracy"}}, "scoring.answer_type"),
        ({"scoring": {"answer_type": "choice"}}, "scoring.metric"),
        ({"images": []}, "images"),
        ({"images": "images/a.png"}, "images"),
        ({"level": "1"}, "level"),
        ({"level": True}, "level"),
        ({"task": ...}, "task"),
        ({"choices": [{"label": "A"}]}, "choices"),
        ({"version": 2}, "version"),
    ],
)
def test_broken_items_are_refused_with_file_line_and_field(tmp_path: Path, changes: dict, field: str) -> None:
    err = refused(write_items(tmp_path, [record(id="ok"), record(**changes)]))
    assert err.field == field
    assert err.file == str(tmp_path / "items.jsonl") and err.record.startswith("line 2")


def test_nan_answer_is_refused(tmp_path: Path) -> None:
    # A JSON file cannot hold NaN (orjson refuses the token): refused as invalid JSON, naming the line.
    line = json.dumps(record(format="fill", answer_value=math.nan))
    assert "NaN" in line
    err = refused(write_items(tmp_path, [record(id="ok"), line]))
    assert err.reason == "invalid_json" and err.record == "line 2"
    # A record built in memory (or a huge exponent read as infinity elsewhere) is refused by value.
    for value in (math.nan, math.inf, [0.0, math.nan, 1.0]):
        with pytest.raises(RecordError) as caught:
            item_from_json(record(answer_value=value), file="items.jsonl", line=7)
        assert caught.value.field == "answer_value" and caught.value.record.startswith("line 7")


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    err = refused(write_items(tmp_path, [record(id="a"), record(id="b"), "", record(id="a")]))
    assert err.reason == "duplicate_id" and err.record == "line 4"


def test_not_json_and_not_objects(tmp_path: Path) -> None:
    err = refused(write_items(tmp_path, [record(id="a"), "{not json"]))
    assert err.reason == "invalid_json" and err.record == "line 2"
    err = refused(write_items(tmp_path / "b", [[1, 2]]))
    assert err.reason == "wrong_type" and err.record == "line 1"


def test_not_a_benchmark_folder(tmp_path: Path) -> None:
    assert refused(tmp_path).reason == "missing_file"
    with pytest.raises(RecordError, match="benchmark.json"):
        read_manifest(tmp_path)
    (tmp_path / "benchmark.json").write_text("{")
    with pytest.raises(RecordError) as err:
        read_manifest(tmp_path)
    assert err.value.reason == "invalid_json"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"extra": [1]}, "extra"),
        ({"objects": ["chair"]}, "objects"),
        ({"scoring": {"answer_type": "choice", "metric": "accuracy", "params": "x"}}, "scoring.params"),
    ],
)
def test_wrong_shaped_optional_fields_are_record_errors(tmp_path: Path, changes: dict, field: str) -> None:
    err = refused(write_items(tmp_path, [record(**changes)]))
    assert err.field == field and err.record.startswith("line 1")


@pytest.mark.parametrize(
    "changes",
    [
        {"answer_value": "Z"},  # not one of the options
        {"scoring": {"answer_type": "choice", "metric": "acuracy"}},  # unknown metric
        {
            "choices": [{"label": "A", "text": "the mug"}, {"label": "A", "text": "the cup"}],
            "answer_value": "A",
        },
    ],
)
def test_unscorable_items_are_refused_when_read(tmp_path: Path, changes: dict) -> None:
    err = refused(write_items(tmp_path, [record(**changes)]))
    assert err.record.startswith("line 1")
