"""Level 2 tasks: relations between objects (HiSpatial L2; SPAR ObjRel / DistI; SpatialLLM relations).

Every qualitative answer comes from geometry/relations.py with its margin; AMBIGUOUS candidates are
yielded as their reason ("within_margin", "degenerate", "no_front", ...) and never asked. Positions are box
centres. Left/right, above/below and in front/behind, horizontal and vertical distances are judged in the
judging frame (cam_gravity when gravity is known, tasks/context.py); horizontal and vertical distances are
refused without gravity ("no_gravity"), since the camera's own axes need not be level. Depth distance is
|dz| in the camera frame, the image's viewing direction. Roles: "a" is the object the question is about
(target), "b" the anchor it is compared with.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from itertools import permutations

import numpy as np

from spatialforge.geometry.relations import (
    ABOVE,
    BIGGER,
    IN_FRONT_OF,
    LEFT_OF,
    NO_FRONT,
    POSITION_MARGIN_M,
    SHORTER,
    SMALLER,
    TALLER,
    Judgement,
    Truth,
    closer_of_two_centres,
    compare_distances,
    compare_sizes,
    direction_between,
    facing_relation,
    facing_towards_centres,
    object_centric_between,
)
from spatialforge.scene.records import Object3D
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registration import register
from spatialforge.tasks.sampling import combos, with_variants
from spatialforge.tasks.spec import (
    DISTANCE_CRITERIA,
    SIZE_CRITERIA,
    Category,
    Fact,
    Mention,
    Quantity,
    Vector,
    trace_name,
)

NO_GRAVITY = "no_gravity"
BELOW_MIN_DISTANCE = "below_min_distance"
NO_CLEAR_EXTREME = "no_clear_extreme"
# Distances and directions between centres closer than SPAR's 0.1 m are not asked: the relative error of a
# few-centimetre answer is meaningless and its direction is within annotation noise.
MIN_SEPARATION_M = POSITION_MARGIN_M


def _reason(j: Judgement) -> str:
    return j.reason or "within_margin"


RESTS_ON_OTHER = "rests_on_other"
# One object standing on the other (a phone on a table, a monitor on a desk) is "on" it. Whether it is left
# of or in front of its support by centres is well defined but not how anyone speaks of the pair, so those
# axes are not asked (above / below is: the phone is above the table). Resting: A's bottom within this gap of
# B's top along gravity (metres), and A's centre over B's footprint.
SUPPORT_GAP_M = 0.03


def _over(a: Object3D, b: Object3D, up_world: np.ndarray) -> bool:
    """Whether a's centre, moved along up_world to b's centre height, lies inside b's box."""
    lift = float((b.box.center - a.box.center) @ up_world)  # m
    return bool(b.box.contains((a.box.center + lift * up_world)[None, :])[0])


def rests_on(a: Object3D, b: Object3D, up_world: np.ndarray) -> bool:
    """Whether box a stands on box b: a's lowest corner within SUPPORT_GAP_M of b's highest (along the unit
    up_world (3,), world frame) and a's centre over b's box."""
    a_bottom, _ = a.box.extent_along(up_world)  # m along up
    _, b_top = b.box.extent_along(up_world)
    return abs(a_bottom - b_top) <= SUPPORT_GAP_M and _over(a, b, up_world)


def _one_rests_on_the_other(ctx: ViewContext, a: Object3D, b: Object3D) -> bool:
    """rests_on either way, with the boxes' vertical extents read from the view's cache (the common case, no
    contact, costs two lookups and a comparison)."""
    up = ctx.up_world
    ea, eb = ctx.vertical_extent(a), ctx.vertical_extent(b)
    if up is None or ea is None or eb is None:  # all three are None together: no gravity
        return False
    if abs(ea[0] - eb[1]) <= SUPPORT_GAP_M and _over(a, b, up):
        return True
    return abs(eb[0] - ea[1]) <= SUPPORT_GAP_M and _over(b, a, up)


# ---------------------------------------------------------------- relative direction (qualitative)

DIRECTION_AXES = {
    # variant: (relation asked, value when TRUE, value when FALSE, phrases, option texts)
    "left_right": (
        LEFT_OF,
        "left",
        "right",
        {"left": "to the left of", "right": "to the right of"},
        {"left": "left", "right": "right"},
    ),
    "above_below": (ABOVE, "above", "below", {"above": "above", "below": "below"}, None),
    "front_behind": (
        IN_FRONT_OF,
        "in_front",
        "behind",
        {"in_front": "in front of", "behind": "behind"},
        {"in_front": "in front", "behind": "behind"},
    ),
}


@register(
    name="relative_direction",
    level=2,
    family="relative_direction",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=tuple(DIRECTION_AXES),
    definition="Whether A is left/right of, above/below, or in front of/behind B (centres, 0.1 m margin); "
    "left/right and front/behind are not asked when one stands on the other.",
)
def relative_direction(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for (a, b), variant in with_variants(ctx.visible, 2, tuple(DIRECTION_AXES), rng):
        relation, if_true, if_false, phrases, options = DIRECTION_AXES[variant]
        centre_a, centre_b = ctx.center_judge[a.object_id], ctx.center_judge[b.object_id]  # (3,) m, judge
        j = direction_between(relation, centre_a, centre_b, frame=ctx.judge_frame)
        if j.truth is Truth.AMBIGUOUS:
            yield _reason(j)
            continue
        if variant != "above_below" and _one_rests_on_the_other(ctx, a, b):
            yield RESTS_ON_OTHER
            continue
        value = if_true if j.truth is Truth.TRUE else if_false
        axis = "xyz"[relation.axis]
        yield Fact(
            "relative_direction",
            variant,
            (Mention("a", a, "target"), Mention("b", b, "anchor")),
            Category(value, phrases, options),
            ctx.judge_frame,
            (
                f"in {ctx.judge_frame}: {axis}({trace_name(a)}) = {centre_a[relation.axis]:.3f} m, "
                f"{axis}({trace_name(b)}) = {centre_b[relation.axis]:.3f} m",
                f"{relation.name} score = {j.quantity:.3f} m vs margin {j.margin:.2f} m -> {value}",
            ),
        )


@register(
    name="relative_direction_vector",
    level=2,
    family="relative_direction",
    requires=("boxes",),
    formats=("free",),
    metric="direction_angle",
    definition="Unit vector from A's centre to B's centre in the camera frame (x right, y down, z forward).",
)
def relative_direction_vector(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for a, b in combos(ctx.visible, 2, rng):
        (ax, ay, az), (bx, by, bz) = ctx.center_cam[a.object_id], ctx.center_cam[b.object_id]
        delta = (bx - ax, by - ay, bz - az)  # (3,) m, cam
        norm = math.hypot(*delta)
        if not norm >= MIN_SEPARATION_M:
            yield BELOW_MIN_DISTANCE
            continue
        unit = (delta[0] / norm, delta[1] / norm, delta[2] / norm)
        yield Fact(
            "relative_direction_vector",
            "",
            (Mention("a", a, "from"), Mention("b", b, "to")),
            Vector("unit", unit),
            ctx.cam_frame,
            (
                f"centre({trace_name(b)}) - centre({trace_name(a)}) in {ctx.cam_frame} = "
                f"({delta[0]:.3f}, {delta[1]:.3f}, {delta[2]:.3f}) m, length {norm:.3f} m",
                f"unit vector = ({unit[0]:.4f}, {unit[1]:.4f}, {unit[2]:.4f})",
            ),
        )


# ---------------------------------------------------------------- relative distance

DISTANCE_VARIANTS = ("euclidean", "horizontal", "vertical", "depth")


def _distance(ctx: ViewContext, a, b, variant: str) -> tuple[float, str, str] | str:
    """(metres, frame, how) of one distance variant between two centres, or a rejection reason."""
    if variant == "depth":
        dz = ctx.center_cam[b.object_id][2] - ctx.center_cam[a.object_id][2]
        return abs(dz), ctx.cam_frame, "|dz|"
    if variant == "euclidean":
        return math.dist(ctx.center_cam[b.object_id], ctx.center_cam[a.object_id]), ctx.cam_frame, "|d|"
    if not ctx.has_gravity:
        return NO_GRAVITY
    (ax, ay, az), (bx, by, bz) = (
        ctx.center_judge[a.object_id],
        ctx.center_judge[b.object_id],
    )  # m, cam_gravity
    if variant == "vertical":
        return abs(by - ay), ctx.judge_frame, "|dy| (y along gravity)"
    return math.hypot(bx - ax, bz - az), ctx.judge_frame, "sqrt(dx^2 + dz^2) (horizontal plane)"


def other_pair_distances(ctx: ViewContext, variant: str, asked: set[str], minimum_m: float) -> list[float]:
    """One distance variant (_distance) between every pair of the view's visible objects but the asked pair
    (object ids), those of at least minimum_m: the peers of a distance answer (numeric distractors)."""
    out = []
    for a, b in itertools.combinations(ctx.visible, 2):
        if {a.object_id, b.object_id} == asked:
            continue
        found = _distance(ctx, a, b, variant)
        if not isinstance(found, str) and found[0] >= minimum_m:
            out.append(found[0])
    return out


def _distance_peers(ctx: ViewContext, fact: Fact) -> list[float]:
    asked = {m.obj.object_id for m in fact.mentions}
    return other_pair_distances(ctx, fact.variant, asked, MIN_SEPARATION_M)


@register(
    name="relative_distance",
    level=2,
    family="relative_distance",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="mra",
    variants=DISTANCE_VARIANTS,
    definition="Distance between two centres: Euclidean, horizontal, vertical (gravity) or along depth.",
    peers=_distance_peers,
)
def relative_distance(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for (a, b), variant in with_variants(ctx.visible, 2, DISTANCE_VARIANTS, rng):
        found = _distance(ctx, a, b, variant)
        if isinstance(found, str):
            yield found
            continue
        value, frame, how = found
        if not value >= MIN_SEPARATION_M:
            yield BELOW_MIN_DISTANCE
            continue
        yield Fact(
            "relative_distance",
            variant,
            (Mention("a", a, "a"), Mention("b", b, "b")),
            Quantity("length", value, "mra"),
            frame,
            (
                f"{variant} distance between {trace_name(a)} and {trace_name(b)} in {frame}: "
                f"{how} = {value:.3f} m",
            ),
        )


# ---------------------------------------------------------------- comparisons

OBJECT_SLOTS_2 = {"a": "{a}", "b": "{b}"}
OBJECT_SLOTS_3 = {"a": "{a}", "b": "{b}", "c": "{c}"}


@register(
    name="closer_of_two",
    level=2,
    family="relational_comparison",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    definition="Which of B and C has its centre closer to A's (margin max(0.1 m, 10 %)).",
)
def closer_of_two_task(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for anchor, b, c in combos(ctx.visible, 3, rng):
        centre_a, centre_b, centre_c = (ctx.center_cam[o.object_id] for o in (anchor, b, c))  # m, cam
        j = closer_of_two_centres(centre_a, centre_b, centre_c, frame=ctx.cam_frame)
        if j.truth is Truth.AMBIGUOUS:
            yield _reason(j)
            continue
        value = "b" if j.truth is Truth.TRUE else "c"
        d_b, d_c = math.dist(centre_b, centre_a), math.dist(centre_c, centre_a)
        yield Fact(
            "closer_of_two",
            "",
            (Mention("a", anchor, "anchor"), Mention("b", b, "option"), Mention("c", c, "option")),
            Category(value, {"b": "{b}", "c": "{c}"}),
            ctx.cam_frame,
            (
                f"|{trace_name(b)} - {trace_name(anchor)}| = {d_b:.3f} m, "
                f"|{trace_name(c)} - {trace_name(anchor)}| = {d_c:.3f} m",
                f"difference {j.quantity:.3f} m vs margin {j.margin:.3f} m -> {'b' if value == 'b' else 'c'}",
            ),
        )


EXTREME_VARIANTS = ("nearest", "farthest", "largest", "smallest", "tallest", "shortest", "order_near_far")
_EXTREME_CRITERIA = {
    "nearest": DISTANCE_CRITERIA,
    "farthest": DISTANCE_CRITERIA,
    "order_near_far": DISTANCE_CRITERIA,
    "largest": SIZE_CRITERIA,
    "smallest": SIZE_CRITERIA,
    "tallest": SIZE_CRITERIA,
    "shortest": SIZE_CRITERIA,
}


def _beats(ctx: ViewContext, variant: str, x, y) -> Judgement:
    """Does x beat y on the variant's criterion (nearer to the camera / larger / taller / ...)?"""
    if variant in ("nearest", "order_near_far"):
        return compare_distances(ctx.distances[x.object_id], ctx.distances[y.object_id], ctx.cam_frame)
    if variant == "farthest":
        return compare_distances(ctx.distances[y.object_id], ctx.distances[x.object_id], ctx.cam_frame)
    relation = {"largest": BIGGER, "smallest": SMALLER, "tallest": TALLER, "shortest": SHORTER}[variant]
    return compare_sizes(relation, relation.metric(x.box), relation.metric(y.box), frame=ctx.cam_frame)


def _ranking(ctx: ViewContext, variant: str, objs) -> list[int] | str:
    """Indices of objs from best to worst on the criterion when every pairwise comparison is clear."""
    wins = [0] * len(objs)
    for i in range(len(objs)):
        for k in range(i + 1, len(objs)):
            j = _beats(ctx, variant, objs[i], objs[k])
            if j.truth is Truth.AMBIGUOUS:
                return _reason(j)
            wins[i if j.truth is Truth.TRUE else k] += 1
    order = sorted(range(len(objs)), key=lambda i: -wins[i])
    if sorted(wins, reverse=True) != list(range(len(objs) - 1, -1, -1)):
        return NO_CLEAR_EXTREME  # a cycle cannot happen with these transitive criteria; kept as a guard
    return order


def _criterion_line(ctx: ViewContext, variant: str, obj) -> str:
    box = obj.box  # sizes are the same in every frame
    if variant in ("nearest", "farthest", "order_near_far"):
        return f"{trace_name(obj)}: distance {ctx.distances[obj.object_id]:.3f} m"
    if variant in ("largest", "smallest"):
        return f"{trace_name(obj)}: volume {box.volume:.4f} m^3"
    return f"{trace_name(obj)}: height {box.height:.3f} m"


@register(
    name="extreme_and_order",
    level=2,
    family="relational_comparison",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=EXTREME_VARIANTS,
    definition="Of three objects: nearest/farthest to the camera, largest/smallest, tallest/shortest, or "
    "their order from nearest to farthest (every pair separated by its relation's margin).",
)
def extreme_and_order(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    slots = ("a", "b", "c")
    for objs, variant in with_variants(ctx.visible, 3, EXTREME_VARIANTS, rng):
        if variant == "order_near_far":
            ranking = _ranking(ctx, variant, objs)
        else:
            # Only the winner must be clear against both others; the two losers may tie.
            wins = [
                all(_beats(ctx, variant, o, p).truth is Truth.TRUE for p in objs if p is not o) for o in objs
            ]
            ranking = [wins.index(True)] if any(wins) else NO_CLEAR_EXTREME
        if isinstance(ranking, str):
            yield ranking
            continue
        mentions = tuple(Mention(s, o, "option") for s, o in zip(slots, objs, strict=True))
        lines = tuple(_criterion_line(ctx, variant, o) for o in objs)
        if variant == "order_near_far":
            perms = {"".join(p): ", ".join(f"{{{s}}}" for s in p) for p in permutations(slots)}
            value = "".join(slots[i] for i in ranking)
            answer = Category(value, perms)
        else:
            value = slots[ranking[0]]
            answer = Category(value, OBJECT_SLOTS_3)
        yield Fact(
            "extreme_and_order",
            variant,
            mentions,
            answer,
            ctx.cam_frame if variant in ("nearest", "farthest", "order_near_far") else None,
            (*lines, f"{variant}: {value}"),
            avoid_criteria=_EXTREME_CRITERIA[variant],
        )


SIZE_COMPARISONS = {"bigger": BIGGER, "smaller": SMALLER, "taller": TALLER, "shorter": SHORTER}


@register(
    name="relative_size",
    level=2,
    family="relational_comparison",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=tuple(SIZE_COMPARISONS),
    definition="Which of two objects is bigger/smaller (box volume) or taller/shorter (height), ratio 1.15.",
)
def relative_size(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for (a, b), variant in with_variants(ctx.visible, 2, tuple(SIZE_COMPARISONS), rng):
        relation = SIZE_COMPARISONS[variant]
        j = compare_sizes(relation, relation.metric(a.box), relation.metric(b.box), frame="object")
        if j.truth is Truth.AMBIGUOUS:
            yield _reason(j)
            continue
        value = "a" if j.truth is Truth.TRUE else "b"
        metric = "volume" if variant in ("bigger", "smaller") else "height"
        yield Fact(
            "relative_size",
            variant,
            (Mention("a", a, "option"), Mention("b", b, "option")),
            Category(value, OBJECT_SLOTS_2),
            None,
            (
                f"{metric} ratio {trace_name(a)} / {trace_name(b)} = {j.quantity:.3f} "
                f"vs margin {j.margin:.2f} -> {value}",
            ),
            avoid_criteria=SIZE_CRITERIA,
        )


# ---------------------------------------------------------------- orientation relations (need fronts)

FACING_PHRASES = {
    "same": "the same direction",
    "opposite": "opposite directions",
    "perpendicular": "perpendicular directions",
}
TOWARDS_PHRASES = {"towards": "facing towards", "not_towards": "not facing towards"}


@register(
    name="orientation_relation",
    level=2,
    family="orientation",
    requires=("boxes", "front"),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=("facing_relation", "facing_towards"),
    definition="Whether A and B face the same, opposite or perpendicular directions; whether A faces B.",
)
def orientation_relation(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for (a, b), variant in with_variants(ctx.visible, 2, ("facing_relation", "facing_towards"), rng):
        front_a, front_b = ctx.front_judge(a), ctx.front_judge(b)
        if front_a is None or (variant == "facing_relation" and front_b is None):
            yield NO_FRONT
            continue
        if variant == "facing_relation":
            rel = facing_relation(front_a, front_b, frame=ctx.judge_frame)
            if rel.value is None:
                yield rel.reason or "within_margin"
                continue
            answer = Category(rel.value, FACING_PHRASES)
            line = f"horizontal angle between the fronts = {rel.angle_deg:.1f} deg -> {rel.value}"
        else:
            j = facing_towards_centres(
                ctx.center_judge[a.object_id], front_a, ctx.center_judge[b.object_id], frame=ctx.judge_frame
            )
            if j.truth is Truth.AMBIGUOUS:
                yield _reason(j)
                continue
            value = "towards" if j.truth is Truth.TRUE else "not_towards"
            answer = Category(value, TOWARDS_PHRASES)
            line = (
                f"angle between the front of {trace_name(a)} and the direction to {trace_name(b)} "
                f"= {j.quantity:.1f} deg"
            )
        yield Fact(
            "orientation_relation",
            variant,
            (Mention("a", a, "a"), Mention("b", b, "b")),
            answer,
            ctx.judge_frame,
            (line,),
        )


CENTRIC_PHRASES = {
    "front": "in front of",
    "back": "behind",
    "left": "to the left of",
    "right": "to the right of",
}
CENTRIC_OPTIONS = {"front": "in front", "back": "behind", "left": "to the left", "right": "to the right"}


@register(
    name="object_centric_relation",
    level=2,
    family="relative_direction",
    requires=("boxes", "front"),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    definition="Where B is in A's own frame (A's front, left, back or right), 10-degree gaps at diagonals.",
)
def object_centric_relation(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for a, b in combos(ctx.visible, 2, rng):
        front = ctx.front_judge(a)
        if front is None:
            yield NO_FRONT
            continue
        pos = object_centric_between(
            ctx.center_judge[a.object_id], front, ctx.center_judge[b.object_id], frame=f"object:{a.object_id}"
        )
        if pos.value is None:
            yield pos.reason or "within_margin"
            continue
        yield Fact(
            "object_centric_relation",
            "",
            (Mention("a", a, "reference_object"), Mention("b", b, "target")),
            Category(pos.value, CENTRIC_PHRASES, CENTRIC_OPTIONS),
            f"object:{a.object_id}",
            (
                f"direction to {trace_name(b)} in the frame of {trace_name(a)}: "
                f"{pos.angle_deg:.1f} deg -> {pos.value}",
            ),
        )
