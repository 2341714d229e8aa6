"""Renderer: facts of every task in every format, checked against the rules of tasks/render.py.

Scenes are built by hand (build_scene) with the demo's camera (640 x 480, f = 520 px, level, 1.3 m above
the floor, looking along world +y), plus a few random box scenes for variety.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from spatialforge.bench.metrics import angle_error_rad, spatialrgpt_success
from spatialforge.bench.parsers import parse_angle, parse_choice, parse_number, parse_vector, parse_yes_no
from spatialforge.demo.box_scenes import (
    CAMERA_HEIGHT_M,
    CATEGORY_SIZES,
    FOCAL_PX,
    HEIGHT,
    WIDTH,
    random_box_scene,
)
from spatialforge.geometry.boxes import OrientedBox3D, project_box_to_2d
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.gravity import level_world_from_cam
from spatialforge.geometry.rotations import rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.qa.choices import angle_text
from spatialforge.qa.records import norm_from_px, qa_from_dict, qa_to_dict
from spatialforge.qa.references import MARKER_COLOURS, ReferenceRefusal, marker_reference, reference_options
from spatialforge.qa.units import VOLUME_TO_M3
from spatialforge.scene.records import Gravity, Object3D, ObjectObservation, Scene, View
from spatialforge.sources.fronts import has_semantic_front
from spatialforge.tasks.banks import bank_of, is_sentence_answer, load_common
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.problem_solving import walking_route
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.render import DISTRACTOR_DISTINCT, Renderer
from spatialforge.tasks.spec import Angle, Category, Count, Fact, Mention, Quantity, TaskSpec, Vector

SIZES = dict(CATEGORY_SIZES)
FACING_CAMERA = -math.pi / 2  # object +x (front) along world -y: towards the camera
BAND = (0.75, 1.25)  # SpatialRGPT's band: distractors and false tf values lie outside it
# Largest rounding of a shown length, by the unit parse_number reports (qa.units precision), metres.
HALF_STEP_M = {"cm": 0.005, "in": 0.00127, "m": 0.005, "ft": 0.01524}
VOLUME_WORDS = {
    "cubic meters": VOLUME_TO_M3["m^3"],
    "liters": VOLUME_TO_M3["L"],
    "cubic feet": VOLUME_TO_M3["cu ft"],
}
LABEL_RE = re.compile(r"^(?:([A-Z])\.|\(([A-Z])\)|([A-Z])\)|\(([a-z])\)) (.+)$")
RECORD_SEED = 7
ANGLE_RE = re.compile(r"-?\d+ degrees?")  # an angle as qa.units.render_angle shows it
HALF_DEGREE_RAD = math.radians(0.5)  # largest rounding of a shown angle (integer degrees)


def _angle_off(text: str, answer: Angle) -> float:
    """How far the angle written in `text` is from the answer's (radians, the short way when circular)."""
    parsed = parse_angle(text)
    assert parsed.ok and parsed.unit == "deg", text
    return angle_error_rad(parsed.value, answer.value_rad, circular=answer.circular)


def build_scene(
    scene_id: str,
    objects: Sequence[tuple[Any, ...]],
) -> Scene:
    """objects: (category, lateral x m, depth y m[, yaw rad[, size (l, w, h)]]) standing on the floor; an
    object whose spec ends with "hidden" has no observation, one ending with "behind" is flagged behind."""
    camera = PinholeCamera(FOCAL_PX, FOCAL_PX, (WIDTH - 1) / 2, (HEIGHT - 1) / 2, WIDTH, HEIGHT)
    lv = level_world_from_cam(None)
    view = View("v0", "images/v0.jpg", camera, RigidTransform(lv.rotation, lv.translation, "world", "cam:v0"))
    cam_from_world = view.cam_from_world()
    out = []
    for i, spec in enumerate(objects):
        flag = spec[-1] if spec[-1] in ("hidden", "behind") else None
        spec = spec[:-1] if flag else spec
        category, x, y = spec[:3]
        yaw = spec[3] if len(spec) > 3 else 0.0
        size = np.array(spec[4] if len(spec) > 4 else SIZES[category], dtype=float)
        box = OrientedBox3D(np.array([x, y, -CAMERA_HEIGHT_M + size[2] / 2]), rot_z(yaw), size)
        if flag == "hidden":
            observations: tuple[ObjectObservation, ...] = ()
        elif flag == "behind":
            observations = (ObjectObservation("v0", None, None, None, None, None, True),)
        else:
            box2d = project_box_to_2d(box.transformed(cam_from_world), camera)
            assert box2d is not None, spec
            observations = (ObjectObservation("v0", box2d, "projected", None, None, None, False),)
        out.append(
            Object3D(str(i), f"hand:{i}", category, box, has_semantic_front(category), None, observations)
        )
    return Scene(
        scene_id=scene_id,
        capture_id=scene_id,
        source="hand",
        split="test",
        license="CC0-1.0",
        asset_root=".",
        views=(view,),
        objects=tuple(out),
        gravity=Gravity((0.0, 0.0, -1.0), "exact"),
    )


# Every category once: every reference is the bare category ("the chair").
UNIQUE = build_scene(
    "hand/unique",
    [
        ("chair", -1.5, 3.0, FACING_CAMERA),
        ("table", 1.0, 4.0, 0.3),
        ("sofa", 0.5, 6.5, FACING_CAMERA + 0.2),
        ("lamp", -2.0, 5.5),
        ("monitor", 1.8, 2.5, math.pi),
        ("box", 0.2, 3.5, 0.0),
        ("tv", -0.5, 8.0, 0.0),
        ("cabinet", 3.0, 7.0, math.pi),
    ],
)
# Two identical chairs side by side at nearly the same distance (no text reference: markers), a table.
TWINS = build_scene(
    "hand/twins",
    [
        ("chair", 0.0, 4.0, 0.0, (0.5, 0.5, 0.9)),
        ("chair", 0.1, 4.3, 0.0, (0.5, 0.5, 0.9)),
        ("table", 2.0, 5.0),
    ],
)
# Two identical chairs in one line of sight: only "the nearest/farthest chair" tells them apart.
LINE = build_scene(
    "hand/line",
    [
        ("chair", 0.0, 3.0, 0.0, (0.5, 0.5, 0.9)),
        ("chair", 0.3, 6.0, 0.0, (0.5, 0.5, 0.9)),
        ("bed", -2.0, 5.0),
    ],
)
SCENES = [UNIQUE, TWINS, LINE] + [random_box_scene(i, random.Random(f"render:{i}"), 8) for i in range(3)]
COMMON = load_common()


def _ctx(scene: Scene) -> ViewContext:
    return ViewContext(scene, scene.views[0])


def _bank(name: str):
    spec = TASKS[name]
    return bank_of(spec)


def _facts(ctx: ViewContext, name: str, limit: int = 12, seed: str = "facts") -> list[Fact]:
    facts = []
    for item in TASKS[name].candidates(ctx, random.Random(f"{seed}:{name}")):
        if isinstance(item, Fact):
            facts.append(item)
            if len(facts) == limit:
                break
    return facts


# ---------------------------------------------------------------- reading a record back


def _mention_texts(ctx: ViewContext, fact: Fact, records: list[dict[str, Any]]) -> dict[str, str]:
    """slot -> the reference text naming that mention in the record(s) (tf: both items of the pair).

    A mention is named by one of its usable text references (qa.references, less the fact's avoided
    criteria) when it has any, else by the next marker of the record, whose box must be the object's."""
    text = " ".join(r["question"] for r in records).lower()
    markers = iter(records[0]["markers"])
    out = {}
    for m in fact.mentions:
        options = reference_options(ctx.scene, ctx.view, m.obj)
        assert isinstance(options, list), options
        usable = [
            r.text
            for r in options
            if r.kind != "marker" and (r.criterion is None or r.criterion not in fact.avoid_criteria)
        ]
        if usable:
            found = [t for t in usable if t.lower() in text]
            assert len(found) == 1, (m.obj.object_id, usable, text)
            out[m.slot] = found[0]
            continue
        marker = next(markers, None)
        assert marker is not None, f"object {m.obj.object_id} needs a marker: {text!r}"
        box = m.obj.observations[0].box2d.clipped(WIDTH, HEIGHT)  # type: ignore[union-attr]
        assert marker["geometry_px"] == [box.x_min, box.y_min, box.x_max, box.y_max]
        noun = m.obj.category.replace("_", " ")
        out[m.slot] = f"the {noun} (highlighted by the {marker['colour']} box)"
        assert out[m.slot] in text, (out[m.slot], text)
    assert next(markers, None) is None, "a marker that names no mention"
    return out


def _length_m(text: str) -> tuple[float, float]:
    """(metres, half step of the shown unit) of the number in text."""
    parsed = parse_number(text, to_unit="m")
    assert parsed.ok, (text, parsed)
    return float(parsed.value), HALF_STEP_M[parsed.unit]  # type: ignore[index, arg-type]


def _volume_m3(text: str) -> tuple[float, float]:
    """(cubic metres, half step) of a volume shown with 3 significant figures."""
    parsed = parse_number(text, to_unit="none")
    assert parsed.ok, (text, parsed)
    factor = next(f for word, f in VOLUME_WORDS.items() if word in text)
    number = re.search(r"(\d+(?:\.\d+)?) (?:cubic meters|liters|cubic feet)", text)
    assert number is not None, text
    decimals = len(number[1].partition(".")[2])
    return float(parsed.value) * factor, 0.5 * 10.0**-decimals * factor  # type: ignore[arg-type]


def _quantity(text: str, kind: str) -> tuple[float, float]:
    return _length_m(text) if kind == "length" else _volume_m3(text)


def _in_band(pred: float, gold: float) -> bool:
    return BAND[0] * gold <= pred <= BAND[1] * gold


def _phrase_texts(answer: Category, slots: dict[str, str], options: bool) -> dict[str, str]:
    shown = (answer.option_texts or answer.phrases) if options else answer.phrases
    return {v: p.format_map(slots) for v, p in shown.items()}


# ---------------------------------------------------------------- checks per format


def _check_common(ctx: ViewContext, name: str, fact: Fact, fmt: str, records: list[dict[str, Any]]) -> None:
    spec, bank = TASKS[name], _bank(name)
    for r in records:
        assert qa_to_dict(qa_from_dict(r)) == r
        assert (r["task"], r["level"], r["format"], r["frame"], r["seed"]) == (
            name,
            spec.level,
            fmt,
            fact.frame,
            RECORD_SEED,
        )
        assert r["scene_id"] == ctx.scene.scene_id
        assert r["images"] == [{"path": ctx.view.image_path, "view_id": ctx.view.view_id}]
        assert [(o["object_id"], o["role"]) for o in r["objects"]] == [
            (m.obj.object_id, m.role) for m in fact.mentions
        ]
        match = re.fullmatch(rf"{name}/{fmt}/([^/@+]+)(?:\+([^/@+]+))?@{bank.version}", r["template_id"])
        assert match, r["template_id"]
        assert match[1] in {t.id for t in bank.questions_for(fmt, fact.variant)}
        assert (match[2] is not None) == (fmt in ("free", "sentence"))
        if fmt in ("free", "sentence"):  # sentence: only the full-sentence answers (tasks/banks.py)
            assert match[2] in {t.id for t in bank.answers_for(fmt, fact.variant)}
        assert not r["question"][:1].islower() and not r["answer"][:1].islower(), (r["question"], r["answer"])
        assert "{" not in r["question"] and "}" not in r["question"] and "{" not in r["answer"]
        assert list(fact.reasoning) == (r["reasoning"] or [])
    # Never one text for two objects; markers: one per marker reference, colours handed out in order.
    texts = _mention_texts(ctx, fact, records)
    by_object = {m.obj.object_id: texts[m.slot] for m in fact.mentions}
    assert len(set(by_object.values())) == len(by_object), (by_object, records[0]["question"])
    for r in records:
        assert [m["colour"] for m in r["markers"]] == list(MARKER_COLOURS[: len(r["markers"])])
        for m in r["markers"]:
            assert f"highlighted by the {m['colour']} box" in r["question"]
            assert m["kind"] == "box" and m["image_index"] == 0
            assert all(0 <= v <= 1000 for v in m["geometry_norm"])
            assert tuple(m["geometry_norm"]) == norm_from_px(m["geometry_px"], WIDTH, HEIGHT)
    for text in by_object.values():
        assert not any(word in text for word in fact.avoid_criteria), (text, fact.avoid_criteria)


def _check_free(ctx: ViewContext, fact: Fact, records: list[dict[str, Any]]) -> None:
    assert len(records) == 1
    r = records[0]
    assert r["choices"] == []
    answer = fact.answer
    if isinstance(answer, Quantity):
        digits = 4 if answer.kind == "length" else 6
        assert r["answer_value"] == round(answer.si_value, digits)
        assert r["unit"] == answer.si_unit
        assert r["tolerance"]["metric"] == TASKS[r["task"]].metric == answer.metric
        shown, half = _quantity(r["answer"], answer.kind)
        assert abs(shown - r["answer_value"]) <= half + 10.0**-digits, (r["answer"], r["answer_value"])
        if answer.kind == "length":
            assert r["tolerance"]["params"] == {"answer_type": "number", "to_unit": "m"}
    elif isinstance(answer, Vector):
        assert r["answer_value"] == [round(c, 4) for c in answer.components]
        parsed = parse_vector(r["answer"])
        assert parsed.ok, r["answer"]
        assert np.allclose(parsed.value, answer.components, atol=0.005 + 1e-9)
        assert r["unit"] == ("m" if answer.kind == "position_m" else None)
        if answer.kind == "unit":
            assert math.isclose(float(np.linalg.norm(answer.components)), 1.0, abs_tol=1e-9)
    elif isinstance(answer, Angle):
        assert r["answer_value"] == round(answer.value_rad, 4) and r["unit"] == "rad"
        assert r["tolerance"] == {
            "metric": TASKS[r["task"]].metric,
            "params": {
                "answer_type": "angle",
                "threshold_rad": answer.threshold_rad,
                "circular": answer.circular,
            },
        }
        assert _angle_off(r["answer"], answer) <= HALF_DEGREE_RAD + 1e-12, r["answer"]
    elif isinstance(answer, Count):
        assert r["answer_value"] == answer.value and r["unit"] is None
        assert r["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "number"}}
        assert parse_number(r["answer"], to_unit="none").value == answer.value
    else:
        assert isinstance(answer, Category)
        slots = _mention_texts(ctx, fact, records)
        truth = _phrase_texts(answer, slots, options=False)[answer.value]
        assert r["answer_value"] == truth and r["unit"] is None
        assert truth.lower() in r["answer"].lower()
        assert r["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "category"}}


def _fill_instruction(question: str, kind: str) -> dict[str, str]:
    """The slots of the fill instruction of `kind` that ends the question (one of the common bank's lines)."""
    last = question.split("\n")[-1]
    for line in COMMON.fill_instructions[kind]:
        pattern = (
            re.escape(line).replace(r"\{unit\}", "(?P<unit>.+)").replace(r"\{options\}", "(?P<options>.+)")
        )
        found = re.fullmatch(pattern, last)
        if found:
            return found.groupdict()
    raise AssertionError(f"no {kind} fill instruction ends {question!r}")


def _check_fill(ctx: ViewContext, fact: Fact, records: list[dict[str, Any]]) -> None:
    """SPAR fill: the free question plus an answer-only line; the answer is the bare value, read back in the
    unit the line names, within the shown rounding."""
    (r,) = records
    answer, text = fact.answer, r["answer"]
    assert r["choices"] == [] and "\n" in r["question"]
    if isinstance(answer, Quantity):
        unit_word = _fill_instruction(r["question"], "number")["unit"]
        assert re.fullmatch(r"\d+(\.\d+)?", text), text
        shown, half = _quantity(f"{text} {unit_word}", answer.kind)
        assert abs(shown - answer.si_value) <= half + 1e-6, (text, unit_word, answer.si_value)
        digits = 4 if answer.kind == "length" else 6
        assert r["unit"] == answer.si_unit and r["answer_value"] == round(answer.si_value, digits)
        params = r["tolerance"]["params"]
        assert params["answer_type"] == "number" and params["to_unit"] == answer.si_unit
        # The reply's bare number is read in the unit asked for, and gives back the truth.
        read = parse_number(text, to_unit=answer.si_unit, default_unit=params["default_unit"])
        assert read.ok and abs(read.value - answer.si_value) <= half + 1e-6
    elif isinstance(answer, Count):
        _fill_instruction(r["question"], "count")
        assert text == str(answer.value) and r["answer_value"] == answer.value
        assert r["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "number"}}
    elif isinstance(answer, Angle):
        assert _fill_instruction(r["question"], "number") == {"unit": "degrees"}
        assert re.fullmatch(r"-?\d+", text), text
        assert _angle_off(f"{text} degrees", answer) <= HALF_DEGREE_RAD + 1e-12
        assert r["unit"] == "rad" and r["tolerance"]["params"]["answer_type"] == "angle"
    elif isinstance(answer, Vector):
        kind = "position" if answer.kind == "position_m" else "direction"
        _fill_instruction(r["question"], kind)
        assert not text.startswith("(")
        parsed = parse_vector(text)
        assert parsed.ok and np.allclose(parsed.value, answer.components, atol=0.005 + 1e-9), text
        assert r["answer_value"] == [round(c, 4) for c in answer.components]
    else:
        assert isinstance(answer, Category)
        slots = _mention_texts(ctx, fact, records)

        def listable(texts: dict[str, str]) -> bool:
            return len(texts) <= 8 and not any("," in re.sub(r"\([^)]*\)", "", t) for t in texts.values())

        options, phrases = (
            _phrase_texts(answer, slots, options=True),
            _phrase_texts(answer, slots, options=False),
        )
        texts = next((t for t in (options, phrases) if listable(t)), None)
        if texts is None:
            _fill_instruction(r["question"], "phrase")
            texts = phrases
        else:
            listed = _fill_instruction(r["question"], "choice")["options"]
            assert sorted(re.split(r", | or ", listed)) == sorted(texts.values()), (listed, texts)
        assert r["answer_value"] == texts[answer.value]
        assert text == r["answer_value"][:1].upper() + r["answer_value"][1:]
        assert r["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "category"}}


def _check_sentence(ctx: ViewContext, fact: Fact, records: list[dict[str, Any]]) -> None:
    """SPAR sentence: a free question and a full-sentence free answer (the same value checks as free)."""
    _check_free(ctx, fact, records)
    (r,) = records
    answer_id = r["template_id"].split("+")[1].split("@")[0]
    template = next(t for t in _bank(r["task"]).answers["free"] if t.id == answer_id)
    assert is_sentence_answer(template), template
    assert r["answer"].endswith((".", "?", ")")) or r["answer"][-1].isalnum(), r["answer"]


def _check_mcq(ctx: ViewContext, fact: Fact, records: list[dict[str, Any]]) -> None:
    assert len(records) == 1
    r = records[0]
    answer = fact.answer
    labels = [c["label"] for c in r["choices"]]
    texts = [c["text"] for c in r["choices"]]
    assert labels == list("ABCD"[: len(labels)]) and len(set(texts)) == len(texts)
    assert r["answer_value"] in labels and r["unit"] is None
    assert r["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "choice"}}
    options = {c["label"]: c["text"] for c in r["choices"]}
    assert parse_choice(r["answer"], options).value == r["answer_value"]
    # The option block is in the question, one line per option, in one label style.
    lines = r["question"].split("\n")
    block = lines[1 : 1 + len(labels)]
    shown = [LABEL_RE.match(line) for line in block]
    assert all(shown), block
    assert [m.group(5) for m in shown] == texts  # type: ignore[union-attr]
    assert [next(g for g in m.groups()[:4] if g).upper() for m in shown] == labels  # type: ignore[union-attr]
    assert r["answer"] == block[labels.index(r["answer_value"])]
    assert len(lines) in (1 + len(labels), 2 + len(labels))
    correct = options[r["answer_value"]]
    if isinstance(answer, Quantity):
        assert len(labels) == 4
        value, half = _quantity(correct, answer.kind)
        assert abs(value - answer.si_value) <= half + 1e-9
        for label, text in options.items():
            if label == r["answer_value"]:
                continue
            d, _ = _quantity(text, answer.kind)
            assert d > 0 and not _in_band(d, answer.si_value) and not _in_band(answer.si_value, d), (
                text,
                correct,
            )
    elif isinstance(answer, Angle):
        # Every distractor at least two thresholds from the truth (qa.choices.angle_distractors).
        assert len(labels) == 4 and _angle_off(correct, answer) <= HALF_DEGREE_RAD + 1e-12
        for label, text in options.items():
            if label != r["answer_value"]:
                assert _angle_off(text, answer) >= 2 * answer.threshold_rad - 1e-9, (text, correct)
    elif isinstance(answer, Count):
        assert len(labels) == 4 and correct == str(answer.value)
        assert all(t.isdigit() for t in texts)
    else:
        assert isinstance(answer, Category)
        slots = _mention_texts(ctx, fact, records)
        values = _phrase_texts(answer, slots, options=True)
        assert len(labels) == min(4, len(values))
        assert correct == values[answer.value]
        assert set(texts) <= set(values.values())


def _check_tf(ctx: ViewContext, fact: Fact, records: list[dict[str, Any]]) -> None:
    assert len(records) == 2
    assert sorted(r["answer_value"] for r in records) == [False, True]
    true, false = sorted(records, key=lambda r: not r["answer_value"])
    assert (true["answer"], false["answer"]) in (("Yes", "No"), ("True", "False"))
    for key in ("template_id", "objects", "markers", "choices", "frame", "tolerance", "unit"):
        assert true[key] == false[key], key
    assert true["id"] != false["id"] and true["question"] != false["question"]
    assert true["tolerance"] == {"metric": "accuracy", "params": {"answer_type": "yes_no"}}
    for r in records:
        assert parse_yes_no(r["answer"]).value is r["answer_value"]
        if r["answer"] in ("True", "False"):
            assert "true or false" in r["question"].lower()
        else:
            assert r["question"].endswith("?") and "true or false" not in r["question"].lower()
    answer = fact.answer
    if isinstance(answer, Quantity):
        t, half = _quantity(true["question"], answer.kind)
        f, _ = _quantity(false["question"], answer.kind)
        assert abs(t - answer.si_value) <= half + 1e-9
        assert not _in_band(f, answer.si_value) and not _in_band(answer.si_value, f)
    elif isinstance(answer, Angle):
        # The pair differs in one angle (the questions also state the convention, "0 degrees means ..."):
        # the truth as shown, and a wrong value at least two thresholds away.
        pairs = zip(ANGLE_RE.findall(true["question"]), ANGLE_RE.findall(false["question"]), strict=True)
        ((t, f),) = [(t, f) for t, f in pairs if t != f]
        assert t == angle_text(answer.value_rad, answer.circular)
        assert _angle_off(f, answer) >= 2 * answer.threshold_rad - 1e-9
    elif isinstance(answer, Count):
        assert str(answer.value) in true["question"] and true["question"] != false["question"]
    else:
        assert isinstance(answer, Category)
        if not any("{" in p for p in answer.phrases.values()):
            slots = _mention_texts(ctx, fact, records)
            values = _phrase_texts(answer, slots, options=False)
            assert values[answer.value].lower() in true["question"].lower()
            assert any(v.lower() in false["question"].lower() for k, v in values.items() if k != answer.value)


CHECKS = {
    "free": _check_free,
    "mcq": _check_mcq,
    "tf": _check_tf,
    "fill": _check_fill,
    "sentence": _check_sentence,
}
ALLOWED_REFUSALS = {"no_distinct_distractors", "too_few_values"}


# The scenes here have no depth and one view each: tests/tasks/test_level0.py renders the point tasks with
# their own checks, and the registry sweep (tests/engine/test_generate.py) renders the multi-view tasks in
# every format on multi-view scenes.
@pytest.mark.parametrize(
    "name", [n for n, spec in TASKS.items() if not {"depth", "multi_view"} & set(spec.requires)]
)
def test_every_task_renders_every_format(name: str) -> None:
    spec = TASKS[name]
    rendered: Counter[str] = Counter()
    for scene in SCENES:
        ctx = _ctx(scene)
        renderer = Renderer(ctx, COMMON)
        for i, fact in enumerate(_facts(ctx, name, limit=8)):
            assert fact.task == name and fact.variant in spec.variants
            for fmt in spec.formats:
                out = renderer.render(spec, _bank(name), fact, fmt, random.Random(f"{i}:{fmt}"), RECORD_SEED)
                if isinstance(out, str):
                    assert out in ALLOWED_REFUSALS, out
                    continue
                _check_common(ctx, name, fact, fmt, out)
                CHECKS[fmt](ctx, fact, out)
                rendered[fmt] += 1
    assert set(rendered) == set(spec.formats), rendered
    assert min(rendered.values()) >= 3, rendered


def test_unique_scene_references_are_bare_categories() -> None:
    ctx = _ctx(UNIQUE)
    spec = TASKS["relative_direction"]
    fact = _facts(ctx, "relative_direction", limit=1)[0]
    (record,) = Renderer(ctx, COMMON).render(spec, _bank(spec.name), fact, "free", random.Random(1), 3)
    a, b = (f"the {m.obj.category}" for m in fact.mentions)
    assert a in record["question"].lower() and b in record["question"].lower()
    assert record["markers"] == []


def test_render_is_a_function_of_the_rng() -> None:
    ctx = _ctx(SCENES[3])
    spec = TASKS["relative_distance"]
    fact = _facts(ctx, spec.name, limit=1)[0]
    outs = [
        Renderer(ctx, COMMON).render(spec, _bank(spec.name), fact, fmt, random.Random(5), 9)
        for fmt in ("free", "mcq", "tf")
        for _ in range(2)
    ]
    assert outs[0] == outs[1] and outs[2] == outs[3] and outs[4] == outs[5]


# ---------------------------------------------------------------- references


def test_markers_for_indistinguishable_twins() -> None:
    ctx = _ctx(TWINS)
    chairs = [o for o in TWINS.objects if o.category == "chair"]
    assert len(ctx.visible) == 3
    spec = TASKS["relative_distance"]
    fact = Fact(
        spec.name,
        "euclidean",
        (Mention("a", chairs[0], "a"), Mention("b", chairs[1], "b")),
        Quantity("length", 0.3162, "mra"),
        "cam:v0",
    )
    renderer = Renderer(ctx, COMMON)
    for seed in range(20):
        (r,) = renderer.render(spec, _bank(spec.name), fact, "free", random.Random(seed), 1)
        assert "the chair (highlighted by the red box)" in r["question"].lower()
        assert "the chair (highlighted by the green box)" in r["question"].lower()
        assert [m["colour"] for m in r["markers"]] == ["red", "green"]
        boxes = [c.observations[0].box2d for c in chairs]
        for m, box in zip(r["markers"], boxes, strict=True):
            clipped = box.clipped(WIDTH, HEIGHT)
            assert m["geometry_px"] == [clipped.x_min, clipped.y_min, clipped.x_max, clipped.y_max]
            expected = [
                round(1000 * clipped.x_min / WIDTH),
                round(1000 * clipped.y_min / HEIGHT),
                round(1000 * clipped.x_max / WIDTH),
                round(1000 * clipped.y_max / HEIGHT),
            ]
            assert m["geometry_norm"] == expected
            assert all(0 <= v <= 1000 for v in expected)
        assert r["markers"][0]["geometry_norm"] != r["markers"][1]["geometry_norm"]


def test_view_marker_cache_matches_marker_reference() -> None:
    """ViewContext.marker hands out the first free colour like qa.references.marker_reference, builds each
    (object, colour, image number) once, and refuses when every colour is used."""
    ctx = _ctx(TWINS)
    chair = next(o for o in TWINS.objects if o.category == "chair")
    for used in ((), ("red",), ("red", "green")):
        for number in (None, 2):
            got = ctx.marker(chair, used, MARKER_COLOURS, number)
            assert got == marker_reference(ctx.view, chair, used, MARKER_COLOURS, number)
            assert ctx.marker(chair, used, MARKER_COLOURS, number) is got  # built once
    assert ctx.marker(chair, ("green",), MARKER_COLOURS).marker.colour == "red"
    assert ctx.marker(chair, ("green",), MARKER_COLOURS) is ctx.marker(chair, (), MARKER_COLOURS)
    refused = ctx.marker(chair, MARKER_COLOURS, MARKER_COLOURS)
    assert isinstance(refused, ReferenceRefusal) and refused.reason == "no_free_marker_colour"


def test_marker_only_where_needed() -> None:
    ctx = _ctx(TWINS)
    chair, _, table = TWINS.objects
    spec = TASKS["relative_direction"]
    fact = Fact(
        spec.name,
        "left_right",
        (Mention("a", table, "target"), Mention("b", chair, "anchor")),
        Category("right", {"left": "to the left of", "right": "to the right of"}),
        "cam_gravity:v0",
    )
    (r,) = Renderer(ctx, COMMON).render(spec, _bank(spec.name), fact, "free", random.Random(0), 1)
    assert "the table" in r["question"].lower() and "(highlighted by the red box)" in r["question"]
    assert [m["colour"] for m in r["markers"]] == ["red"]
    assert r["answer_value"] == "to the right of"


def test_reference_avoids_the_criterion_the_question_asks() -> None:
    ctx = _ctx(LINE)
    near, far, _ = LINE.objects
    texts = {r.text for r in reference_options(LINE, LINE.views[0], near)}  # type: ignore[union-attr]
    assert texts == {"the nearest chair"}  # same size, same image column: only the distance tells them apart
    renderer = Renderer(ctx, COMMON)
    distance = TASKS["object_distance_camera"]
    depth_fact = Fact(
        distance.name,
        "",
        (Mention("a", near, "target"),),
        Quantity("length", 3.2, "spatialrgpt"),
        "cam:v0",
        avoid_criteria=frozenset({"nearest", "farthest"}),
    )
    direction = TASKS["relative_direction"]
    front_fact = Fact(
        direction.name,
        "front_behind",
        (Mention("a", near, "target"), Mention("b", far, "anchor")),
        Category("in_front", {"in_front": "in front of", "behind": "behind"}),
        "cam_gravity:v0",
    )
    for seed in range(10):
        for fmt in ("free", "mcq", "tf"):
            out = renderer.render(distance, _bank(distance.name), depth_fact, fmt, random.Random(seed), 1)
            assert not isinstance(out, str)
            for r in out:
                assert "nearest" not in r["question"] and "farthest" not in r["question"]
                assert "the chair (highlighted by the red box)" in r["question"].lower()
        (r,) = renderer.render(direction, _bank(direction.name), front_fact, "free", random.Random(seed), 1)
        assert "the nearest chair" in r["question"].lower() and "the farthest chair" in r["question"].lower()
        assert r["markers"] == []


@pytest.mark.parametrize(
    "flag,reason",
    [("hidden", "reference_not_visible"), ("behind", "reference_behind_camera")],
)
def test_reference_refusal_is_a_reason(flag: str, reason: str) -> None:
    scene = build_scene(
        "hand/refusal", [("chair", 0.0, 3.0), ("table", 1.0, 4.0, 0.0, (1.4, 0.8, 0.75), flag)]
    )
    ctx = _ctx(scene)
    assert [o.object_id for o in ctx.visible] == ["0"]
    spec = TASKS["relative_distance"]
    fact = Fact(
        spec.name,
        "euclidean",
        (Mention("a", scene.objects[0], "a"), Mention("b", scene.objects[1], "b")),
        Quantity("length", 1.4, "mra"),
        "cam:v0",
    )
    for fmt in spec.formats:
        assert Renderer(ctx, COMMON).render(spec, _bank(spec.name), fact, fmt, random.Random(0), 1) == reason


def test_no_free_marker_colour_is_a_reason() -> None:
    # Seven identical chairs in a tight cluster: every one needs a marker, and there are six colours.
    chairs = [("chair", 0.02 * i, 5.0 + 0.01 * i, 0.0, (0.5, 0.5, 0.9)) for i in range(7)]
    scene = build_scene("hand/crowd", chairs)
    ctx = _ctx(scene)
    assert len(ctx.visible) == 7
    spec = TASKS["object_distance_camera"]
    mentions = tuple(Mention(s, o, "target") for s, o in zip("abcdefg", scene.objects, strict=True))
    fact = Fact(spec.name, "", mentions, Quantity("length", 5.0, "spatialrgpt"), "cam:v0")
    out = Renderer(ctx, COMMON).render(spec, _bank(spec.name), fact, "free", random.Random(0), 1)
    assert out == "reference_no_free_marker_colour"


# ---------------------------------------------------------------- fairness over many renders


def _letters(
    name: str, fact: Fact, ctx: ViewContext, n: int, spec: TaskSpec | None = None
) -> tuple[Counter[str], Counter[int]]:
    spec, bank, renderer = spec or TASKS[name], _bank(name), Renderer(ctx, COMMON)
    letters: Counter[str] = Counter()
    ranks: Counter[int] = Counter()
    for i in range(n):
        (r,) = renderer.render(spec, bank, fact, "mcq", random.Random(f"letters:{i}"), 1)
        letters[r["answer_value"]] += 1
        if isinstance(fact.answer, Quantity):
            values = sorted((_length_m(c["text"])[0], c["label"]) for c in r["choices"])
            ranks[[label for _, label in values].index(r["answer_value"])] += 1
    return letters, ranks


def test_numeric_mcq_answer_position_and_rank_uniform() -> None:
    """Chain distractors (a task without peers): the truth's letter and its rank among the sorted values are
    uniform by construction."""
    ctx = _ctx(UNIQUE)
    fact = _facts(ctx, "object_distance_camera", limit=1)[0]
    n = 400
    chains_only = dataclasses.replace(TASKS["object_distance_camera"], peers=None)
    letters, ranks = _letters("object_distance_camera", fact, ctx, n, chains_only)
    assert set(letters) == set("ABCD") and set(ranks) == {0, 1, 2, 3}
    assert all(0.15 * n <= c <= 0.35 * n for c in letters.values()), letters
    assert all(0.15 * n <= c <= 0.35 * n for c in ranks.values()), ranks
    letters, _ = _letters("object_distance_camera", fact, ctx, n)  # with peers: the letter is still drawn
    assert all(0.15 * n <= c <= 0.35 * n for c in letters.values()), letters


@pytest.mark.parametrize("name", ["object_distance_camera", "object_depth"])
def test_numeric_mcq_distractors_come_from_the_other_objects_values(name) -> None:
    """Peer distractors: the task's peers are the other visible objects' values of the asked measure, and
    the options take from them (as shown, rounded in their unit); the hand scene has objects within 25 % of
    each other, so some options are chains, but every render shows at least one other object's value."""
    ctx = _ctx(UNIQUE)
    spec = TASKS[name]
    for fact in _facts(ctx, name, limit=3):
        target = fact.mentions[0].obj
        others = [
            ctx.center_cam[o.object_id][2] if name == "object_depth" else ctx.distances[o.object_id]
            for o in ctx.visible
            if o is not target
        ]
        assert sorted(spec.peers(ctx, fact)) == pytest.approx(sorted(others))
        for i in range(20):
            (r,) = Renderer(ctx, COMMON).render(spec, _bank(name), fact, "mcq", random.Random(f"p:{i}"), 1)
            wrong = [_length_m(c["text"]) for c in r["choices"] if c["label"] != r["answer_value"]]
            assert len(wrong) == 3
            assert any(min(abs(v - o) for o in others) <= half + 1e-9 for v, half in wrong), (wrong, others)


def test_categorical_mcq_answer_position_uniform() -> None:
    ctx = _ctx(UNIQUE)
    facts = [f for f in _facts(ctx, "object_orientation", limit=10)]
    assert facts
    n = 400
    letters, _ = _letters("object_orientation", facts[0], ctx, n)
    assert set(letters) == set("ABCD")
    assert all(0.15 * n <= c <= 0.35 * n for c in letters.values()), letters
    two = _facts(ctx, "relative_size", limit=1)[0]
    letters, _ = _letters("relative_size", two, ctx, n)
    assert set(letters) == {"A", "B"} and all(0.4 * n <= c <= 0.6 * n for c in letters.values()), letters


def test_tf_style_drawn_fairly() -> None:
    ctx = _ctx(UNIQUE)
    spec = TASKS["relative_distance"]
    fact = _facts(ctx, spec.name, limit=1)[0]
    renderer = Renderer(ctx, COMMON)
    styles = Counter(
        "yes_no" if pair[0]["answer"] in ("Yes", "No") else "true_false"
        for i in range(400)
        for pair in [renderer.render(spec, _bank(spec.name), fact, "tf", random.Random(f"tf:{i}"), 1)]
    )
    assert set(styles) == {"yes_no", "true_false"}
    assert 160 <= styles["yes_no"] <= 240, styles


def test_free_length_units_follow_spatialrgpt_buckets() -> None:
    # 3.2 m is in the >= 3 m bucket: metres 0.7 / feet 0.3; 0.5 m: centimetres 0.2 / inches 0.8.
    ctx = _ctx(UNIQUE)
    chair = UNIQUE.objects[0]
    spec = TASKS["object_distance_camera"]
    renderer = Renderer(ctx, COMMON)
    for metres, expected in ((3.2, {"m": 0.7, "ft": 0.3}), (0.5, {"cm": 0.2, "in": 0.8})):
        fact = Fact(
            spec.name,
            "",
            (Mention("a", chair, "target"),),
            Quantity("length", metres, "spatialrgpt"),
            "cam:v0",
        )
        units: Counter[str] = Counter()
        for i in range(400):
            (r,) = renderer.render(spec, _bank(spec.name), fact, "free", random.Random(f"u:{i}"), 1)
            units[parse_number(r["answer"], to_unit="m").unit] += 1  # type: ignore[index]
        assert set(units) == set(expected), units
        for unit, p in expected.items():
            assert abs(units[unit] / 400 - p) < 0.08, units


# ---------------------------------------------------------------- scoring a record with its own tolerance


def test_free_volume_answer_reads_back_with_its_own_tolerance() -> None:
    ctx = _ctx(UNIQUE)
    box = UNIQUE.objects[5]
    spec = TASKS["object_size"]
    fact = Fact(spec.name, "volume", (Mention("a", box, "target"),), Quantity("volume", 0.0253, "mra"), None)
    renderer = Renderer(ctx, COMMON)
    for i in range(20):
        (r,) = renderer.render(spec, _bank(spec.name), fact, "free", random.Random(i), 1)
        parsed = parse_number(
            r["answer"], **{k: v for k, v in r["tolerance"]["params"].items() if k == "to_unit"}
        )
        assert parsed.ok and math.isclose(float(parsed.value), r["answer_value"], rel_tol=0.01), (  # type: ignore[arg-type]
            r["answer"],
            r["answer_value"],
            r["tolerance"],
        )


def test_distractor_band_is_spatialrgpt_success() -> None:
    for pred, gold in [(0.75, 1.0), (0.7499, 1.0), (1.25, 1.0), (1.2501, 1.0), (3.0, 2.5), (1e-3, 2e-3)]:
        assert DISTRACTOR_DISTINCT(pred, gold) == spatialrgpt_success(pred, gold)


def test_route_distance_peers_are_other_walks_of_the_same_variant() -> None:
    ctx = _ctx(UNIQUE)
    spec = TASKS["route_distance"]
    facts = _facts(ctx, "route_distance", limit=20)
    assert {f.variant for f in facts} == {"via", "from_camera"}
    for fact in facts:
        peers = spec.peers(ctx, fact)
        assert 0 < len(peers) <= 48
        # every peer is the total of a walk: at least one leg per stop, each >= 0.5 m
        assert min(peers) >= 0.5 * len(fact.mentions)
        asked = tuple(m.obj for m in fact.mentions)
        left_out = (asked, asked[::-1]) if fact.variant == "via" else (asked,)  # via backwards: as long
        walks = [
            walking_route(ctx, fact.variant, objs)
            for objs in itertools.permutations(ctx.visible, len(asked))
            if objs not in left_out
        ]
        totals = [w.answer.si_value for w in walks if isinstance(w, Fact)]
        for value in peers:  # each is a walk of the view the task could ask about, in some order of stops
            assert min(abs(value - t) for t in totals) < 1e-9, value


def test_perspective_distance_peers_are_the_other_pairs_horizontal_distances() -> None:
    ctx = _ctx(UNIQUE)
    spec = TASKS["perspective_taking"]
    facts = [f for f in _facts(ctx, "perspective_taking", limit=40) if f.variant == "distance"]
    assert facts
    for fact in facts[:5]:
        roles = {m.role: m.obj for m in fact.mentions}
        a, c = roles["stand_at"], roles["target"]
        expected = []
        for p, q in itertools.combinations(ctx.visible, 2):
            if {p.object_id, q.object_id} != {a.object_id, c.object_id}:
                (px, _, pz), (qx, _, qz) = ctx.center_judge[p.object_id], ctx.center_judge[q.object_id]
                expected.append(math.hypot(qx - px, qz - pz))  # m, horizontal plane of the judging frame
        assert sorted(spec.peers(ctx, fact)) == pytest.approx(sorted(d for d in expected if d >= 0.1))
        assert all(
            isinstance(f.answer, Category)
            for f in _facts(ctx, "perspective_taking")
            if f.variant != "distance"
        )


def test_multi_view_variants_take_their_single_view_tasks_peers() -> None:
    from spatialforge.tasks.multiview_variants import MULTI_VIEW_VARIANTS

    numeric = {"object_depth", "depth_oo", "object_distance_camera", "relative_distance"}
    for name, (base, _) in MULTI_VIEW_VARIANTS.items():
        assert TASKS[name].peers is TASKS[base].peers
        assert (TASKS[name].peers is not None) == (base in numeric), name
