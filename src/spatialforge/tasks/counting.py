"""Level 3 spatial counting (HiSpatial L3 "spatial object counting", paper 002 sec. 3.1 (ii) and Table 7:
"identify and enumerate target objects that satisfy specific spatial relationship constraints relative to a
given reference anchor").

`spatial_counting` asks "How many <category plural> are <relation> <anchor>?". The anchor is a mention (named
uniquely by the renderer); the counted objects are not: the question names their category only, so the
answer must hold for every object of that category a viewer could see. Relations, judged on box centres:
- left_right: to the left / right of the anchor along x of the judging frame (cam_gravity when gravity is
  known), SPAR's 0.1 m margin, exactly as relative_direction judges it;
- front_behind: in front of (closer to the camera) / behind the anchor along depth z of the judging frame,
  same margin;
- within_distance: Euclidean centre distance to the anchor below a round threshold N drawn per question from
  DISTANCE_THRESHOLDS_M, only among thresholds with no member's distance within max(0.1 m, 10 % of N) of it.

A count that might be off by one is never asked:
- a member whose relation to the anchor is AMBIGUOUS (within the margin) rejects the question
  ("member_within_margin");
- a member that is in view but that the generator does not treat as visible (qa.references
  visibility_refusal "below_min_area" or "no_box2d": a viewer may still see it), or that has a degenerate box,
  rejects the question unless it clearly fails the relation (then it cannot change the count whether or not
  the viewer counts it) ("uncountable_member_in_view"). Objects with no observation in the view or behind the
  camera are not in the image and are not counted.
The anchor is never one of the counted objects, and a category is only asked about when it has at least one
visible object other than the anchor (so "how many beds are left of the bed?" is never asked).

Zero counts: a category whose members all fail the relation gives the answer 0, a real and useful answer
("none"), but in sparse scenes about half of all candidates would be zeros. Zero-count facts are kept with
probability ZERO_COUNT_KEEP = 0.5 (the rest are rejected as "zero_count_thinned"); on the demo's random box
scenes this leaves about a quarter of the asked counts at 0 (docs: TASKS.md). The coin is drawn for every
candidate whatever its count, so the task's random stream does not depend on the geometry.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from spatialforge.geometry.relations import (
    BEHIND,
    DISTANCE_RELATIVE_MARGIN,
    IN_FRONT_OF,
    LEFT_OF,
    POSITION_MARGIN_M,
    RIGHT_OF,
    AxisRelation,
    Truth,
    direction_between,
)
from spatialforge.qa.references import ORDINAL_WORDS
from spatialforge.scene.records import Object3D
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registration import register
from spatialforge.tasks.sampling import with_variants
from spatialforge.tasks.spec import DISTANCE_CRITERIA, Count, Fact, Mention, trace_name

Vec3 = tuple[float, float, float]

COUNT_VARIANTS = ("left_right", "front_behind", "within_distance")

# Rejection reasons (besides the renderer's reference_* reasons).
MEMBER_WITHIN_MARGIN = (
    "member_within_margin"  # a counted object's relation to the anchor is within the margin
)
UNCOUNTABLE_MEMBER_IN_VIEW = "uncountable_member_in_view"  # in view, not countable, may satisfy the relation
NO_CLEAR_THRESHOLD = "no_clear_threshold"  # every round threshold lies within the margin of some member
ZERO_COUNT_THINNED = "zero_count_thinned"  # a zero count not kept by the ZERO_COUNT_KEEP coin

# Visibility refusals (qa.references) of objects that are in the image but are not treated as visible: a
# viewer may still see them, so they may be in the viewer's count.
IN_VIEW_REFUSALS = frozenset({"below_min_area", "no_box2d"})

# Probability that a candidate whose count is 0 is asked (our choice; HiSpatial does not say how often it
# asks zero counts). See the module docstring.
ZERO_COUNT_KEEP = 0.5

# Round thresholds for "within N meters of" (metres). A threshold is usable when it is in the members' range
# (from half the smallest to twice the largest member distance, so "within 30 meters" is not asked about
# objects 2 m away) and no member's distance is within max(POSITION_MARGIN_M, 10 % of N) of it.
DISTANCE_THRESHOLDS_M = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0)

# Reference criteria that would give a count away: "the leftmost chair" as the anchor of "how many chairs are
# to the left of ...", "the second chair from the left" (one chair), "the nearest chair" for "in front of".
LEFT_RIGHT_CRITERIA = frozenset(
    {"leftmost", "rightmost"}
    | {f"{w}_from_{side}" for w in ORDINAL_WORDS.values() for side in ("left", "right")}
)

# variant -> the two relations it asks (one drawn per question by a coin) and their phrases.
_AXIS_RELATIONS: dict[str, tuple[tuple[AxisRelation, str], tuple[AxisRelation, str]]] = {
    "left_right": ((LEFT_OF, "to the left of"), (RIGHT_OF, "to the right of")),
    "front_behind": ((IN_FRONT_OF, "in front of"), (BEHIND, "behind")),
}
_AVOID = {
    "left_right": LEFT_RIGHT_CRITERIA,
    "front_behind": DISTANCE_CRITERIA,
    "within_distance": frozenset(),
}


# ---------------------------------------------------------------- plurals

# Whole categories whose plural is not the plural of their last word.
_PLURAL_PHRASES = {
    "person sitting": "people sitting",
    "stool with back": "stools with backs",
}
# Last words with an irregular plural, or already plural / invariant (kept as they are).
_PLURAL_WORDS = {
    "person": "people",
    "man": "men",
    "woman": "women",
    "child": "children",
    "foot": "feet",
    "mouse": "mice",
    "shelf": "shelves",
    "bookshelf": "bookshelves",
    "knife": "knives",
    "leaf": "leaves",
    "wolf": "wolves",
    "lens": "lenses",
    "potato": "potatoes",
    "tomato": "tomatoes",
    "sheep": "sheep",
    "fish": "fish",
    "deer": "deer",
    "series": "series",
    "species": "species",
    "aircraft": "aircraft",
    "people": "people",
    "police": "police",
}
_VOWELS = frozenset("aeiou")


def plural_word(word: str) -> str:
    """English plural of one lower-case noun: the table, else the rule -- already plural ("blinds",
    "shoes": ends in s but not ss/us) unchanged; s/x/z/ch/sh -> +es ("glass" -> "glasses", "bus" ->
    "buses", "bench" -> "benches"); consonant + y -> ies ("pantry" -> "pantries"); else +s."""
    if word in _PLURAL_WORDS:
        return _PLURAL_WORDS[word]
    if word.endswith("s") and not word.endswith(("ss", "us")):
        return word
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if len(word) > 1 and word.endswith("y") and word[-2] not in _VOWELS:
        return word[:-1] + "ies"
    return word + "s"


def category_plural(category: str) -> str:
    """Plural of a category as questions write it ("night_stand" -> "night stands", "person" -> "people"):
    the phrase table, else the plural of the last word (the head noun of our category names)."""
    text = " ".join(category.replace("_", " ").split())
    if text in _PLURAL_PHRASES:
        return _PLURAL_PHRASES[text]
    head, _, last = text.rpartition(" ")
    return f"{head} {plural_word(last)}" if head else plural_word(last)


def meters_text(value_m: float) -> str:
    """A round threshold in words: "1 meter", "0.5 meters", "2.5 meters"."""
    return f"{value_m:g} meter" + ("" if value_m == 1.0 else "s")


# ---------------------------------------------------------------- members of a category


class Member(NamedTuple):
    """An object of the counted category other than the anchor that is in the image.
    countable: visible (a viewer and the generator both see it); else in view but not countable reliably.
    centre_judge: (3,) m, judging frame; None for a degenerate box (its relation cannot be judged)."""

    obj: Object3D
    countable: bool
    centre_judge: Vec3 | None
    why_not: str  # "" when countable, else the visibility refusal or "degenerate_box"


def _members_by_category(ctx: ViewContext) -> dict[str, list[Member]]:
    """category -> every object of the scene in the image (visible, or in view but refused), scene order."""
    visible = {o.object_id for o in ctx.visible}
    cam_from_world = ctx.view.cam_from_world()
    out: dict[str, list[Member]] = {}
    for obj in ctx.scene.objects:
        if obj.object_id in visible:
            member = Member(obj, True, ctx.center_judge[obj.object_id], "")
        else:
            refusal = ctx.visibility_of(obj)
            if refusal is None:  # in view, but its box is degenerate (ViewContext drops it)
                member = Member(obj, False, None, "degenerate_box")
            elif refusal.reason in IN_VIEW_REFUSALS:
                if not obj.box.is_well_formed:
                    member = Member(obj, False, None, "degenerate_box")
                else:
                    centre = ctx.judge_from_cam @ cam_from_world.apply(obj.box.center)  # (3,) m, judge
                    xyz = (float(centre[0]), float(centre[1]), float(centre[2]))
                    member = Member(obj, False, xyz, refusal.reason)
            else:
                continue  # not in the image (no observation, behind the camera)
        out.setdefault(obj.category, []).append(member)
    return out


# ---------------------------------------------------------------- judging one member


def _fmt_m(value: float) -> str:
    return f"{value:.3f} m"


def _axis_judgement(
    relation: AxisRelation, phrase: str, member: Vec3, anchor: Vec3, anchor_name: str, frame: str
) -> tuple[Truth, str]:
    """relative_direction's judgement of member against anchor (centres, judging frame) and its trace."""
    j = direction_between(relation, member, anchor, frame=frame)
    axis = "xyz"[relation.axis]
    line = (
        f"{axis} = {_fmt_m(member[relation.axis])} vs {axis}({anchor_name}) = "
        f"{_fmt_m(anchor[relation.axis])}, "
        f"score {j.quantity:.3f} m vs margin {j.margin:.2f} m -> {phrase}: {_truth_word(j.truth)}"
    )
    return j.truth, line


def _distance_judgement(distance: float, threshold: float) -> tuple[Truth, str]:
    margin = _threshold_margin(threshold)
    if distance < threshold - margin:
        truth = Truth.TRUE
    elif distance > threshold + margin:
        truth = Truth.FALSE
    else:
        truth = Truth.AMBIGUOUS
    line = (
        f"distance {_fmt_m(distance)} vs {threshold:g} m (margin {margin:.2f} m) -> "
        f"within: {_truth_word(truth)}"
    )
    return truth, line


def _truth_word(truth: Truth) -> str:
    return {Truth.TRUE: "yes", Truth.FALSE: "no", Truth.AMBIGUOUS: "ambiguous"}[truth]


def _threshold_margin(threshold: float) -> float:
    """A member's distance must differ from the threshold by more than this (metres): the relations' distance
    margin, max(0.1 m, 10 %)."""
    return max(POSITION_MARGIN_M, DISTANCE_RELATIVE_MARGIN * threshold)


def usable_thresholds(distances: Sequence[float]) -> list[float]:
    """The round thresholds (DISTANCE_THRESHOLDS_M) in the members' range that no distance comes within the
    margin of; distances: centre distances (m) of every member in the image, countable or not."""
    if not distances:
        return []
    low, high = 0.5 * min(distances), 2.0 * max(distances)
    return [
        t
        for t in DISTANCE_THRESHOLDS_M
        if low <= t <= high and all(abs(d - t) > _threshold_margin(t) for d in distances)
    ]


# ---------------------------------------------------------------- the task


@register(
    name="spatial_counting",
    level=3,
    family="counting",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=COUNT_VARIANTS,
    definition="How many objects of a category are left/right of, in front of/behind, or within N m of an "
    "anchor (centres, 0.1 m / max(0.1 m, 10 %) margins; never asked when a member is ambiguous or in view "
    "but uncountable).",
)
def spatial_counting(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    groups = _members_by_category(ctx)
    # (anchor, category) pairs where the category has a visible object other than the anchor.
    pairs = [
        (anchor, category)
        for anchor in ctx.visible
        for category, members in groups.items()
        if any(m.countable and m.obj.object_id != anchor.object_id for m in members)
    ]
    for ((anchor, category),), variant in with_variants(pairs, 1, COUNT_VARIANTS, rng):
        # Both coins are drawn for every candidate, so the rng stream does not depend on the geometry.
        side_coin, zero_coin = rng.random(), rng.random()
        members = [m for m in groups[category] if m.obj.object_id != anchor.object_id]
        yield _count_fact(ctx, anchor, category, members, variant, side_coin, zero_coin)


def _count_fact(
    ctx: ViewContext,
    anchor: Object3D,
    category: str,
    members: list[Member],
    variant: str,
    side_coin: float,
    zero_coin: float,
) -> Fact | str:
    anchor_centre = ctx.center_judge[anchor.object_id]  # (3,) m, judging frame
    plural = category_plural(category)
    if variant == "within_distance":
        # Distances are the same in the judging and the camera frame (same origin, rotation only).
        distances = {
            m.obj.object_id: math.dist(m.centre_judge, anchor_centre)
            for m in members
            if m.centre_judge is not None
        }
        thresholds = usable_thresholds(list(distances.values()))
        if not thresholds:
            return NO_CLEAR_THRESHOLD
        threshold = thresholds[min(int(side_coin * len(thresholds)), len(thresholds) - 1)]
        phrase = f"within {meters_text(threshold)} of"
        frame = ctx.cam_frame
        header = (
            f"count {plural} other than {trace_name(anchor)} whose centre is within {threshold:g} m "
            f"of the centre of {trace_name(anchor)} (Euclidean, margin {_threshold_margin(threshold):.2f} m)"
        )
    else:
        relation, phrase = _AXIS_RELATIONS[variant][0 if side_coin < 0.5 else 1]
        frame = ctx.judge_frame
        header = (
            f"count {plural} other than {trace_name(anchor)} that are {phrase} {trace_name(anchor)} "
            f"in {frame} (centres, margin {POSITION_MARGIN_M:.2f} m)"
        )
    lines = [header]
    count = 0
    for m in members:
        name = trace_name(m.obj)
        if m.centre_judge is None:
            return UNCOUNTABLE_MEMBER_IN_VIEW  # in view with a degenerate box: cannot be judged
        if variant == "within_distance":
            truth, line = _distance_judgement(distances[m.obj.object_id], threshold)
        else:
            truth, line = _axis_judgement(
                relation, phrase, m.centre_judge, anchor_centre, trace_name(anchor), frame
            )
        if not m.countable:
            if truth is not Truth.FALSE:
                return UNCOUNTABLE_MEMBER_IN_VIEW
            lines.append(f"{name} (in view, not countable: {m.why_not}): {line}; cannot change the count")
            continue
        if truth is Truth.AMBIGUOUS:
            return MEMBER_WITHIN_MARGIN
        count += truth is Truth.TRUE
        lines.append(f"{name}: {line}")
    if count == 0 and zero_coin >= ZERO_COUNT_KEEP:
        return ZERO_COUNT_THINNED
    lines.append(f"count = {count}")
    return Fact(
        "spatial_counting",
        variant,
        (Mention("a", anchor, "anchor"),),
        Count(count),
        frame,
        tuple(lines),
        avoid_criteria=_AVOID[variant],
        slots={"objects": plural, "relation": phrase},
    )
