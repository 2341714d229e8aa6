"""EmbSpatial-Bench loader on a fixture reproducing the released JSON (fixtures/embspatial/FIXTURE.md)."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pytest

from spatialforge.bench.benchmarks import get_benchmark
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.published import get_published
from spatialforge.bench.published.base import ImageData, LoaderSkip, PublishedItem
from spatialforge.bench.score import ScoreConfig, run_score
from spatialforge.errors import RecordError
from tests.bench.loaders.e2e import run_end_to_end

FIXTURE = Path(__file__).parent / "fixtures" / "embspatial"
RELEASED = FIXTURE / "embspatial_bench.json"
BENCHMARK = get_published("embspatial")


def load(data: Path) -> list[PublishedItem | LoaderSkip]:
    return list(BENCHMARK.read(data))


def items(data: Path) -> list[PublishedItem]:
    out = load(data)
    assert all(isinstance(e, PublishedItem) for e in out), [e for e in out if isinstance(e, LoaderSkip)]
    return out  # type: ignore[return-value]


def with_rows(tmp_path: Path, rows: list) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "embspatial_bench.json").write_text(json.dumps(rows))
    return data


def test_items_from_the_released_file() -> None:
    loaded = items(FIXTURE)
    assert [i.id for i in loaded] == [
        "mp3d_8",
        "mp3d_15",
        "mp3d_9",
        "ai2thor_3",
        "ai2thor_4",
        "scannet_21",
        "scannet_22",
    ]
    assert [i.task for i in loaded] == ["far", "far", "close", "above", "under", "left", "right"]
    first = loaded[0]
    # lmms-eval's template: instruction line, question, "A) option" lines.
    assert first.prompt == (
        "Note: You only need to respond with A, B, C, D without providing any additional information.\n"
        "Which object, in relation to your current position, holds the farthest placement in the image?\n"
        "A) chair\nB) table\nC) lamp\nD) sofa"
    )
    assert first.choices == (("A", "chair"), ("B", "table"), ("C", "lamp"), ("D", "sofa"))
    # The released answer is a 0-based index: 2 -> C.
    assert (first.answer, first.answer_value) == ("2", "C")
    assert [i.answer_value for i in loaded] == ["C", "D", "A", "A", "B", "D", "B"]
    assert first.extra == {"data_source": "mp3d"}
    released = json.loads(RELEASED.read_text())[0]
    assert first.images == (ImageData(base64.b64decode(released["image"]), ".jpg"),)


def test_bad_rows_are_skipped_with_named_reasons(tmp_path: Path) -> None:
    rows = json.loads(RELEASED.read_text())
    rows[0]["answer"] = 4  # four options only
    rows[1]["answer"] = True
    rows[2]["relation"] = "on top of"
    rows[3]["image"] = "not base64!"
    rows[4]["image"] = base64.b64encode(b"plain text, not an image").decode()
    rows[5]["answer_options"] = []
    del rows[6]["question_id"]
    rows.append("not an object")
    out = load(with_rows(tmp_path, rows))
    assert [(e.item_id, e.reason) for e in out if isinstance(e, LoaderSkip)] == [
        ("mp3d_8", "unknown_answer"),
        ("mp3d_15", "unknown_answer"),
        ("mp3d_9", "relation_not_in_benchmark"),
        ("ai2thor_3", "unreadable_image"),
        ("ai2thor_4", "unreadable_image"),
        ("scannet_21", "missing_field"),
        ("element 6", "missing_field"),
        ("element 7", "wrong_type"),
    ]


def test_missing_or_malformed_file_stops_the_import(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordError) as err:
        load(empty)
    assert err.value.reason == "missing_file"
    data = with_rows(tmp_path, [])
    (data / "embspatial_bench.json").write_text('{"question_id": "mp3d_1"}')
    with pytest.raises(RecordError) as err:
        load(data)
    assert err.value.reason == "wrong_type"
    (data / "embspatial_bench.json").write_text("[{")
    with pytest.raises(RecordError) as err:
        load(data)
    assert err.value.reason == "invalid_json"


def test_rules_are_the_specs() -> None:
    spec = get_benchmark(BENCHMARK.scoring, BENCHMARK.variant)
    for item in items(FIXTURE):
        predicted = PredictionItem(item.id, item.task, "", item.answer_value, options=dict(item.choices))
        assert item.scoring == spec.rule_for(predicted)


def test_official_total_is_accuracy_over_all_questions(tmp_path: Path) -> None:
    replies = {
        "mp3d_8": "C",  # far 1/2
        "mp3d_15": "A) door",
        "mp3d_9": "A) bed",  # close 1/1
        "ai2thor_3": "B",  # above 0/1
        "ai2thor_4": "The answer is B.",  # under 1/1
        "scannet_21": "",  # left 0/1: an empty reply is never right
        "scannet_22": "(B)",  # right 1/1
    }
    predictions = tmp_path / "predictions.jsonl"
    with open(predictions, "w") as fh:
        for item in items(FIXTURE):
            line = {
                "id": item.id,
                "task": item.task,
                "prediction": replies[item.id],
                "answer": item.answer_value,
            }
            fh.write(json.dumps({**line, "options": dict(item.choices)}) + "\n")
    report = run_score(ScoreConfig("embspatial", str(predictions), str(tmp_path / "scores"), bootstrap=10))
    assert math.isclose(report.totals["overall"], 4 / 7)
    assert math.isclose(report.totals["relation_mean"], (0.5 + 1 + 0 + 1 + 0 + 1) / 6)


def test_end_to_end_eval_and_score(tmp_path: Path) -> None:
    tables = run_end_to_end("embspatial", FIXTURE, tmp_path)
    assert tables["n_items"] == 7
    assert set(tables["totals"]) == {"overall", "relation_mean"}
