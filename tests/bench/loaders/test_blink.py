"""BLINK loader on a fixture reproducing the released parquet files (fixtures/blink/FIXTURE.md)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spatialforge.bench.benchmarks import get_benchmark
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.published import get_published
from spatialforge.bench.published.base import ImageData, LoaderSkip, PublishedItem
from spatialforge.bench.published.blink import DISCLAIMER
from spatialforge.bench.score import ScoreConfig, run_score
from spatialforge.errors import RecordError
from tests.bench.loaders.e2e import run_end_to_end

FIXTURE = Path(__file__).parent / "fixtures" / "blink"
BENCHMARK = get_published("blink")


def load(data: Path, **options: str) -> list[PublishedItem | LoaderSkip]:
    return list(BENCHMARK.read(data, options))


def items(data: Path, **options: str) -> list[PublishedItem]:
    out = load(data, **options)
    assert all(isinstance(e, PublishedItem) for e in out), [e for e in out if isinstance(e, LoaderSkip)]
    return out  # type: ignore[return-value]


def test_spatial_subtasks_by_default() -> None:
    loaded = items(FIXTURE)
    assert [i.id for i in loaded] == [
        "val_Relative_Depth_1",
        "val_Relative_Depth_2",
        "val_Relative_Depth_3",
        "val_Spatial_Relation_1",
        "val_Spatial_Relation_2",
        "val_Multi-view_Reasoning_1",
        "val_Multi-view_Reasoning_2",
    ]
    # The task is the subtask, as eval/evaluate.py reads it from the id.
    assert {i.task for i in loaded} == {"Relative_Depth", "Spatial_Relation", "Multi-view_Reasoning"}
    relation = loaded[3]
    # eval/test_benchmark.py sends the released prompt as it is.
    assert (
        relation.prompt == "Is the car beneath the cat?\nSelect from the following choices.\n(A) yes\n(B) no"
    )
    assert relation.question == "Is the car beneath the cat?"
    assert relation.choices == (("A", "yes"), ("B", "no"))
    assert (relation.answer, relation.answer_value) == ("(B)", "B")
    assert [len(i.images) for i in loaded] == [1, 1, 1, 1, 1, 2, 2]
    assert all(isinstance(img, ImageData) and img.suffix == ".jpg" for i in loaded for img in i.images)


def test_multi_view_images_keep_their_order() -> None:
    loaded = items(FIXTURE, subtasks="Multi-view_Reasoning")
    table = pq.read_table(FIXTURE / "Multi-view_Reasoning" / "val-00000-of-00001.parquet").to_pylist()
    assert [img.data for img in loaded[0].images] == [
        table[0]["image_1"]["bytes"],
        table[0]["image_2"]["bytes"],
    ]


def test_subtask_option_and_disclaimer() -> None:
    loaded = items(FIXTURE, subtasks="Counting,Art_Style")
    assert [i.task for i in loaded] == ["Counting", "Art_Style"]
    assert loaded[0].choices == (("A", "0"), ("B", "3"), ("C", "2"), ("D", "1"))
    assert not loaded[0].prompt.startswith("Disclaimer")
    art = loaded[1]
    assert art.prompt == DISCLAIMER + art.prompt[len(DISCLAIMER) :]
    assert art.prompt[len(DISCLAIMER) :].startswith("Some most common art painting styles")
    assert len(art.images) == 3
    with pytest.raises(ValueError, match="unknown subtask"):
        load(FIXTURE, subtasks="Depth")


def test_all_subtasks_need_every_folder() -> None:
    with pytest.raises(RecordError) as err:
        load(FIXTURE, subtasks="all")
    assert err.value.reason == "missing_file"
    assert "Visual_Similarity" in str(err.value)


def test_test_split_answers_are_hidden() -> None:
    out = load(FIXTURE, split="test")
    assert len(out) == 7
    assert {(e.reason, e.item_id.startswith("test_")) for e in out if isinstance(e, LoaderSkip)} == {
        ("answer_hidden", True)
    }
    with pytest.raises(ValueError, match="choose from val, test"):
        load(FIXTURE, split="train")


def test_bad_rows_are_skipped_with_named_reasons(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    path = data / "Relative_Depth" / "val-00000-of-00001.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["answer"] = "(C)"  # two options only
    rows[1]["image_1"] = None
    rows[2]["image_1"] = {"bytes": b"\x00\x01 not an image", "path": None}
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    out = load(data)
    skips = {e.item_id: e.reason for e in out if isinstance(e, LoaderSkip)}
    assert skips == {
        "val_Relative_Depth_1": "unknown_answer",
        "val_Relative_Depth_2": "missing_image",
        "val_Relative_Depth_3": "unreadable_image",
    }
    assert len([e for e in out if isinstance(e, PublishedItem)]) == 4


def test_a_file_without_the_released_columns_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    path = data / "Spatial_Relation" / "val-00000-of-00001.parquet"
    pq.write_table(pq.read_table(path).drop(["prompt"]), path)
    with pytest.raises(RecordError) as err:
        load(data)
    assert (err.value.reason, err.value.field) == ("missing_field", "prompt")


def test_rules_are_the_specs() -> None:
    spec = get_benchmark(BENCHMARK.scoring, BENCHMARK.variant)
    for item in items(FIXTURE, subtasks="Relative_Depth,Spatial_Relation,Multi-view_Reasoning,Counting"):
        predicted = PredictionItem(item.id, item.task, "", item.answer_value, options=dict(item.choices))
        assert item.scoring == spec.rule_for(predicted)


def test_official_total_is_the_mean_of_subtask_accuracies(tmp_path: Path) -> None:
    replies = {
        "val_Relative_Depth_1": "(B) B is closer",  # Relative_Depth 1/3
        "val_Relative_Depth_2": "B",
        "val_Relative_Depth_3": "Point B is closer.",  # names no option: not guessed
        "val_Spatial_Relation_1": "(B) no",  # Spatial_Relation 2/2
        "val_Spatial_Relation_2": "A",
        "val_Multi-view_Reasoning_1": "right",  # Multi-view_Reasoning 0/2
        "val_Multi-view_Reasoning_2": "(A)",
    }
    predictions = tmp_path / "predictions.jsonl"
    with open(predictions, "w") as fh:
        for item in items(FIXTURE):
            line = {"id": item.id, "task": item.task, "prediction": replies[item.id], "answer": item.answer}
            fh.write(json.dumps({**line, "options": dict(item.choices)}) + "\n")
    report = run_score(ScoreConfig("blink", str(predictions), str(tmp_path / "scores"), bootstrap=10))
    scores = {t: s.score for t, s in report.tasks.items()}
    assert scores == {"Relative_Depth": 1 / 3, "Spatial_Relation": 1.0, "Multi-view_Reasoning": 0.0}
    # (1/3 + 1 + 0) / 3, not the 3/7 of all items.
    assert math.isclose(report.totals["overall"], 4 / 9)


def test_end_to_end_eval_and_score(tmp_path: Path) -> None:
    tables = run_end_to_end("blink", FIXTURE, tmp_path)
    assert tables["n_items"] == 7
    assert "overall" in tables["totals"]
