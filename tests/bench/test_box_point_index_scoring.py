"""The multi-view answer types through the scoring core: `score_item` on PredictionItems, gold checks,
rules from QA record tolerances, `spatialforge score` (generic benchmark), the evaluation tables and the HTML
report. Hand-checked numbers in the comments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spatialforge.bench.builder.items import BenchItem, item_from_json
from spatialforge.bench.builder.select import scoring_rule
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.rules import ScoringRule, gold_value, known_metric, score_item
from spatialforge.bench.score import ScoreConfig, run_score
from spatialforge.errors import RecordError
from spatialforge.evaluate.report import write_report
from spatialforge.evaluate.tables import build_tables, score_run, tables_markdown
from tests.evaluate.report_fixtures import FakeItem, make_eval_dir

BOX = ScoringRule("box", "box_iou")
POINT = ScoringRule("image_point", "image_point_within", {"default_unit": "m", "to_unit": "m"})
SET = ScoringRule("index_list", "exact_set")
SEQUENCE = ScoringRule("index_list", "exact_sequence")
GOLD_BOX = [0, 0, 100, 100]  # area 10000
GOLD_POINT = [500, 500, 2.0]  # x, y on the grid, depth 2 m


def _decide(rule: ScoringRule, reply: str, gold, *, gold_unit: str | None = None, task: str = "t"):
    return score_item(PredictionItem("i1", task, reply, gold, gold_unit=gold_unit), rule)


def test_new_metrics_are_known() -> None:
    for metric in ("box_iou", "image_point_within", "exact_set", "exact_sequence"):
        assert known_metric(metric)


# --- score_item ---------------------------------------------------------------------------------------------


def test_box_iou_decisions() -> None:
    # [0, 0, 100, 50] vs [0, 0, 100, 100]: inter 5000 / union 10000 = 0.5, inclusive -> right
    at_bound = _decide(BOX, "The box is [0, 0, 100, 50].", GOLD_BOX)
    assert (at_bound.score, at_bound.correct) == (1.0, True)
    assert at_bound.reason == "IoU 0.500 (threshold 0.5)"
    assert at_bound.parsed == (0.0, 0.0, 100.0, 50.0) and at_bound.gold_value == (0.0, 0.0, 100.0, 100.0)
    # [50, 0, 150, 100]: 5000 / 15000 = 0.333 -> wrong at 0.5, right at a threshold of 0.3
    third = _decide(BOX, "(50, 0), (150, 100)", GOLD_BOX)
    assert (third.score, third.correct, third.reason) == (0.0, False, "IoU 0.333 (threshold 0.5)")
    lenient = _decide(
        ScoringRule("box", "box_iou", params={"threshold": 0.3}), "(50, 0), (150, 100)", GOLD_BOX
    )
    assert (lenient.score, lenient.reason) == (1.0, "IoU 0.333 (threshold 0.3)")
    swapped = _decide(BOX, "[100, 100, 0, 0]", GOLD_BOX)
    assert swapped.score == 1.0 and swapped.parse_detail == "corners reordered (x and y written max first)"
    unparsed = _decide(BOX, "[0, 0, 100, 1200]", GOLD_BOX)
    assert (unparsed.score, unparsed.correct, unparsed.parse_status) == (0.0, False, "invalid")
    assert unparsed.reason == "not scored: invalid"
    assert _decide(BOX, "[0, 0, 100, 100]", "[0, 0, 100, 100]").score == 1.0  # a gold written as text


def test_image_point_decisions() -> None:
    # (560, 580): sqrt(60^2 + 80^2) = 100 off; 2.5 m vs 2 m: 0.25 off. Both bounds inclusive -> right
    right = _decide(POINT, "(560, 580), depth 2.5 m", GOLD_POINT)
    assert (right.score, right.correct) == (1.0, True)
    assert right.reason == "point 100.0 grid units off (max 100), depth 0.25 x gold off (max 0.25)"
    # 250 cm = 2.5 m: the unit is honoured
    assert _decide(POINT, "x=560, y=580, depth: 250 cm", GOLD_POINT).score == 1.0
    # 2.6 m: 0.30 off -> wrong; the grid error alone would pass
    deep = _decide(POINT, "(560, 580), depth 2.6 m", GOLD_POINT)
    assert (deep.score, deep.correct) == (0.0, False)
    assert deep.reason == "point 100.0 grid units off (max 100), depth 0.30 x gold off (max 0.25)"
    strict = ScoringRule("image_point", "image_point_within", params={"max_grid_error": 50})
    assert _decide(strict, "(560, 580), 2 m", GOLD_POINT).score == 0.0
    no_depth = _decide(POINT, "(500, 500)", GOLD_POINT)
    assert (no_depth.parse_status, no_depth.score, no_depth.correct) == ("invalid", 0.0, False)
    # a gold depth given in centimetres (gold_unit) is converted to the rule's metres: 210 cm = 2.1 m
    converted = _decide(POINT, "(500, 500), 2.1 m", [500, 500, 210], gold_unit="cm")
    assert converted.gold_value == pytest.approx((500.0, 500.0, 2.1)) and converted.score == 1.0


def test_index_list_decisions() -> None:
    same = _decide(SET, "Images 4 and 2", [2, 4])
    assert (same.score, same.correct, same.reason) == (1.0, True, "same images")
    assert same.parsed == (4, 2) and same.gold_value == (2, 4)
    partial = _decide(SET, "image 2 and image 5", [2, 4])
    assert (partial.score, partial.reason) == (0.0, "missing [4], extra [5]")
    nothing = _decide(SET, "It does not appear in any other image.", [2, 4])
    assert (nothing.parse_status, nothing.score, nothing.reason) == ("ok", 0.0, "missing [2, 4], extra []")
    order = _decide(SEQUENCE, "4, 2", [2, 4])
    assert (order.score, order.reason) == (0.0, "expected [2, 4], got [4, 2]")
    assert _decide(SEQUENCE, "first image 2, then image 4", [2, 4]).score == 1.0
    assert _decide(SET, "Images 2 and 4", "2, 4").score == 1.0  # a gold written as text
    assert _decide(SET, "Images 2 and 4", np.array([4, 2])).gold_value == (4, 2)  # numpy ints
    assert _decide(SET, "Images 2 and 4", [2.0, 4.0]).gold_value == (2, 4)  # whole floats (JSON)
    alternatives = _decide(SET, "image 2 or image 4", [2])
    assert (alternatives.parse_status, alternatives.correct) == ("ambiguous", False)


@pytest.mark.parametrize(
    ("rule", "gold", "message"),
    [
        (BOX, [0, 0, 100], "is not a box"),
        (BOX, [0, 0, 100, 1001], "outside the 0-1000 grid"),
        (BOX, [100, 0, 0, 100], "needs x0 < x1 and y0 < y1"),  # swapped corners: the record is wrong
        (BOX, [0, 0, 0, 100], "needs x0 < x1 and y0 < y1"),
        (BOX, [0, 0, float("nan"), 100], "is not finite"),
        (BOX, [True, 0, 100, 100], "is not a box"),
        (BOX, "somewhere left", "is not a box"),
        (POINT, [500, 500], "is not an image point"),
        (POINT, [500, 1200, 2.0], "outside the 0-1000 grid"),
        (POINT, [500, 500, 0.0], "gold depth 0 is not positive"),
        (SET, [], "is empty"),
        (SET, [2, 2], "repeats an image number"),
        (SET, [0, 2], "not an image number >= 1"),
        (SET, [2.5], "not an image number >= 1"),
        (SET, "none", "is empty"),
        (SEQUENCE, 3, "is not a list of image numbers"),
    ],
)
def test_unusable_golds_are_refused(rule: ScoringRule, gold, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gold_value(PredictionItem("i1", "t", "", gold), rule)
    with pytest.raises(ValueError, match=message):
        _decide(rule, "[0, 0, 100, 100]", gold)


def test_a_gold_unit_that_is_not_a_length_is_refused() -> None:
    with pytest.raises(ValueError, match="not a length unit"):
        _decide(POINT, "(500, 500), 2 m", [500, 500, 2.0], gold_unit="rad")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (ScoringRule("box", "accuracy"), "cannot score answer type 'box'"),
        (ScoringRule("vector", "box_iou"), "cannot score answer type 'vector'"),
        (ScoringRule("index_list", "mra"), "cannot score answer type 'index_list'"),
        (ScoringRule("image_point", "exact_set"), "cannot score answer type 'image_point'"),
        (ScoringRule("box", "box_iou", params={"threshold": 0}), "threshold must be in"),
        (ScoringRule("box", "box_iou", params={"threshold": 1.5}), "threshold must be in"),
        (ScoringRule("box", "box_iou", params={"threshold": "half"}), "threshold must be a number"),
        (
            ScoringRule("image_point", "image_point_within", params={"max_grid_error": -1}),
            "max_grid_error must be in",
        ),
        (
            ScoringRule("image_point", "image_point_within", params={"max_relative_depth_error": True}),
            "max_relative_depth_error must be in",
        ),
    ],
)
def test_bad_rules_are_refused_whatever_the_reply(rule: ScoringRule, message: str) -> None:
    gold = {"box": GOLD_BOX, "image_point": GOLD_POINT, "index_list": [2]}.get(rule.answer_type, GOLD_BOX)
    for reply in ("", "[0, 0, 100, 100]"):  # an unparsed reply does not hide a broken rule
        with pytest.raises(ValueError, match=message):
            _decide(rule, reply, gold)
    with pytest.raises(ValueError, match=message):
        gold_value(PredictionItem("i1", "t", "", gold), rule)


# --- rules from QA records, benchmark items -----------------------------------------------------------------


def _record(answer_value, tolerance: dict, unit: str | None = None) -> dict:
    return {"format": "free", "answer_value": answer_value, "unit": unit, "tolerance": tolerance}


def test_rules_from_qa_record_tolerances() -> None:
    box = scoring_rule(
        _record(
            [120, 340, 560, 780], {"metric": "box_iou", "params": {"answer_type": "box", "threshold": 0.5}}
        ),
        None,
    )
    assert box == ScoringRule("box", "box_iou", {}, {"threshold": 0.5})
    point = scoring_rule(
        _record(
            [512, 340, 2.1],
            {
                "metric": "image_point_within",
                "params": {"answer_type": "image_point", "default_unit": "m", "max_grid_error": 100},
            },
            unit="m",
        ),
        None,
    )
    # default_unit is a parser option (the unit of a bare depth); the limits are metric parameters
    assert point == ScoringRule(
        "image_point", "image_point_within", {"default_unit": "m"}, {"max_grid_error": 100}
    )
    assert _decide(point, "(512, 340), 2.1", [512, 340, 2.1]).score == 1.0
    frames = scoring_rule(
        _record([2, 4], {"metric": "exact_set", "params": {"answer_type": "index_list"}}), None
    )
    assert _decide(frames, "Images 2 and 4", [2, 4]).score == 1.0


def _bench_item(
    item_id: str, task: str, rule: ScoringRule, answer_value, unit: str | None = None
) -> BenchItem:
    return BenchItem(
        id=item_id,
        task=task,
        level=2,
        format="free",
        question=f"question {item_id}",
        images=("images/a.jpg", "images/b.jpg"),
        choices=(),
        answer=str(answer_value),
        answer_value=answer_value,
        unit=unit,
        scoring=rule,
        group="multi-view",
    )


ITEMS = [
    _bench_item("box-0", "position_matching", BOX, (0, 0, 100, 100)),
    _bench_item("box-1", "position_matching", BOX, (0, 0, 100, 100)),
    _bench_item("cam-0", "camera_motion_infer", POINT, (500, 500, 2.0), unit="m"),
    _bench_item("cam-1", "camera_motion_infer", POINT, (500, 500, 2.0), unit="m"),
    _bench_item("frames-0", "obj_frame_locate", SET, (2, 4)),
    _bench_item("frames-1", "obj_frame_locate", SET, (3,)),
    _bench_item("order-0", "appearance_order", SEQUENCE, (3, 1, 2)),
]
REPLIES = {
    "box-0": "[0, 0, 100, 50]",  # IoU 0.5 -> 1
    "box-1": "[0, 0, 100, 49]",  # IoU 0.49 -> 0
    "cam-0": "(560, 580), depth 2.5 m",  # on both bounds -> 1
    "cam-1": "I cannot tell.",  # refusal -> 0
    "frames-0": "Images 4 and 2",  # -> 1
    "frames-1": "image 3 and image 5",  # -> 0
    "order-0": "3, 1, 2",  # -> 1
}
# task scores: position_matching 1/2, camera_motion_infer 1/2, obj_frame_locate 1/2, appearance_order 1/1


def test_bench_items_round_trip_and_are_checked_when_read() -> None:
    for item in ITEMS:
        back = item_from_json(json.loads(json.dumps(item.to_json())), file="items.jsonl", line=1)
        assert back.scoring == item.scoring and gold_value(back.prediction_item(""), back.scoring)
    broken = json.loads(json.dumps(ITEMS[0].to_json()))
    broken["answer_value"] = [100, 0, 0, 100]
    with pytest.raises(RecordError, match="needs x0 < x1"):
        item_from_json(broken, file="items.jsonl", line=1)
    mismatched = json.loads(json.dumps(ITEMS[4].to_json()))
    mismatched["scoring"]["metric"] = "accuracy"
    with pytest.raises(RecordError, match="cannot score answer type 'index_list'"):
        item_from_json(mismatched, file="items.jsonl", line=1)


def test_evaluation_tables_score_the_new_types(tmp_path: Path) -> None:
    report = score_run(ITEMS, REPLIES, tmp_path, bootstrap=200)
    scores = {t: s.score for t, s in report.tasks.items()}
    assert scores == {
        "appearance_order": 1.0,
        "camera_motion_infer": 0.5,
        "obj_frame_locate": 0.5,
        "position_matching": 0.5,
    }
    assert report.tasks["camera_motion_infer"].parse_status == {"ok": 1, "refusal": 1}
    assert report.tasks["position_matching"].metric == "box_iou"
    assert (
        report.tasks["position_matching"].chance is None
        and report.tasks["position_matching"].frequency is None
    )
    decisions = {
        d["id"]: d for d in map(json.loads, (tmp_path / "score" / "items.jsonl").read_text().splitlines())
    }
    assert decisions["box-0"]["parsed"] == [0.0, 0.0, 100.0, 50.0]  # tuples are written as JSON lists
    assert decisions["frames-0"]["gold_value"] == [2, 4] and decisions["frames-0"]["parsed"] == [4, 2]
    assert decisions["cam-0"]["reason"].startswith("point 100.0 grid units off")
    tables = build_tables(ITEMS, report, tmp_path / "score", answered=len(REPLIES), bootstrap=200)
    # micro: (1 + 0 + 1 + 0 + 1 + 0 + 1) / 7 = 4/7
    assert tables["totals"]["overall"] == pytest.approx(4 / 7)
    markdown = tables_markdown(tables, "multi-view")
    assert "| position_matching | 2 | multi-view | box_iou | 2 | 50.0 |" in markdown
    assert "| appearance_order | 2 | multi-view | exact_sequence | 1 | 100.0 |" in markdown


def test_generic_benchmark_reads_the_new_types(tmp_path: Path) -> None:
    lines = [
        {"id": "b", "task": "position_matching", "prediction": "[0, 0, 100, 50]", "answer": GOLD_BOX,
         "answer_type": "box", "metric": "box_iou"},
        {"id": "p", "task": "camera_motion_infer", "prediction": "(500, 500), 210 cm", "answer": GOLD_POINT,
         "answer_type": "image_point", "metric": "image_point_within", "parse": {"default_unit": "m"}},
        {"id": "s", "task": "obj_frame_locate", "prediction": "2 and 4", "answer": [4, 2],
         "answer_type": "index_list", "metric": "exact_set"},
    ]  # fmt: skip
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = run_score(ScoreConfig(benchmark="generic", predictions=str(preds), output=str(tmp_path / "out")))
    # 210 cm = 2.1 m, 0.05 off the gold 2 m -> right; the other two as above
    assert {t: s.score for t, s in report.tasks.items()} == {
        "camera_motion_infer": 1.0,
        "obj_frame_locate": 1.0,
        "position_matching": 1.0,
    }
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["tasks"]["position_matching"]["metric"] == "box_iou"


def test_html_report_shows_the_new_types(tmp_path: Path) -> None:
    items = [
        FakeItem(item.id, item.task, item.level, item.group, item.scoring, item.answer_value, item.question)
        for item in ITEMS
    ]
    run = make_eval_dir(tmp_path, "run", replies=REPLIES, items=items)
    html = write_report(run.path).read_text(encoding="utf-8")
    for task in ("position_matching", "camera_motion_infer", "obj_frame_locate", "appearance_order"):
        assert task in html
    assert "box_iou" in html and "exact_sequence" in html
    assert "IoU 0.490 (threshold 0.5)" in html  # the lowest-scoring parsed replies list their reason
