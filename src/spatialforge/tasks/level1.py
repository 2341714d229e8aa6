"""Level 1 tasks: properties of one object (HiSpatial L1; SpatialLLM probing; SPAR depth_oc, size, volume).

Geometry per task (camera frame `cam`: +x right, +y down, +z forward, metres; judging frame: cam_gravity
when gravity is known, tasks/context.py):
- object_location: box centre in `cam`.
- object_distance_camera: |centre| in `cam` (Euclidean, camera centre to box centre).
- object_depth: centre z in `cam` (SPAR depth_oc: distance along the optical axis, not Euclidean).
- object_size: the box's own dimensions (object frame: length x / front, width y / left, height z / up).
  An object without a front has no defined length and width axes: its longer horizontal side is its
  "length" and its shorter one its "width", asked only when they differ by the size margin (1.15 x).
- object_orientation: which way the front points as the viewer sees it (relations.facing_relative_to_viewer).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from spatialforge.geometry.relations import NO_FRONT, SIZE_RATIO_MARGIN, facing_relative_to_viewer
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registration import register
from spatialforge.tasks.sampling import shuffled, with_variants
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

AMBIGUOUS_LENGTH_AXIS = "ambiguous_length_axis"  # front-less object whose horizontal sides are too similar


def _xyz(v: Sequence[float]) -> str:
    return "(" + ", ".join(f"{c:.3f}" for c in v) + ")"


@register(
    name="object_location",
    level=1,
    family="localisation",
    requires=("boxes",),
    formats=("free",),
    metric="position_within",
    definition="3D centre of an object in the camera frame (x right, y down, z forward), metres.",
)
def object_location(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for obj in shuffled(ctx.visible, rng):
        c = ctx.center_cam[obj.object_id]  # (3,) m, cam
        yield Fact(
            "object_location",
            "",
            (Mention("a", obj, "target"),),
            Vector("position_m", c),
            ctx.cam_frame,
            (f"centre of {trace_name(obj)} in {ctx.cam_frame} = {_xyz(c)} m",),
        )


def _camera_distance_peers(ctx: ViewContext, fact: Fact) -> list[float]:
    """The asked measure (distance or depth) of the view's other visible objects: numeric distractors."""
    target = fact.mentions[0].obj
    if fact.task == "object_depth":
        return [ctx.center_cam[o.object_id][2] for o in ctx.visible if o is not target]  # m, cam z
    return [ctx.distances[o.object_id] for o in ctx.visible if o is not target]


@register(
    name="object_distance_camera",
    level=1,
    family="localisation",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="spatialrgpt",
    definition="Euclidean distance from the camera centre to the object's box centre, metres.",
    peers=_camera_distance_peers,
)
def object_distance_camera(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    return _camera_distances(ctx, rng, "object_distance_camera", "spatialrgpt")


@register(
    name="object_depth",
    level=1,
    family="localisation",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="mra",
    definition="Depth of the object's centre: its z coordinate in the camera frame (along the optical axis).",
    peers=_camera_distance_peers,
)
def object_depth(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    return _camera_distances(ctx, rng, "object_depth", "mra")


def _camera_distances(ctx: ViewContext, rng: random.Random, task: str, metric: str) -> Iterator[Fact | str]:
    """Each visible object's distance from the camera: Euclidean (object_distance_camera) or its depth,
    the centre's z (object_depth)."""
    for obj in shuffled(ctx.visible, rng):
        c = ctx.center_cam[obj.object_id]  # (3,) m, cam
        if task == "object_depth":
            value, how = c[2], f"depth = z = {c[2]:.3f} m"
        else:
            value = ctx.distances[obj.object_id]
            how = f"distance = |centre| = {value:.3f} m"
        yield Fact(
            task,
            "",
            (Mention("a", obj, "target"),),
            Quantity("length", value, metric),
            ctx.cam_frame,
            (f"centre of {trace_name(obj)} in {ctx.cam_frame} = {_xyz(c)} m", how),
            avoid_criteria=DISTANCE_CRITERIA,
        )


SIZE_VARIANTS = ("width", "height", "length", "volume")


def _size(obj, variant: str) -> tuple[float, str] | str:
    """(value in SI units, reasoning line) of one size variant, or a rejection reason."""
    box = obj.box
    if variant == "height":
        return box.height, f"height = box z extent = {box.height:.3f} m"
    if variant == "volume":
        return (
            box.volume,
            f"volume = {box.length:.3f} x {box.width:.3f} x {box.height:.3f} = {box.volume:.4f} m^3",
        )
    if obj.has_front:
        value = box.length if variant == "length" else box.width
        axis = "front-to-back (x)" if variant == "length" else "side-to-side (y)"
        return value, f"{variant} = {axis} extent = {value:.3f} m"
    longer, shorter = max(box.length, box.width), min(box.length, box.width)
    if longer < SIZE_RATIO_MARGIN * shorter:
        return AMBIGUOUS_LENGTH_AXIS
    value = longer if variant == "length" else shorter
    side = "longer" if variant == "length" else "shorter"
    return value, f"no front: {variant} = {side} horizontal side = {value:.3f} m"


def _size_peers(ctx: ViewContext, fact: Fact) -> list[float]:
    """The asked size of the view's other visible objects of the same category: numeric distractors. Sizes
    depend on the category (a bed's length is no chair's), so other categories' would be easy to rule out."""
    target = fact.mentions[0].obj
    out = []
    for obj in ctx.visible:
        if obj is not target and obj.category == target.category:
            found = _size(obj, fact.variant)
            if not isinstance(found, str):
                out.append(found[0])
    return out


@register(
    name="object_size",
    level=1,
    family="size",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="mra",
    variants=SIZE_VARIANTS,
    definition="Width, height or length of the object's 3D box (metres) or its volume (cubic metres).",
    peers=_size_peers,
)
def object_size(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for (obj,), variant in with_variants(ctx.visible, 1, SIZE_VARIANTS, rng):
        found = _size(obj, variant)
        if isinstance(found, str):
            yield found
            continue
        value, line = found
        kind = "volume" if variant == "volume" else "length"
        yield Fact(
            "object_size",
            variant,
            (Mention("a", obj, "target"),),
            Quantity(kind, value, "mra"),
            None,
            (line,),
            avoid_criteria=SIZE_CRITERIA,
        )


ORIENTATION_PHRASES = {
    "towards": "towards the camera",
    "away": "away from the camera",
    "left": "to the left",
    "right": "to the right",
}


@register(
    name="object_orientation",
    level=1,
    family="orientation",
    requires=("boxes", "front"),
    scale_free=True,  # angles only: ImageNet3D poses (no metric scale) serve it
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    definition="Which way the object faces as the viewer sees it: towards, away, left or right.",
)
def object_orientation(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for obj in shuffled(ctx.visible, rng):
        front = ctx.front_judge(obj)
        if front is None:
            yield NO_FRONT
            continue
        center = ctx.center_judge[obj.object_id]
        facing = facing_relative_to_viewer(center, front, frame=ctx.judge_frame)
        if facing.value is None:
            yield f"facing_{facing.reason}"
            continue
        yield Fact(
            "object_orientation",
            "",
            (Mention("a", obj, "target"),),
            Category(facing.value, ORIENTATION_PHRASES),
            ctx.judge_frame,
            (
                f"front of {trace_name(obj)} in {ctx.judge_frame} = {_xyz(front)}",
                f"angle from the direction back to the camera = {facing.angle_deg:.1f} deg -> {facing.value}",
            ),
        )
