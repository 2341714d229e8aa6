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

SPAR's fill and sentence formats (SPEC section 3) have no templates of their own: they ask the free
questions (DERIVED_FORMATS). fill appends an answer-only instruction from the common bank and expects the
bare value; sentence answers with the free answer templates that are full sentences: all but those marked
"short": true ("About {value}.") and those with no words besides their slots ("{value}"); every variant of
a task with free questions needs at least one.

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
# Formats rendered from another format's templates: SPAR fill and sentence ask the free questions.
DERIVED_FORMATS = {"fill": "free", "sentence": "free"}
# The common bank's fill instructions, per kind of bare answer, and the slots each must use.
FILL_INSTRUCTION_SLOTS = {
    "number": {"unit"},  # a length, volume or angle in the named unit
    "count": set(),
    "position": {"unit"},  # x, y, z of a point
    "direction": set(),  # x, y, z of a unit vector
    "choice": {"options"},  # one of a short list of values
    "phrase": set(),  # a value from a set too long or too wordy to list
    "box": set(),  # a 2D box on the 0-1000 grid (position_matching)
    "image_point": set(),  # a point on the 0-1000 grid and a depth (camera_motion_infer)
    "index_list": set(),  # image numbers (obj_frame_locate)
    "view_change": set(),  # SPAR's released camera-motion string (view_change_infer)
}


class BankError(ValueError):
    """A template bank file breaks a rule; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    text: str
    variants: tuple[str, ...] | None = None  # None: every variant
    style: str | None = None  # tf only: "yes_no" | "true_false"
    short: bool = False  # answers only: not a full sentence ("About {value}."), so not for SPAR's sentence

    def applies_to(self, variant: str) -> bool:
        return self.variants is None or variant in self.variants


def is_sentence_answer(template: Template) -> bool:
    """Whether an answer template is a full sentence: not marked short, and words besides its slots."""
    literal = "".join(text for text, *_ in string.Formatter().parse(template.text))
    return not template.short and any(c.isalpha() for c in literal)


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
        fmt = DERIVED_FORMATS.get(fmt, fmt)
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
        """Answer templates: free ones, or for "sentence" the free ones that are full sentences."""
        key = ("a", fmt, variant, None)
        found = self._index.get(key)
        if found is None:
            found = tuple(t for t in self.answers.get("free", ()) if t.applies_to(variant))
            if fmt == "sentence":
                found = tuple(t for t in found if is_sentence_answer(t))
            elif fmt != "free":
                found = ()
            self._index[key] = found
        return found


@dataclass(frozen=True)
class CommonBank:
    """Phrasings shared by all tasks: lines after an mcq's options (one list per layout: "lines" puts each
    option on its own line, "inline" puts them on one line SPAR style and names the letters in {letters}),
    frames around true/false statements, and fill's answer-only instructions per kind of bare answer
    (FILL_INSTRUCTION_SLOTS)."""

    version: int
    mcq_instructions: tuple[str, ...]
    tf_statement_frames: tuple[str, ...]
    inline_mcq_instructions: tuple[str, ...]
    fill_instructions: Mapping[str, tuple[str, ...]]


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
        extra = set(item) - {"id", "text", "variants", "style", "short"}
        if extra:
            raise BankError(f"{where}: {path} has unknown keys {sorted(extra)}")
        short = item.get("short", False)
        if not isinstance(short, bool) or (short and not field.startswith("answers")):
            raise BankError(f"{where}: {path}.short must be true or false, and only on answers")
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
        out.append(Template(item["id"], item["text"], None if own is None else tuple(own), style, short))
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
        if fmt not in DERIVED_FORMATS
    }
    answers = {
        fmt: _templates(where, f"answers.{fmt}", items, variants, fmt) for fmt, items in answers_raw.items()
    }
    bank = TemplateBank(task, version, questions, answers)
    own_formats = [f for f in formats if f not in DERIVED_FORMATS]
    for fmt in own_formats:
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
            if fmt == "free" and not bank.answers_for("sentence", variant):
                raise BankError(
                    f"{where}: answers.free has no full-sentence template (for SPAR's sentence format) "
                    f"for variant {variant!r}"
                )
    return bank


@cache
def load_bank(task: str, formats: tuple[str, ...], variants: tuple[str, ...]) -> TemplateBank:
    """The checked bank of a task (cached per process)."""
    where, data = _read(task)
    return parse_bank(where, data, task, formats, variants)


def bank_of(spec: Any) -> TemplateBank:
    """The bank a registered task (tasks.spec.TaskSpec) renders with: its own, or the one it names (a
    multi-view variant asks with its single-view task's templates)."""
    return load_bank(spec.bank or spec.name, spec.formats, spec.variants)


@cache
def load_common() -> CommonBank:
    where, data = _read(COMMON_BANK)
    return parse_common(where, data)


def _slotted_lines(where: str, field: str, items: Any, slots: set[str]) -> tuple[str, ...]:
    """A list of at least MIN_TEMPLATES phrasings, each using exactly `slots`."""
    if (
        not isinstance(items, list)
        or len(items) < MIN_TEMPLATES
        or not all(isinstance(t, str) for t in items)
    ):
        raise BankError(f"{where}: {field} must be a list of at least {MIN_TEMPLATES} strings")
    for text in items:
        try:
            used = placeholders(text)
        except ValueError as e:
            raise BankError(f"{where}: {field} entry {text!r}: {e}") from None
        if used != slots:
            wanted = ", ".join(f"{{{s}}}" for s in sorted(slots)) or "no slots"
            raise BankError(f"{where}: {field} entry {text!r} must use exactly {wanted}")
    return tuple(items)


def parse_common(where: str, data: Any) -> CommonBank:
    """Check and build the common bank (the rules of CommonBank's fields)."""
    if not isinstance(data, dict):
        raise BankError(f"{where}: must be an object")
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise BankError(f"{where}: 'version' must be a positive integer")
    fill = data.get("fill_instructions")
    if not isinstance(fill, dict) or set(fill) != set(FILL_INSTRUCTION_SLOTS):
        raise BankError(
            f"{where}: fill_instructions must have exactly the keys {sorted(FILL_INSTRUCTION_SLOTS)}"
        )
    mcq = data.get("mcq_instructions")
    if not isinstance(mcq, list) or not all(isinstance(t, str) for t in mcq):
        raise BankError(f"{where}: mcq_instructions must be a list of strings ('' for no line)")
    for line in mcq:
        if placeholders(line):
            raise BankError(f"{where}: mcq_instructions entry {line!r} must not use slots")
    return CommonBank(
        version,
        tuple(mcq),
        _slotted_lines(where, "tf_statement_frames", data.get("tf_statement_frames"), {"statement"}),
        _slotted_lines(where, "inline_mcq_instructions", data.get("inline_mcq_instructions"), {"letters"}),
        {
            kind: _slotted_lines(where, f"fill_instructions.{kind}", fill[kind], slots)
            for kind, slots in FILL_INSTRUCTION_SLOTS.items()
        },
    )
