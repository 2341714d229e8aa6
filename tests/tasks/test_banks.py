"""Template banks: every load rule of tasks/banks.py; the shipped banks against those rules and our style."""

from __future__ import annotations

import copy
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.tasks import banks
from spatialforge.tasks.banks import (
    DERIVED_FORMATS,
    FILL_INSTRUCTION_SLOTS,
    MIN_TEMPLATES,
    MIN_TF_PER_STYLE,
    TF_STYLES,
    BankError,
    Template,
    bank_of,
    is_sentence_answer,
    load_bank,
    load_common,
    parse_bank,
    placeholders,
)
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.multiview import pair_sets, sequence_sets
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.spec import Category, Fact
from tests.tasks.multiview_scenes import synthetic_trajectories, walkthroughs

WHERE = "spatialforge/tasks/banks/toy.json"
FORMATS = ("free", "mcq", "tf")
VARIANTS = ("near", "far")
OBJECT_SLOTS = {"a", "b", "c", "d"}
# Task slots (Fact.slots): spatial_imagination_* {alternatives} and {before}; spatial_counting {objects}
# and {relation}; depth_oo {a_depth}.
ALLOWED_SLOTS = OBJECT_SLOTS | {"value", "other", "alternatives", "before", "objects", "relation", "a_depth"}
# Multi-view tasks: the reference image's number (obj_frame_locate) and the counted category (obj_count).
ALLOWED_SLOTS |= {"reference", "category", "categories"}


def _valid() -> dict[str, Any]:
    """The smallest bank that passes: 5 free, 5 mcq, 3 + 3 tf questions, one free answer, for all variants."""
    return {
        "task": "toy",
        "version": 2,
        "notes": "a toy bank",
        "questions": {
            "free": [{"id": f"f{i}", "text": f"Free question {i} about {{a}}?"} for i in range(5)],
            "mcq": [{"id": f"m{i}", "text": f"Choice question {i} about {{a}}?"} for i in range(5)],
            "tf": [{"id": f"y{i}", "style": "yes_no", "text": f"Is {{a}} {{value}} ({i})?"} for i in range(3)]
            + [
                {"id": f"t{i}", "style": "true_false", "text": f"{{a}} is {{value}} ({i})."} for i in range(3)
            ],
        },
        "answers": {"free": [{"id": "a1", "text": "{a} is {value}."}]},
    }


def _parse(data: Any) -> banks.TemplateBank:
    return parse_bank(WHERE, data, "toy", FORMATS, VARIANTS)


def _fails(data: Any, *fragments: str) -> str:
    """parse_bank raises BankError whose message starts with the file and contains every fragment."""
    with pytest.raises(BankError) as err:
        _parse(data)
    message = str(err.value)
    assert message.startswith(WHERE + ": "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# ---------------------------------------------------------------- a valid bank


def test_valid_bank_structure() -> None:
    bank = _parse(_valid())
    assert bank.task == "toy" and bank.version == 2
    assert [t.id for t in bank.questions_for("free", "near")] == ["f0", "f1", "f2", "f3", "f4"]
    assert [t.id for t in bank.questions_for("tf", "far", "yes_no")] == ["y0", "y1", "y2"]
    assert [t.id for t in bank.questions_for("tf", "far", "true_false")] == ["t0", "t1", "t2"]
    assert len(bank.questions_for("tf", "far")) == 6
    assert [t.id for t in bank.answers_for("free", "near")] == ["a1"]
    assert bank.answers_for("mcq", "near") == ()
    assert all(t.variants is None and t.style is None for t in bank.questions["free"])
    assert {t.style for t in bank.questions["tf"]} == set(TF_STYLES)


def test_variant_restricted_templates_apply_only_to_their_variants() -> None:
    data = _valid()
    data["questions"]["free"] += [
        {"id": f"n{i}", "text": f"Near-only {i} {{a}}?", "variants": ["near"]} for i in range(2)
    ]
    data["questions"]["free"].append({"id": "b", "text": "Both {a}?", "variants": ["near", "far"]})
    bank = _parse(data)
    assert [t.id for t in bank.questions_for("free", "near")] == [
        "f0",
        "f1",
        "f2",
        "f3",
        "f4",
        "n0",
        "n1",
        "b",
    ]
    assert [t.id for t in bank.questions_for("free", "far")] == ["f0", "f1", "f2", "f3", "f4", "b"]
    assert bank.questions["free"][5].variants == ("near",)


def test_placeholders_reads_names() -> None:
    assert placeholders("{a} is {value} from {b}.") == {"a", "b", "value"}
    assert placeholders("no slots, {{escaped}} braces") == set()
    for bad in ("{a!r}", "{a:>3}", "{0}", "{}", "{a.b}", "{a[0]}", "{a"):
        with pytest.raises(ValueError):
            placeholders(bad)


# ---------------------------------------------------------------- every rule, by file and field


def test_tf_template_without_value() -> None:
    data = _valid()
    data["questions"]["tf"][1]["text"] = "Is {a} near?"
    _fails(data, "questions.tf[1].text", "must use {value}")


@pytest.mark.parametrize("fmt", ["free", "mcq"])
def test_value_in_free_or_mcq_question(fmt: str) -> None:
    data = _valid()
    data["questions"][fmt][3]["text"] = "Is {a} {value}?"
    _fails(data, f"questions.{fmt}[3].text", "must not use {value}")


def test_free_answer_without_value() -> None:
    data = _valid()
    data["answers"]["free"].append({"id": "a2", "text": "{a} it is."})
    _fails(data, "answers.free[1].text", "must use {value}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_few_templates_for_a_format(fmt: str) -> None:
    data = _valid()
    if fmt == "tf":  # 2 + 2: the total is checked before the styles
        del data["questions"]["tf"][2:4]
        _fails(data, "questions.tf has 4 templates for variant 'near', need 5")
    else:
        data["questions"][fmt].pop()
        _fails(data, f"questions.{fmt} has 4 templates for variant 'near', need 5")


def test_too_few_templates_for_one_variant() -> None:
    data = _valid()
    for t in data["questions"]["mcq"][:2]:
        t["variants"] = ["near"]
    # free passes for both variants; mcq has 5 for "near" but only 3 for "far".
    _fails(data, "questions.mcq has 3 templates for variant 'far', need 5")


def test_missing_format_counts_as_zero_templates() -> None:
    data = _valid()
    del data["questions"]["mcq"]
    _fails(data, "questions.mcq has 0 templates for variant 'near'")


@pytest.mark.parametrize("style", TF_STYLES)
def test_too_few_tf_templates_of_one_style(style: str) -> None:
    data = _valid()
    other = "true_false" if style == "yes_no" else "yes_no"
    kept = [t for t in data["questions"]["tf"] if t["style"] == other]
    mine = [t for t in data["questions"]["tf"] if t["style"] == style][: MIN_TF_PER_STYLE - 1]
    extra = copy.deepcopy(kept[0])
    extra["id"] = "extra"
    data["questions"]["tf"] = kept + mine + [extra]  # 6 in all: the total passes, the style does not
    _fails(data, f"questions.tf needs {MIN_TF_PER_STYLE} '{style}' templates for variant 'near'")


def test_too_few_tf_templates_of_one_style_in_one_variant() -> None:
    data = _valid()
    data["questions"]["tf"][3]["variants"] = ["near"]  # t0: true_false for "near" only
    data["questions"]["tf"].append({"id": "y9", "style": "yes_no", "text": "Is {a} {value}, really?"})
    _fails(data, "questions.tf needs 3 'true_false' templates for variant 'far'")


def test_unknown_template_key() -> None:
    data = _valid()
    data["questions"]["free"][2]["varaints"] = ["near"]
    _fails(data, "questions.free[2] has unknown keys ['varaints']")


def test_unknown_top_level_key() -> None:
    data = _valid()
    data["answer"] = {}
    _fails(data, "unknown keys ['answer']")


@pytest.mark.parametrize("variants", ["near", ["near", "middle"], [], None])
def test_bad_variants(variants: Any) -> None:
    data = _valid()
    if variants is None:
        data["questions"]["free"][0]["variants"] = {"near": True}
        shown = "{'near': True}"
    else:
        data["questions"]["free"][0]["variants"] = variants
        shown = repr(variants)
    if variants == []:
        # An empty list is well formed (every listed variant is known) but serves no variant: then it is a
        # template too few for both variants.
        _fails(data, "questions.free has 4 templates for variant 'near'")
    else:
        _fails(data, "questions.free[0].variants must be a list of ['near', 'far']", f"got {shown}")


@pytest.mark.parametrize("section,fmt", [("questions", "free"), ("questions", "tf"), ("answers", "free")])
def test_duplicate_ids(section: str, fmt: str) -> None:
    data = _valid()
    items = data[section][fmt]
    items.append(dict(items[0]))
    _fails(data, f"{section}.{fmt} has duplicate ids")


@pytest.mark.parametrize(
    "text", ["{a!r} here?", "{a:>4} here?", "{0} here?", "{} here?", "{a here?", "{a.b}?"]
)
def test_malformed_placeholder(text: str) -> None:
    data = _valid()
    data["questions"]["mcq"][4]["text"] = text
    _fails(data, "questions.mcq[4].text: ")


def test_wrong_task_name() -> None:
    data = _valid()
    data["task"] = "other"
    _fails(data, "'task' must be 'toy'")
    _fails([data], "'task' must be 'toy'")


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None])
def test_bad_version(version: Any) -> None:
    data = _valid()
    data["version"] = version
    _fails(data, "'version' must be a positive integer")


def test_no_free_answers() -> None:
    data = _valid()
    del data["answers"]
    _fails(data, "answers.free has no template for variant 'near'")


def test_free_answers_missing_for_one_variant() -> None:
    data = _valid()
    data["answers"]["free"][0]["variants"] = ["near"]
    _fails(data, "answers.free has no template for variant 'far'")


def test_bank_without_free_needs_no_answers() -> None:
    data = _valid()
    del data["answers"]
    bank = parse_bank(WHERE, data, "toy", ("mcq", "tf"), VARIANTS)
    assert bank.answers == {} and len(bank.questions_for("mcq", "far")) == 5


@pytest.mark.parametrize(
    "fmt,style",
    [("tf", None), ("tf", "maybe"), ("free", "yes_no"), ("mcq", "true_false")],
)
def test_style_rules(fmt: str, style: str | None) -> None:
    data = _valid()
    item = data["questions"][fmt][0]
    if style is None:
        del item["style"]
    else:
        item["style"] = style
    _fails(data, f"questions.{fmt}[0].style: tf templates need one of ('yes_no', 'true_false'), others none")


@pytest.mark.parametrize("item", [{"text": "No id {a}?"}, {"id": 3, "text": "{a}?"}, {"id": "x"}, "f9"])
def test_template_needs_string_id_and_text(item: Any) -> None:
    data = _valid()
    data["questions"]["free"].append(item)
    _fails(data, "questions.free[5] needs string 'id' and 'text'")


def test_sections_must_be_objects_and_lists() -> None:
    data = _valid()
    data["questions"] = [1]
    _fails(data, "'questions' and 'answers' must be objects keyed by format")
    data = _valid()
    data["answers"] = []
    _fails(data, "'questions' and 'answers' must be objects keyed by format")
    data = _valid()
    data["questions"]["free"] = {"id": "f1"}
    _fails(data, "questions.free must be a list")


def test_missing_bank_file_names_the_file() -> None:
    with pytest.raises(BankError, match=r"spatialforge/tasks/banks/no_such_task\.json: no template bank"):
        load_bank("no_such_task", ("free",), ("",))


def test_invalid_json_names_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "banks").mkdir()
    (tmp_path / "banks" / "broken.json").write_text('{"task": ', encoding="utf-8")
    monkeypatch.setattr(banks.resources, "files", lambda package: tmp_path)
    with pytest.raises(BankError, match=r"banks/broken\.json: not valid JSON"):
        banks._read("broken")


# ---------------------------------------------------------------- the common bank


def test_load_common() -> None:
    common = load_common()
    assert common.version >= 1
    assert len(common.mcq_instructions) >= 2 and "" in common.mcq_instructions
    assert len(common.tf_statement_frames) >= 2
    for frame in common.tf_statement_frames:
        assert placeholders(frame) == {"statement"}
        filled = frame.format(statement="The chair is left of the table.")
        assert "true or false" in filled.lower()
    assert all(not placeholders(line) for line in common.mcq_instructions)
    assert load_common() is common  # cached


def _valid_common() -> dict[str, Any]:
    five = [f"Line {i}." for i in range(5)]
    return {
        "version": 1,
        "mcq_instructions": ["", "Pick one."],
        "inline_mcq_instructions": [f"Answer {{letters}} ({i})." for i in range(5)],
        "tf_statement_frames": [f"True or false ({i}): {{statement}}" for i in range(5)],
        "fill_instructions": {
            kind: [t[:-1] + "".join(f" {{{s}}}" for s in sorted(slots)) + "." for t in five]
            for kind, slots in FILL_INSTRUCTION_SLOTS.items()
        },
    }


def test_valid_common_bank_parses() -> None:
    common = banks.parse_common("x.json", _valid_common())
    assert common.fill_instructions["number"][0] == "Line 0 {unit}."
    assert common.inline_mcq_instructions[4] == "Answer {letters} (4)."


def _broken(path: tuple, value: Any) -> dict[str, Any]:
    data = _valid_common()
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    "path,value,fragment",
    [
        (("version",), "x", "'version' must be a positive integer"),
        (("fill_instructions",), _DELETE, "fill_instructions must have exactly the keys"),
        (("fill_instructions", "extra"), ["a"] * 5, "fill_instructions must have exactly the keys"),
        (("tf_statement_frames", 0), "True or false: {s}", "must use exactly {statement}"),
        (("tf_statement_frames",), ["{statement}?"], "at least 5 strings"),
        (("mcq_instructions", 0), "Pick {a}.", "must not use slots"),
        (("inline_mcq_instructions", 0), "Pick one.", "must use exactly {letters}"),
        (("fill_instructions", "number", 0), "A number.", "must use exactly {unit}"),
        (("fill_instructions", "choice", 0), "One of {options} in {unit}.", "must use exactly {options}"),
        (("fill_instructions", "count", 0), "A count in {unit}.", "must use exactly no slots"),
    ],
)
def test_load_common_rules(monkeypatch: pytest.MonkeyPatch, path: tuple, value: Any, fragment: str) -> None:
    data = _broken(path, value)
    monkeypatch.setattr(banks, "_read", lambda name: (f"spatialforge/tasks/banks/{name}.json", data))
    with pytest.raises(BankError) as err:
        banks.load_common.__wrapped__()
    assert str(err.value).startswith("spatialforge/tasks/banks/_common.json: ")
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "text,short,sentence",
    [
        ("{a} is {value}.", False, True),
        ("{value} is closer to the camera.", False, True),
        ("{value}", False, False),
        ("{value}.", False, False),
        ("About {value}.", True, False),
    ],
)
def test_sentence_answers(text: str, short: bool, sentence: bool) -> None:
    assert is_sentence_answer(Template("a1", text, short=short)) is sentence


def test_sentence_answers_come_from_the_free_answers() -> None:
    data = _valid()
    data["answers"]["free"] = [
        {"id": "a1", "text": "{value}"},
        {"id": "a2", "text": "About {value}.", "short": True},
        {"id": "a3", "text": "{a} is {value}."},
    ]
    bank = _parse(data)
    assert [t.id for t in bank.answers_for("free", "near")] == ["a1", "a2", "a3"]
    assert [t.id for t in bank.answers_for("sentence", "near")] == ["a3"]
    assert bank.answers_for("mcq", "near") == ()
    assert bank.questions_for("fill", "far") == bank.questions_for("free", "far")
    assert bank.questions_for("sentence", "far") == bank.questions_for("free", "far")


def test_a_variant_without_a_sentence_answer_is_refused() -> None:
    data = _valid()
    data["answers"]["free"] = [
        {"id": "a1", "text": "{value}"},
        {"id": "a2", "text": "About {value}.", "short": True},
    ]
    _fails(data, "answers.free has no full-sentence template", "variant 'near'")


def test_short_only_on_answers() -> None:
    data = _valid()
    data["questions"]["free"][0]["short"] = True
    _fails(data, "questions.free[0].short must be true or false, and only on answers")


# ---------------------------------------------------------------- the shipped banks


def _all_templates(bank: banks.TemplateBank):
    for section, by_format in (("questions", bank.questions), ("answers", bank.answers)):
        for fmt, templates in by_format.items():
            for t in templates:
                yield section, fmt, t


@pytest.mark.parametrize("name", list(TASKS))
def test_registered_bank_loads(name: str) -> None:
    spec = TASKS[name]
    bank = bank_of(spec)
    assert bank.task == (spec.bank or name) and bank.version >= 1
    assert set(bank.questions) == {f for f in spec.formats if f not in DERIVED_FORMATS}
    assert {"fill", "sentence"} <= set(spec.formats) if "free" in spec.formats else True
    for fmt in spec.formats:
        for variant in spec.variants:
            assert len(bank.questions_for(fmt, variant)) >= MIN_TEMPLATES
            if fmt == "tf":
                for style in TF_STYLES:
                    assert len(bank.questions_for(fmt, variant, style)) >= MIN_TF_PER_STYLE
        if fmt == "free":
            assert all(bank.answers_for("free", v) for v in spec.variants)
            assert all(bank.answers_for("sentence", v) for v in spec.variants)


@pytest.mark.parametrize("name", list(TASKS))
def test_registered_bank_style(name: str) -> None:
    spec = TASKS[name]
    bank = bank_of(spec)
    for section, fmt, t in _all_templates(bank):
        where = f"{name} {section}.{fmt} {t.id}: {t.text!r}"
        assert "}'s" not in t.text and "}\u2019s" not in t.text, f"possessive on a slot: {where}"
        names = placeholders(t.text)
        assert names <= ALLOWED_SLOTS, where
        assert "other" not in names or (section, fmt) == ("questions", "tf"), where
        assert t.text == t.text.strip() and "  " not in t.text, where
        if t.style == "yes_no":
            assert t.text.endswith("?"), where
        elif t.style == "true_false":
            assert t.text.endswith("."), where
    ids = [t.id for _, _, t in _all_templates(bank)]
    assert len(ids) == len(set(ids)), f"{name}: an id is used in two sections or formats"


def _fact_slots() -> dict[tuple[str, str], tuple[set[str], bool]]:
    """(task, variant) -> (object slots its facts mention, whether every answer is a two-valued category),
    from the facts the tasks compute on a few random box scenes (multi-view tasks: on posed test scenes)."""
    out: dict[tuple[str, str], tuple[set[str], bool]] = {}
    probes: list[tuple[Any, list[str]]] = []  # (context, tasks that look at it)
    single = [n for n, spec in TASKS.items() if spec.scope == "view"]
    for scene in random_box_scenes(6, seed=11):
        probes.append((ViewContext(scene, scene.views[0]), single))
    # Multi-view tasks look at view pairs and keyframe windows of the test walkthroughs and synthetic rooms.
    root = Path(tempfile.mkdtemp(prefix="sf_banks_"))
    for scene in walkthroughs(root, count=4) + synthetic_trajectories(root, count=3):
        contexts = [ViewContext(scene, v) for v in scene.views]
        for scope, sets in (
            ("pair", pair_sets(scene, contexts, random.Random(0))),
            ("sequence", sequence_sets(scene, contexts)),
        ):
            names = [n for n, spec in TASKS.items() if spec.scope == scope]
            probes += [(view_set, names) for view_set in sets]
    for ctx, names in probes:
        for name in names:
            spec = TASKS[name]
            for item in spec.candidates(ctx, random.Random(name)):
                if not isinstance(item, Fact):
                    continue
                slots = {m.slot for m in item.mentions} | set(item.slots)
                two = isinstance(item.answer, Category) and len(item.answer.phrases) == 2
                old = out.get((name, item.variant))
                out[(name, item.variant)] = (slots, two) if old is None else (old[0] | slots, old[1] and two)
    return out


def test_templates_use_only_the_slots_their_facts_fill() -> None:
    facts = _fact_slots()
    for name, spec in TASKS.items():
        bank = bank_of(spec)
        for variant in spec.variants:
            assert (name, variant) in facts, f"no fact of {name}/{variant!r} on the probe scenes"
            slots, two_valued = facts[(name, variant)]
            for section, fmt, t in _all_templates(bank):
                if not t.applies_to(variant):
                    continue
                names = placeholders(t.text) - {"value"}
                if "other" in names:
                    assert two_valued, (
                        f"{name}/{variant}: {t.id} uses {{other}} but the answer is not two-valued"
                    )
                    names.discard("other")
                assert names <= slots, f"{name}/{variant}: {section}.{fmt} {t.id} uses {names - slots}"


def test_tf_value_reads_as_the_asserted_value() -> None:
    # The value slot sits where a value reads naturally: never right after "the" or "a" (that would say
    # "the 2 meters" or "a to the left of").
    for name, spec in TASKS.items():
        bank = bank_of(spec)
        for _, _, t in _all_templates(bank):
            assert not re.search(r"\b(the|a|an) \{value\}", t.text, re.IGNORECASE), (name, t.id, t.text)
