"""QA records, schema v1 (SPEC section 4): one question-answer item, typed and JSONL-serialisable.

A record points into a scene record rather than copying it: `scene_id` names the scene, each `QAImage`
names a view (`view_id`), whose camera, depth and point map live in that scene record, and the image path
relative to the scene's `asset_root`. `objects[].source_id` traces an answer back to the raw label.

Values: `answer_value` is the machine-readable answer - an SI number (metres, square metres, cubic metres,
radians; counts as int), an option label (mcq), a bool (tf), or a list of those (vectors, orders).
`answer` is the text shown to the model. `unit` names the unit of `answer_value` ("m", "m^2", "m^3", "rad"),
None where it has none. `frame` is the frame the geometry was computed in ("cam:<view_id>",
"cam_gravity:<view_id>", "object:<object_id>", "world"), None for frame-free questions (counts, sizes).

Markers carry their geometry twice: normalised to a 0-1000 grid over the image (SPAR's convention: x / width
* 1000, y / height * 1000) and in pixels. Boxes are xyxy, points xy.

Invariants are checked on construction (`QARecord.__post_init__`), so a record that exists is valid;
violations raise RecordError naming the field path. `None` means "not applicable"; no sentinels.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from spatialforge.errors import RecordError
from spatialforge.recordcodec import FieldReader, open_record

QA_SCHEMA_VERSION = 1

LEVELS = (0, 1, 2, 3)  # HiSpatial's hierarchy: L0 geometry, L1 object, L2 inter-object, L3 reasoning
DIFFICULTIES = ("low", "medium", "high")  # SPAR-Bench's levels; None where they do not apply
FORMATS = ("free", "mcq", "tf", "fill", "sentence")  # SPEC section 3
MARKER_KINDS = ("box", "point")
MARKER_GEOMETRY_LEN = {"box": 4, "point": 2}  # box: x0, y0, x1, y1; point: x, y
NORM_GRID = 1000.0  # SPAR normalises image coordinates to 0-1000

# Hex digits of the QA id: 80 bits, so a billion ids collide with probability about 4e-7 (birthday bound).
QA_ID_HEX_DIGITS = 20

Scalar = int | float | str | bool
AnswerValue = Scalar | tuple[Scalar, ...]
ParamValue = Scalar | tuple[Scalar, ...] | None


@dataclass(frozen=True, slots=True)
class QAImage:
    """One image the question is about. path: relative to the scene's asset_root; view_id: the scene view
    holding its camera, depth and point map. marked_path: optional, a copy of the image with this record's
    markers drawn on it (qa/draw_markers.py), relative to the folder of the JSONL file holding the record;
    None when no copy was drawn (the key is then left out of the JSONL line)."""

    path: str
    view_id: str
    marked_path: str | None = None


@dataclass(frozen=True, slots=True)
class QAObject:
    """An object the question refers to. role: what it is in the question ("target", "anchor", "a", "b",
    "option:A", ...)."""

    object_id: str
    source_id: str
    category: str
    role: str


@dataclass(frozen=True, slots=True)
class Marker:
    """A visual marker drawn on (or described for) images[image_index].

    geometry_norm: 0-1000 grid (SPAR), geometry_px: pixels; both xyxy for a box, xy for a point.
    """

    kind: str
    colour: str
    image_index: int
    geometry_norm: tuple[float, ...]
    geometry_px: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    """One multiple-choice option: its canonical letter ("A", "B", ...) and its text.

    The displayed label style ("(b)", "3.") is a rendering choice (qa.choices.LabelStyle); the record keeps
    the letter so that answer_value is always one of the labels and scorers match it by letter."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How the answer is scored: a metric name (bench.metrics) and its parameters, e.g.
    ("mra", {"thresholds": (0.5, ..., 0.95)}), ("exact", {}), ("angle_within", {"max_deg": 15})."""

    metric: str
    params: dict[str, ParamValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QARecord:
    id: str
    scene_id: str
    capture_id: str
    source: str
    split: str | None
    license: str | None
    images: tuple[QAImage, ...]
    task: str
    level: int
    difficulty: str | None
    format: str
    question: str
    answer: str
    answer_value: AnswerValue
    unit: str | None
    choices: tuple[Choice, ...]
    objects: tuple[QAObject, ...]
    markers: tuple[Marker, ...]
    frame: str | None
    tolerance: Tolerance
    reasoning: tuple[str, ...] | None
    template_id: str
    seed: int
    schema_version: int = QA_SCHEMA_VERSION

    def __post_init__(self) -> None:
        check_record(self)


def qa_id(
    scene_id: str,
    task: str,
    template_id: str,
    seed: int,
    object_ids: Sequence[str],
    format: str,
    view_ids: Sequence[str] = (),
) -> str:
    """Deterministic short id: the same inputs give the same id in every run and on every machine.

    Object order matters (A-vs-B is not B-vs-A). Fields are joined with the unit separator, which cannot occur
    in ids, so ("a", "bc") and ("ab", "c") differ.
    """
    key = "\x1f".join((scene_id, task, template_id, str(seed), format, "\x1e".join(object_ids)))
    if view_ids:  # the same question about the same objects in two views of one scene is two records
        key += "\x1d" + "\x1e".join(view_ids)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=QA_ID_HEX_DIGITS // 2).hexdigest()


# ---------------------------------------------------------------- invariants


def _fail(rec: QARecord, path: str, message: str) -> RecordError:
    return RecordError("invalid_value", message, record=rec.id, field=path)


def _check_scalar(rec: QARecord, path: str, value: object) -> None:
    if not isinstance(value, (int, float, str, bool)):
        raise _fail(rec, path, f"expected a number, string or bool, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(rec, path, "number is not finite")


def _check_value(rec: QARecord, path: str, value: object) -> None:
    if isinstance(value, tuple):
        for i, v in enumerate(value):
            _check_scalar(rec, f"{path}[{i}]", v)
    else:
        _check_scalar(rec, path, value)


def _check_marker(rec: QARecord, i: int, m: Marker) -> None:
    path = f"markers[{i}]"
    if m.kind not in MARKER_KINDS:
        raise _fail(rec, f"{path}.kind", f"expected one of {MARKER_KINDS}, got {m.kind!r}")
    if not 0 <= m.image_index < len(rec.images):
        raise _fail(rec, f"{path}.image_index", f"{m.image_index} is not an index into images")
    n = MARKER_GEOMETRY_LEN[m.kind]
    for name, coords in (("geometry_norm", m.geometry_norm), ("geometry_px", m.geometry_px)):
        if len(coords) != n or not all(math.isfinite(c) for c in coords):
            raise _fail(rec, f"{path}.{name}", f"a {m.kind} needs {n} finite numbers, got {coords}")
    if not all(0.0 <= c <= NORM_GRID for c in m.geometry_norm):
        raise _fail(rec, f"{path}.geometry_norm", f"coordinates must lie in [0, {NORM_GRID:g}]")


def _check_marked_path(rec: QARecord, i: int, marked_path: str) -> None:
    """A drawn copy's path must stay inside the folder of its JSONL: relative, POSIX, no '..' (a consumer
    joins it to that folder, so a hostile record must not point elsewhere)."""
    parts = marked_path.split("/")
    if (
        not marked_path
        or marked_path.startswith("/")
        or "\\" in marked_path
        or ":" in parts[0]
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise _fail(
            rec,
            f"images[{i}].marked_path",
            f"expected a relative POSIX path inside the output folder, got {marked_path!r}",
        )


def check_record(rec: QARecord) -> None:
    """Raise RecordError (reason "invalid_value", field path) if `rec` breaks a schema invariant."""
    if rec.schema_version != QA_SCHEMA_VERSION:
        raise _fail(rec, "schema_version", f"expected {QA_SCHEMA_VERSION}, got {rec.schema_version}")
    for name in ("level", "seed"):
        if type(getattr(rec, name)) is not int:  # numpy ints are not JSON-serialisable; bools are not levels
            raise RecordError(
                "wrong_type",
                f"expected int, got {type(getattr(rec, name)).__name__}",
                record=rec.id,
                field=name,
            )
    if rec.level not in LEVELS:
        raise _fail(rec, "level", f"expected one of {LEVELS}, got {rec.level!r}")
    if rec.difficulty is not None and rec.difficulty not in DIFFICULTIES:
        raise _fail(rec, "difficulty", f"expected None or one of {DIFFICULTIES}, got {rec.difficulty!r}")
    if rec.format not in FORMATS:
        raise _fail(rec, "format", f"expected one of {FORMATS}, got {rec.format!r}")
    if not rec.images:
        raise _fail(rec, "images", "a question needs at least one image")
    _check_value(rec, "answer_value", rec.answer_value)
    if rec.format == "mcq":
        labels = [c.label for c in rec.choices]
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise _fail(rec, "choices", f"mcq needs at least two distinct labels, got {labels}")
        if rec.answer_value not in labels:
            raise _fail(rec, "answer_value", f"{rec.answer_value!r} is not one of the labels {labels}")
    elif rec.choices:
        raise _fail(rec, "choices", f"only mcq questions have choices (format {rec.format!r})")
    if rec.format == "tf" and not isinstance(rec.answer_value, bool):
        raise _fail(rec, "answer_value", "a tf question's answer_value is a bool")
    for i, m in enumerate(rec.markers):
        _check_marker(rec, i, m)
    for i, im in enumerate(rec.images):
        if im.marked_path is not None:
            _check_marked_path(rec, i, im.marked_path)
    if not rec.tolerance.metric:
        raise _fail(rec, "tolerance.metric", "metric name is empty")
    for key, value in rec.tolerance.params.items():
        if value is not None:
            _check_value(rec, f"tolerance.params.{key}", value)


# ---------------------------------------------------------------- helpers for callers


def norm_from_px(coords_px: Sequence[float], width: int, height: int) -> tuple[int, ...]:
    """Pixel xy / xyxy -> SPAR's integer 0-1000 grid: round(1000 * x / width), round(1000 * y / height),
    clamped to [0, 1000] (Python's round: exact halves go to the even integer)."""
    scale = (NORM_GRID / width, NORM_GRID / height)
    return tuple(int(min(NORM_GRID, max(0, round(c * scale[i % 2])))) for i, c in enumerate(coords_px))


# ---------------------------------------------------------------- plain dict (the JSONL line)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _image_dict(im: QAImage) -> dict[str, Any]:
    # marked_path only when set, so records without drawn copies keep their exact schema-v1 lines.
    out: dict[str, Any] = {"path": im.path, "view_id": im.view_id}
    if im.marked_path is not None:
        out["marked_path"] = im.marked_path
    return out


def qa_to_dict(rec: QARecord) -> dict[str, Any]:
    """The record as a JSON-ready dict (tuples become lists); inverse of qa_from_dict."""
    return {
        "schema_version": rec.schema_version,
        "id": rec.id,
        "scene_id": rec.scene_id,
        "capture_id": rec.capture_id,
        "source": rec.source,
        "split": rec.split,
        "license": rec.license,
        "images": [_image_dict(im) for im in rec.images],
        "task": rec.task,
        "level": rec.level,
        "difficulty": rec.difficulty,
        "format": rec.format,
        "question": rec.question,
        "answer": rec.answer,
        "answer_value": _plain(rec.answer_value),
        "unit": rec.unit,
        "choices": [{"label": c.label, "text": c.text} for c in rec.choices],
        "objects": [
            {"object_id": o.object_id, "source_id": o.source_id, "category": o.category, "role": o.role}
            for o in rec.objects
        ],
        "markers": [
            {
                "kind": m.kind,
                "colour": m.colour,
                "image_index": m.image_index,
                "geometry_norm": list(m.geometry_norm),
                "geometry_px": list(m.geometry_px),
            }
            for m in rec.markers
        ],
        "frame": rec.frame,
        "tolerance": {
            "metric": rec.tolerance.metric,
            "params": {k: _plain(v) for k, v in rec.tolerance.params.items()},
        },
        "reasoning": None if rec.reasoning is None else list(rec.reasoning),
        "template_id": rec.template_id,
        "seed": rec.seed,
    }


def _value(r: FieldReader, key: str, optional: bool = False) -> Any:
    """A scalar or a list of scalars (element types are checked by check_record, with the index)."""
    value = r.get(key, (int, float, str, bool, list), optional)
    return tuple(value) if isinstance(value, list) else value


def _numbers(r: FieldReader, key: str) -> tuple[float, ...]:
    items = r.get(key, list)
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise r.error("wrong_type", f"{key}[{i}]", f"expected a number, got {type(v).__name__}")
    return tuple(float(v) for v in items)


def _strings(r: FieldReader, key: str, optional: bool = False) -> tuple[str, ...] | None:
    items = r.get(key, list, optional)
    if items is None:
        return None
    for i, v in enumerate(items):
        if not isinstance(v, str):
            raise r.error("wrong_type", f"{key}[{i}]", f"expected a string, got {type(v).__name__}")
    return tuple(items)


def _read_image(r: FieldReader) -> QAImage:
    # marked_path is optional and may be absent (records written before it existed, or with nothing drawn).
    marked = r.get("marked_path", str, optional=True) if "marked_path" in r.data else None
    out = QAImage(path=r.get("path", str), view_id=r.get("view_id", str), marked_path=marked)
    r.done()
    return out


def _read_choice(r: FieldReader) -> Choice:
    out = Choice(label=r.get("label", str), text=r.get("text", str))
    r.done()
    return out


def _read_object(r: FieldReader) -> QAObject:
    out = QAObject(
        object_id=r.get("object_id", str),
        source_id=r.get("source_id", str),
        category=r.get("category", str),
        role=r.get("role", str),
    )
    r.done()
    return out


def _read_marker(r: FieldReader) -> Marker:
    out = Marker(
        kind=r.get("kind", str),
        colour=r.get("colour", str),
        image_index=r.get("image_index", int),
        geometry_norm=_numbers(r, "geometry_norm"),
        geometry_px=_numbers(r, "geometry_px"),
    )
    r.done()
    return out


def _read_tolerance(r: FieldReader) -> Tolerance:
    p = r.child("params")
    assert p is not None
    params = {key: _value(p, key, optional=True) for key in list(p.data)}
    out = Tolerance(metric=r.get("metric", str), params=params)
    r.done()
    return out


def qa_from_dict(data: Any, record: str | None = None) -> QARecord:
    """Parse one QA dict; raises RecordError naming the record and the field path on any problem."""
    r, rec_id = open_record(data, record, schema_name="QA schema", version=QA_SCHEMA_VERSION, id_key="id")
    tolerance = r.child("tolerance")
    assert tolerance is not None
    try:
        rec = _read_record(r, rec_id, QA_SCHEMA_VERSION, tolerance)
    except RecordError as e:  # invariant errors name the id; the caller's location ("line 3") wins
        raise RecordError(e.reason, e.detail, record=r.record, field=e.field) from None
    r.done()
    return rec


def _read_record(r: FieldReader, rec_id: str, version: int, tolerance: FieldReader) -> QARecord:
    return QARecord(
        id=rec_id,
        scene_id=r.get("scene_id", str),
        capture_id=r.get("capture_id", str),
        source=r.get("source", str),
        split=r.get("split", str, optional=True),
        license=r.get("license", str, optional=True),
        images=tuple(_read_image(c) for c in r.children("images")),
        task=r.get("task", str),
        level=r.get("level", int),
        difficulty=r.get("difficulty", str, optional=True),
        format=r.get("format", str),
        question=r.get("question", str),
        answer=r.get("answer", str),
        answer_value=_value(r, "answer_value"),
        unit=r.get("unit", str, optional=True),
        choices=tuple(_read_choice(c) for c in r.children("choices")),
        objects=tuple(_read_object(c) for c in r.children("objects")),
        markers=tuple(_read_marker(c) for c in r.children("markers")),
        frame=r.get("frame", str, optional=True),
        tolerance=_read_tolerance(tolerance),
        reasoning=_strings(r, "reasoning", optional=True),
        template_id=r.get("template_id", str),
        seed=r.get("seed", int),
        schema_version=version,
    )
