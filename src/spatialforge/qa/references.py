"""Unique object references in one view (SPEC section 3, "Object references").

A reference is text that identifies one object uniquely among the objects *visible* in a view:
1. the bare category ("the chair") when no other visible object shares it;
2. otherwise an extreme along one axis where the object is the clear extreme by a margin ("the leftmost
   chair", "the nearest chair", "the largest chair", ...) or an ordinal from the left/right ("the second chair
   from the left") when the image-space order of the whole category is unambiguous -- HiSpatial's CA-1M recipe
   (paper 002, sec. 7.3: category-based reference, linear ordering, positional and size comparison);
3. otherwise a visual marker, "the chair (highlighted by the red box)", with its geometry in pixels and on
   SPAR's 0-1000 grid (paper 003, sec. 3: coordinates normalised to 0-1000).
Anything else is a `ReferenceRefusal` with a named reason: a reference that is not unique is never produced.

Axes: left/right = u of the 2D box centre (pixels, image space, so it matches what the viewer sees);
near/far = Euclidean distance of the 3D box centre in the view's OpenCV camera frame (metres);
large/small = box volume (m^3); tall/short = box height, the object-frame z extent (metres). A scene without
metric scale (Scene.has_metric_scale false, e.g. ImageNet3D poses) gets left/right references only; a category
listed in Scene.metadata["unlocated_categories"] (in the picture, but some of its objects have no 3D box) gets
markers only.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.relations import POSITION_MARGIN_M, SIZE_RATIO_MARGIN
from spatialforge.qa.records import Marker, norm_from_px
from spatialforge.scene.records import UNLOCATED_CATEGORIES_KEY, Object3D, Scene, View

# An object counts as visible only if its (image-clipped) 2D box covers at least this fraction of the image.
# Our choice: 0.1% is ~15x20 px on 640x480, about the smallest box a person (or a VLM at 448 px input) can
# recognise; SPEC section 2 asks for a minimum projected area but papers give no number.
MIN_VISIBLE_AREA_FRACTION = 0.001
# An object counts as visible only if, where the source states its visibility (the fraction of it not hidden
# by other things: Omni3D's "visibility", the synthetic world's mask ratio), at least this much of it shows.
# Our choice: below a third, the object is mostly behind something and neither a person nor a model can
# judge its extent or its facing. Sources without a visibility (None) are not filtered here.
MIN_VISIBILITY = 0.33

# Image-space left/right order is "clear" when box centres differ by at least this fraction of the image
# width. Our choice (HiSpatial sec. 7.3 gives no number): 5% (32 px on 640 px) keeps chairs that stand side
# by side, with overlapping boxes, from being called leftmost/rightmost or numbered.
ORDER_GAP_FRACTION = 0.05

# Nearest/farthest needs the distances to differ by at least max(absolute, relative * nearer distance).
# The absolute floor is the relations' 0.1 m (SPAR's "indistinguishable" threshold, SPEC section 2); the
# relative 10% term is our choice because depth differences become hard to perceive as distance grows.
DISTANCE_MARGIN_M = POSITION_MARGIN_M
DISTANCE_MARGIN_REL = 0.1

# Largest/smallest needs the volumes to differ by this ratio. Our choice: 1.5x in volume is ~14% in each
# dimension, roughly the smallest size difference that is obvious at a glance.
VOLUME_RATIO_MARGIN = 1.5
# Tallest/shortest needs the heights to differ by the same ratio the "taller" relation uses.
HEIGHT_RATIO_MARGIN = SIZE_RATIO_MARGIN

# Ordinals we spell out, by 1-based position; positions past the last word are not numbered (counting more
# than five similar objects is error-prone for people and models alike). Position 1 is "leftmost/rightmost".
ORDINAL_WORDS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}

# Marker colours in the order they are handed out; the first marker of a question is red (SPEC section 3's
# example). All are distinct primary/secondary names a VLM knows.
MARKER_COLOURS = ("red", "green", "blue", "yellow", "purple", "orange")
# SPAR's order (its released drawing code reads red_bbox, blue_bbox, green_bbox, yellow_bbox in that order,
# e.g. red and blue for object relations): the `spar` format profile hands colours out in it, so exported
# records carry the marker keys SPAR's loader expects (export/spar.py).
SPAR_MARKER_COLOURS = ("red", "blue", "green", "yellow", "purple", "orange")

# SPAR's normalised image grid: round(1000 * x / width).
NORMALIZED_GRID = 1000

REFUSAL_REASONS = (
    "not_visible",  # no observation of the object in this view
    "behind_camera",  # flagged behind the camera, or its centre has z <= 0 in the camera frame
    "no_box2d",  # observation without a valid 2D box
    "below_min_area",  # 2D box smaller than MIN_VISIBLE_AREA_FRACTION of the image
    "mostly_occluded",  # the source says less than MIN_VISIBILITY of the object is visible in this view
    "unrankable_same_category",  # another object of the category is in view but cannot be ranked
    "ambiguous_no_marker",  # several of the category visible, no clear extreme/ordinal, markers not allowed
    "no_free_marker_colour",  # every marker colour is already used in this question
)


@dataclass(frozen=True)
class ReferenceRefusal:
    """Why no unique reference exists; reason is one of REFUSAL_REASONS."""

    reason: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.reason not in REFUSAL_REASONS:
            raise ValueError(f"unknown refusal reason {self.reason!r}")


# ReferenceMarker and Reference are NamedTuples: immutable, and built several times faster than frozen
# dataclasses (QA generation builds every visible object's references in every view).
class ReferenceMarker(NamedTuple):
    """A mark drawn on one view's image. kind "box": pixel = (x_min, y_min, x_max, y_max), image-clipped,
    pixels; normalized_1000 = the same on SPAR's 0-1000 grid (qa.records.norm_from_px)."""

    kind: str
    colour: str
    pixel: tuple[float, ...]
    normalized_1000: tuple[int, ...]
    view_id: str

    def to_qa_marker(self, image_index: int) -> Marker:
        """The QA record's marker, once the question knows where this view sits in its images list."""
        return Marker(self.kind, self.colour, image_index, self.normalized_1000, self.pixel)


class Reference(NamedTuple):
    """text: the noun phrase ("the leftmost chair"); kind: "category" | "extreme" | "ordinal" | "marker";
    criterion: what the text relies on ("leftmost", "nearest", "second_from_left", ...), so a task can avoid
    asking about the very property the reference names; None for "category" and "marker"."""

    object_id: str
    text: str
    kind: str
    criterion: str | None = None
    marker: ReferenceMarker | None = None


def _category_text(obj: Object3D) -> str:
    return obj.category.replace("_", " ")


def category_reference(obj: Object3D) -> Reference:
    """ "the <category>", for a caller that has checked that no other object it shows shares the category
    (a multi-image question naming an object without marking where it is)."""
    return Reference(obj.object_id, f"the {_category_text(obj)}", "category", None, None)


def visibility_refusal(
    scene: Scene, view: View, obj: Object3D, *, center_z: float | None = None
) -> ReferenceRefusal | None:
    """None if obj is visible in view, else why not (see REFUSAL_REASONS).

    center_z: the box centre's depth in this view's camera frame (metres), if the caller has it (QA
    generation computes a whole view's at once); computed here otherwise."""
    obs = obj.observation(view.view_id)
    if obs is None:
        return ReferenceRefusal("not_visible", f"object {obj.object_id} has no observation in {view.view_id}")
    if center_z is None:
        center_z = float(view.center_in_camera(obj.box.center)[2])  # m, OpenCV camera frame
    if obs.behind_camera or center_z <= 0.0:
        return ReferenceRefusal("behind_camera", f"object {obj.object_id} centre z = {center_z:.3f} m")
    if obs.box2d is None or not obs.box2d.is_valid():
        return ReferenceRefusal("no_box2d", f"object {obj.object_id} has no valid 2D box in {view.view_id}")
    cam = view.camera
    fraction = obs.box2d.clipped(cam.width, cam.height).area / float(cam.width * cam.height)
    if fraction < MIN_VISIBLE_AREA_FRACTION:
        return ReferenceRefusal(
            "below_min_area", f"object {obj.object_id} covers {fraction:.5f} of the image"
        )
    if obs.visibility is not None and obs.visibility < MIN_VISIBILITY:
        return ReferenceRefusal(
            "mostly_occluded", f"object {obj.object_id} is {obs.visibility:.2f} visible in {view.view_id}"
        )
    return None


def visible_objects(scene: Scene, view: View) -> list[Object3D]:
    """Objects visible in view (observed, in front of the camera, valid box2d, big enough), scene order."""
    return [o for o in scene.objects if visibility_refusal(scene, view, o) is None]


def _box2d(obj: Object3D, view: View) -> Box2D:
    obs = obj.observation(view.view_id)
    assert obs is not None and obs.box2d is not None  # only called on visible objects
    return obs.box2d


def _u_center(obj: Object3D, view: View) -> float:
    """Pixels: horizontal centre of the object's 2D box."""
    box = _box2d(obj, view)
    return 0.5 * (box.x_min + box.x_max)


def _distance_m(obj: Object3D, view: View) -> float:
    """Metres: camera-frame Euclidean distance of the 3D box centre."""
    return float(np.linalg.norm(view.center_in_camera(obj.box.center)))


Distances = Callable[[Object3D], float]  # object -> metres, camera centre to box centre, in one view


def _ratio_apart(ratio: float) -> Callable[[float, float], bool]:
    return lambda a, b: max(a, b) >= ratio * min(a, b)


def _distance_apart(a: float, b: float) -> bool:
    return abs(a - b) >= max(DISTANCE_MARGIN_M, DISTANCE_MARGIN_REL * min(a, b))


def _is_clear_extreme(
    target: float, others: Sequence[float], lowest: bool, apart: Callable[[float, float], bool]
) -> bool:
    """target is strictly below (lowest) or above every other value, and separated from each by `apart`."""
    beyond = all((target < v) if lowest else (target > v) for v in others)
    return beyond and all(apart(target, v) for v in others)


def _clear_order(values: Sequence[float], apart: Callable[[float, float], bool]) -> bool:
    """Every pair of consecutive sorted values is separated by `apart` (so the whole order is unambiguous)."""
    s = sorted(values)
    return all(apart(a, b) for a, b in zip(s, s[1:], strict=False))


def _text_references(
    view: View, obj: Object3D, group: list[Object3D], distance: Distances, metric: bool = True
) -> list[Reference]:
    """Extreme and ordinal references for obj among `group` (same category, visible, obj included, >= 2);
    metric False: image-space ones only (no nearest / largest / tallest)."""
    noun = _category_text(obj)
    others = [o for o in group if o.object_id != obj.object_id]

    def u_apart(a: float, b: float) -> bool:
        return abs(a - b) >= ORDER_GAP_FRACTION * view.camera.width

    axes: list[tuple[Callable[[Object3D], float], Callable[[float, float], bool], str, str]] = [
        (lambda o: _u_center(o, view), u_apart, "leftmost", "rightmost"),
    ]
    if metric:  # distances and sizes rank objects only where lengths are metres (Scene.has_metric_scale)
        axes += [
            (distance, _distance_apart, "nearest", "farthest"),
            (lambda o: o.box.volume, _ratio_apart(VOLUME_RATIO_MARGIN), "smallest", "largest"),
            (lambda o: o.box.height, _ratio_apart(HEIGHT_RATIO_MARGIN), "shortest", "tallest"),
        ]
    refs: list[Reference] = []
    for value, apart, low_word, high_word in axes:
        target = value(obj)
        rest = [value(o) for o in others]
        for lowest, word in ((True, low_word), (False, high_word)):
            if _is_clear_extreme(target, rest, lowest, apart):
                refs.append(Reference(obj.object_id, f"the {word} {noun}", "extreme", word))
    us = [_u_center(o, view) for o in group]
    from_left = sorted(us).index(_u_center(obj, view)) + 1  # 1-based
    # Ends are "leftmost"/"rightmost" (above), never "the third chair from the right" of three.
    if 1 < from_left < len(group) and _clear_order(us, u_apart):
        for side, position in (("left", from_left), ("right", len(group) + 1 - from_left)):
            if position in ORDINAL_WORDS:
                refs.append(
                    Reference(
                        obj.object_id,
                        f"the {ORDINAL_WORDS[position]} {noun} from the {side}",
                        "ordinal",
                        f"{ORDINAL_WORDS[position]}_from_{side}",
                    )
                )
    return refs


def normalize_box_1000(box: Box2D, width: int, height: int) -> tuple[int, ...]:
    """SPAR 0-1000 grid of a pixel box (qa.records.norm_from_px)."""
    return norm_from_px(box.as_list(), width, height)


def box_marker(view: View, obj: Object3D, colour: str) -> ReferenceMarker:
    """A box marker on obj's image-clipped 2D box (obj must be visible in view)."""
    cam = view.camera
    box = _box2d(obj, view).clipped(cam.width, cam.height)
    return ReferenceMarker(
        kind="box",
        colour=colour,
        pixel=(box.x_min, box.y_min, box.x_max, box.y_max),
        normalized_1000=normalize_box_1000(box, cam.width, cam.height),
        view_id=view.view_id,
    )


def first_free_colour(colours: Sequence[str], used_colours: Sequence[str]) -> str | None:
    """The first of `colours` (the order markers are handed out in) not in used_colours, or None."""
    return next((c for c in colours if c not in used_colours), None)


def no_free_colour(used_colours: Sequence[str]) -> ReferenceRefusal:
    return ReferenceRefusal("no_free_marker_colour", f"used: {sorted(used_colours)}")


def marker_reference_in(view: View, obj: Object3D, colour: str, image_number: int | None = None) -> Reference:
    """A box-marker reference to obj in the given colour. image_number: in a question about several images,
    the 1-based number of the image the box is drawn on, named in the text ("the chair (highlighted by the
    red box in image 2)")."""
    marker = box_marker(view, obj, colour)
    where = "" if image_number is None else f" in image {image_number}"
    text = f"the {_category_text(obj)} (highlighted by the {colour} box{where})"
    return Reference(obj.object_id, text, "marker", None, marker)


def marker_reference(
    view: View,
    obj: Object3D,
    used_colours: Sequence[str],
    colours: Sequence[str] = MARKER_COLOURS,
    image_number: int | None = None,
) -> Reference | ReferenceRefusal:
    """marker_reference_in the first colour of `colours` (MARKER_COLOURS by default) not in used_colours, or
    the refusal "no_free_marker_colour"."""
    colour = first_free_colour(colours, used_colours)
    if colour is None:
        return no_free_colour(used_colours)
    return marker_reference_in(view, obj, colour, image_number)


def reference_options(
    scene: Scene,
    view: View,
    obj: Object3D,
    *,
    used_colours: Sequence[str] = (),
    allow_markers: bool = True,
    visibility: Callable[[Object3D], ReferenceRefusal | None] | None = None,
    distance: Distances | None = None,
) -> list[Reference] | ReferenceRefusal:
    """Every unique reference to obj in view, or why there is none.

    The bare category when it is unique among visible objects; else all clear extremes and ordinals; a box
    marker (first colour of MARKER_COLOURS not in used_colours) only when no text reference exists.
    visibility: visibility_refusal of an object in this view, if the caller has it cached (QA generation
    asks for every object of a scene, which would otherwise recompute it for every pair).
    distance: an object's camera distance in this view (metres), if the caller has it; computed otherwise.
    """
    if visibility is None:

        def visibility(o: Object3D) -> ReferenceRefusal | None:
            return visibility_refusal(scene, view, o)

    refusal = visibility(obj)
    if refusal is not None:
        return refusal
    same = [o for o in scene.objects if o.category == obj.category and o.object_id != obj.object_id]
    status = [(o, visibility(o)) for o in same]
    visible_same = [o for o, r in status if r is None]
    # Same-category objects that are in view (observed, in front) but cannot be ranked (no box, too small)
    # may still be seen by the viewer, so no text reference is safe; a marker still is.
    unrankable = [o for o, r in status if r is not None and r.reason in ("no_box2d", "below_min_area")]
    # Objects of this category the source saw but could not place in 3D are in the picture too.
    unlocated = obj.category in scene.metadata.get(UNLOCATED_CATEGORIES_KEY, ())
    if not unrankable and not unlocated:
        if not visible_same:
            return [Reference(obj.object_id, f"the {_category_text(obj)}", "category")]
        refs = _text_references(
            view,
            obj,
            [obj, *visible_same],
            distance or (lambda o: _distance_m(o, view)),
            metric=scene.has_metric_scale,
        )
        if refs:
            return refs
    if not allow_markers:
        if unrankable or unlocated:
            ids = ", ".join(o.object_id for o in unrankable) or f"unlocated {obj.category} objects"
            return ReferenceRefusal("unrankable_same_category", f"in view but unrankable: {ids}")
        return ReferenceRefusal("ambiguous_no_marker", f"{len(visible_same) + 1} visible {obj.category}")
    marker_ref = marker_reference(view, obj, used_colours)
    return marker_ref if isinstance(marker_ref, ReferenceRefusal) else [marker_ref]


def choose_reference(
    scene: Scene,
    view: View,
    obj: Object3D,
    rng: random.Random,
    *,
    used_colours: Sequence[str] = (),
    allow_markers: bool = True,
) -> Reference | ReferenceRefusal:
    """One reference drawn uniformly by rng from reference_options, or the refusal."""
    options = reference_options(scene, view, obj, used_colours=used_colours, allow_markers=allow_markers)
    if isinstance(options, ReferenceRefusal):
        return options
    return rng.choice(options)
