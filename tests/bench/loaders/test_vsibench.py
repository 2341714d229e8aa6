"""VSI-Bench loader on fixtures reproducing the released files of nyu-visionx/VSI-Bench (FIXTURE.md)."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from spatialforge.bench.aggregate import VSIBENCH_REL_DIRECTION_DIFFICULTIES, VSIBENCH_TASKS
from spatialforge.bench.benchmarks import get_benchmark
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.published import get_published, video, vsibench
from spatialforge.bench.published.base import ImageData, LoaderSkip, PublishedItem
from spatialforge.bench.rules import ScoringRule
from spatialforge.bench.score import ScoreConfig, run_score
from spatialforge.errors import RecordError
from tests.bench.loaders.e2e import run_end_to_end

FIXTURE = Path(__file__).parent / "fixtures" / "vsibench"
BENCHMARK = get_published("vsibench")


def load(data: Path, **options: str) -> list[PublishedItem | LoaderSkip]:
    return list(BENCHMARK.read(data, options))


def items_of(data: Path, **options: str) -> dict[str, PublishedItem]:
    entries = load(data, **options)
    assert all(isinstance(e, PublishedItem) for e in entries), [
        e for e in entries if isinstance(e, LoaderSkip)
    ]
    return {e.id: e for e in entries}  # type: ignore[union-attr]


def skips_of(data: Path, **options: str) -> dict[str, str]:
    return {e.item_id: e.reason for e in load(data, **options) if isinstance(e, LoaderSkip)}


def copy_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "VSI-Bench"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    return root


def released_rows() -> list[dict]:
    return [json.loads(line) for line in (FIXTURE / "test.jsonl").read_text().splitlines()]


def write_jsonl_only(root: Path, rows: list) -> None:
    for parquet in root.glob("*.parquet"):
        parquet.unlink()
    (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def frame_identity(image: ImageData) -> tuple[int, int]:
    """(video number, frame number) of a fixture frame: red = 10 * frame, green = 80 * video."""
    with Image.open(io.BytesIO(image.data)) as im:
        mean = np.asarray(im.convert("RGB")).reshape(-1, 3).mean(axis=0)
    return round(mean[1] / 80), round(mean[0] / 10)


# --- the released rows as items -----------------------------------------------------------------------------


def test_every_released_question_type_is_a_task_of_the_scoring_spec():
    released = set(vsibench.MCA_QUESTION_TYPES) | set(vsibench.NA_QUESTION_TYPES)
    spec_tasks = (set(VSIBENCH_TASKS) - {"object_rel_direction"}) | set(VSIBENCH_REL_DIRECTION_DIFFICULTIES)
    assert released == spec_tasks
    assert {r["question_type"] for r in released_rows()} == released  # the fixture covers all ten


def test_items_come_grouped_by_scene_in_released_order_within_it():
    entries = load(FIXTURE)
    assert [e.id for e in entries] == ["0", "1", "2", "3", "11", "4", "5", "6", "10", "7", "8", "9"]
    assert all(isinstance(e, PublishedItem) for e in entries)


def test_numerical_prompt_is_the_official_three_lines():
    item = items_of(FIXTURE)["1"]
    assert item.prompt == (
        "These are frames of a video.\n"
        "Measuring from the closest point of each object, what is the distance between the sofa and the tv "
        "(in meters)?\n"
        "Please answer the question using a single word or phrase."
    )
    assert item.question.startswith("Measuring from") and item.choices == ()
    assert (item.answer, item.answer_value, item.unit) == ("2.3", 2.3, "m")


def test_multiple_choice_prompt_lists_the_released_option_strings():
    item = items_of(FIXTURE)["6"]
    assert item.prompt == (
        "These are frames of a video.\n"
        "If I am standing by the tv and facing the sofa, is the fireplace to my left, right, or back? An "
        "object is to my back if I would have to turn at least 135 degrees in order to face it.\n"
        "Options:\n"
        "A. left\n"
        "B. right\n"
        "C. back\n"
        "Answer with the option's letter from the given choices directly."
    )
    assert item.choices == (("A", "left"), ("B", "right"), ("C", "back"))
    assert (item.answer, item.answer_value, item.unit) == ("C", "C", None)
    assert item.extra["options"] == ["A. left", "B. right", "C. back"]


def test_multiline_question_is_kept_verbatim():
    item = items_of(FIXTURE)["7"]
    assert "back-right?\nThe directions refer" in item.prompt
    assert item.prompt.count("\n") == 1 + 1 + 1 + 4 + 1  # pre, question (2 lines), Options:, 4 options, post


def test_answers_units_and_rules_per_task():
    items = items_of(FIXTURE)
    expected = {
        "0": (4.0, None, "number", "none"),  # object_counting
        "1": (2.3, "m", "number", "m"),  # object_abs_distance, metres
        "2": (203.0, "cm", "number", "cm"),  # object_size_estimation, centimetres
        "3": (23.5, None, "number", "none"),  # room_size_estimation, square metres read as a number
    }
    for item_id, (value, unit, answer_type, to_unit) in expected.items():
        item = items[item_id]
        assert (item.answer_value, item.unit) == (value, unit)
        assert (item.scoring.answer_type, item.scoring.metric) == (answer_type, "mra")
        assert item.scoring.parse["to_unit"] == to_unit and item.scoring.parse["pick"] == "first"
    for item_id in ("4", "5", "6", "7", "8", "9", "10", "11"):
        if items[item_id].task in vsibench.MCA_QUESTION_TYPES:
            assert items[item_id].scoring == ScoringRule("choice", "accuracy")


def test_each_items_rule_is_the_one_the_vsibench_spec_gives():
    spec = get_benchmark(BENCHMARK.scoring, BENCHMARK.variant)
    for item in items_of(FIXTURE).values():
        probe = PredictionItem(
            item_id=item.id,
            task=item.task,
            prediction="",
            gold=item.answer_value,
            options=dict(item.choices) or None,
            gold_unit=item.unit,
        )
        assert item.scoring == spec.rule_for(probe), item.id


# --- frames -------------------------------------------------------------------------------------------------


def test_default_takes_32_frames_so_a_20_frame_video_gives_all_of_them():
    item = items_of(FIXTURE)["0"]
    assert item.extra["frames"] == 32
    assert item.extra["frame_indices"] == list(range(20)) and item.extra["video_frames"] == 20
    assert item.extra["frame_source"] == "video"
    assert [frame_identity(im) for im in item.images] == [(0, i) for i in range(20)]  # type: ignore[arg-type]


def test_frames_option_samples_uniformly_from_the_questions_own_video():
    items = items_of(FIXTURE, frames="8")
    # arkitscenes (20 frames), scannet (24), scannetpp (12): linspace(0, total - 1, 8) truncated.
    expected = {
        "0": (0, [0, 2, 5, 8, 10, 13, 16, 19]),
        "4": (1, [0, 3, 6, 9, 13, 16, 19, 23]),
        "9": (2, [0, 1, 3, 4, 6, 7, 9, 11]),
    }
    for item_id, (video_number, indices) in expected.items():
        item = items[item_id]
        assert item.extra["frames"] == 8 and item.extra["frame_indices"] == indices
        assert [frame_identity(im) for im in item.images] == [(video_number, i) for i in indices]  # type: ignore[arg-type]
    # Questions on one scene share its frames (the importer stores them once, by content).
    assert items["0"].images == items["11"].images


def test_each_video_is_decoded_once_however_many_questions_use_it(monkeypatch):
    calls: list[str] = []
    real = video.sample_video

    def counting(path: Path, requested: int, *, jpeg_quality: int) -> video.SampledFrames:
        calls.append(path.name)
        return real(path, requested, jpeg_quality=jpeg_quality)

    monkeypatch.setattr(video, "sample_video", counting)
    assert len(items_of(FIXTURE, frames="4")) == 12
    assert sorted(calls) == ["0a5c013435.mp4", "41069025.mp4", "scene0011_00.mp4"]


def test_a_folder_of_extracted_frames_stands_in_for_the_video(tmp_path):
    root = copy_fixture(tmp_path)
    (root / "scannetpp" / "0a5c013435.mp4").unlink()
    folder = root / "scannetpp" / "0a5c013435"
    folder.mkdir()
    for i in range(12):
        Image.new("RGB", (16, 12), (10 * i, 160, 0)).save(folder / f"{i:06d}.jpg", quality=95)
    item = items_of(root, frames="4")["9"]
    assert item.extra["frame_source"] == "frame_folder" and item.extra["frame_indices"] == [0, 3, 7, 11]
    assert [p.name for p in item.images] == ["000000.jpg", "000003.jpg", "000007.jpg", "000011.jpg"]  # type: ignore[union-attr]


def test_jpeg_quality_and_frames_options_are_checked():
    with pytest.raises(ValueError, match="at most 100"):
        load(FIXTURE, jpeg_quality="101")
    with pytest.raises(ValueError, match="at least 1"):
        load(FIXTURE, frames="0")
    with pytest.raises(ValueError, match="choose from full, debiased"):
        load(FIXTURE, subset="pruned")


# --- released file variants ---------------------------------------------------------------------------------


def test_test_jsonl_gives_the_same_items_as_the_parquet(tmp_path):
    root = copy_fixture(tmp_path)
    for parquet in root.glob("*.parquet"):
        parquet.unlink()
    from_jsonl = items_of(root, frames="2")
    from_parquet = items_of(FIXTURE, frames="2")
    assert from_jsonl.keys() == from_parquet.keys()
    for item_id, item in from_parquet.items():
        other = from_jsonl[item_id]
        assert (other.prompt, other.answer, other.answer_value, other.choices, other.scoring) == (
            item.prompt,
            item.answer,
            item.answer_value,
            item.choices,
            item.scoring,
        )


def test_debiased_subset_reads_test_debiased_parquet_and_keeps_its_pruned_column():
    items = items_of(FIXTURE, subset="debiased", frames="2")
    assert sorted(items, key=int) == ["0", "2", "3", "4", "5", "7", "8", "9", "10", "11"]
    assert all(item.extra["pruned"] is False for item in items.values())


def test_missing_question_files_name_what_was_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordError, match=r"test-\*\.parquet or test\.jsonl") as err:
        load(tmp_path / "empty")
    assert err.value.reason == "missing_file"
    with pytest.raises(RecordError) as err:
        load(tmp_path / "empty", subset="debiased")
    assert err.value.reason == "missing_file"


def test_a_parquet_without_the_released_columns_is_refused_as_a_whole(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    pq.write_table(pa.table({"id": [1], "question": ["q"]}), root / "test-00000-of-00001.parquet")
    with pytest.raises(RecordError) as err:
        load(root)
    assert err.value.reason == "missing_field" and err.value.field == "dataset"


# --- bad rows and hostile paths -----------------------------------------------------------------------------


def test_bad_rows_are_skipped_with_named_reasons(tmp_path):
    root = copy_fixture(tmp_path)
    good = released_rows()
    base = {"dataset": "scannet", "scene_name": "scene0011_00", "question": "q?"}
    mca = {**base, "question_type": "route_planning", "options": ["A. left", "B. right"]}
    na = {**base, "question_type": "object_counting", "options": None}
    bad = [
        {"id": 100, **{k: v for k, v in mca.items() if k != "question"}, "ground_truth": "A"},
        {"id": 101, **mca, "question_type": "object_height", "ground_truth": "A"},
        {"id": 102, **mca, "ground_truth": "E"},
        {"id": 103, **mca, "options": ["left", "right"], "ground_truth": "A"},
        {"id": 104, **mca, "options": ["A. left", "C. right"], "ground_truth": "A"},
        {"id": 105, **mca, "options": None, "ground_truth": "A"},
        {"id": 106, **na, "ground_truth": "nan"},
        {"id": 107, **na, "ground_truth": "two"},
        {"id": 108, **na, "ground_truth": ""},
        {"id": 109, **na, "scene_name": "../../../etc/passwd", "ground_truth": "1"},
        {"id": 110, **na, "dataset": "/abs", "ground_truth": "1"},
        {"id": 111, **na, "scene_name": "scene9999_00", "ground_truth": "1"},
        {"id": True, **na, "ground_truth": "1"},
        ["not", "an", "object"],
    ]
    write_jsonl_only(root, good + bad)
    assert skips_of(root, frames="2") == {
        "100": "missing_field",
        "101": "unknown_task",
        "102": "unknown_answer",
        "103": "bad_options",
        "104": "bad_options",
        "105": "bad_options",
        "106": "bad_answer",
        "107": "bad_answer",
        "108": "missing_field",
        "109": "unsafe_path",
        "110": "unsafe_path",
        "111": "missing_video",
        "test.jsonl line 25": "missing_field",
        "test.jsonl line 26": "bad_row",
    }
    assert len(items_of_good(root)) == 12  # the good rows are all still there


def items_of_good(root: Path) -> list[PublishedItem]:
    return [e for e in load(root, frames="2") if isinstance(e, PublishedItem)]


def test_an_unreadable_video_skips_each_of_its_questions(tmp_path):
    root = copy_fixture(tmp_path)
    (root / "scannetpp" / "0a5c013435.mp4").write_bytes(b"\x00" * 100)
    skips = skips_of(root, frames="2")
    assert skips == {"7": "unreadable_video", "8": "unreadable_video", "9": "unreadable_video"}


def test_a_video_linking_out_of_the_data_folder_is_refused(tmp_path):
    root = copy_fixture(tmp_path)
    outside = tmp_path / "elsewhere.mp4"
    shutil.move(root / "scannetpp" / "0a5c013435.mp4", outside)
    os.symlink(outside, root / "scannetpp" / "0a5c013435.mp4")
    assert skips_of(root, frames="2") == {"7": "unsafe_path", "8": "unsafe_path", "9": "unsafe_path"}


def test_a_frame_linking_out_of_the_data_folder_is_refused(tmp_path):
    root = copy_fixture(tmp_path)
    (root / "scannetpp" / "0a5c013435.mp4").unlink()
    folder = root / "scannetpp" / "0a5c013435"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "000000.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "secret.jpg")
    os.symlink(tmp_path / "secret.jpg", folder / "000001.jpg")
    assert set(skips_of(root, frames="2").values()) == {"unsafe_path"}


# --- scoring: golden official totals and the end-to-end run -------------------------------------------------

# Hand-made replies and what VSI-Bench's rules give them (MRA thresholds 0.50 ... 0.95).
REPLIES = {
    "0": ("4", 1.0),  # counting, gold 4
    "10": ("3", 0.1),  # counting, gold 6: relative error 0.5 passes only theta = 0.50
    "1": ("2.0", 0.8),  # abs distance, gold 2.3: relative error 0.13 passes theta 0.50 ... 0.85
    "2": ("2 meters", 1.0),  # size, gold 203 cm: 200 cm (the released float() would read nothing)
    "3": ("47", 0.0),  # room size, gold 23.5: relative error 1.0
    "4": ("C", 1.0),  # rel distance, gold C
    "11": ("B", 0.0),  # rel distance, gold A
    "5": ("B", 1.0),  # direction easy, gold B
    "6": ("A", 0.0),  # direction medium, gold C
    "7": ("A.", 1.0),  # direction hard, gold A
    "8": ("B", 1.0),  # route planning, gold B
    "9": ("The answer is D", 1.0),  # appearance order, gold D (the released first-word match reads "The")
}


def test_official_total_on_hand_made_replies(tmp_path):
    records = [
        {
            "id": item.id,
            "task": item.task,
            "prediction": REPLIES[item.id][0],
            "answer": item.answer_value,
            "gold_unit": item.unit,
            **({"options": dict(item.choices)} if item.choices else {}),
        }
        for item in items_of(FIXTURE, frames="1").values()
    ]
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = run_score(
        ScoreConfig(benchmark="vsibench", predictions=str(preds), output=str(tmp_path / "out"))
    )
    tasks = {t: s.score for t, s in report.tasks.items()}
    assert tasks == pytest.approx(
        {
            "object_counting": (1.0 + 0.1) / 2,
            "object_abs_distance": 0.8,
            "object_size_estimation": 1.0,
            "room_size_estimation": 0.0,
            "object_rel_distance": 0.5,
            "object_rel_direction_easy": 1.0,
            "object_rel_direction_medium": 0.0,
            "object_rel_direction_hard": 1.0,
            "route_planning": 1.0,
            "obj_appearance_order": 1.0,
        }
    )
    # The mean of 8 task scores, the three direction difficulties averaged first.
    assert report.totals["overall"] == pytest.approx((0.55 + 0.8 + 1.0 + 0.0 + 0.5 + 2 / 3 + 1.0 + 1.0) / 8)


def test_end_to_end_import_eval_and_score(tmp_path):
    tables = run_end_to_end("vsibench", FIXTURE, tmp_path, options={"frames": "4"})
    assert tables["n_items"] == 12
    assert {t["task"] for t in tables["tasks"]} == set(vsibench.MCA_QUESTION_TYPES) | set(
        vsibench.NA_QUESTION_TYPES
    )
    assert "overall" in tables["totals"]
    manifest = json.loads((tmp_path / "eval_vsibench" / "benchmark" / "benchmark.json").read_text())
    assert manifest["published"]["options"]["frames"] == "4"
    assert manifest["images"] == 12  # 4 frames for each of the 3 videos, stored once
