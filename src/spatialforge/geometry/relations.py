"""Qualitative spatial relations with explicit margins (SPEC sections 1-2).

Every predicate is pure and judges boxes already expressed in the *judging frame*: the camera frame `cam` or
the gravity-aligned camera frame `cam_gravity` (both OpenCV-like: +x right, +y down, +z forward). The caller
transforms the boxes and passes the frame's name, which is recorded in the result. Above/below must be asked
in `cam_gravity` whenever gravity is known (SPEC section 1); these functions do not check that.

Results:
- `Judgement` (TRUE / FALSE / AMBIGUOUS) for yes/no relations; `quantity` is the number compared, `margin`
  the margin it was compared against, both in the predicate's unit (metres, ratio or degrees).
- `Categorical` for many-valued relations (facing same/opposite/perpendicular; object-centric
  front/back/left/right); `value` is None when the angle falls in an ambiguity gap between bins.
AMBIGUOUS results always carry a `reason`: "within_margin", "degenerate" (NaN, zero-size or coincident
inputs) or "no_front". Nothing here raises on bad geometry.

Every predicate has a core on plain centres and fronts ((3,) sequences of floats: tuples or arrays, judging
frame), which QA generation calls with its per-view tables, and a box form that checks the boxes first.

Relations are data, judged by one function per kind:
    judge_direction(LEFT_OF, a, b, frame="cam")        # centre offsets along one axis
    judge_size(BIGGER, a, b, frame="cam")              # size ratios
    closer_to_camera(a, b, frame=...), closer_of_two(anchor, b, c, frame=...)
    facing_relation(a_front, b_front, frame=...), facing_towards(a, a_front, b, frame=...)
    object_centric_position(a, a_front, b, frame=...)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D

# --- Margins ---------------------------------------------------------------------------------------------
# SPAR (paper 003, "Obj spatial relation"): coordinate or camera-distance differences below 0.1 m are
# "indistinguishable". Used for left/right, above/below, in front/behind and as the absolute floor of the
# distance comparisons.
POSITION_MARGIN_M = 0.1
# Distance comparisons also get a relative margin: depth and annotation errors grow with distance, so a 0.5 m
# difference is clear at 2 m but not at 20 m. 10% of the larger distance (our choice; SPAR only states the
# absolute 0.1 m) keeps "closer" answerable by eye at any scale; the absolute floor applies to nearby objects.
DISTANCE_RELATIVE_MARGIN = 0.10
# Size comparisons (volume, height, width, length): a must exceed b by this factor. 15% is our choice (no
# paper states one): a smaller difference is hard to see in an image and comparable to box annotation slack.
SIZE_RATIO_MARGIN = 1.15
# facing_relation bins: same (0 deg), perpendicular (90 deg), opposite (180 deg) between horizontal fronts,
# each +-30 deg wide, leaving 30-deg ambiguity gaps (30-60 and 120-150 deg). Our choice (the papers give no
# number): a yaw annotation error of 15 deg on both objects cannot move a pair from one bin into another.
FACING_BIN_HALF_WIDTH_DEG = 30.0
# facing_towards: TRUE when the front is within 45 - 15 = 30 deg of the direction a->b, FALSE beyond
# 45 + 15 = 60 deg. 45 deg is the sector a person would still call "towards" at a glance.
FACING_TOWARDS_BOUNDARY_DEG = 45.0
FACING_TOWARDS_MARGIN_DEG = 15.0
# object_centric_position: front/left/back/right sectors are 90 deg wide, centred on 0/90/180/-90 deg; a
# +-10 deg gap around each 45-deg sector boundary is AMBIGUOUS (a diagonal neighbour is not clearly either).
OBJECT_CENTRIC_GAP_DEG = 10.0
# A front or an a->b direction must keep at least this fraction of its length in the horizontal plane
# (i.e. be tilted less than 60 deg from horizontal); otherwise its horizontal heading is meaningless.
MIN_HORIZONTAL_FRACTION = 0.5
# Two centres closer than this horizontally give no direction for object-centric / facing-towards (metres).
MIN_HORIZONTAL_SEPARATION_M = 0.05

# --- Reasons ---------------------------------------------------------------------------------------------
WITHIN_MARGIN = "within_margin"
DEGENERATE = "degenerate"
NO_FRONT = "no_front"

# The judging frames' y axis is vertical (down); their horizontal plane is spanned by x and z.
_HORIZONTAL_AXES = (0, 2)

Vec3 = Sequence[float]  # (3,) x, y, z: a tuple of floats or a (3,) array


class Truth(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    AMBIGUOUS = "ambiguous"

    def flipped(self) -> Truth:
        """TRUE <-> FALSE; AMBIGUOUS stays (the truth of the converse relation)."""
        return {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE}.get(self, Truth.AMBIGUOUS)


# Judgement and Categorical are NamedTuples: immutable, and built in a sixth of a frozen dataclass's time
# (QA generation judges several candidates per record).
class Judgement(NamedTuple):
    """Outcome of a yes/no relation; quantity and margin in the predicate's unit (m, ratio or degrees)."""

    truth: Truth
    quantity: float
    margin: float
    frame: str
    reason: str | None = None


class Categorical(NamedTuple):
    """Outcome of a many-valued relation; value None (with a reason) in an ambiguity gap."""

    value: str | None
    angle_deg: float
    frame: str
    reason: str | None = None


@dataclass(frozen=True)
class AxisRelation:
    """TRUE when sign * (a.center[axis] - b.center[axis]) > margin."""

    name: str
    axis: int
    sign: float


@dataclass(frozen=True)
class SizeRelation:
    """TRUE when metric(a) / metric(b) > ratio margin; `larger` False asks the converse (smaller)."""

    name: str
    metric: Callable[[OrientedBox3D], float]
    larger: bool


# Judging frames are OpenCV-like: x right, y down, z forward (depth away from the camera).
LEFT_OF = AxisRelation("left_of", axis=0, sign=-1.0)
RIGHT_OF = AxisRelation("right_of", axis=0, sign=+1.0)
ABOVE = AxisRelation("above", axis=1, sign=-1.0)
BELOW = AxisRelation("below", axis=1, sign=+1.0)
IN_FRONT_OF = AxisRelation("in_front_of", axis=2, sign=-1.0)  # closer to the camera along depth z
BEHIND = AxisRelation("behind", axis=2, sign=+1.0)
AXIS_RELATIONS = (LEFT_OF, RIGHT_OF, ABOVE, BELOW, IN_FRONT_OF, BEHIND)

# Sizes are the box's own dimensions (object frame: length x, width y, height z; docs/DATA.md), so they do
# not depend on the judging frame.
BIGGER = SizeRelation("bigger", lambda box: box.volume, larger=True)
SMALLER = SizeRelation("smaller", lambda box: box.volume, larger=False)
TALLER = SizeRelation("taller", lambda box: box.height, larger=True)
SHORTER = SizeRelation("shorter", lambda box: box.height, larger=False)
WIDER = SizeRelation("wider", lambda box: box.width, larger=True)
NARROWER = SizeRelation("narrower", lambda box: box.width, larger=False)
LONGER = SizeRelation("longer", lambda box: box.length, larger=True)
SHORTER_LENGTH = SizeRelation("shorter_length", lambda box: box.length, larger=False)
SIZE_RELATIONS = (BIGGER, SMALLER, TALLER, SHORTER, WIDER, NARROWER, LONGER, SHORTER_LENGTH)


# --- Generic helpers -------------------------------------------------------------------------------------


def _three_way(score: float, margin: float) -> tuple[Truth, str | None]:
    """TRUE if score > margin, FALSE if score < -margin, else AMBIGUOUS; non-finite -> degenerate."""
    if not (math.isfinite(score) and math.isfinite(margin)):
        return Truth.AMBIGUOUS, DEGENERATE
    if score > margin:
        return Truth.TRUE, None
    if score < -margin:
        return Truth.FALSE, None
    return Truth.AMBIGUOUS, WITHIN_MARGIN


def _box_ok(box: OrientedBox3D) -> bool:
    """Finite centre, rotation and size, and every side strictly positive."""
    return box.is_well_formed


def _degenerate(frame: str, margin: float) -> Judgement:
    return Judgement(Truth.AMBIGUOUS, math.nan, margin, frame, DEGENERATE)


def _xyz(vector: Vec3) -> tuple[float, float, float] | None:
    """(x, y, z) floats of a (3,) vector, or None if it is not three finite numbers."""
    if isinstance(vector, np.ndarray):
        vector = vector.reshape(-1)
    try:
        x, y, z = (float(c) for c in vector)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
        return None
    return x, y, z


def _horizontal(vector: Vec3) -> tuple[float, float] | None:
    """(3,) judging-frame vector -> (2,) unit (x, z) heading, or None if NaN / too vertical / zero."""
    v = _xyz(vector)
    if v is None:
        return None
    x, y, z = v
    full, flat = math.hypot(x, y, z), math.hypot(x, z)
    if full == 0.0 or flat < MIN_HORIZONTAL_FRACTION * full:
        return None
    return x / flat, z / flat


def _angle_deg(u: tuple[float, float], v: tuple[float, float]) -> float:
    """Unsigned angle in degrees [0, 180] between (2,) vectors; atan2 stays accurate near 0 and 180."""
    return math.degrees(math.atan2(abs(u[0] * v[1] - u[1] * v[0]), u[0] * v[0] + u[1] * v[1]))


def _bin_angle(
    angle_deg: float, bins: tuple[tuple[str, float], ...], half_width_deg: float, frame: str
) -> Categorical:
    """The bin whose centre is within half_width_deg of angle_deg (circular), else AMBIGUOUS."""
    for name, centre in bins:
        if abs((angle_deg - centre + 180.0) % 360.0 - 180.0) < half_width_deg:
            return Categorical(name, angle_deg, frame)
    return Categorical(None, angle_deg, frame, WITHIN_MARGIN)


def no_front_judgement(frame: str) -> Judgement:
    """What to record for a yes/no orientation relation asked about an object without a front."""
    return Judgement(Truth.AMBIGUOUS, math.nan, math.nan, frame, NO_FRONT)


def no_front_categorical(frame: str) -> Categorical:
    """What to record for a categorical orientation relation asked about an object without a front."""
    return Categorical(None, math.nan, frame, NO_FRONT)


# --- Position relations -----------------------------------------------------------------------------------


def direction_between(
    relation: AxisRelation, a_center: Vec3, b_center: Vec3, *, frame: str, margin_m: float = POSITION_MARGIN_M
) -> Judgement:
    """judge_direction's core on two (3,) centres in the judging frame (metres)."""
    score = relation.sign * float(a_center[relation.axis] - b_center[relation.axis])
    truth, reason = _three_way(score, margin_m)
    return Judgement(truth, score, margin_m, frame, reason)


def judge_direction(
    relation: AxisRelation,
    a: OrientedBox3D,
    b: OrientedBox3D,
    *,
    frame: str,
    margin_m: float = POSITION_MARGIN_M,
) -> Judgement:
    """Is a `relation` b, by centres? quantity = sign * (a - b) along the axis, metres."""
    if not (_box_ok(a) and _box_ok(b)):
        return _degenerate(frame, margin_m)
    return direction_between(relation, a.center, b.center, frame=frame, margin_m=margin_m)


def compare_distances(
    d_first: float,
    d_second: float,
    frame: str,
    relative_margin: float = DISTANCE_RELATIVE_MARGIN,
    margin_m: float = POSITION_MARGIN_M,
) -> Judgement:
    """TRUE when d_first is shorter than d_second by more than max(relative * larger, absolute); for callers
    that already hold the (finite) distances, e.g. every object's distance to the camera."""
    margin = max(relative_margin * max(d_first, d_second), margin_m)
    score = d_second - d_first
    truth, reason = _three_way(score, margin)
    return Judgement(truth, score, margin, frame, reason)


def closer_to_camera(
    a: OrientedBox3D,
    b: OrientedBox3D,
    *,
    frame: str,
    relative_margin: float = DISTANCE_RELATIVE_MARGIN,
    margin_m: float = POSITION_MARGIN_M,
) -> Judgement:
    """Is a's centre closer to the camera origin (Euclidean) than b's?

    quantity = |b| - |a| in metres; margin = max(relative_margin * max(|a|, |b|), margin_m).
    """
    if not (_box_ok(a) and _box_ok(b)):
        return _degenerate(frame, margin_m)
    d_a, d_b = float(np.linalg.norm(a.center)), float(np.linalg.norm(b.center))
    return compare_distances(d_a, d_b, frame, relative_margin, margin_m)


def closer_of_two_centres(
    anchor: Vec3,
    b: Vec3,
    c: Vec3,
    *,
    frame: str,
    relative_margin: float = DISTANCE_RELATIVE_MARGIN,
    margin_m: float = POSITION_MARGIN_M,
) -> Judgement:
    """closer_of_two's core on three (3,) centres (metres)."""
    return compare_distances(math.dist(b, anchor), math.dist(c, anchor), frame, relative_margin, margin_m)


def closer_of_two(
    anchor: OrientedBox3D,
    b: OrientedBox3D,
    c: OrientedBox3D,
    *,
    frame: str,
    relative_margin: float = DISTANCE_RELATIVE_MARGIN,
    margin_m: float = POSITION_MARGIN_M,
) -> Judgement:
    """Is b's centre closer to the anchor's centre than c's? Same margins as `closer_to_camera`."""
    if not (_box_ok(anchor) and _box_ok(b) and _box_ok(c)):
        return _degenerate(frame, margin_m)
    return closer_of_two_centres(
        anchor.center, b.center, c.center, frame=frame, relative_margin=relative_margin, margin_m=margin_m
    )


# --- Size relations ---------------------------------------------------------------------------------------


def compare_sizes(
    relation: SizeRelation,
    a_value: float,
    b_value: float,
    *,
    frame: str,
    ratio_margin: float = SIZE_RATIO_MARGIN,
) -> Judgement:
    """judge_size's core on the two (positive, finite) values of relation.metric."""
    if not ratio_margin >= 1.0:
        raise ValueError(f"ratio_margin must be >= 1, got {ratio_margin}")
    ratio = a_value / b_value
    score = math.log(ratio) if relation.larger else -math.log(ratio)
    truth, reason = _three_way(score, math.log(ratio_margin))
    return Judgement(truth, ratio, ratio_margin, frame, reason)


def judge_size(
    relation: SizeRelation,
    a: OrientedBox3D,
    b: OrientedBox3D,
    *,
    frame: str,
    ratio_margin: float = SIZE_RATIO_MARGIN,
) -> Judgement:
    """Is a `relation` b? quantity = metric(a) / metric(b); TRUE beyond ratio_margin (larger) or below
    1 / ratio_margin (smaller). Decided on log ratios, so swapping a and b flips the answer exactly."""
    if not ratio_margin >= 1.0:
        raise ValueError(f"ratio_margin must be >= 1, got {ratio_margin}")
    if not (_box_ok(a) and _box_ok(b)):
        return _degenerate(frame, ratio_margin)
    return compare_sizes(
        relation, relation.metric(a), relation.metric(b), frame=frame, ratio_margin=ratio_margin
    )


# --- Orientation relations (need fronts) ------------------------------------------------------------------

_FACING_BINS = (("same", 0.0), ("perpendicular", 90.0), ("opposite", 180.0))


def facing_relation(
    a_front: Vec3,
    b_front: Vec3,
    *,
    frame: str,
    half_width_deg: float = FACING_BIN_HALF_WIDTH_DEG,
) -> Categorical:
    """same / perpendicular / opposite by the horizontal angle between two (3,) fronts (judging frame).

    angle_deg in [0, 180]; a bin is chosen when the angle is within half_width_deg of 0, 90 or 180.
    """
    ha, hb = _horizontal(a_front), _horizontal(b_front)
    if ha is None or hb is None:
        return Categorical(None, math.nan, frame, DEGENERATE)
    return _bin_angle(_angle_deg(ha, hb), _FACING_BINS, half_width_deg, frame)


def _horizontal_heading(a_center: Vec3, b_center: Vec3) -> tuple[float, float] | None:
    """(2,) unit (x, z) direction from a's centre to b's, or None if they (nearly) coincide horizontally
    or are not finite."""
    a, b = _xyz(a_center), _xyz(b_center)
    if a is None or b is None:
        return None
    dx, dz = b[0] - a[0], b[2] - a[2]  # metres
    norm = math.hypot(dx, dz)
    if not norm >= MIN_HORIZONTAL_SEPARATION_M:
        return None
    return dx / norm, dz / norm


def facing_towards_centres(
    a_center: Vec3,
    a_front: Vec3,
    b_center: Vec3,
    *,
    frame: str,
    boundary_deg: float = FACING_TOWARDS_BOUNDARY_DEG,
    margin_deg: float = FACING_TOWARDS_MARGIN_DEG,
) -> Judgement:
    """facing_towards' core on (3,) centres and a's (3,) front in the judging frame."""
    front = _horizontal(a_front)
    heading = _horizontal_heading(a_center, b_center)
    if front is None or heading is None:
        return _degenerate(frame, margin_deg)
    angle = _angle_deg(front, heading)
    truth, reason = _three_way(boundary_deg - angle, margin_deg)
    return Judgement(truth, angle, margin_deg, frame, reason)


def facing_towards(
    a: OrientedBox3D,
    a_front: Vec3,
    b: OrientedBox3D,
    *,
    frame: str,
    boundary_deg: float = FACING_TOWARDS_BOUNDARY_DEG,
    margin_deg: float = FACING_TOWARDS_MARGIN_DEG,
) -> Judgement:
    """Is a facing towards b? quantity = horizontal angle (deg) between a's front and a->b; TRUE below
    boundary - margin, FALSE above boundary + margin."""
    if not (_box_ok(a) and _box_ok(b)):
        return _degenerate(frame, margin_deg)
    return facing_towards_centres(
        a.center, a_front, b.center, frame=frame, boundary_deg=boundary_deg, margin_deg=margin_deg
    )


_SECTORS = (("front", 0.0), ("left", 90.0), ("back", 180.0), ("right", -90.0))


def object_centric_between(
    a_center: Vec3, a_front: Vec3, b_center: Vec3, *, frame: str, gap_deg: float = OBJECT_CENTRIC_GAP_DEG
) -> Categorical:
    """object_centric_position's core on (3,) centres and a's (3,) front in the judging frame."""
    front = _horizontal(a_front)
    heading = _horizontal_heading(a_center, b_center)
    if front is None or heading is None:
        return Categorical(None, math.nan, frame, DEGENERATE)
    # In (x, z) coordinates, up x front = (0, -1, 0) x (fx, 0, fz) = (-fz, 0, fx).
    left_x, left_z = -front[1], front[0]
    angle = math.degrees(
        math.atan2(heading[0] * left_x + heading[1] * left_z, heading[0] * front[0] + heading[1] * front[1])
    )
    angle = 180.0 if angle == -180.0 else angle  # atan2(-0.0, x < 0): keep the documented (-180, 180]
    return _bin_angle(angle, _SECTORS, 45.0 - gap_deg, frame)


def object_centric_position(
    a: OrientedBox3D,
    a_front: Vec3,
    b: OrientedBox3D,
    *,
    frame: str,
    gap_deg: float = OBJECT_CENTRIC_GAP_DEG,
) -> Categorical:
    """Where is b in a's own frame: front / left / back / right, from the horizontal direction a->b.

    angle_deg = atan2(left, forward) in (-180, 180]: 0 straight ahead, +90 on a's left, -90 on its right.
    a's left is up x front with up = -y (the frames are y-down): an object facing +z (away from the camera)
    has its left at -x, the camera's left; one facing the camera (-z) has its left at +x.
    Sectors are centred on 0, 90, 180, -90 deg; within gap_deg of a 45-deg boundary is AMBIGUOUS.
    """
    if not (_box_ok(a) and _box_ok(b)):
        return Categorical(None, math.nan, frame, DEGENERATE)
    return object_centric_between(a.center, a_front, b.center, frame=frame, gap_deg=gap_deg)


_VIEWER_SECTORS = (("towards", 0.0), ("right", 90.0), ("away", 180.0), ("left", -90.0))


def facing_relative_to_viewer(
    center: Vec3,
    front: Vec3,
    *,
    frame: str,
    gap_deg: float = OBJECT_CENTRIC_GAP_DEG,
) -> Categorical:
    """Which way an object faces as the viewer sees it: towards / away / left / right (the viewer's left).

    center, front: (3,) box centre (metres) and front direction in a judging frame whose origin is the
    camera (cam or cam_gravity). The reference direction is the horizontal ray from the object back to the
    camera, so an object on the image's edge that faces the camera still faces "towards".
    angle_deg = atan2(front . viewer_right, front . to_camera) in (-180, 180]: 0 towards, +90 facing the
    viewer's right, 180 away, -90 the viewer's left. Sectors as in object_centric_position.
    """
    heading = _horizontal(front)
    # Only the horizontal offset matters for the line of sight: an object seen steeply from above (a table
    # below a downward-looking camera) still faces towards or away from the viewer; directly below the
    # camera (horizontal offset under MIN_HORIZONTAL_SEPARATION_M) it has no such direction.
    to_camera = _horizontal_heading(center, (0.0, 0.0, 0.0))  # (2,) unit (x, z), object -> camera
    if heading is None or to_camera is None:
        return Categorical(None, math.nan, frame, DEGENERATE)
    # The viewing ray is -to_camera; in (x, z) coordinates the viewer's right of ray (rx, rz) is (rz, -rx).
    right_x, right_z = -to_camera[1], to_camera[0]
    angle = math.degrees(
        math.atan2(
            heading[0] * right_x + heading[1] * right_z, heading[0] * to_camera[0] + heading[1] * to_camera[1]
        )
    )
    angle = 180.0 if angle == -180.0 else angle
    return _bin_angle(angle, _VIEWER_SECTORS, 45.0 - gap_deg, frame)
