"""Template banks: the phrasings of every task, kept as versioned data (SPEC section 3).

One JSON file per task in tasks/banks/<task>.json:

    {"task": "object_distance_camera", "version": 1,
     "questions": {"free": [{"id": "f1", "text": "How far is {a} from the camera?"}, ...],
                   "mcq":  [{"id": "m1", "text": "How far from the camera is {a}?"}, ...],
                   "tf":   [{"id": "t1", "style": "yes_no", "text": "Is {a} about {value} from the camera?"},
                            {"id": "t4", "style": "true_false",
                             "text": "{a} is about {value} from the camera."}]},
     "answers":   {"free": [{"id": "a1", "text": "{a} is {value} from the camera."}, ...]}}

Slots: the fact's object slots ({a}, {b}, ...: unique references such as "the leftmost chair"), the task's
extra slots, and {value}: in tf, the value the statement asserts (the true one, or for the False item of the
pair a wrong one); in free answers, the true value. {other}: in tf of a two-valued category, the other value.
A template may list "variants" it applies to (default: all of the task's variants). The first letter of
every rendered question and answer is capitalised, so templates may start with a slot.

tf templates carry a style: "yes_no" templates are questions answered Yes/No; "true_false" templates are
statements, shown inside one of the common bank's frames ("True or false: {statement}") and answered
True/False. The fair draw between the two styles is SPEC section 3's "Yes/No half the time".

The record's template_id is "<task>/<format>/<question id>[+<answer id>]@<version>": bump a bank's
version whenever a phrasing changes meaning, so datasets name the exact wording they were made with.
Rules checked on load (BankError names the file and the field): ids unique, placeholders well formed,
{value} in every tf template and free answer and nowhere else in questions, styles known, at least
MIN_TEMPLATES questions per (format, variant) and MIN_TF_PER_STYLE per tf style and variant.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

MIN_TEMPLATES = 5  # SPEC section 3: at least five phrasings per task and format
MIN_TF_PER_STYLE = 3  # of which both tf styles get a fair share
TF_STYLES = ("yes_no", "true_false")
COMMON_BANK = "_common"


class BankError(ValueError):
    """A template bank file breaks a rule; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    text: str
    variants: tuple[str, ...] | None = None  # None: every variant
    style: str | None = None  # tf only: "yes_no" | "true_false"

    def applies_to(self, variant: str) -> bool:
        return self.variants is None or variant in self.variants


@dataclass(frozen=True)
class TemplateBank:
    """A task's phrasings. questions: format -> templates; answers: format -> answer templates (free)."""

    task: str
    version: int
    questions: Mapping[str, tuple[Template, ...]]
    answers: Mapping[str, tuple[Template, ...]]
    # (kind, format, variant, style) -> matching templates, filled on first use (rendering asks per question).
    _index: dict[tuple[str, str, str, str | None], tuple[Template, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def questions_for(self, fmt: str, variant: str, style: str | None = None) -> tuple[Template, ...]:
        key = ("q", fmt, variant, style)
        found = self._index.get(key)
        if found is None:
            found = tuple(
                t
                for t in self.questions.get(fmt, ())
                if t.applies_to(variant) and (style is None or t.style == style)
            )
            self._index[key] = found
        return found

    def answers_for(self, fmt: str, variant: str) -> tuple[Template, ...]:
        key = ("a", fmt, variant, None)
        found = self._index.get(key)
        if found is None:
            found = tuple(t for t in self.answers.get(fmt, ()) if t.applies_to(variant))
            self._index[key] = found
        return found


@dataclass(frozen=True)
class CommonBank:
    """Phrasings shared by all tasks: lines after an mcq's options, frames around true/false statements."""

    version: int
    mcq_instructions: tuple[str, ...]
    tf_statement_frames: tuple[str, ...]


def placeholders(text: str) -> set[str]:
    """Slot names used in a template ("{a} is {value}" -> {"a", "value"}); raises ValueError if malformed."""
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a bare name")
        names.add(name)
    return names


def _read(name: str) -> tuple[str, Any]:
    path = resources.files("spatialforge.tasks").joinpath("banks").joinpath(f"{name}.json")
    where = f"spatialforge/tasks/banks/{name}.json"
    try:
        return where, json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BankError(f"{where}: no template bank for task {name!r}") from None
    except json.JSONDecodeError as e:
        raise BankError(f"{where}: not valid JSON ({e})") from None


def _templates(where: str, field: str, items: Any, variants: Sequence[str], fmt: str) -> tuple[Template, ...]:
    if not isinstance(items, list):
        raise BankError(f"{where}: {field} must be a list")
    out = []
    for i, item in enumerate(items):
        path = f"{field}[{i}]"
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("id"), str)
            or not isinstance(item.get("text"), str)
        ):
            raise BankError(f"{where}: {path} needs string 'id' and 'text'")
        extra = set(item) - {"id", "text", "variants", "style"}
        if extra:
            raise BankError(f"{where}: {path} has unknown keys {sorted(extra)}")
        own = item.get("variants")
        if own is not None and (not isinstance(own, list) or any(v not in variants for v in own)):
            raise BankError(f"{where}: {path}.variants must be a list of {list(variants)}, got {own!r}")
        style = item.get("style")
        if (fmt == "tf") != (style is not None) or (style is not None and style not in TF_STYLES):
            raise BankError(f"{where}: {path}.style: tf templates need one of {TF_STYLES}, others none")
        try:
            names = placeholders(item["text"])
        except ValueError as e:
            raise BankError(f"{where}: {path}.text: {e}") from None
        needs_value = field.startswith("answers") or fmt == "tf"
        if needs_value != ("value" in names):
            raise BankError(f"{where}: {path}.text must {'' if needs_value else 'not '}use {{value}}")
        out.append(Template(item["id"], item["text"], None if own is None else tuple(own), style))
    ids = [t.id for t in out]
    if len(set(ids)) != len(ids):
        raise BankError(f"{where}: {field} has duplicate ids")
    return tuple(out)


def parse_bank(
    where: str, data: Any, task: str, formats: Sequence[str], variants: Sequence[str]
) -> TemplateBank:
    """Check and build one task's bank (rules in the module docstring)."""
    if not isinstance(data, dict) or data.get("task") != task:
        raise BankError(f"{where}: 'task' must be {task!r}")
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise BankError(f"{where}: 'version' must be a positive integer")
    questions_raw, answers_raw = data.get("questions"), data.get("answers", {})
    if not isinstance(questions_raw, dict) or not isinstance(answers_raw, dict):
        raise BankError(f"{where}: 'questions' and 'answers' must be objects keyed by format")
    extra = set(data) - {"task", "version", "questions", "answers", "notes"}
    if extra:
        raise BankError(f"{where}: unknown keys {sorted(extra)}")
    questions = {
        fmt: _templates(where, f"questions.{fmt}", questions_raw.get(fmt, []), variants, fmt)
        for fmt in formats
    }
    answers = {
        fmt: _templates(where, f"answers.{fmt}", items, variants, fmt) for fmt, items in answers_raw.items()
    }
    bank = TemplateBank(task, version, questions, answers)
    for fmt in formats:
        for variant in variants:
            n = len(bank.questions_for(fmt, variant))
            if n < MIN_TEMPLATES:
                raise BankError(
                    f"{where}: questions.{fmt} has {n} templates for variant {variant!r}, "
                    f"need {MIN_TEMPLATES}"
                )
            if fmt == "tf":
                for style in TF_STYLES:
                    if len(bank.questions_for(fmt, variant, style)) < MIN_TF_PER_STYLE:
                        raise BankError(
                            f"{where}: questions.tf needs {MIN_TF_PER_STYLE} {style!r} templates for "
                            f"variant {variant!r}"
                        )
            if fmt == "free" and not bank.answers_for("free", variant):
                raise BankError(f"{where}: answers.free has no template for variant {variant!r}")
    return bank


@cache
def load_bank(task: str, formats: tuple[str, ...], variants: tuple[str, ...]) -> TemplateBank:
    """The checked bank of a task (cached per process)."""
    where, data = _read(task)
    return parse_bank(where, data, task, formats, variants)


@cache
def load_common() -> CommonBank:
    where, data = _read(COMMON_BANK)
    try:
        bank = CommonBank(
            int(data["version"]), tuple(data["mcq_instructions"]), tuple(data["tf_statement_frames"])
        )
    except (KeyError, TypeError, ValueError) as e:
        raise BankError(f"{where}: needs version, mcq_instructions and tf_statement_frames ({e})") from None
    for frame in bank.tf_statement_frames:
        if placeholders(frame) != {"statement"}:
            raise BankError(f"{where}: tf_statement_frames entry {frame!r} must use exactly {{statement}}")
    for line in bank.mcq_instructions:
        if placeholders(line):
            raise BankError(f"{where}: mcq_instructions entry {line!r} must not use slots")
    return bank
