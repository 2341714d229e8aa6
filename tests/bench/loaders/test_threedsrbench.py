"""3DSRBench loader on the fixture (fixtures/3dsrbench/FIXTURE.md): items, official prompt, CircularEval /
FlipEval fields, skips, and the official totals on hand-made replies."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from spatialforge.bench.benchmarks import get_benchmark
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.published import get_published
from spatialforge.bench.published.base import LoaderSkip, PublishedItem
from spatialforge.bench.published.threedsrbench import parse_qid
from spatialforge.bench.score import ScoreConfig, run_score
from spatialforge.errors import RecordError
from tests.bench.loaders.e2e import run_end_to_end

FIXTURE = Path(__file__).parent / "fixtures" / "3dsrbench"
TSV = "3dsrbench_v1_vlmevalkit_circular.tsv"
BENCHMARK = get_published("3dsrbench")


def load(data: Path, options: dict[str, str] | None = None) -> list[PublishedItem | LoaderSkip]:
    return list(BENCHMARK.read(data, options or {}))


def items(data: Path = FIXTURE) -> dict[str, PublishedItem]:
    out = {e.id: e for e in load(data) if isinstance(e, PublishedItem)}
    return out


def copy_with(tmp_path: Path, edit) -> Path:
    """A copy of the fixture TSV with `edit(rows)` applied to its rows (list of dicts)."""
    with open(FIXTURE / TSV, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        fields, rows = list(reader.fieldnames or []), list(reader)
    fields = edit(rows) or fields
    data = tmp_path / "data"
    data.mkdir()
    with open(data / TSV, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return data


def test_items_ids_groups_and_presentations():
    got = items()
    assert len(got) == 11
    assert {i.task for i in got.values()} == {
        "height_higher",
        "orientation_on_the_left",
        "multi_object_facing",
        "location_closer_to_camera",
    }
    flip = got["F3LD8W2C-flip-1"]
    assert flip.score_group == "F3LD8W2C"
    assert flip.score_meta == {"rotation": 1, "flipped": True}
    assert got["F3LD8W2C-flip"].score_meta == {"rotation": 0, "flipped": True}
    assert got["M1CT5R0B-2"].score_meta == {"rotation": 2, "flipped": False}
    assert got["Q7XK2M9A"].score_meta == {"rotation": 0, "flipped": False}
    assert {i.report_group for i in got.values()} == {"height", "orientation", "multi_object", "location"}
    assert got["M1CT5R0B-1"].choices == (
        ("A", "away from the camera"),
        ("B", "to the left"),
        ("C", "towards the camera"),
    )
    assert got["M1CT5R0B-1"].answer_value == "C"
    assert got["Q7XK2M9A-1"].extra["image_url"].startswith("http://images.cocodataset.org/")


def test_prompt_is_vlmevalkits_multiple_choice_prompt():
    item = items()["M1CT5R0B"]
    assert item.prompt == (
        "Question: Which direction is the car facing, relative to the camera?\n"
        "Options:\n"
        "A. towards the camera\n"
        "B. away from the camera\n"
        "C. to the left\n"
        "Please select the correct answer from the options above. \n"
    )
    assert item.question == "Which direction is the car facing, relative to the camera?"


def test_hint_column_opens_the_prompt(tmp_path):
    def add_hint(rows):
        for row in rows:
            row["hint"] = "Look at the floor." if row["qid"] == "Q7XK2M9A" else ""
        return [*rows[0].keys()]

    got = items(copy_with(tmp_path, add_hint))
    assert got["Q7XK2M9A"].prompt.startswith("Hint: Look at the floor.\nQuestion: Which object")
    assert got["Q7XK2M9A-1"].prompt.startswith("Question: ")


def test_images_decoded_mirrored_and_shared_by_index():
    got = items()
    original = Image.open(io.BytesIO(got["F3LD8W2C"].images[0].data))
    mirrored = Image.open(io.BytesIO(got["F3LD8W2C-flip"].images[0].data))
    assert original.size == (32, 24) and got["F3LD8W2C"].images[0].suffix == ".png"
    assert list(ImageOps.mirror(original).getdata()) == list(mirrored.getdata())
    # The second row's image cell is "9", the index of the first row of that question.
    assert got["L9CC4Z1D-1"].images[0].data == got["L9CC4Z1D"].images[0].data


def test_parse_qid_follows_the_released_suffixes():
    assert parse_qid("AB12CD34") == ("AB12CD34", 0, False)
    assert parse_qid("AB12CD34-3") == ("AB12CD34", 3, False)
    assert parse_qid("AB12CD34-flip") == ("AB12CD34", 0, True)
    assert parse_qid("AB12CD34-flip-2") == ("AB12CD34", 2, True)


def test_rules_match_the_scoring_spec():
    spec = get_benchmark(BENCHMARK.scoring, BENCHMARK.variant)
    for item in items().values():
        pred = PredictionItem(
            item.id, item.task, "", item.answer_value, dict(item.choices), group=item.score_group
        )
        assert item.scoring == spec.rule_for(pred)


@pytest.mark.parametrize(
    ("qid", "column", "value", "reason"),
    [
        ("Q7XK2M9A", "answer", "E", "unknown_answer"),
        ("Q7XK2M9A", "answer", "C", "unknown_answer"),  # C is empty for a two-option question
        ("Q7XK2M9A", "category", "height_lower", "unknown_category"),
        ("Q7XK2M9A", "question", "", "missing_field"),
        (
            "Q7XK2M9A",
            "image",
            "not base64 at all, certainly longer than sixty-four characters!!!!!!",
            "unreadable_image",
        ),
        (
            "Q7XK2M9A",
            "image",
            base64.b64encode(b"plain text, no image signature" * 4).decode(),
            "unreadable_image",
        ),
        ("Q7XK2M9A", "image", "", "missing_image"),
        (
            "Q7XK2M9A",
            "image",
            "../../etc/passwd",
            "unreadable_image",
        ),  # a short cell is an index, never a path
    ],
)
def test_bad_rows_are_skipped_by_name(tmp_path, qid, column, value, reason):
    def spoil(rows):
        for row in rows:
            if row["qid"] == qid:
                row[column] = value

    entries = load(copy_with(tmp_path, spoil))
    skips = [e for e in entries if isinstance(e, LoaderSkip)]
    assert [(s.item_id, s.reason) for s in skips] == [(qid, reason)]
    assert len(entries) == 11


def test_missing_column_and_missing_file_are_record_errors(tmp_path):
    def drop_category(rows):
        for row in rows:
            del row["category"]
        return [k for k in rows[0]]

    with pytest.raises(RecordError) as err:
        load(copy_with(tmp_path, drop_category))
    assert err.value.reason == "missing_field"
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordError) as err:
        load(tmp_path / "empty")
    assert err.value.reason == "missing_file"
    with pytest.raises(ValueError):
        load(FIXTURE, {"file": "../../etc/passwd"})


# Replies: F3LD8W2C wrong on its mirrored second shift, M1CT5R0B wrong on its third shift, the rest right.
WRONG = {"F3LD8W2C-flip-1": "B", "M1CT5R0B-2": "A"}


def test_official_totals_on_hand_made_replies(tmp_path):
    records = []
    for item in items().values():
        records.append(
            {
                "id": item.id,
                "task": item.task,
                "prediction": f"The answer is {WRONG.get(item.id, item.answer_value)}.",
                "answer": item.answer_value,
                "options": dict(item.choices),
                "group": item.score_group,
                **item.score_meta,
            }
        )
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = run_score(
        ScoreConfig(benchmark="3dsrbench", predictions=str(preds), output=str(tmp_path / "out"))
    )
    totals = report.totals
    assert totals["plain_accuracy"] == pytest.approx(9 / 11)
    assert totals["joint_circular_flip"] == pytest.approx(2 / 4)  # Q7XK2M9A, L9CC4Z1D
    assert totals["circular_eval"] == pytest.approx(3 / 4)  # + F3LD8W2C (its unmirrored rows)
    assert totals["flip_eval"] == pytest.approx(4 / 4)  # every question right at shift 0, mirrored or not
    # The released script: F3LD8W2C and F3LD8W2C-flip are two questions; 3 of 5 right.
    assert totals["released"] == totals["overall"] == pytest.approx(3 / 5)
    assert totals["released_orientation"] == pytest.approx(1 / 2)
    assert totals["released_orientation_on_the_left"] == pytest.approx(1 / 2)
    assert totals["released_multi_object"] == 0.0
    assert totals["released_height"] == totals["released_location"] == 1.0


def test_end_to_end_eval_and_score(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    tables = run_end_to_end("3dsrbench", data, tmp_path)
    assert tables["n_items"] == 11
    assert {
        "overall",
        "joint_circular_flip",
        "circular_eval",
        "flip_eval",
        "plain_accuracy",
        "released",
    } <= set(tables["totals"])
