"""Choosing benchmark items from QA records: filters, dedup, answer balance, quotas (hand-made records)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from spatialforge.bench.builder.presets import PRESETS, SPAR_NUMERIC, Preset, PresetTask
from spatialforge.bench.builder.select import (
    display_unit,
    quotas_for,
    scoring_rule,
    select_items,
    task_answer_classes,
    task_weights,
)
from spatialforge.bench.rules import ScoringRule

YES_NO = {"metric": "accuracy", "params": {"answer_type": "yes_no"}}
CHOICE = {"metric": "accuracy", "params": {"answer_type": "choice"}}
DISTANCE = {"metric": "spatialrgpt", "params": {"answer_type": "number", "to_unit": "m"}}
_counter = iter(range(10**6))


def rec(
    *,
    task: str = "closer_of_two",
    fmt: str = "tf",
    answer_value: Any = True,
    objects: tuple[str, ...] | None = None,
    roles: tuple[str, ...] = ("anchor", "option", "option"),
    scene: str = "s1",
    capture: str | None = None,
    question: str | None = None,
    answer: str | None = None,
    unit: str | None = None,
    choices: tuple[str, ...] = (),
    markers: int = 0,
    tolerance: dict | None = None,
    template_id: str | None = None,
) -> dict[str, Any]:
    """A QA record (qa/records.py schema) with the fields selection reads; distinct objects (a distinct
    fact) and question unless given."""
    n = next(_counter)
    objects = objects or tuple(f"o{n}-{i}" for i in range(len(roles)))
    return {
        "id": f"qa{n}",
        "scene_id": scene,
        "capture_id": capture or scene,
        "images": [{"path": f"images/{scene}.png", "view_id": "v0"}],
        "task": task,
        "level": 2,
        "format": fmt,
        "question": question or f"question {n}?",
        "answer": answer if answer is not None else str(answer_value),
        "answer_value": answer_value,
        "unit": unit,
        "choices": [{"label": "ABCD"[i], "text": t} for i, t in enumerate(choices)],
        "objects": [
            {"object_id": o, "source_id": o, "category": "thing", "role": r}
            for o, r in zip(objects, roles, strict=True)
        ],
        "markers": [{"image_index": 0, "object_id": o} for o in objects[:markers]],
        "frame": "cam:v0",
        "tolerance": tolerance or (YES_NO if fmt == "tf" else CHOICE),
        "template_id": template_id or f"{task}/{fmt}/t1@1",
    }


def preset_of(*tasks: PresetTask) -> Preset:
    return Preset("test", "a test preset", "tests", tasks, totals_rule="micro")


CLOSER = PresetTask("closer", "closer_of_two", 100, ("mcq", "tf"))


def select(records, *tasks: PresetTask, quota: int | None = None, seed: int = 0):
    preset = preset_of(*(tasks or (CLOSER,)))
    quotas = {t.name: quota if quota is not None else t.n for t in preset.tasks}
    return select_items(records, preset, quotas, seed)


def ids(records) -> list[str]:
    return [r["id"] for r in records]


# ------------------------------------------------------------------ dedup and ambiguity


def test_a_true_false_pair_about_one_fact_gives_one_item() -> None:
    first = rec(answer_value=True, objects=("a", "b", "c"), question="Is b closer to a than c?")
    second = rec(answer_value=False, objects=("a", "b", "c"), question="Is c closer to a than b?")
    other = rec(answer_value=True)
    sel = select([first, second, other])
    assert ids(sel.chosen["closer"]) and set(ids(sel.chosen["closer"])) == {first["id"], other["id"]}
    assert sel.rejected["duplicate_fact"] == 1


def test_the_same_fact_in_another_format_is_a_duplicate() -> None:
    tf = rec(answer_value=True, objects=("a", "b", "c"))
    mcq = rec(fmt="mcq", answer_value="A", choices=("the mug", "the cup"), objects=("a", "b", "c"))
    sel = select([tf, mcq])
    assert ids(sel.chosen["closer"]) == [tf["id"]] and sel.rejected["duplicate_fact"] == 1


def test_the_same_question_on_the_same_images_is_kept_once() -> None:
    a = rec(question="Is the mug closer to the table than the cup?")
    b = rec(question="  is the MUG closer to the table   than the cup? ")
    c = rec(question="Is the mug closer to the table than the cup?", scene="s2")  # other images: kept
    sel = select([a, b, c])
    assert sorted(ids(sel.chosen["closer"])) == sorted([a["id"], c["id"]])
    assert sel.rejected["duplicate_question"] == 1


def test_conflicting_answers_drop_both() -> None:
    a = rec(question="Is the mug closer?", answer_value=True)
    b = rec(question="Is the mug closer?", answer_value=False)
    c = rec(question="Is the mug closer?", answer_value=True, scene="s2")
    sel = select([a, b, c])
    assert ids(sel.chosen["closer"]) == [c["id"]]
    assert sel.rejected["conflicting_answers"] == 2


@pytest.mark.parametrize(
    ("unit", "value", "kept"),
    [
        ("m", 0.05, False),
        ("m", 0.0999, False),
        ("m", 0.1, True),
        ("m", 2.0, True),
        ("m^3", 0.0005, False),
        ("m^3", 0.001, True),
    ],
)
def test_answer_floors(unit: str, value: float, kept: bool) -> None:
    entry = PresetTask("dist", "object_distance_camera", 10, ("free",))
    record = rec(
        task="object_distance_camera",
        fmt="free",
        answer_value=value,
        unit=unit,
        roles=("target",),
        tolerance=DISTANCE,
    )
    sel = select([record], entry)
    assert (len(sel.chosen["dist"]) == 1) is kept
    assert sel.rejected["answer_below_floor"] == (0 if kept else 1)


def test_duplicate_option_texts_are_refused() -> None:
    record = rec(fmt="mcq", answer_value="A", choices=("the mug", " The Mug"))
    sel = select([record])
    assert not sel.chosen["closer"] and sel.rejected == Counter({"duplicate_options": 1})


# ------------------------------------------------------------------ preset filters


def test_records_outside_the_preset_are_counted() -> None:
    sel = select([rec(task="object_depth", roles=("target",)), rec(fmt="free")])
    assert sel.rejected == Counter({"not_in_preset": 1, "format_not_in_preset": 1})


def test_variant_filter_reads_the_template_bank() -> None:
    spar = PRESETS["sparbench_single"]
    entry = next(t for t in spar.tasks if t.name == "distance_prediction_oo")

    def dist(template: str) -> dict[str, Any]:
        return rec(
            task="relative_distance",
            fmt="fill",
            answer_value=2.5,
            answer="2.5",
            unit="m",
            roles=("a", "b"),
            tolerance=DISTANCE,
            template_id=f"relative_distance/fill/{template}@1",
        )

    euclidean, horizontal, unknown = dist("f1"), dist("f8"), dist("f999")
    sel = select([euclidean, horizontal, unknown], entry)
    assert ids(sel.chosen["distance_prediction_oo"]) == [euclidean["id"]]
    assert sel.rejected == Counter({"variant_not_in_preset": 2})


def test_display_unit_filter() -> None:
    entry = next(t for t in PRESETS["sparbench_single"].tasks if t.name == "depth_prediction_oc")
    metres = rec(
        task="object_depth", fmt="fill", answer_value=2.5, answer="2.50", unit="m", roles=("target",)
    )
    feet = rec(task="object_depth", fmt="fill", answer_value=2.5, answer="8.2", unit="m", roles=("target",))
    sel = select([metres, feet], entry)
    assert ids(sel.chosen["depth_prediction_oc"]) == [metres["id"]]
    assert sel.rejected == Counter({"unit_not_in_preset": 1})


def test_free_categorical_answers_are_refused() -> None:
    entry = PresetTask("ps", "problem_solving", 10, ("free", "tf"))
    category = {"metric": "accuracy", "params": {"answer_type": "category"}}
    free = rec(task="problem_solving", fmt="free", answer_value="would not fit", tolerance=category)
    tf = rec(task="problem_solving", fmt="tf")
    sel = select([free, tf], entry)
    assert ids(sel.chosen["ps"]) == [tf["id"]]
    assert sel.rejected == Counter({"free_category_needs_judge": 1})


def test_text_references_all_and_one() -> None:
    hispatial = {t.name: t for t in PRESETS["hispatial"].tasks}
    l1, l2 = hispatial["object_distance_camera"], hispatial["relative_direction_vector"]

    def distance(markers: int) -> dict[str, Any]:
        return rec(
            task="object_distance_camera",
            fmt="free",
            answer_value=2.0,
            unit="m",
            roles=("target",),
            markers=markers,
            tolerance=DISTANCE,
        )

    def direction(markers: int) -> dict[str, Any]:
        vector = {"metric": "direction_angle", "params": {"answer_type": "vector", "threshold_deg": 30.0}}
        return rec(
            task="relative_direction_vector",
            fmt="free",
            answer_value=[0.6, 0.0, 0.8],
            roles=("a", "b"),
            markers=markers,
            tolerance=vector,
        )

    named, marked = distance(0), distance(1)
    sel = select([named, marked], l1)
    assert ids(sel.chosen["object_distance_camera"]) == [named["id"]]
    assert sel.rejected == Counter({"needs_text_reference": 1})
    none, one, both = direction(0), direction(1), direction(2)
    sel = select([none, one, both], l2)
    assert sorted(ids(sel.chosen["relative_direction_vector"])) == sorted([none["id"], one["id"]])
    assert sel.rejected == Counter({"needs_text_reference": 1})


# ------------------------------------------------------------------ balance and quotas


def test_yes_no_exactly_balanced_when_both_are_available() -> None:
    records = [rec(answer_value=True) for _ in range(10)] + [rec(answer_value=False) for _ in range(6)]
    for quota, expected in ((8, {True: 4, False: 4}), (12, {True: 6, False: 6}), (16, {True: 10, False: 6})):
        sel = select(records, quota=quota)
        assert Counter(r["answer_value"] for r in sel.chosen["closer"]) == expected, quota
        assert sel.classes["closer"] == {f"bool:{k}": v for k, v in expected.items()}


def test_option_texts_that_are_values_are_spread() -> None:
    texts = ("to the left", "to the right", "behind", "in front")
    records = []
    for i in range(24):  # the correct text is "to the left" in half the records
        correct = texts[0] if i % 2 else texts[1 + i % 3]
        order = [correct] + [t for t in texts if t != correct]
        records.append(rec(fmt="mcq", answer_value="A", choices=tuple(order)))
    sel = select(records, quota=8)
    chosen = Counter(r["choices"][0]["text"] for r in sel.chosen["closer"])
    assert chosen == {t: 2 for t in texts}


def test_object_option_texts_are_balanced_by_letter() -> None:
    names = "mug cup lamp sofa bed desk book vase chair table plant clock phone shelf stool rug fan sink oven"
    names = names.split() + ["tv"]
    records = [
        rec(fmt="mcq", answer_value="A" if i < 15 else "B", choices=(f"the {name}", f"the red {name}"))
        for i, name in enumerate(names)
    ]
    classes = task_answer_classes(records)
    assert set(classes) == {"letter:A", "letter:B"}  # more than 12 distinct texts: objects, not values
    sel = select(records, quota=10)
    assert Counter(r["answer_value"] for r in sel.chosen["closer"]) == {"A": 5, "B": 5}
    # Texts with digits are classed by letter whatever their number.
    assert task_answer_classes([rec(fmt="mcq", answer_value="B", choices=("1.5 m", "3 m"))]) == ["letter:B"]


def test_within_a_class_captures_take_turns() -> None:
    """Module docstring: "within a class round robin across captures"."""
    records = [rec(capture="big") for _ in range(10)] + [rec(capture="small") for _ in range(2)]
    sel = select(records, quota=4)
    assert Counter(r["capture_id"] for r in sel.chosen["closer"]) == {"big": 2, "small": 2}


def test_quota_and_shortfall() -> None:
    records = [rec(answer_value=i % 2 == 0) for i in range(6)]
    sel = select(records, quota=20)
    assert len(sel.chosen["closer"]) == 6 and sel.shortfall == {"closer": 14}
    assert sel.candidates["closer"] == 6 and sel.rejected["over_quota"] == 0
    sel = select(records, quota=4)
    assert len(sel.chosen["closer"]) == 4 and sel.shortfall == {} and sel.rejected["over_quota"] == 2


def test_selection_is_deterministic_for_a_seed() -> None:
    records = [rec(answer_value=i % 3 == 0, capture=f"c{i % 5}") for i in range(60)]
    first = ids(select(records, quota=10, seed=3).chosen["closer"])
    assert first == ids(select([dict(r) for r in records], quota=10, seed=3).chosen["closer"])
    others = [ids(select(records, quota=10, seed=s).chosen["closer"]) for s in range(4, 8)]
    assert any(o != first for o in others)


def test_two_preset_tasks_from_one_source_task_each_get_their_formats() -> None:
    tf = PresetTask("closer_tf", "closer_of_two", 5, ("tf",))
    mcq = PresetTask("closer_mcq", "closer_of_two", 5, ("mcq",))
    a, b = rec(), rec(fmt="mcq", answer_value="A", choices=("the mug", "the cup"))
    sel = select([a, b], tf, mcq)
    assert ids(sel.chosen["closer_tf"]) == [a["id"]] and ids(sel.chosen["closer_mcq"]) == [b["id"]]


# ------------------------------------------------------------------ units and scoring rules


@pytest.mark.parametrize(
    ("answer", "value", "unit"),
    [
        ("84.0", 25.6, "ft"),  # 84.0 / 25.6 = 3.28 per metre: feet
        ("25.6", 25.6, "m"),
        ("2,560 cm", 25.6, "cm"),
        ("It is about 1,008 inches.", 25.6, "in"),
        ("256 mm", 0.256, "mm"),
        ("The chair is 0.84 feet away", 0.256, "ft"),
    ],
)
def test_display_unit_hand_checked(answer: str, value: float, unit: str) -> None:
    assert display_unit(rec(fmt="fill", answer=answer, answer_value=value, unit="m")) == unit


@pytest.mark.parametrize(
    "record",
    [
        rec(fmt="fill", answer="3", answer_value=3, unit=None),  # a count
        rec(fmt="fill", answer="0.2", answer_value=0.2, unit="m^3"),
        rec(fmt="fill", answer="about two metres", answer_value=2.0, unit="m"),
        rec(fmt="fill", answer="0", answer_value=0.0, unit="m"),
        rec(answer_value=True, unit="m"),
    ],
)
def test_display_unit_is_none_for_other_answers(record: dict[str, Any]) -> None:
    assert display_unit(record) is None


def test_override_rule_reads_bare_numbers_in_the_questions_unit() -> None:
    feet = rec(fmt="fill", answer="84.0", answer_value=25.6, unit="m")
    rule = scoring_rule(feet, SPAR_NUMERIC)
    assert rule.parse == {"to_unit": "m", "default_unit": "ft", "pick": "first"}
    assert (rule.answer_type, rule.metric) == ("number", "mra")
    metres = rec(fmt="fill", answer="25.6", answer_value=25.6, unit="m")
    assert scoring_rule(metres, SPAR_NUMERIC).parse["default_unit"] == "m"
    assert SPAR_NUMERIC.parse["default_unit"] == "m"  # the preset's rule is not changed in place


def test_record_tolerance_read_as_a_rule() -> None:
    assert scoring_rule(rec(), None) == ScoringRule("yes_no", "accuracy", {}, {})
    assert scoring_rule(rec(fmt="mcq", tolerance={"metric": "accuracy"}), None).answer_type == "choice"
    free = rec(fmt="free", answer_value=2.0, unit="m", tolerance=DISTANCE)
    assert scoring_rule(free, None) == ScoringRule(
        "number", "spatialrgpt", {"to_unit": "m", "default_unit": None}
    )
    count = {"metric": "mra", "params": {"answer_type": "number"}}
    assert scoring_rule(rec(fmt="free", answer_value=3, tolerance=count), None).parse == {"to_unit": "none"}
    vector = {"metric": "direction_angle", "params": {"answer_type": "vector", "threshold_deg": 30.0}}
    rule = scoring_rule(rec(fmt="free", answer_value=[1.0, 0.0, 0.0], tolerance=vector), None)
    assert rule == ScoringRule("vector", "direction_angle", {}, {"threshold_deg": 30.0})


def test_record_default_unit_is_a_parse_option() -> None:
    tolerance = {"metric": "mra", "params": {"answer_type": "number", "to_unit": "m", "default_unit": "ft"}}
    rule = scoring_rule(
        rec(fmt="fill", answer="11.1", answer_value=3.3915, unit="m", tolerance=tolerance), None
    )
    assert rule.parse == {"to_unit": "m", "default_unit": "ft"}
    assert rule.params == {}


def test_quotas_for_scale_and_n_per_task() -> None:
    spatialvqa = PRESETS["spatialvqa"]
    assert quotas_for(spatialvqa) == {t.name: t.n for t in spatialvqa.tasks}
    assert sum(quotas_for(spatialvqa).values()) == 1323  # the paper's count
    assert quotas_for(spatialvqa, scale=0.1)["closer_of_two"] == 44
    assert set(quotas_for(spatialvqa, scale=1e-6).values()) == {1}
    assert set(quotas_for(spatialvqa, n_per_task=7).values()) == {7}
    for bad in ({"scale": 0.0}, {"scale": -1.0}, {"scale": math.nan}, {"n_per_task": 0}):
        with pytest.raises(ValueError):
            quotas_for(spatialvqa, **bad)


def test_generation_weights_follow_the_quotas() -> None:
    preset = preset_of(
        CLOSER,
        PresetTask("closer2", "closer_of_two", 50, ("tf",)),
        PresetTask("depth", "object_depth", 30, ("fill",)),
    )
    weights = dict(task_weights(preset, {"closer": 100, "closer2": 50, "depth": 30}))
    assert weights == {"closer_of_two": 150.0, "object_depth": 30.0}
