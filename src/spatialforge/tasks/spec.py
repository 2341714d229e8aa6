"""What a task is (TaskSpec) and what it produces (Fact): a computed spatial fact, not yet put into words.

A task looks at one view of a scene (a `ViewContext`), or at a set of posed views of one scene (a
`multiview.ViewSetContext`, TaskSpec.scope), and yields `Fact`s — "object 3 is 2.41 m from the
camera", "in the gravity-aligned camera frame, object 1 is left of object 4" — or the name of the reason
a candidate was rejected (ambiguous within a margin, no front, ...). Turning a fact into question text in
one format (free / mcq / tf), naming the objects uniquely and drawing distractors is the renderer's job
(tasks/render.py), the same for every task. So a task is geometry only, and every task gets every
rendering rule (units, references, option balance, exact true/false balance) for free.

Answers come in six kinds:
- `Quantity`: a positive SI number (a length in metres, an area in square metres or a volume in cubic
  metres) scored by `metric`.
- `Category`: one value of a small set; `phrases` maps every value of the set to its text, and may use the
  fact's object slots ("{b}"), so "which is closer, {b} or {c}?" has the values "b" and "c".
- `Vector`: three numbers: a unit direction (metric direction_angle) or a position in metres
  (metric position_within), always in the fact's frame.
- `Count`: a number of objects (>= 0), scored by exact match.
- `Angle`: an angle in radians (a viewpoint's azimuth or elevation), shown in integer degrees and scored by
  metric angle_within: |error| <= threshold_rad, measured the short way round the circle when `circular`.
- `Structured`: an answer whose text forms, distractors and scoring rule the task builds itself (a box in
  another image, a camera motion).

A fact names objects (`Object3D`) and, at level 0, pixels (`Pixel`) through its `Mention`s.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from spatialforge.scene.records import Object3D
from spatialforge.tasks.banks import DERIVED_FORMATS

# What a task may need from a scene. "boxes": 3D boxes and a camera (every scene has them); "box2d": 2D boxes
# (every visible object has one by construction); "front": objects with a semantic front; "gravity": a known
# gravity direction (the task's answer is only meaningful in the gravity-aligned frame); "depth": a depth
# map or point map for the view; "multi_view": two or more posed views of one scene; "metric_scale":
# lengths in metres (scene.records.METRIC_SCALE_KEY; every task needs it unless registered scale_free).
REQUIREMENTS = ("boxes", "box2d", "front", "gravity", "depth", "multi_view", "metric_scale")
# What a task looks at (TaskSpec.scope): "view" - one image (a ViewContext); "pair" - two posed images of one
# scene that share an object, the first the main viewpoint (a ViewSetContext, tasks/multiview.py);
# "sequence" - several keyframes of one scene in capture order (a ViewSetContext). Multi-image scopes need
# "multi_view".
SCOPES = ("view", "pair", "sequence")

# Reference criteria a question must not name its objects by (Fact.avoid_criteria): distance questions avoid
# "the nearest chair"; size questions avoid every size word, since volume and height go together ("the
# smallest sofa" all but answers "which is the shortest?").
DISTANCE_CRITERIA = frozenset({"nearest", "farthest"})
SIZE_CRITERIA = frozenset({"largest", "smallest", "tallest", "shortest"})

QUANTITY_KINDS = ("length", "area", "volume")
VECTOR_KINDS = ("unit", "position_m")

# Facts, mentions and answers are NamedTuples: immutable like frozen dataclasses, but built in a sixth of the
# time (0.35 vs 2.3 us), and generation builds several per QA record.
NO_SLOTS: Mapping[str, str] = MappingProxyType({})


class Quantity(NamedTuple):
    """A positive SI value: kind "length" (metres), "area" (square metres) or "volume" (cubic metres);
    metric scores free answers."""

    kind: str
    si_value: float
    metric: str

    @property
    def si_unit(self) -> str:
        return {"length": "m", "area": "m^2", "volume": "m^3"}[self.kind]


class Category(NamedTuple):
    """value: the true value; phrases: every value of the set -> its text in sentences (may contain object
    slots); option_texts: shorter texts for mcq options ("left" where the sentence says "to the left of"),
    None to show the phrases."""

    value: str
    phrases: Mapping[str, str]
    option_texts: Mapping[str, str] | None = None


class Vector(NamedTuple):
    """kind "unit": a unit direction; "position_m": a point in metres. Components in the fact's frame."""

    kind: str
    components: tuple[float, float, float]


class Count(NamedTuple):
    """A number of objects (>= 0); free answers are scored by exact match of the parsed number."""

    value: int


class Angle(NamedTuple):
    """An angle in radians. circular: a direction on the full circle (an azimuth), kept in (-pi, pi] and
    compared the short way round (170 deg and -170 deg are 20 deg apart); else a bounded angle (an
    elevation in [-pi/2, pi/2]) compared directly. threshold_rad: a free answer within this angle of the
    truth is correct (bench.metrics.angle_within); mcq and tf distractors lie at least twice as far away."""

    value_rad: float
    circular: bool
    threshold_rad: float


class Structured(NamedTuple):
    """An answer whose forms the task computes itself, because no generic rule can: a 2D box in another image
    (position_matching), a point and depth in an image (camera_motion_infer), a set of image numbers
    (obj_frame_locate), a camera motion (view_change_infer).

    kind: the fill instruction kind (tasks/banks common "fill_instructions"); value: the record's answer_value
    (numbers, a tuple of numbers, or a string such as SPAR's released view-change string); text: the bare
    answer (fill, and the correct mcq option); phrase: the text free and sentence answers put in "{value}"
    (None: text); metric and params: the record's tolerance (bench.rules reads them; params include the
    answer_type); unit: the unit of value's lengths, if any; distractors: wrong mcq options (texts), () when
    the task has no multiple-choice form.
    """

    kind: str
    value: Any
    text: str
    metric: str
    params: Mapping[str, Any]
    unit: str | None = None
    phrase: str | None = None
    distractors: tuple[str, ...] = ()


Answer = Quantity | Category | Vector | Count | Angle | Structured


class Pixel(NamedTuple):
    """A pixel of the view's image named in a question. norm: (x, y) on SPAR's 0-1000 grid, which is what
    the question shows; px: the same point in pixels (x right, y down; integer = pixel centre), px = norm *
    (width, height) / 1000, so the text names exactly the point the answer was computed at."""

    norm: tuple[int, int]
    px: tuple[float, float]


def pixel_from_norm(x_norm: int, y_norm: int, width: int, height: int) -> Pixel:
    """The Pixel at 0-1000 grid coordinates (x_norm, y_norm) of a width x height image."""
    return Pixel((x_norm, y_norm), (x_norm * width / 1000.0, y_norm * height / 1000.0))


class Mention(NamedTuple):
    """An object or pixel named in the question: its template slot ("a", "b", ...) and its role in the
    record (objects are listed in the record's `objects` with it; pixels are named by coordinates or by a
    point marker). image: the index, in the record's images, of the image the object is named in (its
    marker is drawn there); 0 for single-image questions; None: named by its category alone in a
    multi-image question, without a marker (the task checked that no other object the images show shares
    the category)."""

    slot: str
    obj: Object3D | Pixel
    role: str
    image: int | None = 0


class Fact(NamedTuple):
    """One computed answer about objects of one view, before rendering.

    variant: which sub-question ("width", "left_right", "euclidean", ...; "" for none), picks templates.
    frame: the frame the answer was computed in ("cam:<view>", "cam_gravity:<view>", "object:<id>"), None
        when frame-free (sizes). reasoning: step-by-step trace from the geometry, in SI units.
    avoid_criteria: reference criteria that would give the answer away ("nearest" in a distance question).
    slots: extra template slots the task fills (e.g. {"order_word": "nearest to farthest"}).
    view_ids: the record's images as scene view ids, in order (the first is the main viewpoint); () for a
        single-view task's fact, whose image is its context's view.
    """

    task: str
    variant: str
    mentions: tuple[Mention, ...]
    answer: Answer
    frame: str | None
    reasoning: tuple[str, ...] = ()
    avoid_criteria: frozenset[str] = frozenset()
    slots: Mapping[str, str] = NO_SLOTS
    view_ids: tuple[str, ...] = ()


def trace_name(obj: Object3D) -> str:
    """How reasoning traces name an object: "<category> <object_id>" ("chair 3"), unique in its scene."""
    return f"{obj.category} {obj.object_id}"


# A task yields facts, or a rejection reason (a stable snake_case code) for a candidate it will not ask. A
# "view" task gets a ViewContext, a "pair" or "sequence" task a multiview.ViewSetContext.
Candidates = Callable[[Any, random.Random], Iterator["Fact | str"]]
Peers = Callable[[Any, "Fact"], Sequence[float]]  # (context, fact) -> SI values; see TaskSpec.peers


@dataclass(frozen=True)
class TaskSpec:
    """One registered task.

    family: the HiSpatial Table 7 weight group it draws from (tasks/registry.py TASK_FAMILY_WEIGHTS).
    formats: the formats it renders to (fill and sentence wherever it has free); metric: how its free-form
    answers are scored (mcq and tf are scored by accuracy). variants: its sub-questions; every (format,
    variant) has its own templates.
    """

    name: str
    level: int
    family: str
    requires: tuple[str, ...]
    formats: tuple[str, ...]
    metric: str
    variants: tuple[str, ...]
    definition: str
    candidates: Candidates
    scope: str = "view"
    bank: str | None = (
        None  # the template bank to render with; None: the task's own (tasks/banks/<name>.json)
    )
    # peers(ctx, fact) -> SI values of the fact's quantity measured on other objects of the view: the
    # distractors of its numeric options (qa/choices.py "Peer distractors"); None: chains from the truth.
    peers: Peers | None = None

    @property
    def own_formats(self) -> tuple[str, ...]:
        """The formats with templates of their own (free, mcq, tf); SPAR's fill and sentence are rendered
        from the free ones (tasks/banks.py DERIVED_FORMATS)."""
        return tuple(f for f in self.formats if f not in DERIVED_FORMATS)

    def __post_init__(self) -> None:
        unknown = [r for r in self.requires if r not in REQUIREMENTS]
        if unknown:
            raise ValueError(f"task {self.name}: unknown requirements {unknown}")
        if not self.variants:
            raise ValueError(f"task {self.name}: declare at least one variant ('' for none)")
        if self.scope not in SCOPES:
            raise ValueError(f"task {self.name}: scope must be one of {SCOPES}, got {self.scope!r}")
        if self.scope != "view" and "multi_view" not in self.requires:
            raise ValueError(f"task {self.name}: a {self.scope} task must require multi_view")
