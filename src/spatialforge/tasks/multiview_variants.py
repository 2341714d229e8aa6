"""Multi-view variants of single-view tasks (SPAR's `*_mv` tasks, paper 003 sec. 3.3 and appendix 7.5).

SPAR asks its depth, distance, relation and imagination questions across images too: the objects are marked
in different images, and everything is judged from the first image's camera ("we use the first image to
reflect the main perspective, which aligns with the observer's viewpoint", appendix 7.6; "transforming 3D
object coordinates from the original camera view into a common view ... relative to the main camera view",
appendix 7.5 "Obj spatial relation"). So a variant here is the single-view task's geometry run on the view
pair's main context (multiview.ViewSetContext.main: objects seen in either image, centres in the main
camera's frames) with each object then named in an image that shows it:

- every mention draws one of the images that show its object (uniformly);
- if all mentions landed on the main image, one mention that is also seen in the other image moves there,
  so every question crosses views; if none can, the candidate is rejected (`no_cross_view`).

The answers are the single-view task's, computed by the same code with the same margins; the question is
the single-view task's template with each object's box marker placed on its image ("the chair (highlighted
by the red box in image 2)") and, where the answer is taken in the main camera's frame, a note saying that
image 1 is the main view (tasks/render.py MAIN_VIEW_NOTE). An object whose centre is behind the main
camera is not asked about (`behind_main_camera`): the question is judged as seen from image 1.

`object_relation_oc_mv` (SPAR ObjRel-OC-MV) has no single-view counterpart in SPAR-Bench: where an object
marked in some image lies relative to the observer at the main viewpoint, one axis per question (left /
right, above / below, in front / behind), judged in the main view's judging frame with SPAR's 0.1 m margin.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from spatialforge.geometry.relations import ABOVE, BEHIND, LEFT_OF, Truth, direction_between
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.level0 import depth_oo
from spatialforge.tasks.level1 import object_depth, object_distance_camera
from spatialforge.tasks.level2 import closer_of_two_task, relative_direction, relative_distance
from spatialforge.tasks.multiview import ViewSetContext
from spatialforge.tasks.perspective import spatial_imagination_oc, spatial_imagination_oo
from spatialforge.tasks.registration import TASKS, register
from spatialforge.tasks.sampling import below, with_variants
from spatialforge.tasks.spec import Candidates, Category, Fact, Mention, Pixel, trace_name

NO_CROSS_VIEW = "no_cross_view"  # every object of the candidate is seen in the main image only
BEHIND_MAIN_CAMERA = "behind_main_camera"  # an object's centre is behind the main viewpoint's camera
NOT_IN_VIEW_SET = "not_in_view_set"  # an object no image of the set shows (cannot happen for main.visible)
MULTI_VIEW_FAMILY = "multi_view"

# The observer at the main viewpoint is the camera: its position is the origin of the judging frame.
_OBSERVER = (0.0, 0.0, 0.0)


def spread_over_images(fact: Fact, view_set: ViewSetContext, rng: random.Random) -> Fact | str:
    """fact with every mention placed on an image of view_set that shows its object, at least one off the
    main image (see the module docstring), and the set's images as the fact's images; or a reason."""
    options: list[tuple[int, ...]] = []
    for m in fact.mentions:
        if isinstance(m.obj, Pixel):  # a pixel belongs to one image; no variant here names pixels
            raise ValueError(f"task {fact.task}: a multi-view variant cannot place pixel mentions")
        shown = view_set.images_of(m.obj)
        if not shown:
            return NOT_IN_VIEW_SET
        options.append(shown)
    chosen = [shown[below(rng, len(shown))] for shown in options]
    if all(image == 0 for image in chosen):
        movable = [i for i, shown in enumerate(options) if len(shown) > 1 or shown[0] != 0]
        if not movable:
            return NO_CROSS_VIEW
        i = movable[below(rng, len(movable))]
        others = [image for image in options[i] if image != 0]
        chosen[i] = others[below(rng, len(others))]
    mentions = tuple(m._replace(image=image) for m, image in zip(fact.mentions, chosen, strict=True))
    return fact._replace(mentions=mentions, view_ids=view_set.view_ids)


def _variant_of(single_view: Candidates, name: str) -> Candidates:
    def candidates(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
        for item in single_view(view_set.main, rng):
            if isinstance(item, str):
                yield item
                continue
            # Judged "as seen from image 1": an object behind that camera is not in view of it at all (and
            # its depth there is not positive).
            if any(view_set.main.center_cam[m.obj.object_id][2] <= 0.0 for m in item.mentions):
                yield BEHIND_MAIN_CAMERA
                continue
            placed = spread_over_images(item, view_set, rng)
            yield placed if isinstance(placed, str) else placed._replace(task=name)

    candidates.__name__ = name
    candidates.__doc__ = f"{name}: the single-view task run on a view pair's main context, across images."
    return candidates


def _register_variant(name: str, base: str, single_view: Candidates, level: int | None = None) -> None:
    spec = TASKS[base]
    register(
        name=name,
        level=spec.level if level is None else level,
        family=MULTI_VIEW_FAMILY,
        requires=(*[r for r in spec.requires if r != "metric_scale"], "multi_view"),
        formats=spec.own_formats,
        metric=spec.metric,
        definition=f"{spec.definition} Multi-view: the objects are marked in different images of a pair; "
        "answers are taken from the first image's camera.",
        variants=spec.variants,
        scope="pair",
        bank=spec.bank or base,
        # The variant's facts are computed on the pair's main view, which is also its renderer's first
        # context: the single-view task's peers apply as they are.
        peers=spec.peers,
    )(_variant_of(single_view, name))


# Our task -> (its single-view task, the candidates function). SPAR-Bench names in bench/aggregate.py.
MULTI_VIEW_VARIANTS: dict[str, tuple[str, Candidates]] = {
    "object_depth_mv": ("object_depth", object_depth),  # Depth-OC-MV
    "depth_oo_mv": ("depth_oo", depth_oo),  # Depth-OO-MV
    "object_distance_camera_mv": ("object_distance_camera", object_distance_camera),  # Dist-OC-MV
    "relative_distance_mv": ("relative_distance", relative_distance),  # Dist-OO-MV
    "closer_of_two_mv": ("closer_of_two", closer_of_two_task),  # DistI-OO-MV
    "relative_direction_mv": ("relative_direction", relative_direction),  # ObjRel-OO-MV
    "spatial_imagination_oc_mv": ("spatial_imagination_oc", spatial_imagination_oc),  # SpImag-OC-MV
    "spatial_imagination_oo_mv": ("spatial_imagination_oo", spatial_imagination_oo),  # SpImag-OO-MV
}
for _name, (_base, _fn) in MULTI_VIEW_VARIANTS.items():
    _register_variant(_name, _base, _fn)


# ---------------------------------------------------------------- object relative to the observer

OC_RELATION_AXES = {
    # variant: (relation of the object to the observer, value when TRUE, when FALSE, phrases, option texts)
    "left_right": (
        LEFT_OF,
        "left",
        "right",
        {"left": "to your left", "right": "to your right"},
        {"left": "left", "right": "right"},
    ),
    "above_below": (
        ABOVE,
        "above",
        "below",
        {"above": "above you", "below": "below you"},
        {"above": "above", "below": "below"},
    ),
    # The observer sits at depth 0: an object farther along the viewing direction than the observer (the
    # camera-frame relation "behind", relations.BEHIND) is ahead of the observer, "in front" of them.
    "front_behind": (
        BEHIND,
        "in_front",
        "behind",
        {"in_front": "in front of you", "behind": "behind you"},
        {"in_front": "in front", "behind": "behind"},
    ),
}


def object_relation_oc(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    """Where each visible object lies relative to the observer (the camera) of ctx, one axis per fact:
    left/right and above/below in the judging frame (gravity-aligned when known), in front/behind along
    the viewing direction, each with SPAR's 0.1 m margin (relations.direction_between)."""
    for (a,), variant in with_variants(ctx.visible, 1, tuple(OC_RELATION_AXES), rng):
        relation, if_true, if_false, phrases, options = OC_RELATION_AXES[variant]
        centre = ctx.center_judge[a.object_id]  # (3,) m, judging frame (origin = the camera)
        j = direction_between(relation, centre, _OBSERVER, frame=ctx.judge_frame)
        if j.truth is Truth.AMBIGUOUS:
            yield j.reason or "within_margin"
            continue
        value = if_true if j.truth is Truth.TRUE else if_false
        axis = "xyz"[relation.axis]
        yield Fact(
            "object_relation_oc_mv",
            variant,
            (Mention("a", a, "target"),),
            Category(value, phrases, options),
            ctx.judge_frame,
            (
                f"in {ctx.judge_frame} (origin at the main camera): {axis}({trace_name(a)}) = "
                f"{centre[relation.axis]:.3f} m",
                f"{relation.name} score = {j.quantity:.3f} m vs margin {j.margin:.2f} m -> {value}",
            ),
        )


@register(
    name="object_relation_oc_mv",
    level=2,
    family=MULTI_VIEW_FAMILY,
    requires=("boxes", "multi_view"),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=tuple(OC_RELATION_AXES),
    definition="Whether an object marked in one image of a pair is left/right of, above/below, or in front "
    "of/behind the observer at the first image's viewpoint (centre, 0.1 m margin).",
    scope="pair",
)
def object_relation_oc_mv(view_set: ViewSetContext, rng: random.Random) -> Iterator[Fact | str]:
    for item in object_relation_oc(view_set.main, rng):
        yield item if isinstance(item, str) else spread_over_images(item, view_set, rng)
