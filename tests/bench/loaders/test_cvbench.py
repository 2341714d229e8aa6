"""CV-Bench loader on a fixture reproducing the released files (fixtures/cvbench/FIXTURE.md)."""

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

FIXTURE = Path(__file__).parent / "fixtures" / "cvbench"
BENCHMARK = get_published("cvbench")
INSTRUCTION = "Answer with the option's letter from the given choices directly."


def load(data: Path) -> list[PublishedItem | LoaderSkip]:
    return list(BENCHMARK.read(data))


def items(data: Path) -> list[PublishedItem]:
    out = load(data)
    assert all(isinstance(e, PublishedItem) for e in out), [e for e in out if isinstance(e, LoaderSkip)]
    return out  # type: ignore[return-value]


def copy_fixture(tmp_path: Path, names: tuple[str, ...] = ("test_2d.parquet", "test_3d.parquet")) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name in names:
        shutil.copy(FIXTURE / name, data / name)
    return data


def rewrite_2d(data: Path, change: dict[int, dict]) -> None:
    """Change fields of rows of test_2d.parquet (row index -> {column: value}), keeping its arrow schema."""
    table = pq.read_table(data / "test_2d.parquet")
    rows = table.to_pylist()
    for index, fields in change.items():
        rows[index].update(fields)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), data / "test_2d.parquet")


def test_items_from_the_released_layout() -> None:
    loaded = items(FIXTURE)
    assert [i.id for i in loaded] == ["0", "1", "2", "3", "4", "1438", "1439", "1440", "1441"]
    assert [i.task for i in loaded] == ["Count"] * 2 + ["Relation"] * 3 + ["Depth"] * 2 + ["Distance"] * 2
    first = loaded[0]
    # The Cambrian harness (eval/eval/ade/ade_eval.py): released prompt, newline, question_extension.
    assert first.prompt == (
        "How many organs are in the image? Select from the following choices.\n(A) 3\n(B) 2\n(C) 1\n(D) 0\n"
        "Answer with the option's letter from the given choices directly."
    )
    assert first.question == "How many organs are in the image?"
    assert first.choices == (("A", "3"), ("B", "2"), ("C", "1"), ("D", "0"))
    assert (first.answer, first.answer_value) == ("(C)", "C")
    assert [i.score_meta["source"] for i in loaded] == ["ADE20K"] * 2 + ["COCO"] * 3 + ["Omni3D"] * 4
    assert [i.report_group for i in loaded] == ["2D"] * 5 + ["3D"] * 4
    assert loaded[5].extra["source_dataset"] == "Omni3D_SUNRGBD"
    for item in loaded:
        assert item.prompt.endswith("\n" + INSTRUCTION)
        assert len(item.images) == 1 and isinstance(item.images[0], ImageData)
        assert item.images[0].suffix == ".png"


def test_combined_test_parquet_of_the_older_revision(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    both = pa.concat_tables(
        [pq.read_table(FIXTURE / "test_2d.parquet"), pq.read_table(FIXTURE / "test_3d.parquet")]
    )
    pq.write_table(both, data / "test.parquet")
    assert [(i.id, i.prompt, i.answer_value) for i in items(data)] == [
        (i.id, i.prompt, i.answer_value) for i in items(FIXTURE)
    ]


def test_split_files_win_over_an_older_combined_file(tmp_path: Path) -> None:
    data = copy_fixture(tmp_path)
    pq.write_table(pq.read_table(FIXTURE / "test_2d.parquet"), data / "test.parquet")
    assert len(items(data)) == 9  # read once, not twice


def test_jsonl_annotations_with_img_folder(tmp_path: Path) -> None:
    data = copy_fixture(tmp_path, ("test_2d.jsonl", "test_3d.jsonl"))
    for name in ("test_2d.parquet", "test_3d.parquet"):
        for row in pq.read_table(FIXTURE / name).to_pylist():
            target = data / row["filename"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(row["image"]["bytes"])
    loaded = items(data)
    assert [(i.id, i.prompt, i.answer_value, i.score_meta) for i in loaded] == [
        (i.id, i.prompt, i.answer_value, i.score_meta) for i in items(FIXTURE)
    ]
    assert loaded[0].images == ((data / "img/2D/count/ade20k_10.png").resolve(),)


def test_jsonl_row_whose_image_is_missing_is_skipped(tmp_path: Path) -> None:
    data = copy_fixture(tmp_path, ("test_2d.jsonl",))
    out = load(data)
    assert {e.reason for e in out if isinstance(e, LoaderSkip)} == {"missing_image"}
    assert not [e for e in out if isinstance(e, PublishedItem)]


def test_hostile_image_path_is_refused(tmp_path: Path) -> None:
    data = copy_fixture(tmp_path, ())
    (tmp_path / "secret.png").write_bytes((FIXTURE / "test_2d.parquet").read_bytes())
    row = json.loads((FIXTURE / "test_2d.jsonl").read_text().splitlines()[0])
    row["filename"] = "../secret.png"
    (data / "test_2d.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(RecordError) as err:
        load(data)
    assert err.value.reason == "unsafe_path"
    assert err.value.file == "test_2d.jsonl" and err.value.field == "filename"


def test_bad_rows_are_skipped_with_named_reasons(tmp_path: Path) -> None:
    data = copy_fixture(tmp_path)
    rewrite_2d(
        data,
        {
            0: {"answer": "(F)"},  # four options only
            1: {"answer": None},
            2: {"source": "LVIS"},
            3: {"image": {"bytes": b"not an image", "path": None}},
            4: {"prompt": ""},
        },
    )
    out = load(data)
    skips = {e.item_id: e.reason for e in out if isinstance(e, LoaderSkip)}
    assert skips == {
        "0": "unknown_answer",
        "1": "unknown_answer",
        "2": "unknown_source",
        "3": "unreadable_image",
        "4": "missing_field",
    }
    assert [e.id for e in out if isinstance(e, PublishedItem)] == ["1438", "1439", "1440", "1441"]


def test_missing_files_and_wrong_columns_stop_the_import(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordError) as err:
        load(empty)
    assert err.value.reason == "missing_file"
    data = copy_fixture(tmp_path)
    (data / "test_3d.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(RecordError) as err:
        load(data)
    assert err.value.reason == "unreadable_file"


def prediction_item(item: PublishedItem, reply: str = "") -> PredictionItem:
    """What eval and `score` build from an imported item (BenchItem.prediction_item)."""
    return PredictionItem(
        item_id=item.id,
        task=item.task,
        prediction=reply,
        gold=item.answer_value,
        options=dict(item.choices),
        group=item.score_group,
        meta=dict(item.score_meta),
    )


def test_rules_are_the_specs() -> None:
    spec = get_benchmark(BENCHMARK.scoring, BENCHMARK.variant)
    for item in items(FIXTURE):
        assert item.scoring == spec.rule_for(prediction_item(item))


def test_official_total_on_hand_made_replies(tmp_path: Path) -> None:
    replies = {
        "0": "(C)",  # ADE20K 1/2
        "1": "A",
        "2": "The car is on the left, so the answer is (A).",  # COCO 3/3
        "3": "B",
        "4": "Answer: B",
        "1438": "(A) chair",  # Omni3D 1/4
        "1439": "A",
        "1440": "B",
        "1441": "I cannot tell.",
    }
    predictions = tmp_path / "predictions.jsonl"
    with open(predictions, "w") as fh:
        for item in items(FIXTURE):
            line = {
                "id": item.id,
                "task": item.task,
                "prediction": replies[item.id],
                "answer": item.answer,
                "options": dict(item.choices),
                **item.score_meta,
            }
            fh.write(json.dumps(line) + "\n")
    report = run_score(ScoreConfig("cvbench", str(predictions), str(tmp_path / "scores"), bootstrap=10))
    assert report.totals["accuracy_ADE20K"] == 0.5
    assert report.totals["accuracy_COCO"] == 1.0
    assert report.totals["accuracy_Omni3D"] == 0.25
    # ((0.5 + 1.0) / 2 + 0.25) / 2, not the 5/9 of all items.
    assert math.isclose(report.totals["overall"], 0.5)


def test_end_to_end_eval_and_score(tmp_path: Path) -> None:
    tables = run_end_to_end("cvbench", FIXTURE, tmp_path)
    assert tables["n_items"] == 9
    assert set(tables["totals"]) >= {"overall", "accuracy_2d", "accuracy_3d"}
