"""Level 3 spatial problem solving (HiSpatial L3 (iii), paper 002 sec. 3.1: "inferring spatial attributes
from a high-level objective, translating the objective into quantifiable spatial properties, and performing
multi-step reasoning and computation"; SpatialLLM's collision example, paper 001 sec. 1).

HiSpatial writes these questions with GPT from the scene's 3D facts and trains on a reasoning trace (paper
002 sec. 7.3); here they are templates with exact answers, and every fact carries a step-by-step trace
computed from the geometry whose last step is the answer. Everything is judged in the horizontal plane of
the gravity-aligned camera frame (cam_gravity: x right, y down = gravity, z forward; the floor plan is x-z),
so both tasks need gravity (a view without it yields "no_gravity").

Two tasks, because a task declares one free-form metric:
- `problem_solving` (yes/no, accuracy), variants
  - fits_between: would object C fit into the horizontal gap between A and B? The gap is measured along
    the horizontal line through A's and B's centres (unit u): centre distance minus each box's half-extent
    along u (the support function of the oriented box, sum_i s_i/2 |axis_i . u|). C may be turned, so it
    needs its narrower horizontal side. Answer "would fit" when gap > need + margin, "would not fit" when
    need > gap + margin, margin max(0.1 m, 10 % of need); else rejected ("fit_within_margin"). Rejected
    too: A and B touching or overlapping along the line ("no_gap"), another object's footprint inside the
    corridor C would occupy at its height ("gap_obstructed"), C not standing upright ("not_upright"), C not
    sharing half the lower height with each of A and B ("not_side_by_side": slid in at its own height, it
    would pass over or under one of them), and gaps wider than MAX_GAP_RATIO times the need ("gap_too_wide":
    trivially yes).
  - paths_cross: two objects with a front each move straight ahead along their horizontal front: do the
    two paths (rays from the box centres) cross ahead of both? Solved as a 2D ray-ray intersection
    start_A + t1 front_A = start_B + t2 front_B; they cross iff t1 > 0 and t2 > 0. The answer must not
    change when either heading is off by up to HEADING_TOLERANCE_DEG (annotated yaw is never exact): t1
    changes sign only when B's heading line passes through A's start, t2 when A's passes through B's, and
    both when the headings become parallel, so the answer is stable exactly when the heading lines are
    more than 2 x 10 deg apart ("near_parallel_paths") and each is more than 10 deg from the line between
    the two starts ("heading_along_centre_line"). The crossing must also lie outside each object's own
    body: |t| > half its length + 0.1 m ("crossing_near_start"). A front tilted more than 60 deg from the
    horizontal gives no heading ("front_not_horizontal"); front-less objects are never asked about.
- `route_distance` (a length, scored like SpatialRGPT / HiSpatial's L3 numeric answers), variants
  - via: walking in straight lines from A to B and then on to C, how far? The sum of the horizontal
    centre-to-centre distances A-B and B-C. Centre to centre (our choice) rather than surface to surface:
    it is the distance every other task in the project uses between two objects, it needs no choice of
    where on a surface one "arrives", and it is what a viewer reads off the image as "from the table to
    the bed". Obstacles are ignored (the question says "in straight lines").
  - from_camera: the same, starting below the camera (its horizontal position): camera -> A -> B.
  Each leg must be at least MIN_LEG_M ("leg_too_short"): legs between stacked or touching objects are not
  walks.
Paths and routes are about box centres projected onto the floor plane; heights play no part.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.relations import POSITION_MARGIN_M
from spatialforge.scene.records import Object3D
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registration import register
from spatialforge.tasks.sampling import below, combos
from spatialforge.tasks.spec import (
    DISTANCE_CRITERIA,
    SIZE_CRITERIA,
    Category,
    Fact,
    Mention,
    Quantity,
    trace_name,
)

PROBLEM_VARIANTS = ("fits_between", "paths_cross")
ROUTE_VARIANTS = ("via", "from_camera")

# --- Margins (our choices; the papers give none for these questions) ---------------------------------------
# fits_between: C fits when gap - need > margin, does not when need - gap > margin; margin is SPAR's 0.1 m
# or 10 % of the need, whichever is larger (box annotations are a few centimetres loose on every side).
FIT_MARGIN_M = POSITION_MARGIN_M
FIT_RELATIVE_MARGIN = 0.10
# C slides in at its own height: it must share at least this fraction of the lower of the two heights with
# A and with B, else it would pass over or under one of them (a mirror hanging above a dresser bounds no gap
# on the floor; a lamp standing on a table shares a sliver of a chair's height). A fraction, not metres, so
# the rule does not change when a scene is scaled.
MIN_HEIGHT_OVERLAP_FRACTION = 0.5
# A gap wider than this many times C's need makes "would it fit?" trivially yes: not asked.
MAX_GAP_RATIO = 3.0
# C must stand upright (its own up axis within this angle of vertical) for its horizontal sides to be its
# length and width.
UPRIGHT_TOLERANCE_DEG = 10.0
# paths_cross: the answer must hold with either heading off by up to this angle (yaw annotation error).
HEADING_TOLERANCE_DEG = 10.0
# The crossing point must lie at least this far beyond the front (or back) of each object's box.
CROSSING_CLEARANCE_M = POSITION_MARGIN_M
# route_distance: every leg of a walk is at least this long (metres).
MIN_LEG_M = 0.5

# --- Rejection reasons ----------------------------------------------------------------------------------
NO_GRAVITY = "no_gravity"
NO_GAP = "no_gap"
GAP_OBSTRUCTED = "gap_obstructed"
GAP_TOO_WIDE = "gap_too_wide"
NOT_UPRIGHT = "not_upright"
NOT_SIDE_BY_SIDE = "not_side_by_side"
FIT_WITHIN_MARGIN = "fit_within_margin"
FRONT_NOT_HORIZONTAL = "front_not_horizontal"
NEAR_PARALLEL_PATHS = "near_parallel_paths"
HEADING_ALONG_CENTRE_LINE = "heading_along_centre_line"
CROSSING_NEAR_START = "crossing_near_start"
LEG_TOO_SHORT = "leg_too_short"

# A front must keep this fraction of its length in the horizontal plane (tilted < 60 deg) to give a heading,
# as in geometry/relations.py.
MIN_HORIZONTAL_FRACTION = 0.5

FIT_PHRASES = {"fits": "would fit", "does_not_fit": "would not fit"}
FIT_OPTIONS = {"fits": "Yes, it would fit", "does_not_fit": "No, it would not fit"}
CROSS_PHRASES = {"cross": "would cross", "do_not_cross": "would not cross"}
CROSS_OPTIONS = {"cross": "Yes, they would cross", "do_not_cross": "No, they would not cross"}

Vec2 = tuple[float, float]  # (x, z): a point or direction in the horizontal plane of the judging frame, m
Group = tuple[Object3D, ...]  # the objects of one candidate, in role order


class FloorBox(NamedTuple):
    """An object's box in the judging frame: centre (3,) m and axes (3, 3) (columns: the object's front,
    left and up axes), and its size (length, width, height) m."""

    centre: tuple[float, float, float]
    axes: np.ndarray
    size: tuple[float, float, float]

    @property
    def xz(self) -> Vec2:
        return self.centre[0], self.centre[2]

    def heights(self) -> tuple[float, float]:
        """(top, bottom) of the box along the judging frame's y (down), metres: the centre's y minus and
        plus the box's half-extent along gravity."""
        half = sum(0.5 * s * abs(float(self.axes[1, i])) for i, s in enumerate(self.size))
        return self.centre[1] - half, self.centre[1] + half

    def half_extent(self, direction: Vec2) -> float:
        """Support function along a horizontal unit direction (x, z): half the length of the box's
        projection on that line, sum_i s_i / 2 |axis_i . d| (metres)."""
        dx, dz = direction
        return sum(
            0.5 * s * abs(float(self.axes[0, i]) * dx + float(self.axes[2, i]) * dz)
            for i, s in enumerate(self.size)
        )


def floor_boxes(ctx: ViewContext) -> dict[str, FloorBox]:
    """object_id -> FloorBox in the judging frame, for every object of the scene with a well-formed box
    (hidden ones too: they still stand in a gap)."""
    judge_from_cam = ctx.judge_from_cam
    cam_from_world = ctx.view.cam_from_world()
    judge_from_world = judge_from_cam @ cam_from_world.rotation  # (3, 3)
    out = {}
    for obj in ctx.scene.objects:
        box = obj.box
        if not box.is_well_formed:
            continue
        centre = judge_from_cam @ cam_from_world.apply(box.center)  # (3,) m, judging frame
        out[obj.object_id] = FloorBox(
            (float(centre[0]), float(centre[1]), float(centre[2])),
            judge_from_world @ box.rotation,
            (box.length, box.width, box.height),
        )
    return out


def _sub(p: Vec2, q: Vec2) -> Vec2:
    return p[0] - q[0], p[1] - q[1]


def _cross(u: Vec2, v: Vec2) -> float:
    return u[0] * v[1] - u[1] * v[0]


def _dot(u: Vec2, v: Vec2) -> float:
    return u[0] * v[0] + u[1] * v[1]


def line_angle_deg(u: Vec2, v: Vec2) -> float:
    """Angle between the lines along two (x, z) directions, degrees in [0, 90]."""
    return math.degrees(math.atan2(abs(_cross(u, v)), abs(_dot(u, v))))


def _xz(p: Vec2) -> str:
    return f"({p[0]:.3f}, {p[1]:.3f})"


def _interleaved(streams: Mapping[str, Iterator[Group]], rng: random.Random) -> Iterator[tuple[str, Group]]:
    """Items of several lazy streams, each next item from a uniformly drawn stream that is not exhausted."""
    live = list(streams.items())
    while live:
        i = below(rng, len(live))
        name, stream = live[i]
        item = next(stream, None)
        if item is None:
            live.pop(i)
            continue
        yield name, item


# ---------------------------------------------------------------- fits_between


def fits_between(
    ctx: ViewContext, boxes: Mapping[str, FloorBox], a: Object3D, b: Object3D, c: Object3D
) -> Fact | str:
    """Would c fit into the horizontal gap between a and b (module docstring)?"""
    box_a, box_b, box_c = boxes[a.object_id], boxes[b.object_id], boxes[c.object_id]
    delta = _sub(box_b.xz, box_a.xz)  # (x, z) m, judging frame
    distance = math.hypot(*delta)
    if distance == 0.0:
        return NO_GAP
    u = (delta[0] / distance, delta[1] / distance)  # unit, A -> B
    half_a, half_b = box_a.half_extent(u), box_b.half_extent(u)
    gap = distance - half_a - half_b
    if gap <= 0.0:
        return NO_GAP
    up_c = -float(box_c.axes[1, 2])  # component of c's up axis along up (= -y of the judging frame)
    if up_c < math.cos(math.radians(UPRIGHT_TOLERANCE_DEG)):
        return NOT_UPRIGHT
    span_c = box_c.heights()
    overlap_a, overlap_b = _height_overlap(span_c, box_a.heights()), _height_overlap(span_c, box_b.heights())
    if not (_stands_beside(span_c, box_a.heights()) and _stands_beside(span_c, box_b.heights())):
        return NOT_SIDE_BY_SIDE
    length_c, width_c = box_c.size[0], box_c.size[1]
    need, across = min(length_c, width_c), max(length_c, width_c)
    if gap > MAX_GAP_RATIO * need:
        return GAP_TOO_WIDE
    margin = max(FIT_MARGIN_M, FIT_RELATIVE_MARGIN * need)
    if abs(gap - need) <= margin:
        return FIT_WITHIN_MARGIN
    exclude = (a.object_id, b.object_id, c.object_id)
    if _obstructed(boxes, exclude, box_a.xz, u, half_a, distance - half_b, across, span_c):
        return GAP_OBSTRUCTED
    value = "fits" if gap > need else "does_not_fit"
    name_a, name_b, name_c = trace_name(a), trace_name(b), trace_name(c)
    if value == "fits":
        verdict = f"{gap:.3f} m > {need:.3f} m + {margin:.3f} m margin -> {FIT_PHRASES[value]}"
    else:
        verdict = f"{need:.3f} m > {gap:.3f} m + {margin:.3f} m margin -> {FIT_PHRASES[value]}"
    return Fact(
        "problem_solving",
        "fits_between",
        (Mention("a", a, "boundary"), Mention("b", b, "boundary"), Mention("c", c, "target")),
        Category(value, FIT_PHRASES, FIT_OPTIONS),
        ctx.judge_frame,
        (
            f"horizontal centre distance {name_a} -> {name_b} in {ctx.judge_frame}: "
            f"sqrt({abs(delta[0]):.3f}^2 + {abs(delta[1]):.3f}^2) = {distance:.3f} m",
            f"half-extent along that line: {name_a} {half_a:.3f} m, {name_b} {half_b:.3f} m",
            f"gap between {name_a} and {name_b} = {distance:.3f} - {half_a:.3f} - {half_b:.3f} = {gap:.3f} m",
            f"{name_c} may be turned, so it needs its narrower horizontal side: "
            f"min({length_c:.3f}, {width_c:.3f}) = {need:.3f} m",
            f"{name_c} shares {overlap_a:.3f} m of height with {name_a} and {overlap_b:.3f} m with {name_b}, "
            "so it would stand between them",
            f"no other object stands in the {across:.3f} m wide corridor {name_c} would occupy",
            verdict,
        ),
        # "Would the smallest chair fit ...?" half answers itself: no size words in a fitting question.
        avoid_criteria=SIZE_CRITERIA,
    )


def _fits_any_role(ctx: ViewContext, boxes: Mapping[str, FloorBox], triple: Group) -> Fact | str:
    """fits_between on a (randomly ordered) triple, trying each object in turn as the one to place: most
    triples have one pair whose gap is worth asking about (an object between two far-apart ones is
    trivially small), so this asks about three times as many triples. The first rejection reason stands
    for the triple when no role gives a fact."""
    first_reason = ""
    for k in range(3):
        a, b, c = triple[k], triple[(k + 1) % 3], triple[(k + 2) % 3]
        found = fits_between(ctx, boxes, a, b, c)
        if isinstance(found, Fact):
            return found
        first_reason = first_reason or found
    return first_reason


def _height_overlap(first: tuple[float, float], second: tuple[float, float]) -> float:
    """Length (metres) shared by two (top, bottom) height ranges; negative when they are apart."""
    return min(first[1], second[1]) - max(first[0], second[0])


def _stands_beside(first: tuple[float, float], second: tuple[float, float]) -> bool:
    """Do two (top, bottom) height ranges share at least MIN_HEIGHT_OVERLAP_FRACTION of the lower one?"""
    lower = min(first[1] - first[0], second[1] - second[0])
    return _height_overlap(first, second) >= MIN_HEIGHT_OVERLAP_FRACTION * lower


def _obstructed(
    boxes: Mapping[str, FloorBox],
    exclude: tuple[str, ...],
    start: Vec2,
    u: Vec2,
    gap_from: float,
    gap_to: float,
    across: float,
    span: tuple[float, float],
) -> bool:
    """Does any other box reach into the corridor between a and b: along u from gap_from to gap_to (metres
    from a's centre), across it within across / 2 of the centre line, and into the height range `span`
    (top, bottom) the placed object would occupy? (A lamp hanging above the gap is not in the way.)"""
    v = (-u[1], u[0])  # horizontal, perpendicular to u
    for oid, box in boxes.items():
        if oid in exclude or _height_overlap(span, box.heights()) <= 0.0:
            continue
        offset = _sub(box.xz, start)
        along, side = _dot(offset, u), _dot(offset, v)
        half_u, half_v = box.half_extent(u), box.half_extent(v)
        if along + half_u > gap_from and along - half_u < gap_to and abs(side) - half_v < across / 2:
            return True
    return False


# ---------------------------------------------------------------- paths_cross


def _heading(ctx: ViewContext, obj: Object3D) -> Vec2 | None:
    """obj's front in the horizontal plane of the judging frame, unit (x, z); None if too steep."""
    front = ctx.front_judge(obj)
    if front is None:
        return None
    x, y, z = front
    flat = math.hypot(x, z)
    if not flat >= MIN_HORIZONTAL_FRACTION * math.hypot(x, y, z) or flat == 0.0:
        return None
    return x / flat, z / flat


def paths_cross(ctx: ViewContext, a: Object3D, b: Object3D) -> Fact | str:
    """Do the straight-ahead paths of a and b cross ahead of both (module docstring)?"""
    heading_a, heading_b = _heading(ctx, a), _heading(ctx, b)
    if heading_a is None or heading_b is None:
        return FRONT_NOT_HORIZONTAL
    centre_a, centre_b = ctx.center_judge[a.object_id], ctx.center_judge[b.object_id]
    start_a, start_b = (centre_a[0], centre_a[2]), (centre_b[0], centre_b[2])  # (x, z) m, judging frame
    between = _sub(start_b, start_a)
    if math.hypot(*between) == 0.0:
        return CROSSING_NEAR_START
    headings_deg = line_angle_deg(heading_a, heading_b)
    if headings_deg <= 2 * HEADING_TOLERANCE_DEG:
        return NEAR_PARALLEL_PATHS
    along_a, along_b = line_angle_deg(heading_a, between), line_angle_deg(heading_b, between)
    if min(along_a, along_b) <= HEADING_TOLERANCE_DEG:
        return HEADING_ALONG_CENTRE_LINE
    denominator = _cross(heading_a, heading_b)
    t_a = _cross(between, heading_b) / denominator  # m along a's heading to the crossing point
    t_b = _cross(between, heading_a) / denominator  # m along b's heading
    clear_a = 0.5 * a.box.length + CROSSING_CLEARANCE_M  # the box reaches half its length ahead and behind
    clear_b = 0.5 * b.box.length + CROSSING_CLEARANCE_M
    if abs(t_a) <= clear_a or abs(t_b) <= clear_b:
        return CROSSING_NEAR_START
    name_a, name_b = trace_name(a), trace_name(b)
    if t_a > 0 and t_b > 0:
        value = "cross"
        why = "t1 > 0 and t2 > 0: the crossing point is ahead of both"
    else:
        value = "do_not_cross"
        behind = [n for n, t in ((name_a, t_a), (name_b, t_b)) if t < 0]
        why = f"the lines meet behind {' and '.join(behind)}"
    return Fact(
        "problem_solving",
        "paths_cross",
        (Mention("a", a, "mover"), Mention("b", b, "mover")),
        Category(value, CROSS_PHRASES, CROSS_OPTIONS),
        ctx.judge_frame,
        (
            f"horizontal plane (x, z) of {ctx.judge_frame}: {name_a} starts at {_xz(start_a)} m heading "
            f"{_xz(heading_a)}, {name_b} starts at {_xz(start_b)} m heading {_xz(heading_b)}",
            f"angle between the heading lines = {headings_deg:.1f} deg > {2 * HEADING_TOLERANCE_DEG:g} deg "
            "(not near-parallel)",
            f"angle between each heading line and the line between the starts: {name_a} {along_a:.1f} deg, "
            f"{name_b} {along_b:.1f} deg > {HEADING_TOLERANCE_DEG:g} deg",
            f"solve start({name_a}) + t1 * heading({name_a}) = start({name_b}) + t2 * heading({name_b}): "
            f"t1 = {t_a:.3f} m, t2 = {t_b:.3f} m (each beyond its body: |t1| > {clear_a:.3f} m, "
            f"|t2| > {clear_b:.3f} m)",
            f"{why} -> the paths {CROSS_PHRASES[value]}",
        ),
    )


@register(
    name="problem_solving",
    level=3,
    family="problem_solving",
    requires=("boxes", "gravity"),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=PROBLEM_VARIANTS,
    definition="Yes/no problems in the floor plan: would C fit into the gap between A and B (turned if need "
    "be; margin max(0.1 m, 10 %)); would the straight-ahead paths of two objects with a front cross "
    "(stable under 10-degree heading errors).",
)
def problem_solving(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    if not ctx.has_gravity:
        yield NO_GRAVITY
        return
    boxes = floor_boxes(ctx)
    fronted = [o for o in ctx.visible if o.has_front]
    streams = {"fits_between": combos(ctx.visible, 3, rng), "paths_cross": combos(fronted, 2, rng)}
    for variant, objs in _interleaved(streams, rng):
        if variant == "fits_between":
            yield _fits_any_role(ctx, boxes, objs)
        else:
            a, b = objs
            yield paths_cross(ctx, a, b)


# ---------------------------------------------------------------- route_distance


def _leg(name_from: str, p: Vec2, name_to: str, q: Vec2) -> tuple[float, str]:
    dx, dz = q[0] - p[0], q[1] - p[1]
    length = math.hypot(dx, dz)
    return length, f"{name_from} -> {name_to}: sqrt({abs(dx):.3f}^2 + {abs(dz):.3f}^2) = {length:.3f} m"


def _route_stops(
    ctx: ViewContext, variant: str, objs: tuple[Object3D, ...]
) -> list[tuple[Object3D | None, Vec2]]:
    """The stops of a walk through objs (the camera first, as None, for "from_camera"): each with its
    (x, z) in the horizontal plane of the judging frame, metres."""
    stops: list[tuple[Object3D | None, Vec2]] = [(None, (0.0, 0.0))] if variant == "from_camera" else []
    for obj in objs:
        centre = ctx.center_judge[obj.object_id]  # (3,) m, judging frame
        stops.append((obj, (centre[0], centre[2])))
    return stops


def walking_route(ctx: ViewContext, variant: str, objs: tuple[Object3D, ...]) -> Fact | str:
    """The straight-line walk through objs (from the camera first for "from_camera"), centre to centre in
    the horizontal plane of the judging frame."""
    stops = [
        ("camera" if obj is None else trace_name(obj), xz) for obj, xz in _route_stops(ctx, variant, objs)
    ]
    legs = [_leg(*stops[i], *stops[i + 1]) for i in range(len(stops) - 1)]
    if min(length for length, _ in legs) < MIN_LEG_M:
        return LEG_TOO_SHORT
    total = sum(length for length, _ in legs)
    slots = ("a", "b", "c")
    start = "the camera's position on the floor" if variant == "from_camera" else trace_name(objs[0])
    return Fact(
        "route_distance",
        variant,
        tuple(Mention(s, o, f"stop_{i + 1}") for i, (s, o) in enumerate(zip(slots, objs, strict=False))),
        Quantity("length", total, "spatialrgpt"),
        ctx.judge_frame,
        (
            f"straight legs in the horizontal plane (x, z) of {ctx.judge_frame}, centre to centre, "
            f"starting at {start}",
            *(line for _, line in legs),
            "total = " + " + ".join(f"{length:.3f}" for length, _ in legs) + f" = {total:.3f} m",
        ),
        # As for every distance question: no "the nearest chair" (it hints at the first leg from the camera).
        avoid_criteria=DISTANCE_CRITERIA,
    )


# route_distance peers: at most this many other routes of the view (a view of n objects has n (n-1) (n-2)
# "via" routes: 720 for ten), taken in a fixed order; the rng picks among them when rendering.
MAX_ROUTE_PEERS = 48


def _route_total(ctx: ViewContext, variant: str, objs: tuple[Object3D, ...]) -> float | None:
    """walking_route's total in metres without its trace; None when a leg is too short."""
    stops = [xz for _, xz in _route_stops(ctx, variant, objs)]
    legs = [math.dist(stops[i], stops[i + 1]) for i in range(len(stops) - 1)]
    return sum(legs) if min(legs) >= MIN_LEG_M else None


def _route_peers(ctx: ViewContext, fact: Fact) -> list[float]:
    """Totals of the view's other routes of the same variant (other stops or another order): numeric
    distractors that are walks in the same room. The asked walk backwards (C -> B -> A) is left out: it is
    as long."""
    asked = tuple(m.obj.object_id for m in fact.mentions)
    same = {asked, asked[::-1]} if fact.variant == "via" else {asked}
    out = []
    for objs in itertools.permutations(ctx.visible, len(asked)):
        if tuple(o.object_id for o in objs) in same:
            continue
        total = _route_total(ctx, fact.variant, objs)
        if total is not None:
            out.append(total)
            if len(out) == MAX_ROUTE_PEERS:
                break
    return out


@register(
    name="route_distance",
    level=3,
    family="problem_solving",
    requires=("boxes", "gravity"),
    formats=("free", "mcq", "tf"),
    metric="spatialrgpt",
    variants=ROUTE_VARIANTS,
    definition="Walking in straight lines from A to B and on to C (or from the camera to A and on to B), "
    "the total horizontal centre-to-centre distance; every leg >= 0.5 m.",
    peers=_route_peers,
)
def route_distance(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    if not ctx.has_gravity:
        yield NO_GRAVITY
        return
    streams = {"via": combos(ctx.visible, 3, rng), "from_camera": combos(ctx.visible, 2, rng)}
    for variant, objs in _interleaved(streams, rng):
        yield walking_route(ctx, variant, objs)
