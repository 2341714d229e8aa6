"""Answer classes (qa/answer_classes.py): one golden class per kind of answer, and the object rule."""

from __future__ import annotations

import pytest

from spatialforge.qa.answer_classes import (
    MAX_VALUE_CLASSES,
    OBJECT_OPTIONS,
    OBJECT_VALUES,
    answer_class,
    group_answer_classes,
    task_answer_classes,
)


def record(fmt: str, value: object, unit: str | None = None, choices: tuple[str, ...] = ()) -> dict:
    labels = "ABCD"
    return {
        "format": fmt,
        "answer_value": value,
        "unit": unit,
        "choices": [{"label": labels[i], "text": t} for i, t in enumerate(choices)],
    }


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        (record("mcq", "B", choices=("to the left", " To the Right ")), "option:to the right"),
        (record("mcq", "A", unit="m", choices=("1.5 m", "3 m")), "letter:A"),  # numeric options: the letter
        (record("tf", True), "bool:True"),
        (record("tf", False), "bool:False"),
        (record("free", [0.1, -0.9, 0.4]), "axis:-y"),
        (record("free", [0.7, 0.1, 0.7]), "axis:+x"),  # a tie goes to the first axis
        (record("free", 3.0, unit="rad"), "sector:3"),  # 171.9 degrees: the fourth 45-degree sector
        (record("free", -0.1, unit="rad"), "sector:-1"),
        (record("free", 4), "count:4"),
        (record("free", 2.5, unit="m"), "bin:1.78"),  # quarter-decade bins: [1.78, 3.16)
        (record("fill", 0.05, unit="m^3"), "bin:0.0316"),
        (record("free", "to the left of"), "value:to the left of"),
    ],
)
def test_answer_class_of_each_kind(rec: dict, expected: str) -> None:
    assert answer_class(rec) == expected


def test_object_option_texts_become_letters_or_one_class() -> None:
    texts = [f"option:the thing {k}" for k in range(MAX_VALUE_CLASSES + 1)]
    letters = ["A", "B"] * (len(texts) // 2) + ["C"]
    assert group_answer_classes(texts, letters) == [f"letter:{x}" for x in letters]
    assert group_answer_classes(texts) == [OBJECT_OPTIONS] * len(texts)
    # At the limit they are values, and other kinds are never touched.
    at_limit = texts[:MAX_VALUE_CLASSES] + ["bool:True"]
    assert group_answer_classes(at_limit) == at_limit


def test_object_values_become_one_class() -> None:
    values = [f"value:the thing {k}" for k in range(MAX_VALUE_CLASSES + 1)] + ["bin:1"]
    assert group_answer_classes(values) == [OBJECT_VALUES] * (MAX_VALUE_CLASSES + 1) + ["bin:1"]


def test_task_classes_apply_the_rule_over_all_records() -> None:
    names = [f"the thing {chr(ord('a') + k)}" for k in range(MAX_VALUE_CLASSES + 1)]  # no digits: not values
    records = [record("mcq", "A", choices=(name, "x")) for name in names]
    assert set(task_answer_classes(records)) == {"letter:A"}
    assert task_answer_classes(records[:2]) == ["option:the thing a", "option:the thing b"]
