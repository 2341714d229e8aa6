"""Answer classes: what "the same answer" means when a benchmark or a training mixture balances answers.

A QA record's class (`answer_class`) is, by format and answer:
- multiple choice: the correct option's text (`option:<text>`), or its letter (`letter:<L>`) when the text
  holds a digit (a numeric option: the letter is what a text-only model could learn there);
- true/false: `bool:True` / `bool:False`;
- a direction vector: its dominant axis and sign (`axis:+x`);
- an angle (unit rad): its 45-degree sector (`sector:<k>`);
- a count (no unit): the count (`count:<n>`);
- another number: its quarter-decade magnitude bin (`bin:<lower edge>`, engine/generate.py magnitude_bin);
- any other answer (a free-form relation or object name): the value itself (`value:<text>`).

Option texts and free-form values that name objects rather than values ("the red chair") would make one
class per object. So over a group of records (a benchmark task, a training task's format), when more than
MAX_VALUE_CLASSES distinct option texts appear, multiple-choice records are classed by their letter (or, where
the letters are not known, share the one class `option:*`: the renderer places the correct option uniformly);
when more than MAX_VALUE_CLASSES distinct free-form values appear, those records share the one class `value:*`
(`group_answer_classes`).

Used by the benchmark builder (bench/builder/select.py: items are taken round robin across classes) and by
the training mixture (train/mixture.py `answer_balance`: draws spread across classes), so that a model can be
trained on the answer distribution it is scored on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from spatialforge.engine.generate import magnitude_bin

# Distinct option texts (or free-form values) above which they name objects, not values (module docstring).
MAX_VALUE_CLASSES = 12
# The classes of records whose option texts or free-form values name objects: not balanced among themselves.
OBJECT_OPTIONS = "option:*"
OBJECT_VALUES = "value:*"
CATEGORICAL_PREFIXES = ("option:", "value:", "bool:")


def answer_class(record: Mapping[str, Any]) -> str:
    """The answer class of one QA record (qa/records.py fields format, answer_value, choices, unit)."""
    value = record["answer_value"]
    if record["format"] == "mcq":
        text = next((c["text"] for c in record.get("choices") or () if c["label"] == value), "")
        return f"option:{text.strip().lower()}" if not any(ch.isdigit() for ch in text) else f"letter:{value}"
    if isinstance(value, bool):
        return f"bool:{value}"
    if isinstance(value, list) and len(value) == 3:
        axis = max(range(3), key=lambda i: abs(value[i]))
        return f"axis:{'+' if value[axis] >= 0 else '-'}{'xyz'[axis]}"
    if isinstance(value, (int, float)) and record.get("unit") == "rad":
        return f"sector:{int(math.floor(math.degrees(value) / 45.0))}"
    if isinstance(value, (int, float)) and record.get("unit") is None:
        return f"count:{value}"
    if isinstance(value, (int, float)):
        return f"bin:{magnitude_bin(float(value))}"
    return f"value:{value}"


def is_categorical(cls: str) -> bool:
    """Whether a class names a categorical answer (an option's text, yes / no, a free-form value), not a
    number's bin, count, sector or axis or a numeric option's letter."""
    return cls.startswith(CATEGORICAL_PREFIXES)


def group_answer_classes(classes: Sequence[str], letters: Sequence[Any] | None = None) -> list[str]:
    """Classes of a group of records with the object rule applied (module docstring). classes: answer_class of
    each record; letters: each record's answer_value (the correct letter of a multiple-choice record), or None
    to class object options as OBJECT_OPTIONS."""
    options = {c for c in classes if c.startswith("option:")}
    values = {c for c in classes if c.startswith("value:")}
    collapse_options = len(options) > MAX_VALUE_CLASSES
    collapse_values = len(values) > MAX_VALUE_CLASSES
    if not (collapse_options or collapse_values):
        return list(classes)
    out = []
    for k, cls in enumerate(classes):
        if collapse_options and cls.startswith("option:"):
            cls = f"letter:{letters[k]}" if letters is not None else OBJECT_OPTIONS
        elif collapse_values and cls.startswith("value:"):
            cls = OBJECT_VALUES
        out.append(cls)
    return out


def task_answer_classes(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """answer_class of each record of one task, with the object rule applied over all of them."""
    return group_answer_classes([answer_class(r) for r in records], [r["answer_value"] for r in records])
