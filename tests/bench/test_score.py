"""`spatialforge score` end to end: readers, per-benchmark rules, official totals, decisions, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spatialforge.bench.aggregate import SPARBENCH_TASK_LEVELS, VSIBENCH_TASKS
from spatialforge.bench.benchmarks import available_benchmarks, get_benchmark
from spatialforge.bench.parsers import PARSER_VERSION
from spatialforge.bench.score import ScoreConfig, run_score
from spatialforge.cli.main import app
from spatialforge.errors import RecordError

OPTS = {"A": "left", "B": "right", "C": "front", "D": "behind"}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def score(tmp_path: Path, benchmark: str, records: list[dict], **kw) -> object:
    preds = write_jsonl(tmp_path / "preds.jsonl", records)
    return run_score(
        ScoreConfig(benchmark=benchmark, predictions=str(preds), output=str(tmp_path / "out"), **kw)
    )


def test_registry_lists_every_benchmark_and_refuses_unknown():
    assert set(available_benchmarks()) >= {
        "generic",
        "vsibench",
        "sparbench",
        "cvbench",
        "blink",
        "3dsrbench",
        "qspatial",
        "spatialrgpt",
    }
    with pytest.raises(KeyError, match="unknown benchmark"):
        get_benchmark("nope")
    with pytest.raises(KeyError, match="no variant"):
        get_benchmark("vsibench", "corrected")


def test_generic_choice_and_number_with_decisions_written(tmp_path):
    report = score(
        tmp_path,
        "generic",
        [
            {"id": 1, "task": "dir", "prediction": "The answer is (B).", "answer": "B", "options": OPTS},
            {"id": 2, "task": "dir", "prediction": "The answer is C", "answer": "B", "options": OPTS},
            {"id": 3, "task": "dir", "prediction": "", "answer": "A", "options": OPTS},
            # MRA of 1.1 vs 1.0: relative error 0.1 passes thresholds 0.50..0.90 (as released) -> 9/10.
            {"id": 4, "task": "dist", "prediction": "1.1", "answer": 1.0},
        ],
    )
    assert report.tasks["dir"].score == pytest.approx(1 / 3)
    assert report.tasks["dist"].score == pytest.approx(0.9)
    assert report.totals["overall"] == pytest.approx((1 / 3 + 0.9) / 2)
    assert report.parser_version == PARSER_VERSION
    items = [json.loads(x) for x in (tmp_path / "out" / "items.jsonl").read_text().splitlines()]
    by_id = {i["id"]: i for i in items}
    assert by_id["1"]["correct"] is True and by_id["1"]["parsed"] == "B"
    assert by_id["2"]["correct"] is False and "expected 'B'" in by_id["2"]["reason"]
    assert by_id["3"]["parse_status"] == "no_answer" and by_id["3"]["score"] == 0.0  # empty is never right
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["parser_version"] == PARSER_VERSION and summary["n_items"] == 4
    assert (
        (tmp_path / "out" / "tasks.csv").read_text().startswith("task,metric,n,score,ci_low,ci_high,chance")
    )
    assert "| dir | accuracy | 3 | 33.33 |" in (tmp_path / "out" / "tasks.md").read_text()
    assert by_id["4"]["gold_value"] == 1.0


def test_chance_and_frequency_baselines_per_task(tmp_path):
    two = {"A": "yes", "B": "no"}
    report = score(
        tmp_path,
        "generic",
        [
            # choice task: golds A, A, B with 4, 4 and 2 options -> chance = (1/4 + 1/4 + 1/2) / 3 = 1/3,
            # frequency = always "A" = 2/3.
            {"id": 1, "task": "c", "prediction": "A", "answer": "A", "options": OPTS},
            {"id": 2, "task": "c", "prediction": "A", "answer": "A", "options": OPTS},
            {"id": 3, "task": "c", "prediction": "A", "answer": "B", "options": two},
            # numeric task: golds 1, 1, 2 -> most frequent 1; MRA(1, 1) = 1, MRA(1, 1) = 1, MRA(1, 2) = 0
            # (relative error 0.5 passes only theta = 0.50 -> 0.1): (1 + 1 + 0.1) / 3 = 0.7.
            {"id": 4, "task": "n", "prediction": "1", "answer": 1.0},
            {"id": 5, "task": "n", "prediction": "1", "answer": 1.0},
            {"id": 6, "task": "n", "prediction": "1", "answer": 2.0},
        ],
    )
    assert report.tasks["c"].chance == pytest.approx(1 / 3)
    assert report.tasks["c"].frequency == pytest.approx(2 / 3)
    assert report.tasks["n"].chance is None
    assert report.tasks["n"].frequency == pytest.approx(0.7)


def test_bad_gold_is_caught_even_when_the_reply_does_not_parse(tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "prediction": "", "answer": "Q", "options": OPTS}])
    with pytest.raises(RecordError) as err:
        run_score(ScoreConfig(benchmark="generic", predictions=str(preds), output=str(tmp_path / "o")))
    assert err.value.reason == "bad_gold" and "not one of the options" in str(err.value)


def test_vsibench_overall_averages_direction_difficulties_first(tmp_path):
    records = []
    # Every task right except the three direction difficulties: easy right, medium right, hard wrong.
    tasks = [t for t in VSIBENCH_TASKS if t != "object_rel_direction"]
    numeric = {
        "object_counting": ("3", 3),
        "object_abs_distance": ("2.0 meters", 2.0),
        "object_size_estimation": ("50 cm", 50),
        "room_size_estimation": ("20", 20),
    }
    for i, t in enumerate(tasks):
        if t in numeric:
            reply, gold = numeric[t]
            records.append({"id": i, "task": t, "prediction": reply, "answer": gold})
        else:
            records.append({"id": i, "task": t, "prediction": "A", "answer": "A", "options": OPTS})
    for j, (d, reply) in enumerate((("easy", "A"), ("medium", "A"), ("hard", "B"))):
        records.append(
            {
                "id": 100 + j,
                "task": f"object_rel_direction_{d}",
                "prediction": reply,
                "answer": "A",
                "options": OPTS,
            }
        )
    report = score(tmp_path, "vsibench", records)
    # 7 tasks at 1.0 and rel-direction at (1 + 1 + 0) / 3: overall = (7 + 2/3) / 8.
    assert report.totals["overall"] == pytest.approx((7 + 2 / 3) / 8)


def test_vsibench_size_in_metres_is_converted_to_the_benchmarks_centimetres(tmp_path):
    report = score(
        tmp_path,
        "generic",
        [
            {
                "id": 1,
                "task": "s",
                "prediction": "It is 0.5 m tall.",
                "answer": 50,
                "answer_type": "number",
                "metric": "mra",
                "parse": {"to_unit": "cm"},
            },
        ],
    )
    assert report.tasks["s"].score == 1.0


def _spar_records(vc_pred: str) -> list[dict]:
    records = []
    for i, task in enumerate(SPARBENCH_TASK_LEVELS):
        if task == "view_change_infer":
            records.append(
                {
                    "id": i,
                    "task": task,
                    "prediction": vc_pred,
                    "answer": "move_right:1.0,move_up:0.5,move_forward:2.0,rotate_up:10,rotate_left:40",
                }
            )
        elif SPARBENCH_TASK_LEVELS[task] == "low":
            records.append({"id": i, "task": task, "prediction": "2.0", "answer": 2.0})
        else:
            records.append({"id": i, "task": task, "prediction": "B", "answer": "B", "options": OPTS})
    return records


def test_sparbench_variants_differ_only_where_documented(tmp_path):
    # Prediction 2x every view-change component: corrected MRA(pred=2g, g) -> rel. error 1.0 -> 0;
    # as released MRA(g, 2g) divides by the prediction -> rel. error 0.5 -> passes theta 0.50 only -> 0.1.
    vc = "move_right:2.0,move_up:1.0,move_forward:4.0,rotate_up:20,rotate_left:80"
    released = score(tmp_path / "r", "sparbench", _spar_records(vc), variant="as_released")
    corrected = score(tmp_path / "c", "sparbench", _spar_records(vc), variant="corrected")
    assert released.tasks["view_change_infer"].score == pytest.approx(0.1)
    assert corrected.tasks["view_change_infer"].score == pytest.approx(0.0)
    # as released, Medium drops view_change_infer: mean(1, 1) = 1; corrected counts it: (1 + 1 + 0) / 3.
    assert released.totals["medium"] == pytest.approx(1.0)
    assert corrected.totals["medium"] == pytest.approx(2 / 3)
    assert released.totals["overall"] == pytest.approx((19 + 0.1) / 20)
    assert corrected.totals["overall"] == pytest.approx(19 / 20)


def test_cvbench_total_uses_sources(tmp_path):
    records = []
    # ADE20K 1/2, COCO 2/2, Omni3D 1/4 -> ((0.5 + 1) / 2 + 0.25) / 2 = 0.5
    plan = [("ADE20K", ["A", "B"]), ("COCO", ["A", "A"]), ("Omni3D", ["A", "B", "B", "B"])]
    n = 0
    for source, replies in plan:
        for reply in replies:
            records.append(
                {
                    "id": n,
                    "task": "Depth",
                    "source": source,
                    "prediction": reply,
                    "answer": "(A)",
                    "options": OPTS,
                }
            )
            n += 1
    report = score(tmp_path, "cvbench", records)
    assert report.totals["overall"] == pytest.approx(0.5)
    assert report.totals["accuracy_2d"] == pytest.approx(0.75)


def test_3dsrbench_circular_and_flip(tmp_path):
    records = [
        # q1 right in every presentation; q2 wrong on its second rotation; q3 wrong on the mirrored image.
        {"id": "q1-0", "prediction": "A", "answer": "A", "options": OPTS, "rotation": 0},
        {"id": "q1-1", "prediction": "B", "answer": "B", "options": OPTS, "rotation": 1},
        {"id": "q2-0", "prediction": "A", "answer": "A", "options": OPTS, "rotation": 0},
        {"id": "q2-1", "prediction": "A", "answer": "B", "options": OPTS, "rotation": 1},
        {"id": "q3-0", "prediction": "C", "answer": "C", "options": OPTS, "rotation": 0},
        {"id": "q3-f", "prediction": "C", "answer": "D", "options": OPTS, "rotation": 0, "flipped": True},
    ]
    report = score(tmp_path, "3dsrbench", records)
    assert report.totals["plain_accuracy"] == pytest.approx(4 / 6)
    assert report.totals["circular_eval"] == pytest.approx(2 / 3)  # q1, q3 (its mirrored row excluded)
    assert report.totals["flip_eval"] == pytest.approx(2 / 3)  # q1, q2 at rotation 0
    assert report.totals["joint_circular_flip"] == pytest.approx(1 / 3)  # only q1
    # The released script counts the mirrored rows as a question of their own: q1, q3 of q1, q2, q3, q3-flip.
    assert report.totals["overall"] == report.totals["released"] == pytest.approx(2 / 4)


def test_qspatial_uses_last_scalar_and_unit(tmp_path):
    report = score(
        tmp_path,
        "qspatial",
        [
            # 150 cm vs 1 m: ratio 1.5 < 2 -> success; 4 ft = 1.2192 m vs 0.5 m: ratio 2.44 -> failure.
            {
                "id": 1,
                "prediction": "First \\scalar{3} \\distance_unit{m}, no: \\scalar{150} \\distance_unit{cm}",
                "answer": 1.0,
            },
            {"id": 2, "prediction": "\\scalar{4} \\distance_unit{feet}", "answer": 0.5},
        ],
    )
    assert report.totals["overall"] == pytest.approx(0.5)


def test_gold_file_and_lmms_eval_reader(tmp_path):
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"id": 0, "answer": "B", "options": OPTS, "task": "t"},
            {"id": 1, "answer": "A", "options": OPTS, "task": "t"},
        ],
    )
    samples = write_jsonl(
        tmp_path / "samples_t.jsonl",
        [
            {"doc_id": 0, "target": "B", "resps": [["**B**"]], "filtered_resps": ["B"]},
            {"doc_id": 1, "target": "A", "resps": [["I think it is (C)."]], "filtered_resps": ["C"]},
        ],
    )
    report = run_score(
        ScoreConfig(
            benchmark="generic",
            predictions=str(samples),
            output=str(tmp_path / "o"),
            reader="lmms-eval",
            gold=str(gold),
        )
    )
    assert report.tasks["t"].score == pytest.approx(0.5)


def test_bad_records_stop_or_are_counted(tmp_path):
    records = [
        {"id": 1, "prediction": "A", "answer": "A", "options": OPTS},
        {"prediction": "A", "answer": "A"},  # no id
        {"id": 3, "answer": "A", "options": OPTS},  # no reply
        {"id": 4, "prediction": "A", "options": OPTS},  # no gold
        {"id": 1, "prediction": "B", "answer": "A", "options": OPTS},  # duplicate id
        {"id": 6, "prediction": "A", "answer": "Q", "options": OPTS},  # gold not an option
    ]
    preds = write_jsonl(tmp_path / "p.jsonl", records)
    with open(preds, "a") as fh:
        fh.write('{"id": 7, "prediction": "A", "ans')  # truncated last line
    with pytest.raises(RecordError) as err:
        run_score(ScoreConfig(benchmark="generic", predictions=str(preds), output=str(tmp_path / "o1")))
    assert err.value.reason == "missing_field" and "line 2" in str(err.value)
    report = run_score(
        ScoreConfig(
            benchmark="generic", predictions=str(preds), output=str(tmp_path / "o2"), skip_invalid=True
        )
    )
    assert report.n_items == 1
    assert dict(report.skipped) == {"missing_field": 3, "duplicate_id": 1, "bad_gold": 1, "truncated_line": 1}


def test_cli_score_prints_totals_and_writes_tables(tmp_path):
    preds = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": 1, "task": "t", "prediction": "B", "answer": "B", "options": OPTS},
            {"id": 2, "task": "t", "prediction": "The answer is A", "answer": "B", "options": OPTS},
        ],
    )
    result = CliRunner().invoke(app, ["score", "-b", "generic", "-p", str(preds), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "50.00" in result.output
    assert {p.name for p in (tmp_path / "o").iterdir()} == {
        "items.jsonl",
        "tasks.csv",
        "tasks.md",
        "summary.json",
        "config.json",
    }
    bad = CliRunner().invoke(app, ["score", "-b", "nope", "-p", str(preds), "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown benchmark" in bad.output


def test_workers_give_the_same_output_as_one_process(tmp_path, monkeypatch):
    import spatialforge.bench.score as score_module

    monkeypatch.setattr(score_module, "BATCH_LINES", 3)  # several batches through the pool
    records = [
        {"id": i, "task": "t", "prediction": reply, "answer": "A", "options": OPTS}
        for i, reply in enumerate(
            ["A", "**B**", "The answer is A.", "", "A or C", "(a)", "I can't tell."] * 2
        )
    ]
    records.append({"id": 3, "task": "t", "prediction": "A", "answer": "A", "options": OPTS})  # duplicate id
    preds = write_jsonl(tmp_path / "p.jsonl", records)
    one = run_score(ScoreConfig("generic", str(preds), str(tmp_path / "one"), skip_invalid=True))
    two = run_score(ScoreConfig("generic", str(preds), str(tmp_path / "two"), skip_invalid=True, workers=2))
    assert (tmp_path / "one" / "items.jsonl").read_text() == (tmp_path / "two" / "items.jsonl").read_text()
    assert one.totals == two.totals and dict(one.skipped) == dict(two.skipped) == {"duplicate_id": 1}


def test_cli_help_names_every_benchmark():
    result = CliRunner().invoke(app, ["score", "--help"], env={"COLUMNS": "200"})
    for name in available_benchmarks():
        assert name in result.output
