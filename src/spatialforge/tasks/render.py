"""Fact -> QA record(s) in one format: references, template, units, options, true/false pairs (SPEC 3-4).

One function for every task, so every task follows the same rules:
- Objects are named by `ViewContext.refer` (unique text or a coloured box marker, never an ambiguous name);
  a fact whose object has no unique reference is rejected as "reference_<reason>".
- free: a question template, then an answer template around the value in a human unit drawn with
  SpatialRGPT's probabilities (qa.units); `answer_value` keeps the SI value. Angles are shown in integer
  degrees and kept in radians (unit "rad"), scored by angle_within with the answer's threshold.
- mcq: the stem, the options in one of qa.choices.GENERATION_LABEL_STYLES (one drawn per question) and an
  optional instruction line; numeric distractors lie outside the SpatialRGPT band (0.75-1.25 x) of the
  truth and of each other (DISTRACTOR_DISTINCT), categorical ones are the relation's other values; the
  answer's position is uniform. `answer` is the shown label and the option text ("(b) 2.4 meters");
  `answer_value` the letter. Angle distractors lie at least twice the answer's threshold from the truth and
  from each other (qa.choices.angle_distractors, the short way round for an azimuth).
- fill (SPAR): a free question, then an answer-only instruction from the common bank for the kind of value
  ("Answer with a single number in feet.", "Answer with only one of: left or right."); `answer` is the
  bare value ("6.4", "left", "0.12, -0.50, 0.86"). A bare number is in the unit the instruction names, so
  the tolerance's params carry it as default_unit. A category's values are listed in the instruction (its
  mcq option texts, else its phrases, whichever can be listed); one with more than FILL_MAX_LISTED values
  or with values that contain commas outside brackets (orderings) gets a generic "answer only" line.
- sentence (SPAR): a free question answered by a full-sentence free answer template (tasks/banks.py).
- mcq layout "inline" (SPAR select): the options on one line, "A. 2.2; B. 2.3; C. 2.1; D. 1.4.", then a
  line naming the letters; the answer is the bare letter, as in SPAR's released data.
- tf: always a pair from one template and one set of references: the statement with the true value
  (answer True) and with a wrong value (answer False: the other value of a two-valued relation, a uniformly
  drawn other value, or a numeric distractor outside the band), so true/false is exactly balanced per
  predicate in every scene. One fair draw per pair picks the style: a yes_no question answered Yes/No, or a
  true_false statement in a frame ("True or false: ...") answered True/False. The two records come in a
  drawn order (a file read in order does not give the answer away).

Records are built as plain dicts in qa.records.qa_to_dict's layout (the JSONL line), not as QARecord
objects: constructing and checking a frozen dataclass per record would cost more than everything else
here. The invariants QARecord checks hold by construction, and the tests read every record the registry
sweep produces back through the strict qa_from_dict.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from spatialforge.bench.metrics import HISPATIAL_DIRECTION_THRESHOLD_DEG
from spatialforge.qa.choices import (
    GENERATION_LABEL_STYLES,
    LETTERS,
    MIN_OPTIONS,
    QUANTITY_FORMATS,
    TOO_FEW_VALUES,
    ChoiceRefusal,
    Option,
    RatioBand,
    angle_choice,
    angle_distractors,
    angle_text,
    categorical_choice,
    count_distractors,
    numeric_choice,
    numeric_distractors,
    place_options,
)
from spatialforge.qa.records import QA_SCHEMA_VERSION, qa_id
from spatialforge.qa.references import (
    MARKER_COLOURS,
    ReferenceRefusal,
    category_reference,
    first_free_colour,
)
from spatialforge.qa.units import (
    area_unit_options,
    draw_unit,
    length_unit_options,
    unit_word,
    volume_unit_options,
)
from spatialforge.tasks.banks import CommonBank, Template, TemplateBank
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.sampling import below
from spatialforge.tasks.spec import (
    Angle,
    Answer,
    Category,
    Count,
    Fact,
    Pixel,
    Quantity,
    Structured,
    TaskSpec,
    Vector,
)

# Options of a numeric or many-valued categorical mcq (HiSpatial and SPAR both use four).
MCQ_OPTIONS = 4


# A numeric distractor must not be scored correct against the truth, nor the truth against it, under the
# SpatialRGPT band (0.75 y <= y_hat <= 1.25 y): the widest band of the metrics our numeric tasks use at
# full credit, and the point where MRA gives at most half credit. Equal to bench.metrics.spatialrgpt_success
# on the positive values compared here (tests/tasks/test_render.py checks it).
DISTRACTOR_DISTINCT = RatioBand(0.75, 1.25)


# Relative tolerance of the position_within metric: |p_hat - p| <= 0.25 |p| (our choice, in line with the
# SpatialRGPT band for distances; HiSpatial leaves localisation tolerance unstated).
POSITION_MAX_RELATIVE_ERROR = 0.25
# Decimals of stored SI values: 0.1 mm for lengths and unit vectors, 1 cm^3 for volumes, 0.1 mrad (0.006 deg)
# for angles.
SI_DECIMALS = {"length": 4, "area": 4, "volume": 6, "unit": 4, "position_m": 4, "angle": 4}
# Decimals shown in vector answers: centimetres for positions, 2 decimals for unit vectors.
VECTOR_SHOWN_DECIMALS = 2

NON_FINITE_VALUE = "non_finite_or_non_positive_value"
NEGATIVE_COUNT = "negative_count"
NO_FREE_MARKER_COLOUR = "reference_no_free_marker_colour"

# A pixel is named by its 0-1000 grid coordinates or by a drawn point marker, half the time each (SPEC
# section 2, point_xyz: "pixel given as coordinates (normalised 0-1000, SPAR style) or a drawn marker").
POINT_MARKER_PROBABILITY = 0.5
# Appended to a question that names a pixel by coordinates, so the grid is never left to guess.
COORDINATE_NOTE = (
    "Point coordinates are (x, y) on a 0-1000 scale across the image: x from the left edge, "
    "y from the top edge."
)

# fill: a category lists its values in the instruction when it has at most this many (8: the azimuth
# sectors); more, or values that contain commas (orderings), get the generic "answer only" line.
FILL_MAX_LISTED = 8
MCQ_LAYOUTS = ("lines", "inline")
_PARENTHESISED = re.compile(r"\([^)]*\)")  # "the point at (75, 700)": its comma does not make it a list

TF_WORDS = {"yes_no": ("Yes", "No"), "true_false": ("True", "False")}
# Appended to a multi-image question whose answer is taken in the main camera's frame (SPAR: "We use the first
# image to reflect the main perspective, which aligns with the observer's viewpoint", appendix 7.6).
MAIN_VIEW_NOTE = (
    "Image 1 is the main view: answer as seen from its camera (depth along its viewing direction; left, "
    "right, above and below as seen in it)."
)

Rendered = list[dict[str, Any]]
Rng = random.Random

# Per generation label style, the labels shown for options 0..25 ("(a)", "B.", ...).
_SHOWN_LABELS = tuple(tuple(style.shown(i) for i in range(len(LETTERS))) for style in GENERATION_LABEL_STYLES)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(template: str, slots: Mapping[str, str]) -> str:
    return _capitalised(template.format_map(slots))


def _with_note(question: str, note: str) -> str:
    return f"{question}\n{note}" if note else question


def _pick(items: tuple[Template, ...], rng: random.Random) -> Template:
    return items[below(rng, len(items))]


# The unit bucket is chosen on the value rounded to this many decimals of its SI unit: a length of exactly
# 1 m computed in another world frame (0.9999999999 m) must not flip from feet to inches.
UNIT_BUCKET_DECIMALS = 9


_UNIT_OPTIONS = {"length": length_unit_options, "area": area_unit_options, "volume": volume_unit_options}


def _unit_for(quantity: Quantity, rng: random.Random) -> str:
    options = _UNIT_OPTIONS[quantity.kind]
    return draw_unit(rng, options(round(quantity.si_value, UNIT_BUCKET_DECIMALS)))


def _shown(quantity: Quantity, unit: str) -> str:
    text_of, _ = QUANTITY_FORMATS[quantity.kind]
    return text_of(quantity.si_value, unit)[0]


def _vector_text(vector: Vector) -> str:
    return "(" + ", ".join(f"{c:.{VECTOR_SHOWN_DECIMALS}f}" for c in vector.components) + ")"


def _si(value: float, kind: str) -> float:
    return round(float(value), SI_DECIMALS[kind]) + 0.0  # + 0.0: no "-0.0" in the data


def _tolerance(fmt: str, answer: Answer) -> dict[str, Any]:
    """The record's `tolerance`: metric name (bench.metrics / bench.rules) and its parameters, including the
    answer type a scorer parses the reply as."""
    if fmt == "mcq":
        return {"metric": "accuracy", "params": {"answer_type": "choice"}}
    if fmt == "tf":
        return {"metric": "accuracy", "params": {"answer_type": "yes_no"}}
    if isinstance(answer, Structured):  # the task states its own rule
        return {"metric": answer.metric, "params": dict(answer.params)}
    if isinstance(answer, Count):
        return {"metric": "accuracy", "params": {"answer_type": "number"}}
    if isinstance(answer, Angle):  # radians; bench.rules reads a bare number in the reply as degrees
        return {
            "metric": "angle_within",
            "params": {
                "answer_type": "angle",
                "threshold_rad": answer.threshold_rad,
                "circular": answer.circular,
            },
        }
    if isinstance(answer, Quantity):
        to_unit = answer.si_unit  # "m" or "m^3": the parser converts litres and cubic feet
        return {"metric": answer.metric, "params": {"answer_type": "number", "to_unit": to_unit}}
    if isinstance(answer, Vector):
        if answer.kind == "unit":
            return {
                "metric": "direction_angle",
                "params": {"answer_type": "vector", "threshold_deg": HISPATIAL_DIRECTION_THRESHOLD_DEG},
            }
        return {
            "metric": "position_within",
            "params": {"answer_type": "vector", "max_relative_error": POSITION_MAX_RELATIVE_ERROR},
        }
    return {"metric": "accuracy", "params": {"answer_type": "category"}}


_MCQ_TOLERANCE = _tolerance("mcq", Category("", {}))
_TF_TOLERANCE = _tolerance("tf", Category("", {}))


class Renderer:
    """Renders the facts of one view of a scene; holds what is shared by all its records."""

    def __init__(
        self,
        ctx: ViewContext | Sequence[ViewContext],
        common: CommonBank,
        mcq_layout: str = "lines",
        always_mark: bool = False,
        marker_colours: Sequence[str] = MARKER_COLOURS,
    ) -> None:
        """ctx: the view, or the views of a multi-image question in image order (the first is the main
        viewpoint); mcq_layout: MCQ_LAYOUTS; always_mark: name every object by a box marker, as SPAR does
        ("the chair (highlighted by the red box)"), instead of only when no unique text reference exists. In a
        multi-image question every object is named by a marker on the image its mention names, and the text
        says which image ("the chair (highlighted by the red box in image 2)"): a category name unique in one
        image can be ambiguous across the set."""
        if mcq_layout not in MCQ_LAYOUTS:
            raise ValueError(f"mcq_layout must be one of {MCQ_LAYOUTS}, got {mcq_layout!r}")
        self.mcq_layout = mcq_layout
        self.always_mark = always_mark
        self.marker_colours = tuple(marker_colours)  # the order markers are handed out in
        contexts = (ctx,) if isinstance(ctx, ViewContext) else tuple(ctx)
        self.contexts = contexts
        self.multi_image = len(contexts) > 1
        self.ctx = ctx = contexts[0]
        scene = ctx.scene
        self.common = common
        self._base = {
            "scene_id": scene.scene_id,
            "capture_id": scene.capture_id,
            "source": scene.source,
            "split": scene.split,
            "license": scene.license,
        }
        self._images = [{"path": c.view.image_path, "view_id": c.view.view_id} for c in contexts]
        self._view_ids = tuple(c.view.view_id for c in contexts)
        self._tolerances: dict[tuple, dict[str, Any]] = {}
        # Records of one view share these read-only pieces: (object_id, role) -> the record's object entry,
        # (object_id, colour) -> its marker entry.
        self._object_entries: dict[tuple[str, str], dict[str, str]] = {}
        self._marker_entries: dict[tuple[str, str, int], dict[str, Any]] = {}

    # ------------------------------------------------------------------ records

    def _record(
        self,
        spec: TaskSpec,
        fact: Fact,
        fmt: str,
        template_id: str,
        seed: int,
        question: str,
        answer: str,
        answer_value: Any,
        unit: str | None,
        choices: list[dict[str, str]],
        objects: list[dict[str, str]],
        markers: list[dict[str, Any]],
        id_parts: list[str],
        tolerance: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """tolerance: None for the shared one of the answer's kind; fill passes its own (default_unit)."""
        base = self._base
        # The question text tells apart records that share everything else (the two items of a tf pair;
        # width and height of one object asked with a template that serves both); id_parts name the objects
        # and pixels, the view tells apart one question asked in two views of a scene.
        rec_id = qa_id(
            base["scene_id"], spec.name, template_id, seed, id_parts, f"{fmt}\x1f{question}", self._view_ids
        )
        return {
            "schema_version": QA_SCHEMA_VERSION,
            "id": rec_id,
            "scene_id": base["scene_id"],
            "capture_id": base["capture_id"],
            "source": base["source"],
            "split": base["split"],
            "license": base["license"],
            "images": self._images,
            "task": spec.name,
            "level": spec.level,
            "difficulty": None,
            "format": fmt,
            "question": question,
            "answer": answer,
            "answer_value": answer_value,
            "unit": unit,
            "choices": choices,
            "objects": objects,
            "markers": markers,
            "frame": fact.frame,
            "tolerance": self._tolerance(fmt, fact.answer) if tolerance is None else tolerance,
            "reasoning": list(fact.reasoning) if fact.reasoning else None,
            "template_id": template_id,
            "seed": seed,
        }

    def _tolerance(self, fmt: str, answer: Answer) -> dict[str, Any]:
        """_tolerance, built once per kind of answer (records of one kind share the same, read-only dict)."""
        if fmt == "mcq":
            return _MCQ_TOLERANCE
        if fmt == "tf":
            return _TF_TOLERANCE
        if isinstance(answer, Structured):
            return _tolerance(fmt, answer)
        if isinstance(answer, Angle):  # the threshold and circularity are part of the tolerance
            key: tuple = (fmt, Angle, answer.circular, answer.threshold_rad)
        else:
            key = (fmt, type(answer), getattr(answer, "kind", None), getattr(answer, "metric", None))
        found = self._tolerances.get(key)
        if found is None:
            found = self._tolerances[key] = _tolerance(fmt, answer)
        return found

    # ------------------------------------------------------------------ entry point

    def render(
        self, spec: TaskSpec, bank: TemplateBank, fact: Fact, fmt: str, rng: random.Random, seed: int
    ) -> Rendered | str:
        """The record(s) of `fact` in format `fmt` (two for tf), or a rejection reason."""
        # Records are encoded with orjson (which would write NaN as null): every number must be finite, and
        # quantities positive (their distractors are ratios of the truth).
        answer = fact.answer
        if isinstance(answer, Quantity) and not (math.isfinite(answer.si_value) and answer.si_value > 0):
            return NON_FINITE_VALUE
        if isinstance(answer, Vector) and not all(math.isfinite(c) for c in answer.components):
            return NON_FINITE_VALUE
        if isinstance(answer, Count) and answer.value < 0:
            return NEGATIVE_COUNT
        if isinstance(answer, Angle) and not (math.isfinite(answer.value_rad) and answer.threshold_rad > 0):
            return NON_FINITE_VALUE
        slots: dict[str, str] = {}
        objects: list[dict[str, str]] = []
        markers: list[dict[str, Any]] = []
        used_colours: list[str] = []
        id_parts: list[str] = []  # what the record's id names: object ids, and pixels as "\x1dx,y"
        note = ""
        for m in fact.mentions:
            obj = m.obj
            if isinstance(obj, Pixel):
                id_parts.append(f"\x1d{obj.norm[0]},{obj.norm[1]}")
                point = self._point_reference(obj, rng, used_colours, m.image)
                if point is None:
                    return NO_FREE_MARKER_COLOUR
                slots[m.slot], mark = point
                if mark is None:
                    note = COORDINATE_NOTE
                else:
                    used_colours.append(mark["colour"])
                    markers.append(mark)
                continue
            image_ctx = self.contexts[m.image or 0]
            if m.image is None:  # named by its category alone; the task checked it is unique
                ref = category_reference(obj)
            elif self.multi_image:
                ref = image_ctx.visibility_of(obj) or image_ctx.marker(
                    obj, used_colours, self.marker_colours, image_number=m.image + 1
                )
            else:
                ref = image_ctx.refer(obj, rng, used_colours, fact.avoid_criteria, self.marker_colours)
                if self.always_mark and not isinstance(ref, ReferenceRefusal) and ref.marker is None:
                    ref = image_ctx.marker(obj, used_colours, self.marker_colours)
            if isinstance(ref, ReferenceRefusal):
                return f"reference_{ref.reason}"
            slots[m.slot] = ref.text
            id_parts.append(obj.object_id if not m.image else f"{obj.object_id}\x1e{m.image}")
            entry = self._object_entries.get((obj.object_id, m.role))
            if entry is None:
                entry = self._object_entries[(obj.object_id, m.role)] = {
                    "object_id": obj.object_id,
                    "source_id": obj.source_id,
                    "category": obj.category,
                    "role": m.role,
                }
            objects.append(entry)
            marker = ref.marker
            if marker is not None:
                used_colours.append(marker.colour)
                image = m.image or 0
                mark = self._marker_entries.get((obj.object_id, marker.colour, image))
                if mark is None:
                    mark = self._marker_entries[(obj.object_id, marker.colour, image)] = {
                        "kind": marker.kind,
                        "colour": marker.colour,
                        "image_index": image,
                        "geometry_norm": list(marker.normalized_1000),
                        "geometry_px": list(marker.pixel),
                    }
                markers.append(mark)
        slots.update(fact.slots)
        if (
            self.multi_image
            and fact.frame is not None
            and fact.frame.startswith("cam")
            and not isinstance(fact.answer, Structured)  # those templates say which camera themselves
        ):
            # Answers in the main camera's terms: say which camera that is.
            note = f"{MAIN_VIEW_NOTE}\n{note}" if note else MAIN_VIEW_NOTE
        args = (spec, bank, fact, rng, seed, slots, objects, markers, note, id_parts)
        try:
            if fmt == "free" or fmt == "sentence":
                return self._free(fmt, *args)
            if fmt == "fill":
                return self._fill_format(*args)
            if fmt == "mcq":
                return self._mcq(*args)
            if fmt == "tf":
                return self._tf(*args)
        except ChoiceRefusal as e:
            return e.reason
        raise ValueError(f"task {spec.name}: format {fmt!r} is not rendered here")

    def _point_reference(
        self, pixel: Pixel, rng: random.Random, used_colours: Sequence[str], image: int = 0
    ) -> tuple[str, dict[str, Any] | None] | None:
        """(text, marker entry or None) naming a pixel: "the point at (x, y)" on the 0-1000 grid, or "the
        <colour> point" with a point marker in the first colour not yet used; None if every colour is used."""
        where = f" in image {image + 1}" if self.multi_image else ""
        if rng.random() >= POINT_MARKER_PROBABILITY:
            x, y = pixel.norm
            return f"the point at ({x}, {y}){where}", None
        colour = first_free_colour(self.marker_colours, used_colours)
        if colour is None:
            return None
        mark = {
            "kind": "point",
            "colour": colour,
            "image_index": image,
            "geometry_norm": list(pixel.norm),
            "geometry_px": list(pixel.px),
        }
        return f"the {colour} point{where}", mark

    # ------------------------------------------------------------------ formats

    def _free(self, fmt, spec, bank, fact, rng, seed, slots, objects, markers, note, id_parts) -> Rendered:
        """free, or sentence (the same questions, answered only by full-sentence templates)."""
        q = _pick(bank.questions_for(fmt, fact.variant), rng)
        a = _pick(bank.answers_for(fmt, fact.variant), rng)
        answer = fact.answer
        if isinstance(answer, Quantity):
            shown = _shown(answer, _unit_for(answer, rng))
            value, unit = _si(answer.si_value, answer.kind), answer.si_unit
        elif isinstance(answer, Count):
            shown = str(answer.value)
            value, unit = answer.value, None
        elif isinstance(answer, Angle):  # integer degrees in text, radians in answer_value
            shown = angle_text(answer.value_rad, answer.circular)
            value, unit = _si(answer.value_rad, "angle"), "rad"
        elif isinstance(answer, Vector):
            shown = _vector_text(answer)
            value = tuple(_si(c, answer.kind) for c in answer.components)
            unit = "m" if answer.kind == "position_m" else None
        elif isinstance(answer, Structured):
            shown = answer.phrase if answer.phrase is not None else answer.text
            value, unit = answer.value, answer.unit
        else:
            shown = answer.phrases[answer.value].format_map(slots)
            value, unit = shown, None
        template_id = f"{spec.name}/{fmt}/{q.id}+{a.id}@{bank.version}"
        return [
            self._record(
                spec,
                fact,
                fmt,
                template_id,
                seed,
                _with_note(_fill(q.text, slots), note),
                _fill(a.text, {**slots, "value": shown}),
                list(value) if isinstance(value, tuple) else value,
                unit,
                [],
                objects,
                markers,
                id_parts,
            )
        ]

    def _bare(
        self,
        answer: Answer,
        slots: Mapping[str, str],
        rng: random.Random,
    ) -> tuple[str, dict[str, str], str, Any, str | None, str | None]:
        """fill's pieces: (instruction kind, instruction slots, bare answer text, answer_value, unit, the unit
        a bare number in the reply is read in or None)."""
        if isinstance(answer, Structured):
            value = list(answer.value) if isinstance(answer.value, tuple) else answer.value
            return answer.kind, {}, answer.text, value, answer.unit, None
        if isinstance(answer, Quantity):
            shown_unit = _unit_for(answer, rng)
            number = _shown(answer, shown_unit).split(" ", 1)[0]  # "2.41 meters" -> "2.41"
            value = _si(answer.si_value, answer.kind)
            return "number", {"unit": unit_word(shown_unit)}, number, value, answer.si_unit, shown_unit
        if isinstance(answer, Count):
            return "count", {}, str(answer.value), answer.value, None, None
        if isinstance(answer, Angle):  # parse_angle reads a bare number as degrees
            number = angle_text(answer.value_rad, answer.circular).split(" ", 1)[0]
            return "number", {"unit": "degrees"}, number, _si(answer.value_rad, "angle"), "rad", None
        if isinstance(answer, Vector):
            text = _vector_text(answer)[1:-1]  # "(0.12, -0.50, 0.86)" -> "0.12, -0.50, 0.86"
            value = [_si(c, answer.kind) for c in answer.components]
            if answer.kind == "position_m":
                return "position", {"unit": "meters"}, text, value, "m", None
            return "direction", {}, text, value, None, None
        # The short option texts when they can be listed ("left" for "to the left of"), else the phrases.
        for shown in (answer.option_texts, answer.phrases):
            if shown is None:
                continue
            texts = [t.format_map(slots) for t in shown.values()]
            truth = shown[answer.value].format_map(slots)
            if len(texts) <= FILL_MAX_LISTED and not any("," in _PARENTHESISED.sub("", t) for t in texts):
                break
        else:
            return "phrase", {}, truth, truth, None, None
        listed = rng.sample(texts, len(texts))  # drawn order: the list's order never tells the answer
        options = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} or {listed[-1]}"
        return "choice", {"options": options}, truth, truth, None, None

    def _fill_format(self, spec, bank, fact, rng, seed, slots, objects, markers, note, id_parts) -> Rendered:
        q = _pick(bank.questions_for("fill", fact.variant), rng)
        kind, instruction_slots, text, value, unit, default_unit = self._bare(fact.answer, slots, rng)
        lines = self.common.fill_instructions[kind]
        instruction = lines[below(rng, len(lines))].format_map(instruction_slots)
        tolerance = self._tolerance("fill", fact.answer)
        if default_unit is not None:  # the reply's bare number is in the unit the instruction asked for
            tolerance = {**tolerance, "params": {**tolerance["params"], "default_unit": default_unit}}
        return [
            self._record(
                spec,
                fact,
                "fill",
                f"{spec.name}/fill/{q.id}@{bank.version}",
                seed,
                f"{_with_note(_fill(q.text, slots), note)}\n{instruction}",
                # A structured answer is written exactly as its format wants it ("move_left:0.5,...").
                text if isinstance(fact.answer, Structured) else _capitalised(text),
                value,
                unit,
                [],
                objects,
                markers,
                id_parts,
                tolerance,
            )
        ]

    def _peers(self, spec: TaskSpec, fact: Fact) -> Sequence[float]:
        """The task's peer values of a numeric answer (qa/choices.py "Peer distractors"); () without."""
        if spec.peers is None or not isinstance(fact.answer, Quantity):
            return ()
        return spec.peers(self.ctx, fact)

    def _options(
        self, answer: Answer, slots: Mapping[str, str], rng: random.Random, peers: Sequence[float] = ()
    ) -> tuple[list[Option], int]:
        if isinstance(answer, Structured):  # the task drew its own wrong options
            k = min(MCQ_OPTIONS, 1 + len(answer.distractors))
            if k < MIN_OPTIONS:  # e.g. a box filling image 2: no wrong box clear of it
                raise ChoiceRefusal(TOO_FEW_VALUES, f"{len(answer.distractors)} wrong options")
            return categorical_choice(answer.text, list(answer.distractors), k, rng)
        if isinstance(answer, Angle):
            return angle_choice(answer.value_rad, MCQ_OPTIONS, answer.threshold_rad, answer.circular, rng)
        if isinstance(answer, Count):
            wrong = count_distractors(answer.value, MCQ_OPTIONS - 1, rng)
            return place_options((str(answer.value), answer.value), [(str(n), n) for n in wrong], rng)
        if isinstance(answer, Quantity):
            unit = _unit_for(answer, rng)
            return numeric_choice(
                answer.si_value, MCQ_OPTIONS, DISTRACTOR_DISTINCT, unit, rng, answer.kind, peers
            )
        shown = answer.option_texts or answer.phrases
        texts = {v: p.format_map(slots) for v, p in shown.items()}
        others = [t for v, t in texts.items() if v != answer.value]
        return categorical_choice(texts[answer.value], others, min(MCQ_OPTIONS, len(texts)), rng)

    def _mcq(self, spec, bank, fact, rng, seed, slots, objects, markers, note, id_parts) -> Rendered:
        if isinstance(fact.answer, Vector):
            raise ValueError(f"task {spec.name}: vector answers have no mcq rendering")
        q = _pick(bank.questions_for("mcq", fact.variant), rng)
        options, answer_index = self._options(fact.answer, slots, rng, self._peers(spec, fact))
        stem = _with_note(_fill(q.text, slots), note)
        if self.mcq_layout == "inline":  # SPAR select: "A. 2.2; B. 2.3; C. 2.1; D. 1.4." and a bare letter
            letters = ", ".join(LETTERS[: len(options) - 1]) + f" or {LETTERS[len(options) - 1]}"
            instructions = self.common.inline_mcq_instructions
            instruction = instructions[below(rng, len(instructions))].format(letters=letters)
            block = "; ".join([f"{LETTERS[i]}. {text}" for i, (text, _) in enumerate(options)])
            question = f"{stem}\n{block}.\n{instruction}"
            answer_text = LETTERS[answer_index]
        else:
            labels = _SHOWN_LABELS[below(rng, len(_SHOWN_LABELS))]
            instructions = self.common.mcq_instructions
            instruction = instructions[below(rng, len(instructions))]
            block = "\n".join([f"{labels[i]} {text}" for i, (text, _) in enumerate(options)])
            question = f"{stem}\n{block}" + (f"\n{instruction}" if instruction else "")
            answer_text = f"{labels[answer_index]} {options[answer_index][0]}"
        return [
            self._record(
                spec,
                fact,
                "mcq",
                f"{spec.name}/mcq/{q.id}@{bank.version}",
                seed,
                question,
                answer_text,
                LETTERS[answer_index],
                None,
                [{"label": LETTERS[i], "text": text} for i, (text, _) in enumerate(options)],
                objects,
                markers,
                id_parts,
            )
        ]

    def _tf_values(
        self,
        answer: Quantity | Category | Count | Angle,
        slots: Mapping[str, str],
        rng: random.Random,
        peers: Sequence[float] = (),
    ):
        """(true value text, false value text, extra slots for the true item, for the false item)."""
        if isinstance(answer, Angle):
            ((wrong, _),) = angle_distractors(answer.value_rad, 1, answer.threshold_rad, answer.circular, rng)
            return angle_text(answer.value_rad, answer.circular), wrong, {}, {}
        if isinstance(answer, Count):
            (wrong_count,) = count_distractors(answer.value, 1, rng)
            return str(answer.value), str(wrong_count), {}, {}
        if isinstance(answer, Quantity):
            unit = _unit_for(answer, rng)
            ((wrong, _),) = numeric_distractors(
                answer.si_value, 1, DISTRACTOR_DISTINCT, unit, rng, answer.kind, peers
            )
            return _shown(answer, unit), wrong, {}, {}
        texts = {v: p.format_map(slots) for v, p in answer.phrases.items()}
        others = [v for v in texts if v != answer.value]
        wrong = others[below(rng, len(others))]
        if len(texts) == 2:  # {other}: the value the statement does not assert
            return texts[answer.value], texts[wrong], {"other": texts[wrong]}, {"other": texts[answer.value]}
        return texts[answer.value], texts[wrong], {}, {}

    def _tf(self, spec, bank, fact, rng, seed, slots, objects, markers, note, id_parts) -> Rendered:
        if isinstance(fact.answer, (Vector, Structured)):
            raise ValueError(f"task {spec.name}: vector and structured answers have no tf rendering")
        style = "yes_no" if rng.random() < 0.5 else "true_false"
        q = _pick(bank.questions_for("tf", fact.variant, style), rng)
        frame = None
        if style == "true_false":
            frames = self.common.tf_statement_frames
            frame = frames[below(rng, len(frames))]
        peers = self._peers(spec, fact)
        true_text, false_text, true_extra, false_extra = self._tf_values(fact.answer, slots, rng, peers)
        template_id = f"{spec.name}/tf/{q.id}@{bank.version}"
        out = []
        polarities = [(True, true_text, true_extra), (False, false_text, false_extra)]
        if rng.random() < 0.5:  # the pair's order is drawn, so position in the file never tells the answer
            polarities.reverse()
        for truth, value_text, extra in polarities:
            text = _fill(q.text, {**slots, **extra, "value": value_text})
            question = _with_note(text if frame is None else frame.format(statement=text), note)
            word = TF_WORDS[style][0 if truth else 1]
            out.append(
                self._record(
                    spec,
                    fact,
                    "tf",
                    template_id,
                    seed,
                    question,
                    word,
                    truth,
                    None,
                    [],
                    objects,
                    markers,
                    id_parts,
                )
            )
        return out
