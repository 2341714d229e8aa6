"""Tasks that exist only across views (SPAR paper 003, appendix 7.5; SPAR-Bench Medium and SPAR-7M).

Pair tasks (two co-visible posed views, image 1 the reference):
- `position_matching` ("Position matching"): an object boxed in image 1; its box in image 2 on SPAR's 0-1000
  grid. Multiple choice offers the boxes of other objects seen in image 2 (and shifted copies of the true box
  when too few), none overlapping the truth by IoU >= DISTRACTOR_MAX_IOU; free answers are scored by IoU.
- `view_change_infer` ("View chang infer", SPAR-Bench ViewChgI): how the camera moves and turns from image 1
  to image 2 (geometry/camera_motion.py gives the convention: translation in camera 1's gravity-aligned
  heading frame, yaw about gravity then pitch). fill answers SPAR's released string
  "move_right:1.2,move_up:0.4,move_forward:1.4,rotate_up:5,rotate_left:90"; free and sentence answers say it
  in a sentence. Scored by the mean MRA of the five components. A pair whose motion rounds to nothing is not
  asked.
- `camera_motion_infer` ("Camera pose", SPAR-Bench CamMotion): where camera 2's centre appears in image 1
  (0-1000 grid) and at what depth (SPAR eq. 9); only when it projects inside image 1 in front of camera 1.
  Options are
  SPAR's "Image Coor: (x, y), Depth: d meters" (appendix 7.6), the wrong ones far in the image or in depth.

Sequence tasks (a window of keyframes in capture order, multiview.SEQUENCE_LENGTH):
- `obj_frame_locate` ("Obj frame location"): an object boxed in one image; which other images show it.
- `appearance_order` ("Obj frame location" second paragraph, i.e. appearance order): the order in which
  three objects first appear.
- `obj_count` ("Obj count"): how many instances of a category the images show (SPAR skips labels with fewer
  than two instances).
- `room_size` ("Room size"): the room's floor area from the scene's mesh or point cloud (scene/room.py), asked
  once per scene.

"Shows" is the visibility rule of every question (qa.references.visibility_refusal). An object with an
observation in an image that the rule refuses (too small, mostly occluded) is neither clearly shown nor
clearly absent there: a question whose answer depends on it is rejected (`ambiguous_appearance`), never
guessed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from itertools import permutations

from spatialforge.bench.metrics import (
    BOX_IOU_THRESHOLD,
    IMAGE_POINT_MAX_GRID_ERROR,
    IMAGE_POINT_MAX_RELATIVE_DEPTH_ERROR,
    box_iou,
)
from spatialforge.geometry.camera_motion import (
    camera_in_image,
    paper_string,
    released_string,
    rounded_components,
    sentence,
    view_change,
)
from spatialforge.qa.references import box_marker
from spatialforge.scene.records import UNLOCATED_CATEGORIES_KEY, Object3D
from spatialforge.scene.room import room_area
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.counting import plural_word
from spatialforge.tasks.multiview import ViewSetContext
from spatialforge.tasks.multiview_variants import MULTI_VIEW_FAMILY
from spatialforge.tasks.registration import register
from spatialforge.tasks.sampling import below
from spatialforge.tasks.spec import Category, Count, Fact, Mention, Quantity, Structured, trace_name

# --- Reasons ---------------------------------------------------------------------------------------------
NOT_IN_BOTH = "not_in_both_images"
DEGENERATE_GRID_BOX = "degenerate_grid_box"  # the box in image 2 has no width or height on the 0-1000 grid
CAMERA_TOO_CLOSE = "camera_too_close"  # camera 2 under CAMERA_MIN_DEPTH_M ahead of camera 1
NO_MOTION = "no_motion"  # every view-change component rounds to zero
AMBIGUOUS_APPEARANCE = "ambiguous_appearance"  # observed in an image, but too little to count as shown
ONLY_IN_REFERENCE = "only_in_reference"
SAME_FIRST_IMAGE = "same_first_image"
NAME_NOT_UNIQUE = "name_not_unique"
TOO_FEW_INSTANCES = "too_few_instances"
GENERIC_CATEGORY = "generic_category"
NOT_FIRST_SEQUENCE = "room_asked_once"

# --- Margins and parameters ------------------------------------------------------------------------------
# position_matching: free boxes are scored by bench.metrics.box_iou (correct at BOX_IOU_THRESHOLD, 0.5; SPAR
# scores this task as multiple choice); wrong options overlap the truth by less than DISTRACTOR_MAX_IOU, so
# none is nearly right.
DISTRACTOR_MAX_IOU = 0.25
# camera_motion_infer: a free answer is correct within IMAGE_POINT_MAX_GRID_ERROR grid units (100, 10 % of the
# image) and IMAGE_POINT_MAX_RELATIVE_DEPTH_ERROR in depth (25 %, the SpatialRGPT band), bench.metrics; wrong
# options lie at least twice the grid tolerance away, or off in depth by a ratio outside
# [1 / DEPTH_DISTRACTOR_RATIO, DEPTH_DISTRACTOR_RATIO].
DEPTH_DISTRACTOR_RATIO = 1.6
# A camera 2 less than this far ahead of camera 1 sits almost in image 1's plane: its projection swings across
# the image with centimetres of pose noise (our choice, the depth at which 5 cm sideways moves the point by
# about a tenth of a typical 60 degree field of view).
CAMERA_MIN_DEPTH_M = 0.5
# obj_count: SPAR "exclude labels with fewer than two object instances".
MIN_COUNT = 2
# The category CA-1M gives most of its boxes (SPEC 7): counting "objects" is not a question.
GENERIC_CATEGORIES = frozenset({"object", "objects", "unknown", "other"})
MCQ_DISTRACTORS = 3
GRID = 1000


def _box_text(box: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(c) for c in box) + "]"


def _grid_box(view_set: ViewSetContext, obj: Object3D, image: int) -> tuple[int, int, int, int]:
    norm = box_marker(view_set.views[image].view, obj, "red").normalized_1000  # 0-1000 grid, xyxy
    return tuple(int(round(c)) for c in norm)  # type: ignore[return-value]


def _shifted_boxes(truth: tuple[int, ...], rng: random.Random) -> Iterator[tuple[int, int, int, int]]:
    """Copies of the true box moved by at least its own size, inside the grid (fallback distractors)."""
    w, h = truth[2] - truth[0], truth[3] - truth[1]
    for _ in range(40):
        x0 = rng.randint(0, max(0, GRID - w))
        y0 = rng.randint(0, max(0, GRID - h))
        yield (x0, y0, x0 + w, y0 + h)


def _box_distractors(
    view_set: ViewSetContext, obj: Object3D, truth: tuple[int, ...], rng: random.Random
) -> tuple[str, ...]:
    """Up to MCQ_DISTRACTORS wrong boxes in image 2: other objects' boxes first, then shifted copies."""
    others = [o for o in view_set.views[1].visible if o.object_id != obj.object_id]
    rng.shuffle(others)
    candidates = [_grid_box(view_set, o, 1) for o in others]
    chosen: list[tuple[int, ...]] = []
    for box in (*candidates, *_shifted_boxes(truth, rng)):
        if len(chosen) == MCQ_DISTRACTORS:
            break
        if all(box_iou(box, other) < DISTRACTOR_MAX_IOU for other in (truth, *chosen)):
            chosen.append(box)
    return tuple(_box_text(b) for b in chosen)


@register(
    name="position_matching",
    level=2,
    family=MULTI_VIEW_FAMILY,
    requires=("boxes", "multi_view"),
    formats=("free", "mcq"),
    metric="box_iou",
    definition="Given an object's box in image 1, its box in image 2 (0-1000 grid); free answers correct at "
    "IoU >= 0.5.",
    scope="pair",
)
def position_matching(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
    objects = list(view_set.objects)
    rng.shuffle(objects)
    for obj in objects:
        if view_set.images_of(obj) != (0, 1):
            yield NOT_IN_BOTH
            continue
        truth = _grid_box(view_set, obj, 1)
        if truth[2] <= truth[0] or truth[3] <= truth[1]:  # a sliver rounds to no area on the grid: the
            yield DEGENERATE_GRID_BOX  # scorer refuses such a gold (bench.metrics.box_iou is undefined)
            continue
        text = _box_text(truth)
        yield Fact(
            "position_matching",
            "",
            (Mention("a", obj, "target", image=0),),
            Structured(
                "box",
                truth,
                text,
                "box_iou",
                {"answer_type": "box", "threshold": BOX_IOU_THRESHOLD},
                distractors=_box_distractors(view_set, obj, truth, rng),
            ),
            f"image:{view_set.view_ids[1]}",
            (f"2D box of {trace_name(obj)} in {view_set.view_ids[1]} on the 0-1000 grid: {text}",),
            view_ids=view_set.view_ids,
        )


@register(
    name="view_change_infer",
    level=2,
    family=MULTI_VIEW_FAMILY,
    requires=("boxes", "multi_view"),
    formats=("free",),
    metric="view_change_mra",
    definition="How the camera moves (right, up, forward in metres, in image 1's gravity-aligned heading "
    "frame) and turns (up, left in degrees) from image 1 to image 2; mean MRA over the five components.",
    scope="pair",
)
def view_change_infer(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
    first, second = view_set.views[0].view, view_set.views[1].view
    # up_world: None without gravity, and view_change then uses camera 1's own axes.
    motion = view_change(first.world_from_cam, second.world_from_cam, view_set.views[0].up_world)
    if isinstance(motion, str):
        yield motion
        return
    components = rounded_components(motion)
    if all(v == 0.0 for v in components.values()):
        yield NO_MOTION
        return
    released = released_string(motion)
    yield Fact(
        "view_change_infer",
        "",
        (),
        Structured(
            "view_change",
            released,
            released,
            "view_change_mra",
            {"answer_type": "view_change", "variant": "corrected"},
            phrase=sentence(motion),
        ),
        motion.frame,
        (
            f"in {motion.frame}: camera 2 centre - camera 1 centre = right {motion.move_right_m:.3f} m, up "
            f"{motion.move_up_m:.3f} m, forward {motion.move_forward_m:.3f} m",
            f"yaw (left +) {math.degrees(motion.rotate_left_rad):.2f} deg, pitch change (up +) "
            f"{math.degrees(motion.rotate_up_rad):.2f} deg",
            f"answer: {paper_string(motion)}",
        ),
        view_ids=view_set.view_ids,
    )


def _point_text(x: int, y: int, depth_m: float) -> str:
    # SPAR's option text (appendix 7.6, CamPos choice): "Image Coor: (514, 95), Depth: 4.8 meters".
    return f"Image Coor: ({x}, {y}), Depth: {depth_m:.1f} meters"


def _point_distractors(x: int, y: int, depth_m: float, rng: random.Random) -> tuple[str, ...]:
    """Three wrong (point, depth) options: one near the true point but off in depth, two far in the image."""
    out: list[tuple[int, int, float]] = []
    ratio = DEPTH_DISTRACTOR_RATIO * (1.0 + 0.4 * rng.random())
    out.append((x, y, depth_m * ratio if rng.random() < 0.5 else depth_m / ratio))
    for _ in range(200):
        if len(out) == MCQ_DISTRACTORS:
            break
        px, py = rng.randint(0, GRID), rng.randint(0, GRID)
        far = all(
            math.hypot(px - qx, py - qy) >= 2 * IMAGE_POINT_MAX_GRID_ERROR for qx, qy, _ in [(x, y, 0), *out]
        )
        if far:
            out.append((px, py, depth_m * math.exp(rng.uniform(-0.5, 0.5))))
    return tuple(_point_text(px, py, d) for px, py, d in out)


@register(
    name="camera_motion_infer",
    level=2,
    family=MULTI_VIEW_FAMILY,
    requires=("boxes", "multi_view"),
    formats=("free", "mcq"),
    metric="image_point_within",
    definition="Where the camera of image 2 appears in image 1 (0-1000 grid) and its depth there; free "
    "answers correct within 100 grid units and 25 % in depth.",
    scope="pair",
)
def camera_motion_infer(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
    first, second = view_set.views[0].view, view_set.views[1].view
    seen = camera_in_image(first.camera, first.world_from_cam, second.world_from_cam)
    if isinstance(seen, str):
        yield seen
        return
    if seen.depth_m < CAMERA_MIN_DEPTH_M:
        yield CAMERA_TOO_CLOSE
        return
    depth = round(seen.depth_m, 2)
    x, y = seen.x_1000, seen.y_1000
    yield Fact(
        "camera_motion_infer",
        "",
        (),
        Structured(
            "image_point",
            (x, y, depth),
            _point_text(x, y, depth),
            "image_point_within",
            {
                "answer_type": "image_point",
                "max_grid_error": IMAGE_POINT_MAX_GRID_ERROR,
                "max_relative_depth_error": IMAGE_POINT_MAX_RELATIVE_DEPTH_ERROR,
            },
            unit="m",
            phrase=f"at ({x}, {y}) on the 0-1000 grid of image 1, {depth:.1f} meters deep",
            distractors=_point_distractors(x, y, depth, rng),
        ),
        first.frame,
        (
            f"camera 2 centre in {first.frame}: pixel ({seen.u_px:.1f}, {seen.v_px:.1f}), "
            f"depth {seen.depth_m:.3f} m",
            f"0-1000 grid: ({x}, {y})",
        ),
        view_ids=view_set.view_ids,
    )


# ---------------------------------------------------------------- sequences


# Visibility refusals that mean the object is clearly not in the image (qa.references.REFUSAL_REASONS); any
# other refusal (too small, mostly occluded, no valid box) means it is there but not clearly shown.
CLEARLY_ABSENT = frozenset({"not_visible", "behind_camera"})


def _glimpsed(ctx: ViewContext, obj: Object3D) -> bool:
    """Whether ctx's image observes obj without showing it (neither clearly present nor clearly absent)."""
    refusal = ctx.visibility_of(obj)
    return refusal is not None and refusal.reason not in CLEARLY_ABSENT


def _appearance(view_set: ViewSetContext, obj: Object3D) -> tuple[tuple[int, ...], bool]:
    """(images that show obj, whether some image observes it without showing it: ambiguous)."""
    return view_set.images_of(obj), any(_glimpsed(ctx, obj) for ctx in view_set.views)


def _numbers_text(numbers: tuple[int, ...]) -> str:
    return ", ".join(str(n) for n in numbers)


def _frame_distractors(truth: tuple[int, ...], candidates: list[int], rng: random.Random) -> tuple[str, ...]:
    """Other non-empty subsets of the candidate images (SPAR: "irrelevant frames as wrong options")."""
    subsets = set()
    for _ in range(60):
        k = rng.randint(1, len(candidates))
        subset = tuple(sorted(rng.sample(candidates, k)))
        if subset != truth:
            subsets.add(subset)
        if len(subsets) == MCQ_DISTRACTORS:
            break
    return tuple(_numbers_text(s) for s in sorted(subsets))


@register(
    name="obj_frame_locate",
    level=2,
    family=MULTI_VIEW_FAMILY,
    requires=("boxes", "multi_view"),
    formats=("free", "mcq"),
    metric="exact_set",
    definition="An object boxed in one image of a keyframe sequence: which other images show it (image "
    "numbers; exact set).",
    scope="sequence",
)
def obj_frame_locate(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
    objects = list(view_set.objects)
    rng.shuffle(objects)
    for obj in objects:
        shown, marginal = _appearance(view_set, obj)
        if marginal:
            yield AMBIGUOUS_APPEARANCE
            continue
        if len(shown) < 2:
            yield ONLY_IN_REFERENCE
            continue
        reference = shown[below(rng, len(shown))]
        numbers = tuple(i + 1 for i in shown if i != reference)
        others = [i + 1 for i in range(len(view_set.views)) if i != reference]
        text = _numbers_text(numbers)
        yield Fact(
            "obj_frame_locate",
            "",
            (Mention("a", obj, "target", image=reference),),
            Structured(
                "index_list",
                numbers,
                text,
                "exact_set",
                {"answer_type": "index_list"},
                phrase=f"image{'s' if len(numbers) > 1 else ''} {_and(numbers)}",
                distractors=_frame_distractors(numbers, others, rng),
            ),
            None,
            (f"{trace_name(obj)} is shown in images {_numbers_text(tuple(i + 1 for i in shown))}",),
            slots={"reference": str(reference + 1)},
            view_ids=view_set.view_ids,
        )


def _and(numbers: tuple[int, ...]) -> str:
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _uniquely_named(view_set: ViewSetContext) -> list[Object3D]:
    """Objects whose category no other object seen in the set shares (and no unlocated object has): "the
    <category>" names them in every image, so no marker is needed (a marker would show where, and so
    when, an object first appears)."""
    counts: dict[str, int] = {}
    for o in view_set.objects:
        counts[o.category] = counts.get(o.category, 0) + 1
    unlocated = set(view_set.scene.metadata.get(UNLOCATED_CATEGORIES_KEY) or ())
    return [
        o
        for o in view_set.objects
        if counts[o.category] == 1 and o.category not in unlocated and o.category not in GENERIC_CATEGORIES
    ]


@register(
    name="appearance_order",
    level=2,
    family=MULTI_VIEW_FAMILY,
    requires=("boxes", "multi_view"),
    formats=("free", "mcq"),
    metric="accuracy",
    definition="The order in which three uniquely named objects first appear in a keyframe sequence (first "
    "images all different).",
    scope="sequence",
)
def appearance_order(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
    named = _uniquely_named(view_set)
    if len(named) < 3:
        yield NAME_NOT_UNIQUE
        return
    slots = ("a", "b", "c")
    tried = 0
    while tried < 3 * len(named):
        tried += 1
        trio = rng.sample(named, 3)
        firsts = []
        for obj in trio:
            shown = view_set.images_of(obj)
            # An object glimpsed before it is shown would make "first appears" ambiguous.
            if any(_glimpsed(view_set.views[i], obj) for i in range(shown[0])):
                firsts = None
                break
            firsts.append(shown[0])
        if firsts is None:
            yield AMBIGUOUS_APPEARANCE
            continue
        if len(set(firsts)) < 3:
            yield SAME_FIRST_IMAGE
            continue
        ranking = sorted(range(3), key=lambda i: firsts[i])
        perms = {"".join(p): ", ".join(f"{{{s}}}" for s in p) for p in permutations(slots)}
        value = "".join(slots[i] for i in ranking)
        yield Fact(
            "appearance_order",
            "",
            tuple(Mention(s, o, "option", image=None) for s, o in zip(slots, trio, strict=True)),
            Category(value, perms),
            None,
            tuple(f"{trace_name(o)} first shown in image {f + 1}" for o, f in zip(trio, firsts, strict=True))
            + (f"order: {value}",),
            view_ids=view_set.view_ids,
        )


@register(
    name="obj_count",
    level=2,
    family=MULTI_VIEW_FAMILY,
    requires=("boxes", "multi_view"),
    formats=("free", "mcq"),
    metric="accuracy",
    definition="How many instances of a category the images of a keyframe sequence show in all (at least 2).",
    scope="sequence",
)
def obj_count(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
    by_category: dict[str, list[Object3D]] = {}
    for o in view_set.objects:
        by_category.setdefault(o.category, []).append(o)
    unlocated = set(view_set.scene.metadata.get(UNLOCATED_CATEGORIES_KEY) or ())
    categories = sorted(by_category)
    rng.shuffle(categories)
    for category in categories:
        if category in GENERIC_CATEGORIES:
            yield GENERIC_CATEGORY
            continue
        if category in unlocated:
            yield AMBIGUOUS_APPEARANCE
            continue
        members = by_category[category]
        # An instance of the category glimpsed somewhere but shown nowhere makes the count ambiguous.
        glimpsed = [
            o
            for o in view_set.scene.objects
            if o.category == category
            and not view_set.images_of(o)
            and any(_glimpsed(ctx, o) for ctx in view_set.views)
        ]
        if glimpsed:
            yield AMBIGUOUS_APPEARANCE
            continue
        if len(members) < MIN_COUNT:
            yield TOO_FEW_INSTANCES
            continue
        yield Fact(
            "obj_count",
            "",
            (),
            Count(len(members)),
            None,
            (f"{category} instances shown: {', '.join(trace_name(o) for o in members)}",),
            slots={"category": category, "categories": plural_word(category)},
            view_ids=view_set.view_ids,
        )


@register(
    name="room_size",
    level=1,
    family=MULTI_VIEW_FAMILY,
    requires=("boxes", "multi_view"),
    formats=("free", "mcq", "tf"),
    metric="mra",
    definition="The room's floor area in square metres, from the alpha-shape outline of the scene mesh or "
    "point cloud seen from above (scene/room.py); asked once per scene.",
    scope="sequence",
)
def room_size(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
    if view_set.index != 0:
        yield NOT_FIRST_SEQUENCE
        return
    room = room_area(view_set.scene)
    if isinstance(room, str):
        yield room
        return
    yield Fact(
        "room_size",
        "",
        (),
        Quantity("area", room.area_m2, "mra"),
        "world",
        (
            f"{room.n_points} {room.geometry} points projected on the floor plane, {room.n_triangulated} "
            "kept for the alpha shape",
            f"floor area = {room.area_m2:.2f} m^2",
        ),
        view_ids=view_set.view_ids,
    )
