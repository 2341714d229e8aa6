"""Level 3 perspective tasks: HiSpatial perspective taking and SPAR spatial imagination (SPEC section 2).

Both imagine a viewer who moves to object A's centre and faces object B, then ask where things are from
there. Everything is computed in the view's judging frame `cam_gravity:<view>` (tasks/context.py: +x right,
+y down along gravity, +z forward horizontal; the horizontal plane is x-z), so the answers do not depend on
the world frame the scene was annotated in. Gravity is required: "facing B" and "above" mean nothing in a
tilted camera's own axes, so a scene without gravity is refused once per view (`no_gravity`).

- `perspective_taking` (HiSpatial paper 002, section 3.1, L3 (i): "infer the relative directions and
  distances of objects from an imagined observer- or object-centric viewpoint"). The observer stands at A's
  centre and faces the *horizontal* direction A->B: forward f = horizontal(B - A) / |.|, left = up x f
  (up = -y). Variant "direction": C's horizontal offset from A in the observer's (forward, left) axes gives
  angle = atan2(left, forward) (0 ahead, +90 left, 180 behind, -90 right), binned into front / left / back /
  right sectors 90 deg wide with a 10 deg gap at each 45 deg diagonal (relations.OBJECT_CENTRIC_GAP_DEG,
  as object_centric_relation). Variant "distance": the horizontal distance from A's centre to C's. It is
  horizontal on purpose: "stand at A" leaves the eye height unstated, and the horizontal distance is the
  same for an eye at A's centre or 1.6 m above the floor there (and it is the distance one would walk).
- `spatial_imagination_oc` / `spatial_imagination_oo` (SPAR paper 003, appendix 7.5 "Spatial imagination";
  SPAR-Bench SpImag-OC / SpImag-OO, kept as two tasks so each maps to one benchmark task). The camera moves
  to A and faces B, built as SPAR describes: forward f = (B - A) / |B - A| (3D, so the camera may pitch),
  left = normalise(up_world x f), up = f x left, right = -left. The new camera frame is OpenCV-like
  (x = right, y = -up = down, z = f) with its origin at A. SPAR then reads the vertical rotation angle off the
  new up vector (the angle between it and the world's up, which equals the pitch of A->B) and discards steep
  views; the paper's threshold was lost from our text, so ours is MAX_VIEW_PITCH_DEG = 30 deg (`steep_view`),
  which keeps the imagined camera's up within 30 deg of gravity, so its "above" still agrees with a person's.
  Relations use SPAR's 0.1 m "indistinguishable" threshold on coordinate differences
  (relations.POSITION_MARGIN_M, via relations.direction_between) and are asked one axis per question:
  OC: where C is relative to the new camera (left/right, above/below, in front/behind);
  OO: where C is relative to D in the new camera frame (as relative_direction does in the image), plus
  "change_left_right": the question states C's left/right relation to D in the image (judging frame, same
  margin) and asks it after the move. SPAR's combined answers ("left, above, front") are not asked: one axis
  per question keeps true/false balanced per axis and every axis's margin separate.

Roles: "a" stand_at (where the viewer moves), "b" facing (what it faces), "c" target (what is asked about),
"d" anchor (what c is compared with, OO only). Reasoning traces end with the answer line "answer: <value>".
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from spatialforge.geometry.relations import (
    ABOVE,
    IN_FRONT_OF,
    LEFT_OF,
    OBJECT_CENTRIC_GAP_DEG,
    POSITION_MARGIN_M,
    AxisRelation,
    Truth,
    direction_between,
)
from spatialforge.scene.records import Object3D
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.level2 import other_pair_distances
from spatialforge.tasks.registration import register
from spatialforge.tasks.sampling import with_variants
from spatialforge.tasks.spec import Category, Fact, Mention, Quantity, trace_name

Vec3 = tuple[float, float, float]

# --- Reasons ---------------------------------------------------------------------------------------------
NO_GRAVITY = "no_gravity"  # the scene has no gravity: no horizontal facing, no "above"
FACING_TOO_SHORT = "facing_too_short"  # A->B shorter than PERSPECTIVE_MIN_HORIZONTAL_M horizontally
TARGET_TOO_CLOSE = "target_too_close"  # A->C shorter than PERSPECTIVE_MIN_HORIZONTAL_M horizontally
DIAGONAL_GAP = "diagonal_gap"  # C lies within the gap around a diagonal between two sectors
BELOW_MIN_DISTANCE = "below_min_distance"  # a distance under SPAR's 0.1 m
STEEP_VIEW = "steep_view"  # the imagined camera would pitch more than MAX_VIEW_PITCH_DEG (SPAR)
WITHIN_MARGIN = "within_margin"  # a coordinate difference within SPAR's 0.1 m (relations.direction_between)

# --- Margins ---------------------------------------------------------------------------------------------
# A facing direction (A->B) or a direction to the target (A->C) must span at least this horizontally. Our
# choice: box centres carry a few centimetres of annotation noise, and at 0.5 m a 5 cm error turns the
# heading by under 6 deg, less than the 10 deg diagonal gap, so noise cannot move C into another sector.
PERSPECTIVE_MIN_HORIZONTAL_M = 0.5
# Half-gap around each 45 deg diagonal between the front / left / back / right sectors (degrees).
PERSPECTIVE_GAP_DEG = OBJECT_CENTRIC_GAP_DEG
# SPAR discards imagined views whose vertical rotation is too steep; its number is lost from our text of the
# paper. 30 deg (our choice) is about the comfortable range of looking up or down without tilting the body.
MAX_VIEW_PITCH_DEG = 30.0
# Angles within this of -180 deg are reported as +180 (degrees; far below the 0.1 deg the trace shows).
ANGLE_SNAP_DEG = 1e-6
# Smallest distance asked (metres), SPAR's indistinguishable threshold, as relative_distance.
MIN_DISTANCE_M = POSITION_MARGIN_M


def _num(x: float, decimals: int = 3) -> str:
    """x with fixed decimals, never "-0.000" (traces must not depend on the sign of a rounding zero)."""
    return f"{round(x, decimals) + 0.0:.{decimals}f}"


def _vec(v: Vec3, decimals: int = 3) -> str:
    return "(" + ", ".join(_num(c, decimals) for c in v) + ")"


def _sub(p: Vec3, q: Vec3) -> Vec3:
    return p[0] - q[0], p[1] - q[1], p[2] - q[2]


def _dot(p: Vec3, q: Vec3) -> float:
    return p[0] * q[0] + p[1] * q[1] + p[2] * q[2]


def _mentions(*pairs: tuple[str, Object3D, str]) -> tuple[Mention, ...]:
    return tuple(Mention(slot, obj, role) for slot, obj, role in pairs)


# ================================================================ perspective taking (HiSpatial L3)


class HorizontalObserver(NamedTuple):
    """An observer at A's centre facing the horizontal direction A->B, in the judging frame.

    origin: (3,) m, A's centre; forward, left: (3,) unit horizontal vectors (y = 0); facing_m: horizontal
    length of A->B in metres."""

    origin: Vec3
    forward: Vec3
    left: Vec3
    facing_m: float


def horizontal_observer(
    a_center: Vec3, b_center: Vec3, min_horizontal_m: float = PERSPECTIVE_MIN_HORIZONTAL_M
) -> HorizontalObserver | str:
    """The observer at a_center facing b_center ((3,) m, judging frame, y down), or FACING_TOO_SHORT."""
    dx, dz = b_center[0] - a_center[0], b_center[2] - a_center[2]  # horizontal offset, m
    length = math.hypot(dx, dz)
    if not length >= min_horizontal_m:  # also catches NaN
        return FACING_TOO_SHORT
    fx, fz = dx / length, dz / length
    # left = up x forward with up = (0, -1, 0): (-fz, 0, fx); facing +z, left is -x (the camera's left).
    origin = (a_center[0], a_center[1], a_center[2])
    return HorizontalObserver(origin, (fx, 0.0, fz), (-fz, 0.0, fx), length)


# Sector centres: angle = atan2(left, forward), 0 ahead, +90 left, 180 behind, -90 right.
_SECTORS = (("front", 0.0), ("left", 90.0), ("back", 180.0), ("right", -90.0))


class Sector(NamedTuple):
    """Where a target lies around the observer: value None (with reason DIAGONAL_GAP) in a gap."""

    value: str | None
    angle_deg: float
    forward_m: float
    left_m: float
    reason: str | None = None


def sector_of(
    observer: HorizontalObserver, c_center: Vec3, gap_deg: float = PERSPECTIVE_GAP_DEG
) -> Sector | str:
    """Front / left / back / right of c_center ((3,) m, judging frame) around the observer, or
    TARGET_TOO_CLOSE when it is within PERSPECTIVE_MIN_HORIZONTAL_M horizontally."""
    offset = _sub(c_center, observer.origin)  # (3,) m, judging frame
    forward_m, left_m = _dot(offset, observer.forward), _dot(offset, observer.left)
    if not math.hypot(forward_m, left_m) >= PERSPECTIVE_MIN_HORIZONTAL_M:
        return TARGET_TOO_CLOSE
    angle = math.degrees(math.atan2(left_m, forward_m))
    # Keep (-180, 180], and snap a target straight behind (left_m a rounding error either side of 0) to 180:
    # the trace must not read -180.0 in one world frame and 180.0 in another.
    angle = 180.0 if angle < -180.0 + ANGLE_SNAP_DEG else angle
    half_width = 45.0 - gap_deg
    for name, centre in _SECTORS:
        if abs((angle - centre + 180.0) % 360.0 - 180.0) < half_width:
            return Sector(name, angle, forward_m, left_m)
    return Sector(None, angle, forward_m, left_m, DIAGONAL_GAP)


PT_VARIANTS = ("direction", "distance")
PT_PHRASES = {
    "front": "in front of you",
    "back": "behind you",
    "left": "to your left",
    "right": "to your right",
}
PT_OPTIONS = {"front": "in front", "back": "behind", "left": "to the left", "right": "to the right"}


def _observer_lines(ctx: ViewContext, a: Object3D, b: Object3D, obs: HorizontalObserver) -> tuple[str, ...]:
    return (
        f"in {ctx.judge_frame} (x right, y down along gravity, z forward; horizontal = x-z plane): "
        f"observer at the centre of {trace_name(a)} {_vec(obs.origin)} m",
        f"facing {trace_name(b)}: horizontal direction {trace_name(a)} -> {trace_name(b)} has length "
        f"{_num(obs.facing_m)} m, forward = {_vec(obs.forward)}, left = up x forward = {_vec(obs.left)}",
    )


def direction_fact(ctx: ViewContext, a: Object3D, b: Object3D, c: Object3D) -> Fact | str:
    """perspective_taking/direction for standing at a, facing b, target c; or a rejection reason."""
    ca, cb, cc = (ctx.center_judge[o.object_id] for o in (a, b, c))  # (3,) m, judging frame
    obs = horizontal_observer(ca, cb)
    if isinstance(obs, str):
        return obs
    sector = sector_of(obs, cc)
    if isinstance(sector, str):
        return sector
    if sector.value is None:
        return sector.reason or DIAGONAL_GAP
    half = 45.0 - PERSPECTIVE_GAP_DEG
    lines = (
        *_observer_lines(ctx, a, b, obs),
        f"{trace_name(c)} at {_vec(cc)} m: {_num(sector.forward_m)} m forward, {_num(sector.left_m)} m left "
        f"of the observer",
        f"angle = atan2(left, forward) = {_num(sector.angle_deg, 1)} deg (0 front, 90 left, 180 back, "
        f"-90 right; sectors +-{_num(half, 0)} deg around each)",
    )
    return Fact(
        "perspective_taking",
        "direction",
        _mentions(("a", a, "stand_at"), ("b", b, "facing"), ("c", c, "target")),
        Category(sector.value, PT_PHRASES, PT_OPTIONS),
        f"observer:{a.object_id}->{b.object_id}",
        (*lines, f"answer: {sector.value}"),
    )


def distance_fact(ctx: ViewContext, a: Object3D, b: Object3D, c: Object3D) -> Fact | str:
    """perspective_taking/distance for standing at a, facing b, target c; or a rejection reason."""
    ca, cb, cc = (ctx.center_judge[o.object_id] for o in (a, b, c))  # (3,) m, judging frame
    obs = horizontal_observer(ca, cb)
    if isinstance(obs, str):
        return obs  # the question still says "facing B": that must mean something
    dx, dz = cc[0] - ca[0], cc[2] - ca[2]  # horizontal offset A -> C, m
    distance = math.hypot(dx, dz)
    if not distance >= MIN_DISTANCE_M:
        return BELOW_MIN_DISTANCE
    return Fact(
        "perspective_taking",
        "distance",
        _mentions(("a", a, "stand_at"), ("b", b, "facing"), ("c", c, "target")),
        Quantity("length", distance, "mra"),
        ctx.judge_frame,
        (
            *_observer_lines(ctx, a, b, obs),
            f"{trace_name(c)} at {_vec(cc)} m: horizontal offset from the observer (dx, dz) = "
            f"({_num(dx)}, {_num(dz)}) m (turning to face {trace_name(b)} does not change distances)",
            f"horizontal distance = sqrt(dx^2 + dz^2) = {_num(distance, 4)} m",
            f"answer: {_num(distance, 4)} m",
        ),
    )


def _horizontal_distance_peers(ctx: ViewContext, fact: Fact) -> list[float]:
    """Horizontal centre distances between the view's other pairs of visible objects (the pair A, C asked
    about left out): numeric distractors for the distance variant."""
    roles = {m.role: m.obj.object_id for m in fact.mentions}
    return other_pair_distances(ctx, "horizontal", {roles["stand_at"], roles["target"]}, MIN_DISTANCE_M)


@register(
    name="perspective_taking",
    level=3,
    family="perspective_taking",
    requires=("boxes", "gravity"),
    formats=("free", "mcq", "tf"),
    metric="mra",
    variants=PT_VARIANTS,
    definition="Standing at A's centre facing B (horizontally): is C in front, behind, left or right "
    "(10-degree gaps at the diagonals), or how far is C (horizontal distance)?",
    peers=_horizontal_distance_peers,
)
def perspective_taking(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    if not ctx.has_gravity:
        yield NO_GRAVITY  # refused once per view: every candidate would be
        return
    for (a, b, c), variant in with_variants(ctx.visible, 3, PT_VARIANTS, rng):
        yield direction_fact(ctx, a, b, c) if variant == "direction" else distance_fact(ctx, a, b, c)


# ================================================================ SPAR spatial imagination


class ImaginedCamera(NamedTuple):
    """SPAR's camera moved to A and facing B, in the judging frame (y down).

    origin: (3,) m, A's centre; right, down, forward: (3,) unit axes of the new OpenCV-like camera frame;
    pitch_deg: angle between the new camera's up and the world's up (the pitch of A->B)."""

    origin: Vec3
    right: Vec3
    down: Vec3
    forward: Vec3
    pitch_deg: float

    def to_camera(self, p: Vec3) -> Vec3:
        """(3,) point in the judging frame (m) -> the same point in the imagined camera frame (m)."""
        q = _sub(p, self.origin)
        return _dot(q, self.right), _dot(q, self.down), _dot(q, self.forward)


def imagined_camera(
    a_center: Vec3,
    b_center: Vec3,
    *,
    min_horizontal_m: float = PERSPECTIVE_MIN_HORIZONTAL_M,
    max_pitch_deg: float = MAX_VIEW_PITCH_DEG,
) -> ImaginedCamera | str:
    """SPAR's new pose (appendix 7.5): at a_center, forward = unit(b - a), left = unit(up x forward),
    up' = forward x left, right = -left; centres (3,) m in a judging frame whose up is (0, -1, 0).
    FACING_TOO_SHORT when a->b spans less than min_horizontal_m horizontally, STEEP_VIEW when the
    angle between up' and the world's up exceeds max_pitch_deg."""
    d = _sub(b_center, a_center)  # (3,) m
    horizontal = math.hypot(d[0], d[2])
    if not horizontal >= min_horizontal_m:
        return FACING_TOO_SHORT
    n = math.hypot(*d)
    f = (d[0] / n, d[1] / n, d[2] / n)
    # up x f with up = (0, -1, 0) is (-fz, 0, fx): horizontal, of length hypot(fx, fz) > 0 here.
    h = math.hypot(f[0], f[2])
    left = (-f[2] / h, 0.0, f[0] / h)
    # up' = f x left; with left horizontal this is (fy lz, fz lx - fx lz, -fy lx).
    up = (f[1] * left[2], f[2] * left[0] - f[0] * left[2], -f[1] * left[0])
    # SPAR's vertical rotation angle: between the new up and the world up (0, -1, 0); cos = -up_y.
    cos_pitch = -up[1]
    sin_pitch = math.hypot(up[0], up[2])  # |up' x world_up|
    pitch = math.degrees(math.atan2(sin_pitch, cos_pitch))
    if not pitch <= max_pitch_deg:
        return STEEP_VIEW
    right = (-left[0], -left[1], -left[2])
    down = (-up[0], -up[1], -up[2])
    return ImaginedCamera((a_center[0], a_center[1], a_center[2]), right, down, f, pitch)


def _camera_lines(ctx: ViewContext, a: Object3D, b: Object3D, cam: ImaginedCamera) -> tuple[str, ...]:
    return (
        f"in {ctx.judge_frame} (x right, y down along gravity, z forward): the camera moves to the centre of "
        f"{trace_name(a)} {_vec(cam.origin)} m and faces {trace_name(b)}",
        f"forward = unit({trace_name(b)} - {trace_name(a)}) = {_vec(cam.forward)}, "
        f"right = -unit(up x forward) = {_vec(cam.right)}, down = -(forward x left) = {_vec(cam.down)}",
        f"vertical rotation angle (new up vs world up) = {_num(cam.pitch_deg, 1)} deg <= "
        f"{_num(MAX_VIEW_PITCH_DEG, 0)} deg: view kept",
    )


class Axis(NamedTuple):
    """One relation of a spatial imagination question: the relation judged (TRUE -> if_true), the values'
    phrases and mcq option texts, and the alternatives a free question offers ({alternatives})."""

    relation: AxisRelation
    if_true: str
    if_false: str
    phrases: Mapping[str, str]
    options: Mapping[str, str] | None
    alternatives: str


# OC: C against the new camera's origin (0, 0, 0). "front" is C ahead of the viewer: z(C) - 0 > margin.
AHEAD_OF_VIEWER = AxisRelation("ahead_of_viewer", axis=2, sign=+1.0)
OC_AXES = {
    "left_right": Axis(
        LEFT_OF,
        "left",
        "right",
        {"left": "to your left", "right": "to your right"},
        {"left": "left", "right": "right"},
        "to your left or to your right",
    ),
    "above_below": Axis(
        ABOVE,
        "above",
        "below",
        {"above": "above you", "below": "below you"},
        {"above": "above", "below": "below"},
        "above you or below you",
    ),
    "front_behind": Axis(
        AHEAD_OF_VIEWER,
        "front",
        "behind",
        {"front": "in front of you", "behind": "behind you"},
        {"front": "in front", "behind": "behind"},
        "in front of you or behind you",
    ),
}
# OO: C against D in the new camera frame, as relative_direction does in the image ("in front" = nearer the
# viewer along its view axis).
OO_AXES = {
    "left_right": Axis(
        LEFT_OF,
        "left",
        "right",
        {"left": "to the left of", "right": "to the right of"},
        {"left": "left", "right": "right"},
        "to the left or to the right of",
    ),
    "above_below": Axis(
        ABOVE, "above", "below", {"above": "above", "below": "below"}, None, "above or below"
    ),
    "front_behind": Axis(
        IN_FRONT_OF,
        "in_front",
        "behind",
        {"in_front": "in front of", "behind": "behind"},
        {"in_front": "in front", "behind": "behind"},
        "in front of or behind",
    ),
}
CHANGE_LEFT_RIGHT = "change_left_right"
OO_VARIANTS = (*OO_AXES, CHANGE_LEFT_RIGHT)
_ORIGIN: Vec3 = (0.0, 0.0, 0.0)


def _judged(axis: Axis, p: Vec3, q: Vec3, frame: str) -> tuple[str, str] | str:
    """(value, trace line) of `p axis.relation q` ((3,) m, one frame), or WITHIN_MARGIN."""
    j = direction_between(axis.relation, p, q, frame=frame)
    if j.truth is Truth.AMBIGUOUS:
        return j.reason or WITHIN_MARGIN
    value = axis.if_true if j.truth is Truth.TRUE else axis.if_false
    line = f"{axis.relation.name} score = {_num(j.quantity)} m vs margin {_num(j.margin, 2)} m -> {value}"
    return value, line


def oc_fact(ctx: ViewContext, variant: str, a: Object3D, b: Object3D, c: Object3D) -> Fact | str:
    """spatial_imagination_oc/<variant> for the camera moved to a, facing b, target c; or a reason."""
    cam = imagined_camera(ctx.center_judge[a.object_id], ctx.center_judge[b.object_id])
    if isinstance(cam, str):
        return cam
    axis = OC_AXES[variant]
    frame = f"imagined_cam:{a.object_id}->{b.object_id}"
    c_new = cam.to_camera(ctx.center_judge[c.object_id])  # (3,) m, imagined camera
    judged = _judged(axis, c_new, _ORIGIN, frame)
    if isinstance(judged, str):
        return judged
    value, line = judged
    return Fact(
        "spatial_imagination_oc",
        variant,
        _mentions(("a", a, "stand_at"), ("b", b, "facing"), ("c", c, "target")),
        Category(value, axis.phrases, axis.options),
        frame,
        (
            *_camera_lines(ctx, a, b, cam),
            f"{trace_name(c)} in the new camera frame (x right, y down, z forward) = {_vec(c_new)} m",
            f"{trace_name(c)} against the camera's position: {line}",
            f"answer: {value}",
        ),
        slots={"alternatives": axis.alternatives},
    )


def oo_fact(ctx: ViewContext, variant: str, a: Object3D, b: Object3D, c: Object3D, d: Object3D) -> Fact | str:
    """spatial_imagination_oo/<variant> for the camera moved to a, facing b, target c, anchor d; or a
    reason."""
    cam = imagined_camera(ctx.center_judge[a.object_id], ctx.center_judge[b.object_id])
    if isinstance(cam, str):
        return cam
    axis = OO_AXES["left_right" if variant == CHANGE_LEFT_RIGHT else variant]
    frame = f"imagined_cam:{a.object_id}->{b.object_id}"
    slots = {"alternatives": axis.alternatives}
    lines: tuple[str, ...] = ()
    if variant == CHANGE_LEFT_RIGHT:
        # The relation before the move, as relative_direction judges it in the image (judging frame).
        cc, cd = ctx.center_judge[c.object_id], ctx.center_judge[d.object_id]  # (3,) m, judging frame
        before = _judged(axis, cc, cd, ctx.judge_frame)
        if isinstance(before, str):
            return before
        before_value, before_line = before
        slots["before"] = axis.phrases[before_value]
        lines = (
            f"before the move, in {ctx.judge_frame}: x({trace_name(c)}) = {_num(cc[0])} m, "
            f"x({trace_name(d)}) = {_num(cd[0])} m, {before_line}",
        )
    c_new = cam.to_camera(ctx.center_judge[c.object_id])  # (3,) m, imagined camera
    d_new = cam.to_camera(ctx.center_judge[d.object_id])
    judged = _judged(axis, c_new, d_new, frame)
    if isinstance(judged, str):
        return judged
    value, line = judged
    return Fact(
        "spatial_imagination_oo",
        variant,
        _mentions(("a", a, "stand_at"), ("b", b, "facing"), ("c", c, "target"), ("d", d, "anchor")),
        Category(value, axis.phrases, axis.options),
        frame,
        (
            *lines,
            *_camera_lines(ctx, a, b, cam),
            f"in the new camera frame (x right, y down, z forward): {trace_name(c)} = {_vec(c_new)} m, "
            f"{trace_name(d)} = {_vec(d_new)} m",
            f"{trace_name(c)} against {trace_name(d)}: {line}",
            f"answer: {value}",
        ),
        slots=slots,
    )


@register(
    name="spatial_imagination_oc",
    level=3,
    family="perspective_taking",
    requires=("boxes", "gravity"),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=tuple(OC_AXES),
    definition="SPAR SpImag-OC: after the camera moves to A's centre and faces B (3D, pitch <= 30 "
    "degrees), is C left/right of, above/below, or in front of/behind it (0.1 m margin)?",
)
def spatial_imagination_oc(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    if not ctx.has_gravity:
        yield NO_GRAVITY
        return
    for (a, b, c), variant in with_variants(ctx.visible, 3, tuple(OC_AXES), rng):
        yield oc_fact(ctx, variant, a, b, c)


@register(
    name="spatial_imagination_oo",
    level=3,
    family="perspective_taking",
    requires=("boxes", "gravity"),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=OO_VARIANTS,
    definition="SPAR SpImag-OO: after the camera moves to A's centre and faces B (3D, pitch <= 30 "
    "degrees), is C left/right of, above/below, or in front of/behind D (0.1 m margin); or, given C's "
    "left/right relation to D in the image, which it is after the move.",
)
def spatial_imagination_oo(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    if not ctx.has_gravity:
        yield NO_GRAVITY
        return
    for (a, b, c, d), variant in with_variants(ctx.visible, 4, OO_VARIANTS, rng):
        yield oo_fact(ctx, variant, a, b, c, d)
