"""SpatialLLM viewpoint probing (level 1): from where does the camera see an object? Azimuth and elevation.

SpatialLLM (paper 001, section 3.2 "Data", Fig. 4) trains on 3D-informed probing data about "fundamental
object-level 3D properties, such as the azimuth and elevation 3D viewpoint of an object", converted from
ImageNet3D, which annotates viewpoints as PASCAL3D+ does: the camera's position on a sphere around the
object, as azimuth, elevation and distance in the object's own frame. SPEC section 2 (`object_orientation`):
"azimuth and elevation of the object's viewpoint, binned (e.g. 8 or 12 bins) and exact degrees".

Frames. Object frame (scene/records.py, geometry/boxes.py): +x front, +y left, +z up, right-handed. We level
it first: `up` is gravity's up when the scene knows gravity, else the object's own +z; the front is the
object's +x projected on the plane perpendicular to `up` (renormalised); left = up x front. The camera centre
c (world_from_cam's translation) relative to the box centre o, in that levelled frame:

        x = (c - o) . front,   y = (c - o) . left,   z = (c - o) . up        (metres)
        azimuth   = atan2(y, x)              in (-180, 180] deg   (radians internally)
        elevation = atan2(z, hypot(x, y))    in [-90, 90] deg

       seen from above (+z, up, towards you)                 seen from the side
                   +90 (left side)
           +135       |       +45                                     camera
               \\     |     /                                         /
     180 ------------ [obj] ------------> 0 = +x (front)              /  elevation > 0
    (back)     /      |      \\                       [obj] ----------+------------ horizontal plane
           -135       |       -45
                   -90 (right side)

Azimuth 0: the camera is in front of the object (we see its front); +90: at its left (we see its left side,
and the object faces the viewer's left); -90: at its right; 180: behind it (we see its back). Positive is
counter-clockwise seen from above, towards the object's own left. This is PASCAL3D+'s convention up to the
range. Its camera centre is d (cos e sin a, -cos e cos a, sin e) in the CAD model's frame, z up
(wkentaro/pascal3d pascal3d/utils/geometry.py, `get_transformation_matrix`): a = 0 puts the camera on -y,
a = 90 deg on +x, counter-clockwise from above. Scorers that read PASCAL VOC's view labels back from those
azimuths call a = 0 Frontal and 90 Left (<= 45 or >= 315 Frontal, 45-135 Left, 135-225 Rear, else Right:
shubhtuls/poseInduction evaluate/evaluatePascalViews.m), so a = 0 looks at the front and +90 at the left
side, as here. PASCAL3D+ states azimuths in [0, 360); we use the signed (-180, 180].
Elevation is positive with the camera above the object's horizontal plane (PASCAL3D+: c_z = d sin e).

Bins (task `object_viewpoint`, metric accuracy; SPEC's "8 or 12 bins": 8 named sectors, which read as words,
where 12 clock hours would need a convention explained in every question):
- azimuth: 8 sectors of 45 deg centred on 0 (front), 45 (front-left), 90 (left side), 135 (back-left),
  180 (back), -135 (back-right), -90 (right side), -45 (front-right); an azimuth within AZIMUTH_MARGIN_DEG
  (5 deg) of a sector edge (+-22.5 + k * 45 deg) is not asked ("within_margin").
- elevation: below (< -10 deg), level (-10..10), slightly above (10..45), high above (> 45); within
  ELEVATION_MARGIN_DEG (3 deg) of an edge: "within_margin".
Exact angles (task `object_viewpoint_angle`, metric angle_within): the azimuth or elevation in integer
degrees; a free answer is right within bench.metrics.VIEWPOINT_AZIMUTH_THRESHOLD_RAD (pi/6, PASCAL3D+ /
ImageNet3D's Acc_pi/6, the short way round) or VIEWPOINT_ELEVATION_THRESHOLD_RAD (pi/18).

Not asked: objects without a front (a view with no visible object that has one yields "no_front" once);
azimuths when the camera looks at the object from more than 60 deg above or below its horizontal plane
("steep_elevation": seen from nearly straight above, which side faces the camera is neither well defined
nor judgeable; relations.MIN_HORIZONTAL_FRACTION, cos 60 deg = 0.5); a camera at the box centre or a front
within 60 deg of `up` ("degenerate").
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from spatialforge.bench.metrics import VIEWPOINT_AZIMUTH_THRESHOLD_RAD, VIEWPOINT_ELEVATION_THRESHOLD_RAD
from spatialforge.geometry.relations import DEGENERATE, MIN_HORIZONTAL_FRACTION, NO_FRONT, WITHIN_MARGIN
from spatialforge.scene.records import Object3D
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registration import register
from spatialforge.tasks.sampling import with_variants
from spatialforge.tasks.spec import Angle, Category, Fact, Mention, trace_name

Vec3 = tuple[float, float, float]

STEEP_ELEVATION = "steep_elevation"
# Below this distance between the camera centre and the box centre there is no viewing direction (metres).
MIN_CAMERA_DISTANCE_M = 1e-6

# Azimuth sectors: 8 x 45 deg, value -> centre (deg). A value within AZIMUTH_MARGIN_DEG of a sector edge is
# ambiguous: box yaw annotations are good to a few degrees, and a viewer cannot tell 22 from 23 deg.
AZIMUTH_SECTOR_DEG = 45.0
AZIMUTH_MARGIN_DEG = 5.0
AZIMUTH_SECTORS: tuple[tuple[str, float], ...] = (
    ("front", 0.0),
    ("front_left", 45.0),
    ("left", 90.0),
    ("back_left", 135.0),
    ("back", 180.0),
    ("back_right", -135.0),
    ("right", -90.0),
    ("front_right", -45.0),
)
# Sentence texts ("We see the car from the front-left.") and shorter mcq option texts; left and right are
# the object's own (every template says so).
AZIMUTH_PHRASES = {
    "front": "the front",
    "front_left": "the front-left",
    "left": "the left side",
    "back_left": "the back-left",
    "back": "the back",
    "back_right": "the back-right",
    "right": "the right side",
    "front_right": "the front-right",
}
AZIMUTH_OPTION_TEXTS = {
    "front": "front",
    "front_left": "front-left",
    "left": "left side",
    "back_left": "back-left",
    "back": "back",
    "back_right": "back-right",
    "right": "right side",
    "front_right": "front-right",
}

# Elevation bands: edges in degrees and the band names between them (bisect over the edges). 10 deg bounds
# "level" (a driving camera 1.6 m up sees a car 10 m away at about 5 deg); 45 deg splits looking down at an
# object from looking down onto it. The margin is smaller than the azimuth's: the bands are narrower and
# elevation follows from box centres alone, without the yaw annotation.
ELEVATION_EDGES_DEG = (-10.0, 10.0, 45.0)
ELEVATION_BANDS = ("below", "level", "slightly_above", "high_above")
ELEVATION_MARGIN_DEG = 3.0
ELEVATION_PHRASES = {
    "below": "from below",
    "level": "from about the same height",
    "slightly_above": "from slightly above",
    "high_above": "from high above",
}

BIN_VARIANTS = ("azimuth_bin", "elevation_bin")
ANGLE_VARIANTS = ("azimuth_deg", "elevation_deg")


class Viewpoint(NamedTuple):
    """Where the camera is, seen from an object (module docstring).

    azimuth_rad in (-pi, pi], elevation_rad in [-pi/2, pi/2]; camera_obj: (3,) camera centre in the levelled
    object frame (x front, y left, z up), metres; up_from: "gravity" or "object" (the object's own +z).
    """

    azimuth_rad: float
    elevation_rad: float
    camera_obj: Vec3
    up_from: str

    @property
    def azimuth_defined(self) -> bool:
        """False when the camera is more than 60 deg above or below the object's horizontal plane."""
        x, y, z = self.camera_obj
        return math.hypot(x, y) >= MIN_HORIZONTAL_FRACTION * math.hypot(x, y, z)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _unit(v: Sequence[float]) -> Vec3 | None:
    n = math.sqrt(_dot(v, v))
    if not (math.isfinite(n) and n > 0.0):
        return None
    return (v[0] / n, v[1] / n, v[2] / n)


def viewpoint_of(
    obj: Object3D, camera_world: Sequence[float], up_world: Sequence[float] | None
) -> Viewpoint | str:
    """The camera's viewpoint on obj, or a rejection reason: "no_front" (obj has none), "degenerate" (camera
    at the box centre, non-finite input, or a front within 60 deg of up).

    camera_world: (3,) camera centre, metres, world; up_world: (3,) gravity's up in the world frame, or None
    to use the object's own +z (scenes without gravity).
    """
    if not obj.has_front:
        return NO_FRONT
    rotation = obj.box.rotation.tolist()  # (3, 3) world_from_object: columns front, left, up
    front = (rotation[0][0], rotation[1][0], rotation[2][0])
    if up_world is None:
        up, up_from = _unit((rotation[0][2], rotation[1][2], rotation[2][2])), "object"
    else:
        up, up_from = _unit(up_world), "gravity"
    if up is None:
        return DEGENERATE
    # The front levelled: its part perpendicular to up. Too little of it left (the front tilted more than
    # 60 deg out of the horizontal plane) and its heading means nothing.
    along = _dot(front, up)
    flat = (front[0] - along * up[0], front[1] - along * up[1], front[2] - along * up[2])
    flat_norm = math.sqrt(_dot(flat, flat))
    if not (
        math.isfinite(flat_norm) and flat_norm >= MIN_HORIZONTAL_FRACTION * math.sqrt(_dot(front, front))
    ):
        return DEGENERATE
    fwd = (flat[0] / flat_norm, flat[1] / flat_norm, flat[2] / flat_norm)
    left = (  # up x front
        up[1] * fwd[2] - up[2] * fwd[1],
        up[2] * fwd[0] - up[0] * fwd[2],
        up[0] * fwd[1] - up[1] * fwd[0],
    )
    center = obj.box.center.tolist()  # (3,) m, world
    offset = tuple(float(c) - o for c, o in zip(camera_world, center, strict=True))  # (3,) object -> camera
    x, y, z = _dot(offset, fwd), _dot(offset, left), _dot(offset, up)  # m, levelled object frame
    distance = math.hypot(x, y, z)
    if not (math.isfinite(distance) and distance > MIN_CAMERA_DISTANCE_M):
        return DEGENERATE
    azimuth = math.atan2(y, x)
    azimuth = math.pi if azimuth == -math.pi else azimuth + 0.0  # (-pi, pi]; + 0.0: no -0.0
    return Viewpoint(azimuth, math.atan2(z, math.hypot(x, y)) + 0.0, (x, y, z), up_from)


def azimuth_sector(azimuth_rad: float, margin_deg: float = AZIMUTH_MARGIN_DEG) -> str | None:
    """The 45-deg sector (AZIMUTH_SECTORS) holding the azimuth, None within margin_deg of a sector edge."""
    degrees = math.degrees(azimuth_rad)
    index = round(degrees / AZIMUTH_SECTOR_DEG) % len(AZIMUTH_SECTORS)
    name, centre = AZIMUTH_SECTORS[index]
    off_centre = abs(math.remainder(degrees - centre, 360.0))
    return name if off_centre < AZIMUTH_SECTOR_DEG / 2 - margin_deg else None


def elevation_band(elevation_rad: float, margin_deg: float = ELEVATION_MARGIN_DEG) -> str | None:
    """The band (ELEVATION_BANDS) holding the elevation, None within margin_deg of a band edge."""
    degrees = math.degrees(elevation_rad)
    if any(abs(degrees - edge) <= margin_deg for edge in ELEVATION_EDGES_DEG):
        return None
    return ELEVATION_BANDS[bisect.bisect(ELEVATION_EDGES_DEG, degrees)]


def _xyz(v: Sequence[float]) -> str:
    return "(" + ", ".join(f"{c:.3f}" for c in v) + ")"


def _trace(obj: Object3D, vp: Viewpoint, variant: str) -> tuple[str, ...]:
    up = "gravity's up" if vp.up_from == "gravity" else f"the own +z of {trace_name(obj)}"
    lines = [
        f"frame of {trace_name(obj)}: x = its front levelled about {up}, y = its left, z = up",
        f"camera centre in that frame = {_xyz(vp.camera_obj)} m",
    ]
    if variant.startswith("azimuth"):
        lines.append(
            f"azimuth = atan2(y, x) = {math.degrees(vp.azimuth_rad):.1f} deg (0 front, +90 its left)"
        )
    else:
        lines.append(f"elevation = atan2(z, hypot(x, y)) = {math.degrees(vp.elevation_rad):.1f} deg")
    return tuple(lines)


def _answer(vp: Viewpoint, variant: str) -> Category | Angle | str:
    """The answer of one variant, or a rejection reason."""
    if variant.startswith("azimuth") and not vp.azimuth_defined:
        return STEEP_ELEVATION
    if variant == "azimuth_bin":
        sector = azimuth_sector(vp.azimuth_rad)
        return WITHIN_MARGIN if sector is None else Category(sector, AZIMUTH_PHRASES, AZIMUTH_OPTION_TEXTS)
    if variant == "elevation_bin":
        band = elevation_band(vp.elevation_rad)
        return WITHIN_MARGIN if band is None else Category(band, ELEVATION_PHRASES)
    if variant == "azimuth_deg":
        return Angle(vp.azimuth_rad, True, VIEWPOINT_AZIMUTH_THRESHOLD_RAD)
    if variant == "elevation_deg":
        return Angle(vp.elevation_rad, False, VIEWPOINT_ELEVATION_THRESHOLD_RAD)
    raise ValueError(f"unknown viewpoint variant {variant!r}")


def _viewpoint_facts(
    ctx: ViewContext, rng: random.Random, task: str, variants: Sequence[str]
) -> Iterator[Fact | str]:
    """(object, variant) candidates over the view's visible objects that have a front."""
    fronted = [o for o in ctx.visible if o.has_front]
    if not fronted:
        if ctx.visible:
            yield NO_FRONT  # once per view: nothing here has a front to be seen from
        return
    camera = ctx.view.world_from_cam.translation.tolist()  # (3,) camera centre, m, world
    gravity = ctx.scene.gravity
    up = None if gravity is None else tuple(-float(c) for c in gravity.down_world)  # (3,) world
    for (obj,), variant in with_variants(fronted, 1, variants, rng):
        vp = viewpoint_of(obj, camera, up)
        if isinstance(vp, str):
            yield vp
            continue
        answer = _answer(vp, variant)
        if isinstance(answer, str):
            yield answer
            continue
        yield Fact(
            task,
            variant,
            (Mention("a", obj, "target"),),
            answer,
            f"object:{obj.object_id}",
            _trace(obj, vp, variant) + ((f"-> {answer.value}",) if isinstance(answer, Category) else ()),
        )


@register(
    name="object_viewpoint",
    level=1,
    family="orientation",
    requires=("boxes", "front"),
    scale_free=True,  # angles only: ImageNet3D poses (no metric scale) serve it
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    variants=BIN_VARIANTS,
    definition=(
        "From where the camera sees an object with a front: the azimuth around it in 8 sectors (front, "
        "front-left, ... of the object's own sides) or the elevation above its horizontal plane in 4 bands."
    ),
)
def object_viewpoint(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    return _viewpoint_facts(ctx, rng, "object_viewpoint", BIN_VARIANTS)


@register(
    name="object_viewpoint_angle",
    level=1,
    family="orientation",
    requires=("boxes", "front"),
    scale_free=True,  # angles only: ImageNet3D poses (no metric scale) serve it
    formats=("free", "mcq", "tf"),
    metric="angle_within",
    variants=ANGLE_VARIANTS,
    definition=(
        "The camera's azimuth around an object with a front (0 = its front, +90 deg = its left side) or its "
        "elevation above the object's horizontal plane, in degrees."
    ),
)
def object_viewpoint_angle(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    return _viewpoint_facts(ctx, rng, "object_viewpoint_angle", ANGLE_VARIANTS)
