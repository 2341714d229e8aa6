"""RoboSpatial-Home loader on a fixture reproducing the released files (fixtures/robospatial/FIXTURE.md)."""

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
from spatialforge.bench.score import ScoreConfig, run_score
from spatialforge.errors import RecordError
from tests.bench.loaders.e2e import run_end_to_end

FIXTURE = Path(__file__).parent / "fixtures" / "robospatial"
HF, EVAL_LAYOUT = FIXTURE / "hf", FIXTURE / "eval_layout"
BENCHMARK = get_published("robospatial")
INSTRUCTION = (
    "Your answer should be formatted as a list of tuples, i.e. [(x1, y1), ...], where each tuple contains "
    "the x and y coordinates of a point satisfying the conditions above. The coordinates should be between 0 "
    "and 1, indicating the normalized pixel locations of the points."
)
CONTEXT_SHARD = "data/context-00000-of-00001.parquet"


def load(data: Path) -> list[PublishedItem | LoaderSkip]:
    return list(BENCHMARK.read(data))


def items(data: Path) -> list[PublishedItem]:
    out = load(data)
    assert all(isinstance(e, PublishedItem) for e in out), [e for e in out if isinstance(e, LoaderSkip)]
    return out  # type: ignore[return-value]


def skips(data: Path) -> dict[str, str]:
    return {e.item_id: e.reason for e in load(data) if isinstance(e, LoaderSkip)}


def prediction_item(item: PublishedItem, reply: str = "") -> PredictionItem:
    gold = tuple(item.answer_value) if isinstance(item.answer_value, list) else item.answer_value
    return PredictionItem(item.id, item.task, reply, gold)


def rewrite(data: Path, shard: str, change: dict[int, dict]) -> None:
    """Change fields of rows of a shard (row index -> {column: value}), keeping its arrow schema."""
    table = pq.read_table(data / shard)
    rows = table.to_pylist()
    for index, fields in change.items():
        rows[index].update(fields)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), data / shard)


def test_items_from_the_dataset_snapshot() -> None:
    loaded = items(HF)
    assert [i.id for i in loaded] == [
        *(f"compatibility_{n}" for n in range(3)),
        *(f"configuration_{n}" for n in range(4)),
        *(f"context_{n}" for n in range(4)),
    ]
    assert [i.task for i in loaded] == ["compatibility"] * 3 + ["configuration"] * 4 + ["context"] * 4
    config = loaded[3]
    # RoboSpatial-Eval models.py sends the released question as it is.
    assert config.prompt == config.question == "Is the mug to the left of the laptop?"
    assert (config.answer, config.answer_value, config.choices) == ("Yes", "yes", ())
    context = loaded[7]
    assert context.prompt == (
        "In the image, there is a bowl. Pinpoint several points within the vacant space situated to the left "
        "of the bowl. " + INSTRUCTION
    )
    assert context.answer == "[(0.100, 0.500), (0.400, 0.500), (0.350, 0.900), (0.150, 0.900)]"
    assert context.answer_value == [[0.1, 0.5], [0.4, 0.5], [0.35, 0.9], [0.15, 0.9]]
    assert context.extra == {"source_file": CONTEXT_SHARD, "row": 0}
    for item in loaded:
        (image,) = item.images  # the RGB image only: no depth, no mask
        assert isinstance(image, ImageData) and image.suffix == ".png"
    assert len({i.images[0].data for i in loaded}) == len(loaded)  # type: ignore[union-attr]


def test_download_benchmark_layout_gives_the_same_items() -> None:
    snapshot = {i.id: i for i in items(HF)}
    folder = items(EVAL_LAYOUT)
    assert [i.id for i in folder][:4] == [f"context_{n}" for n in range(4)]  # the dataset's split order
    assert sorted(i.id for i in folder) == sorted(snapshot)
    for item in folder:
        twin = snapshot[item.id]
        assert (item.task, item.prompt, item.answer, item.answer_value, item.scoring) == (
            twin.task,
            twin.prompt,
            twin.answer,
            twin.answer_value,
            twin.scoring,
        )
        assert item.images[0].data == twin.images[0].data  # type: ignore[union-attr]


def test_snapshot_wins_over_the_download_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(EVAL_LAYOUT, data)
    shutil.copytree(HF / "data", data / "data")
    assert {i.extra["source_file"] for i in items(data)} == {
        f"data/{split}-00000-of-00001.parquet" for split in ("compatibility", "configuration", "context")
    }


def test_rules_are_the_specs() -> None:
    spec = get_benchmark(BENCHMARK.scoring, BENCHMARK.variant)
    for item in items(HF):
        assert item.scoring == spec.rule_for(prediction_item(item))
    assert {i.scoring.answer_type for i in items(HF)} == {"yes_no", "points"}


def test_bad_rows_are_skipped_with_named_reasons(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(HF, data)
    rewrite(
        data,
        CONTEXT_SHARD,
        {
            0: {"answer": "[(0.1, 0.2), (0.3, 0.4)]"},  # two vertices
            1: {"answer": "__import__('os').system('true')"},  # never evaluated
            2: {"answer": "[(10, 20), (30, 20), (20, 40)]"},  # pixels, not the 0-1 scale
            3: {"img": {"bytes": b"not an image", "path": None}},
        },
    )
    rewrite(
        data,
        "data/configuration-00000-of-00001.parquet",
        {0: {"question": "  "}, 1: {"answer": ""}, 2: {"answer": "Maybe"}, 3: {"img": None}},
    )
    rewrite(data, "data/compatibility-00000-of-00001.parquet", {0: {"category": "grounding"}})
    assert skips(data) == {
        "context_0": "invalid_polygon",
        "context_1": "invalid_polygon",
        "context_2": "invalid_polygon",
        "context_3": "unreadable_image",
        "configuration_0": "missing_question",
        "configuration_1": "missing_answer",
        "configuration_2": "answer_not_yes_no",
        "configuration_3": "missing_image",
        "compatibility_0": "unknown_category",
    }
    assert [i.id for i in load(data) if isinstance(i, PublishedItem)] == [
        "compatibility_1",
        "compatibility_2",
    ]


def test_download_folder_rows(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(EVAL_LAYOUT, data)
    records = json.loads((data / "annotations.json").read_text())
    records[0]["img"] = "images/missing.png"
    records[1]["answer"] = "[(nan, 0.1), (0.2, 0.1), (0.3, 0.4)]"
    records[2] = ["not", "an", "object"]
    (data / "annotations.json").write_text(json.dumps(records))
    assert skips(data) == {
        "context_0": "missing_image",
        "context_1": "invalid_polygon",
        "annotations.json:2": "wrong_type",
    }


@pytest.mark.parametrize("hostile", ["../secret.png", "/etc/passwd", "images/../../secret.png"])
def test_hostile_image_path_is_refused(tmp_path: Path, hostile: str) -> None:
    data = tmp_path / "data"
    shutil.copytree(EVAL_LAYOUT, data)
    shutil.copy(EVAL_LAYOUT / "images" / "img_context_0.png", tmp_path / "secret.png")
    records = json.loads((data / "annotations.json").read_text())
    records[5]["img"] = hostile
    (data / "annotations.json").write_text(json.dumps(records))
    with pytest.raises(RecordError) as err:
        load(data)
    assert err.value.reason == "unsafe_path"
    assert (err.value.file, err.value.record, err.value.field) == ("annotations.json", "record 5", "img")


def test_missing_files_and_wrong_columns_stop_the_import(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordError) as err:
        load(empty)
    assert err.value.reason == "missing_file"
    data = tmp_path / "data"
    shutil.copytree(HF, data)
    table = pq.read_table(data / CONTEXT_SHARD).drop_columns(["answer"])
    pq.write_table(table, data / CONTEXT_SHARD)
    with pytest.raises(RecordError) as err:
        load(data)
    assert (err.value.reason, err.value.field) == ("missing_field", "answer")
    odd = tmp_path / "odd"
    (odd / "data").mkdir(parents=True)
    shutil.copy(HF / CONTEXT_SHARD, odd / "data" / "context.parquet")
    with pytest.raises(RecordError) as err:
        load(odd)
    assert err.value.reason == "unexpected_file"


REPLIES = {
    "compatibility_0": "Yes, it fits.",  # gold yes: right
    "compatibility_1": "No",  # gold no: right
    "compatibility_2": "I cannot tell.",  # wrong (refusal)
    "configuration_0": "yes",  # right
    "configuration_1": "Yes.",  # gold no: wrong
    "configuration_2": "The answer is no.",  # right
    "configuration_3": "No",  # gold yes: wrong
    "context_0": "[(0.25, 0.7), (0.9, 0.1)]",  # first point in the trapezoid: right
    "context_1": "[(0.4, 0.8)]",  # inside the rectangle, but the released test fails on vertical edges
    "context_2": "The table is at (0.5, 0.5). Points: [(0.75, 0.25)]",  # the notch of the L: wrong
    "context_3": "[(800, 350)]",  # pixels: invalid
}


def score_replies(tmp_path: Path, variant: str | None = None) -> dict[str, float]:
    predictions = tmp_path / "predictions.jsonl"
    with open(predictions, "w") as fh:
        for item in items(HF):
            line = {"id": item.id, "task": item.task, "prediction": REPLIES[item.id], "answer": item.answer}
            fh.write(json.dumps(line) + "\n")
    output = tmp_path / f"scores_{variant}"
    config = ScoreConfig("robospatial", str(predictions), str(output), variant=variant, bootstrap=10)
    return run_score(config).totals


def test_official_totals_on_hand_made_replies(tmp_path: Path) -> None:
    totals = score_replies(tmp_path)
    compatibility, configuration, context = 2 / 3, 2 / 4, 1 / 4
    assert math.isclose(totals["vqa_average"], (configuration + compatibility) / 2)
    assert math.isclose(totals["overall"], (configuration + compatibility + context) / 3)
    assert math.isclose(totals["all_items"], 5 / 11)
    corrected = score_replies(tmp_path, "corrected")  # the rectangle's inside point counts
    assert math.isclose(corrected["overall"], (configuration + compatibility + 2 / 4) / 3)


@pytest.mark.parametrize("layout", ["hf", "eval_layout"])
def test_end_to_end_eval_and_score(tmp_path: Path, layout: str) -> None:
    tables = run_end_to_end("robospatial", FIXTURE / layout, tmp_path)
    assert tables["n_items"] == 11
    assert {t["task"] for t in tables["tasks"]} == {"configuration", "compatibility", "context"}
    assert set(tables["totals"]) == {"overall", "vqa_average", "all_items"}
