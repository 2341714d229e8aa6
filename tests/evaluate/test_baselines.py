"""Reference baselines as model backends: chance, frequency and the blind text-only prior.

Golden values are worked out by hand in the comments; every reply is read back through the scoring core
(bench.rules.score_item), so a baseline is scored exactly as a model would be.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from spatialforge.bench.baselines import frequency_baseline
from spatialforge.bench.builder.items import BenchItem
from spatialforge.bench.rules import ScoringRule, score_item
from spatialforge.evaluate.models import baselines as bl
from spatialforge.evaluate.models.base import MODELS, GenerationSettings, ModelError, Request
from spatialforge.qa.io import write_qa
from spatialforge.qa.records import Choice, QAImage, QAObject, QARecord, Tolerance

LETTERS = "ABCD"
AZIMUTH = {"threshold_rad": math.pi / 6, "circular": True}
ELEVATION = {"threshold_rad": math.pi / 18, "circular": False}

# ---------------------------------------------------------------- builders


def make_item(
    item_id: str,
    answer_type: str,
    answer_value: Any,
    *,
    task: str = "t",
    unit: str | None = None,
    metric: str | None = None,
    parse: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    choices: tuple[tuple[str, str], ...] = (),
    capture: str | None = "c0",
    objects: tuple[tuple[str, str], ...] = (),
    template_id: str | None = None,
) -> BenchItem:
    """A benchmark item with the rule the builder gives its answer type (metres and MRA for numbers, ...)."""
    defaults: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
        "choice": ("accuracy", {}, {}),
        "yes_no": ("accuracy", {}, {}),
        "number": ("mra", {"to_unit": unit or "none"}, {}),
        "vector": ("direction_angle", {}, {"threshold_deg": 30.0}),
        "angle": ("angle_within", {}, AZIMUTH),
        "clock": ("clock_hour", {}, {}),
    }
    default_metric, default_parse, default_params = defaults[answer_type]
    if answer_type == "number" and unit is None and metric is None:
        default_metric = "accuracy"  # counts
    return BenchItem(
        id=item_id,
        task=task,
        level=1,
        format={"choice": "mcq", "yes_no": "tf"}.get(answer_type, "free"),
        question=f"question {item_id}",
        images=("images/x.png",),
        choices=choices,
        answer=str(answer_value),
        answer_value=answer_value,
        unit=unit if answer_type != "angle" else "rad",
        scoring=ScoringRule(
            answer_type,
            metric or default_metric,
            parse if parse is not None else default_parse,
            params if params is not None else default_params,
        ),
        capture_id=capture,
        template_id=template_id,
        objects=tuple({"role": role, "category": category} for role, category in objects),
    )


def choice_item(item_id: str, gold: str, n_options: int = 4, **kw: Any) -> BenchItem:
    options = tuple((letter, f"option {letter.lower()}") for letter in LETTERS[:n_options])
    return make_item(item_id, "choice", gold, choices=kw.pop("choices", options), **kw)


def score(item: BenchItem, reply: str):
    return score_item(item.prediction_item(reply), item.scoring)


def ask(model, item: BenchItem) -> str:
    request = Request(item.id, item.question, (), GenerationSettings(), item=item)
    return model.answer(request).text


def qa_record(
    rec_id: str,
    task: str,
    answer_value: Any,
    *,
    fmt: str = "free",
    unit: str | None = "m",
    objects: tuple[tuple[str, str], ...] = (("a", "chair"),),
    choices: tuple[tuple[str, str], ...] = (),
    metric: str = "mra",
    answer_type: str = "number",
    template_id: str | None = None,
) -> QARecord:
    return QARecord(
        id=rec_id,
        scene_id="s-prior",
        capture_id="cap-prior",
        source="synthetic",
        split="train",
        license=None,
        images=(QAImage("rgb/0.png", "v0"),),
        task=task,
        level=1,
        difficulty=None,
        format=fmt,
        question="q",
        answer=str(answer_value),
        answer_value=answer_value,
        unit=unit,
        choices=tuple(Choice(label, text) for label, text in choices),
        objects=tuple(QAObject(f"o{i}", f"src{i}", cat, role) for i, (role, cat) in enumerate(objects)),
        markers=(),
        frame=None,
        tolerance=Tolerance(metric, {"answer_type": answer_type}),
        reasoning=None,
        template_id=template_id or f"{task}/{fmt}/q1@1",
        seed=0,
    )


# ---------------------------------------------------------------- reply texts


def test_reply_texts_are_the_forms_the_parsers_read() -> None:
    assert bl.quantity_reply(2.41, "m", count=False) == "2.41 m"
    assert bl.quantity_reply(0.52, "m^3", count=False) == "0.52 cubic meters"
    assert bl.quantity_reply(3.0, "none", count=True) == "3"
    assert bl.vector_reply((0.1, -0.2, 0.97)) == "(0.1, -0.2, 0.97)"
    assert bl.angle_reply(math.radians(35.0), "rad") == "35 degrees"
    assert bl.plain_number(-0.0) == "0" and bl.plain_number(1e-5) == "0.00001"


@pytest.mark.parametrize(
    ("item", "reply", "expected"),
    [
        (make_item("n", "number", 2.0, unit="m"), bl.quantity_reply(2.41, "m", count=False), 2.41),
        (make_item("v", "number", 0.5, unit="m^3"), bl.quantity_reply(0.52, "m^3", count=False), 0.52),
        (make_item("c", "number", 3), bl.quantity_reply(3.0, "none", count=True), 3.0),
        (make_item("d", "vector", [0.0, 0.0, 1.0]), bl.vector_reply((0.1, -0.2, 0.97)), (0.1, -0.2, 0.97)),
        (make_item("a", "angle", 0.5), bl.angle_reply(0.123456789, "rad"), 0.123456789),
    ],
)
def test_reply_texts_round_trip_through_the_scoring_core(item: BenchItem, reply: str, expected: Any) -> None:
    decision = score(item, reply)
    assert decision.parse_status == "ok"
    assert decision.parsed == pytest.approx(expected, abs=1e-15)


# ---------------------------------------------------------------- chance


def test_chance_answers_offered_letters_deterministically_and_about_uniformly() -> None:
    items = [choice_item(f"q{i}", "A") for i in range(4000)]
    model = bl.ChanceBaseline(items, seed=0)
    replies = [ask(model, it) for it in items]
    assert set(replies) <= set(LETTERS)
    # 4000 fair draws over 4 letters: each share is 0.25 +- 0.007 (one sd); +-0.025 is > 3.5 sd.
    shares = {letter: n / len(items) for letter, n in Counter(replies).items()}
    assert all(abs(shares[letter] - 0.25) < 0.025 for letter in LETTERS), shares
    # Same (seed, id) -> same reply, whatever the order, the other items or the threads.
    reordered = bl.ChanceBaseline(items[::-1][:100], seed=0)
    with ThreadPoolExecutor(8) as pool:
        again = list(pool.map(lambda it: ask(reordered, it), items[:100]))
    assert again == replies[:100]
    other_seed = [ask(bl.ChanceBaseline(items, seed=1), it) for it in items[:100]]
    assert other_seed != replies[:100]


def test_chance_two_option_items_and_yes_no_coin() -> None:
    two = [choice_item(f"q{i}", "B", n_options=2) for i in range(200)]
    model = bl.ChanceBaseline(two)
    assert {ask(model, it) for it in two} == {"A", "B"}
    coins = [make_item(f"y{i}", "yes_no", True) for i in range(2000)]
    model = bl.ChanceBaseline(coins, seed=3)
    replies = [ask(model, it) for it in coins]
    assert set(replies) == {"yes", "no"}
    assert abs(replies.count("yes") / len(replies) - 0.5) < 0.04  # sd 0.011
    assert all(score(it, r).parse_status == "ok" for it, r in zip(coins, replies, strict=True))


def test_chance_is_not_applicable_to_numeric_answers() -> None:
    items = [
        make_item("n1", "number", 2.0, unit="m", task="distance"),
        make_item("n2", "number", 3.0, unit="m", task="distance"),
        make_item("v1", "vector", [0.0, 0.0, 1.0], task="direction"),
        make_item("a1", "angle", 0.3, task="azimuth"),
        choice_item("c1", "A", task="relation"),
    ]
    model = bl.ChanceBaseline(items)
    assert [ask(model, it) for it in items[:4]] == ["", "", "", ""]
    described = model.describe()
    assert described["not_applicable_tasks"] == {"azimuth": 1, "direction": 1, "distance": 2}
    assert described["unsupported"] == {}


# ---------------------------------------------------------------- frequency


def test_frequency_choice_majority_letter_prefers_what_the_item_offers() -> None:
    golds = ["C", "C", "C", "C", "B", "B", "A"]
    items = [choice_item(f"q{i}", g) for i, g in enumerate(golds)]
    two_options = choice_item("two", "B", n_options=2)  # offers A and B only: C is not an answer here
    model = bl.FrequencyBaseline([*items, two_options])
    # Gold counts C 4, B 3 (the two-option item's B included), A 1: ranking C, B, A.
    assert model.describe()["constants"][0]["value"] == ["C", "B", "A"]
    assert {ask(model, it) for it in items} == {"C"}
    assert ask(model, two_options) == "B"  # the most frequent letter it offers


def test_frequency_choice_ranking_tie_break_is_by_letter() -> None:
    items = [choice_item("q1", "D"), choice_item("q2", "B"), choice_item("two", "A", n_options=2)]
    # Every letter once: the ranking is A, B, D; every item answers A.
    model = bl.FrequencyBaseline(items)
    assert [ask(model, it) for it in items] == ["A", "A", "A"]


def test_frequency_yes_no_majority_and_tie() -> None:
    items = [make_item(f"y{i}", "yes_no", v) for i, v in enumerate([False, False, True])]
    assert {ask(bl.FrequencyBaseline(items), it) for it in items} == {"no"}
    tied = items[1:]
    assert {ask(bl.FrequencyBaseline(tied), it) for it in tied} == {"yes"}


def test_frequency_numeric_best_constant_by_hand() -> None:
    # golds [1, 1, 2, 10], MRA (tolerances 0.05 .. 0.5): candidate 1 scores 1 + 1 + MRA(1 vs 2: error 0.5,
    # only the 0.5 tolerance -> 0.1) + MRA(1 vs 10: error 0.9 -> 0) = 2.1, mean 0.525; candidate 2 scores
    # 0 + 0 + 1 + 0 (2 vs 10: error 0.8) = 1.0, mean 0.25; candidate 10 scores 1.0 -> 0.25. Answer 1.
    assert bl.best_constant([1, 1, 2, 10], "mra") == (1.0, 0.525)
    # SpatialRGPT band 0.75g..1.25g: 1 hits the two 1s (0.5); 2 and 10 hit only themselves (0.25).
    assert bl.best_constant([1, 1, 2, 10], "spatialrgpt") == (1.0, 0.5)
    # [1, 3] under the band: each hits only itself -> tie -> the smaller, 1.
    assert bl.best_constant([3, 1], "spatialrgpt") == (1.0, 0.5)
    # The best constant is not always the mode: golds [1, 1, 2, 2.1, 2.2], MRA. Candidate 1: 1 + 1 + 0.1
    # (vs 2) + 0 + 0 = 2.1. Candidate 2.1: 0 + 0 + 1 (vs 2, error 0.05 <= 0.050000000000000044) + 1
    # + 1 (vs 2.2, error 0.045) = 3.0 -> 0.6. Candidates 2 and 2.2 score 2.9 (their mutual error 0.1 counts
    # at 9 tolerances). Answer 2.1.
    assert bl.best_constant([1, 1, 2, 2.1, 2.2], "mra") == (2.1, 0.6)


def test_frequency_numeric_reply_scores_what_it_promised() -> None:
    golds = [1.0, 1.0, 2.0, 10.0]
    items = [make_item(f"d{i}", "number", g, unit="m", task="depth") for i, g in enumerate(golds)]
    model = bl.FrequencyBaseline(items)
    replies = {ask(model, it) for it in items}
    assert replies == {"1 m"}
    decisions = [score(it, "1 m") for it in items]
    mean = sum(d.score for d in decisions) / len(decisions)
    assert mean == pytest.approx(0.525)
    assert model.describe()["constants"][0]["mean_score"] == pytest.approx(mean)


def test_frequency_matches_the_score_level_baseline_when_all_golds_differ() -> None:
    # bench.baselines picks among the tied most frequent gold values; with distinct golds all tie, so the
    # two definitions agree.
    golds = [0.7, 1.3, 2.2, 2.5, 3.9, 4.1, 8.0]
    value, mean = bl.best_constant(golds, "mra")
    assert mean == pytest.approx(frequency_baseline(golds, metric="mra"))
    items = [make_item(f"d{i}", "number", g, unit="m") for i, g in enumerate(golds)]
    reply = ask(bl.FrequencyBaseline(items), items[0])
    assert sum(score(it, reply).score for it in items) / len(items) == pytest.approx(mean)
    assert score(items[0], reply).parsed == value


def test_frequency_counts_volumes_vectors_and_angles() -> None:
    counts = [make_item(f"n{i}", "number", g, task="count") for i, g in enumerate([2, 3, 3, 5])]
    volumes = [
        make_item(f"v{i}", "number", g, unit="m^3", task="volume", metric="spatialrgpt")
        for i, g in enumerate([0.5, 0.52, 0.9])
    ]
    directions = [
        make_item("d1", "vector", [1.0, 0.0, 0.0], task="direction"),
        make_item("d2", "vector", [0.0, 2.0, 0.0], task="direction"),  # length 2: normalised first
    ]
    positions = [
        make_item(f"p{i}", "vector", v, task="position", metric="position_within", params={})
        for i, v in enumerate([[1.0, 5.0, -1.0], [2.0, 0.0, -3.0], [9.0, 1.0, -2.0]])
    ]
    # Azimuths 170 and -170 degrees: circular mean 180 (a plain mean would say 0).
    azimuths = [
        make_item(f"a{i}", "angle", math.radians(d), task="azimuth") for i, d in enumerate([170, -170])
    ]
    elevations = [
        make_item(f"e{i}", "angle", math.radians(d), task="elevation", params=ELEVATION)
        for i, d in enumerate([5, 10, 40])
    ]
    model = bl.FrequencyBaseline([*counts, *volumes, *directions, *positions, *azimuths, *elevations])
    assert ask(model, counts[0]) == "3"  # the mode, exact-match accuracy 2/4
    # 0.5 hits 0.5 and 0.52; 0.52 hits both too; 0.9 only itself: tie of 0.5 and 0.52 -> the smaller.
    assert ask(model, volumes[0]) == "0.5 cubic meters"
    s = math.sqrt(0.5)
    assert score(directions[0], ask(model, directions[0])).parsed == pytest.approx((s, s, 0.0))
    assert ask(model, positions[0]) == "(2, 1, -2)"  # component-wise median
    assert abs(score(azimuths[0], ask(model, azimuths[0])).parsed) == pytest.approx(math.pi)
    assert score(elevations[0], ask(model, elevations[0])).parsed == pytest.approx(math.radians(10))


# ---------------------------------------------------------------- blind


def test_blind_with_a_prior_file_uses_category_medians_and_falls_back(tmp_path: Path) -> None:
    pair = (("a", "chair"), ("b", "table"))
    records = [
        qa_record("r1", "distance", 1.0, objects=pair),
        qa_record("r2", "distance", 2.0, objects=(("b", "chair"), ("a", "table"))),  # same categories
        qa_record("r3", "distance", 4.0, objects=pair),
        qa_record("r4", "distance", 9.0, objects=(("a", "sofa"), ("b", "lamp"))),
        qa_record("r5", "height", 0.5, objects=(("a", "lamp"),)),
        qa_record("r6", "other_task", 100.0),  # not in the benchmark: ignored, counted
        qa_record("r7", "tf_task", True, fmt="tf", unit=None, metric="accuracy", answer_type="yes_no"),
        qa_record("r8", "tf_task", True, fmt="tf", unit=None, metric="accuracy", answer_type="yes_no"),
        qa_record("r9", "tf_task", False, fmt="tf", unit=None, metric="accuracy", answer_type="yes_no"),
        qa_record(
            "r10",
            "tf_task",
            False,
            fmt="tf",
            unit=None,
            metric="accuracy",
            answer_type="yes_no",
            template_id="tf_task/tf/q2@1",
        ),
    ]
    prior = tmp_path / "prior.jsonl"
    write_qa(prior, records)
    with open(prior, "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
        fh.write('{"schema_version": 1, "id": "broken"}\n')
    items = [
        make_item("i1", "number", 3.0, unit="m", task="distance", objects=(("a", "table"), ("b", "chair"))),
        make_item("i2", "number", 3.0, unit="m", task="distance", objects=(("a", "cup"), ("b", "bed"))),
        make_item("i3", "number", 3.0, unit="m", task="width", objects=(("a", "chair"),)),
        make_item("i4", "yes_no", False, task="tf_task", template_id="tf_task/tf/q1+a2@3"),
        make_item("i5", "yes_no", True, task="tf_task", template_id="tf_task/tf/q2@1"),
        make_item("i6", "yes_no", True, task="tf_task", template_id="tf_task/tf/q9@1"),
        make_item("i7", "number", 1.0, unit="m", task="height", objects=(("a", "lamp"),)),
    ]
    model = bl.build_blind({"prior": str(prior)}, items)
    replies = [ask(model, it) for it in items]
    # distance chair/table: median(1, 2, 4) = 2; cup/bed unseen -> task median(1, 2, 4, 9) = 3;
    # width has no record -> all metre values of the used records: median(0.5, 1, 2, 4, 9) = 2.
    assert replies[:3] == ["2 m", "3 m", "2 m"]
    # template q1 (any version, any answer template): yes 2, no 1 -> yes; q2: no; q9 unseen -> the task:
    # yes 2, no 2 -> a tie answers yes.
    assert replies[3:6] == ["yes", "no", "yes"]
    assert replies[6] == "0.5 m"
    described = model.describe()
    assert described["fit"] == "prior file"
    assert described["prior"]["sha256"] == hashlib.sha256(prior.read_bytes()).hexdigest()
    assert described["prior"]["records_used"] == 9
    assert described["prior"]["ignored"] == {"other_task": 1}
    assert sum(described["prior"]["bad_lines"].values()) == 2
    assert described["fallbacks"]["number"] == {"task": 1, "task+categories": 2, "unit": 1}
    assert described["fallbacks"]["yes_no"] == {"task": 1, "template": 2}


def test_blind_choice_scores_option_texts_then_letters(tmp_path: Path) -> None:
    def mcq(rec_id: str, gold: str, texts: tuple[str, ...]) -> QARecord:
        choices = tuple(zip(LETTERS, texts, strict=False))
        return qa_record(
            rec_id,
            "rel",
            gold,
            fmt="mcq",
            unit=None,
            choices=choices,
            metric="accuracy",
            answer_type="choice",
        )

    prior = tmp_path / "prior.jsonl"
    write_qa(
        prior,
        [
            mcq("m1", "A", ("Left", "right")),
            mcq("m2", "B", ("right", "left.")),  # "left." and "Left" are the same option text
            mcq("m3", "C", ("above", "below", "behind")),
            mcq("m4", "C", ("above", "below", "in front")),
        ],
    )
    items = [
        choice_item("c1", "A", choices=(("A", "right"), ("B", "LEFT")), task="rel"),  # left was correct twice
        choice_item(
            "c2", "A", choices=(("A", "under"), ("B", "over"), ("C", "near")), task="rel"
        ),  # unseen texts
        choice_item(
            "c3", "A", choices=(("A", "under"), ("B", "over")), task="rel"
        ),  # C not offered: A, B tie at 1
    ]
    model = bl.build_blind({"prior": str(prior)}, items)
    assert [ask(model, it) for it in items] == ["B", "C", "A"]
    assert all(score(it, ask(model, it)).parse_status == "ok" for it in items)


def test_blind_choice_ranks_option_texts_by_smoothed_rate_not_count(tmp_path: Path) -> None:
    red, green = "the red point", "the green point"
    sets = [  # (options, correct letter): red is offered in all six and correct in two
        ((red, "the point at (1, 1)"), "A"),
        (("the point at (2, 2)", red), "B"),
        ((red, "the point at (3, 3)"), "B"),
        (("the point at (4, 4)", red), "A"),
        ((red, green), "B"),
        ((red, "the point at (5, 5)"), "B"),
    ]
    records = [
        qa_record(
            f"r{i}",
            "order",
            gold,
            fmt="mcq",
            unit=None,
            choices=tuple(zip(LETTERS, texts, strict=False)),
            metric="accuracy",
            answer_type="choice",
        )
        for i, (texts, gold) in enumerate(sets)
    ]
    prior = tmp_path / "prior.jsonl"
    write_qa(prior, records)
    items = [
        # red: (2 + 1) / (6 + 2) = 0.375 < an unseen text's 1 / 2 (by count, red's 2 would win)
        choice_item("o1", "B", choices=(("A", red), ("B", "the point at (9, 9)")), task="order"),
        # green: (1 + 1) / (1 + 2) = 0.67 over red's 0.375
        choice_item("o2", "A", choices=(("A", green), ("B", red)), task="order"),
        # the point at (1, 1): (0 + 1) / (1 + 2) = 0.33 < red's 0.375
        choice_item("o3", "A", choices=(("A", red), ("B", "the point at (1, 1)")), task="order"),
    ]
    model = bl.build_blind({"prior": str(prior)}, items)
    assert [ask(model, it) for it in items] == ["B", "A", "A"]


def test_blind_numeric_options_take_the_one_nearest_the_prior_in_ratio(tmp_path: Path) -> None:
    chair = (("a", "chair"),)

    def mcq(rec_id: str, task: str, texts: tuple[str, ...], objects=chair) -> QARecord:
        choices = tuple(zip(LETTERS, texts, strict=False))
        return qa_record(
            rec_id, task, "A", fmt="mcq", unit=None, objects=objects, choices=choices, answer_type="choice"
        )

    prior = tmp_path / "prior.jsonl"
    write_qa(
        prior,
        [
            # depth of a chair: free answers 1 m and 4 m (in feet), a correct option "2 meters" -> median 2 m
            qa_record("f1", "depth", 1.0),
            qa_record("f2", "depth", 13.12336, unit="ft"),  # 4.0 m
            mcq("m1", "depth", ("2 meters", "9 meters")),
            qa_record("f3", "depth", 10.0, objects=(("a", "bed"),)),  # other categories: task level only
            # size: correct options only (0.5, 0.7, 0.9 m) -> median 0.7 m; a volume option set stays apart
            mcq("s1", "size", ("0.5 m", "2 m")),
            mcq("s2", "size", ("70 cm", "3 m")),
            mcq("s3", "size", ("0.9 meters", "0.1 meters")),
            mcq("v1", "size", ("0.2 cubic meters", "0.9 cubic meters")),
        ],
    )

    def offered(item_id: str, gold: str, task: str, texts: tuple[str, ...], objects=chair) -> BenchItem:
        choices = tuple(zip(LETTERS, texts, strict=False))
        return make_item(item_id, "choice", gold, task=task, objects=objects, choices=choices)

    items = [
        # chair: 2.2 m is nearest 2 m in ratio (|ln 1.1| = 0.10; 5 m: 0.92; 0.9 m: 0.80; 12 m: 1.79)
        offered("d1", "B", "depth", ("5.0 meters", "2.2 meters", "0.9 meters", "12 meters")),
        # units differ: 7 ft = 2.13 m (|ln 1.07| = 0.07) beats 1.5 m (0.29)
        offered("d2", "A", "depth", ("7 feet", "1.5 meters")),
        # a lamp, never seen: the task's median of 1, 2, 4, 10 m = 3 m -> 3.5 m (0.15) over 2 m (0.41)
        offered("d3", "B", "depth", ("2 meters", "3.5 meters"), objects=(("a", "lamp"),)),
        offered("s4", "C", "size", ("0.3 m", "1.5 m", "0.68 m")),
        # volumes: 0.2 m^3 was correct -> the volume median, never the lengths'
        offered("v2", "B", "size", ("0.7 cubic meters", "0.25 cubic meters")),
        # not all quantities (a bare number, a length beside a volume): the option-text rule
        offered("x1", "A", "size", ("3", "0.7 m")),
        offered("x2", "A", "size", ("0.7 m", "0.2 cubic meters")),
    ]
    model = bl.build_blind({"prior": str(prior)}, items)
    assert [ask(model, it) for it in items] == ["B", "A", "B", "C", "B", "A", "B"]
    assert all(score(it, ask(model, it)).parse_status == "ok" for it in items)
    described = model.describe()
    assert described["fallbacks"]["choice"] == {
        "quantity:task": 1,
        "quantity:task+categories": 4,
        "task": 2,
    }
    assert described["keys"]["quantity"] == {"task": 3, "task+categories": 4}  # chair, bed; size; volume
    assert bl.option_quantity("6.2 feet") == pytest.approx((1.88976, "m"))
    assert bl.option_quantity("0.52 cubic meters") == (0.52, "m^3")
    assert [bl.option_quantity(t) for t in ("3", "left", "2-3 m", "0 m")] == [None] * 4


def test_blind_cross_fit_never_uses_an_items_own_capture() -> None:
    # Each capture has its own distance (a power of ten): a median over other captures is another power of
    # ten or the mean of two of them, never the capture's own value.
    values = {f"cap{k}": 10.0**k for k in range(8)}
    items = [
        make_item(
            f"{cap}-{j}", "number", v, unit="m", task="distance", capture=cap, objects=(("a", "chair"),)
        )
        for cap, v in values.items()
        for j in range(3)
    ]
    model = bl.build_blind({"folds": "3"}, items)
    folds = {cap: bl.capture_fold(cap, 3) for cap in values}
    assert len(set(folds.values())) > 1  # the test means something only if the folds differ
    for it in items:
        reply = score(it, ask(model, it))
        assert reply.parsed != it.answer_value
        others = sorted(v for cap, v in values.items() if folds[cap] != folds[it.capture_id])
        n = len(others)
        expected = (others[(n - 1) // 2] + others[n // 2]) / 2
        assert reply.parsed == pytest.approx(expected)
    described = model.describe()
    assert described["prior"] == "cross-fit" and "3 folds" in described["fit"]
    assert sum(described["fold_sizes"]) == len(items)


def test_blind_cross_fit_with_one_capture_has_nothing_to_answer_from() -> None:
    items = [make_item(f"i{j}", "number", 2.0, unit="m", capture="only") for j in range(3)]
    model = bl.build_blind({}, items)
    assert {ask(model, it) for it in items} == {""}
    assert model.describe()["fallbacks"] == {"number": {"none": 3}}


def test_blind_vectors_and_angles_by_objects(tmp_path: Path) -> None:
    items = [
        make_item("d1", "vector", [1.0, 0.0, 0.0], task="dir", capture="c1", objects=(("target", "cup"),)),
        make_item("d2", "vector", [0.0, 1.0, 0.0], task="dir", capture="c2", objects=(("target", "cup"),)),
        make_item("d3", "vector", [0.0, 0.0, 1.0], task="dir", capture="c3", objects=(("target", "bed"),)),
        make_item("a1", "angle", math.radians(170), task="az", capture="c1", objects=(("target", "car"),)),
        make_item("a2", "angle", math.radians(-170), task="az", capture="c2", objects=(("target", "car"),)),
    ]
    prior = bl.BlindPrior(bl.observation_from_item(it, with_answer=True) for it in items)
    cup = bl.observation_from_item(items[0], with_answer=False)
    s = math.sqrt(0.5)
    assert prior.answer(cup)[0] == pytest.approx((s, s, 0.0))
    car = bl.observation_from_item(items[3], with_answer=False)
    value, level = prior.answer(car)
    assert abs(value) == pytest.approx(math.pi) and level == "task+objects"


# ---------------------------------------------------------------- every baseline, every answer type


def _benchmark() -> list[BenchItem]:
    options = (("A", "left"), ("B", "right"), ("C", "above"))
    items: list[BenchItem] = []
    for k in range(6):
        cap = f"cap{k}"
        items += [
            choice_item(f"c{k}", "ABC"[k % 3], choices=options, capture=cap, task="rel"),
            make_item(f"y{k}", "yes_no", k % 2 == 0, capture=cap, task="tf"),
            make_item(f"m{k}", "number", 1.0 + k, unit="m", capture=cap, task="dist"),
            make_item(f"v{k}", "number", 0.1 * (k + 1), unit="m^3", capture=cap, task="vol"),
            make_item(f"n{k}", "number", k % 3, capture=cap, task="count"),
            make_item(f"d{k}", "vector", [0.1 * k, 1.0, 0.5], capture=cap, task="dir"),
            make_item(f"a{k}", "angle", 0.2 * k - 0.5, capture=cap, task="az"),
        ]
    return items


@pytest.mark.parametrize("spec", ["chance", "frequency", "blind"])
def test_every_reply_parses_back_through_the_scoring_core(spec: str) -> None:
    items = _benchmark()
    model = MODELS[spec]({}, items)
    for it in items:
        reply = ask(model, it)
        if spec == "chance" and it.scoring.answer_type in bl.CHANCE_NOT_APPLICABLE:
            assert reply == ""
            continue
        decision = score(it, reply)
        assert decision.parse_status == "ok", (it.id, reply, decision.parse_detail)


def test_frequency_and_blind_replies_read_back_as_the_intended_values() -> None:
    items = _benchmark()
    frequency = bl.FrequencyBaseline(items)
    for it in items:
        constant = frequency._constants[bl._frequency_key(it)]
        parsed = score(it, ask(frequency, it)).parsed
        if it.scoring.answer_type == "choice":
            assert parsed == constant.value[0]
        else:
            assert parsed == pytest.approx(constant.value, abs=1e-12)
    blind = bl.BlindBaseline(items)
    for it in items:
        prior = blind._prior_for(it)
        value, _ = prior.answer(bl.observation_from_item(it, with_answer=False))
        assert value is not None
        assert score(it, ask(blind, it)).parsed == pytest.approx(value, abs=1e-12)


def test_unsupported_answer_types_get_an_empty_reply_and_are_counted() -> None:
    items = [make_item("k1", "clock", 3), choice_item("c1", "A", capture="c1"), choice_item("c2", "B")]
    for spec in ("chance", "frequency", "blind"):
        model = MODELS[spec]({}, items)
        assert ask(model, items[0]) == ""
        assert model.describe()["unsupported"] == {"clock": 1}
        assert score(items[0], "").parse_status != "ok"


# ---------------------------------------------------------------- specs and errors


def test_specs_options_and_errors(tmp_path: Path) -> None:
    items = [choice_item("c1", "A")]
    assert {"chance", "frequency", "blind"} <= set(MODELS)
    assert MODELS["chance"]({"seed": "7"}, items).describe()["seed"] == 7
    with pytest.raises(ValueError, match="seed='x' is not an integer"):
        MODELS["chance"]({"seed": "x"}, items)
    with pytest.raises(ValueError, match="does not understand"):
        MODELS["frequency"]({"seed": "1"}, items)
    with pytest.raises(ValueError, match="folds=1 must be >= 2"):
        MODELS["blind"]({"folds": "1"}, items)
    with pytest.raises(ValueError, match="does not exist"):
        MODELS["blind"]({"prior": str(tmp_path / "missing.jsonl")}, items)
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"oops": 1}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="no usable QA record"):
        MODELS["blind"]({"prior": str(empty)}, items)
    with pytest.raises(ValueError, match="without options"):
        bl.FrequencyBaseline([make_item("bad", "choice", "A")])
    model = MODELS["chance"]({}, items)
    with pytest.raises(ModelError) as err:
        model.answer(Request("c1", "q", (), GenerationSettings()))
    assert err.value.reason == "no_item" and not err.value.retryable
    assert model.max_concurrency >= 16
