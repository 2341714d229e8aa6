"""Level 0 tasks: geometric perception (HiSpatial L0, paper 002 sec. 3.1; SPAR depth, paper 003 appx. 7.5).

- point_xyz (HiSpatial "pixel-wise 3D point querying"): the metric 3D point seen at a pixel, in the camera
  frame `cam` (OpenCV: +x right, +y down, +z forward): its depth z from the view's depth, then
  x = (u - cx) / fx * z and y = (v - cy) / fy * z at the exact pixel position (u, v).
- point_depth_order (HiSpatial "pairwise depth ordering"): which of two pixels sees the nearer surface,
  by depth z.
- depth_oo (SPAR Depth-OO, "relative depth estimation"): the depth (camera-frame z of the box centre, as
  SPAR's depth_oc and our object_depth) of object B, given A's depth stated in the question.

Pixels are drawn uniformly on SPAR's 0-1000 grid, POINT_GRID_MARGIN units clear of every border, and named
by the renderer by their grid coordinates or a drawn point marker (spec.Pixel: px = norm * size / 1000).
Their depth comes from ViewContext.depth (scene.depth.DepthSampler): the value of the depth map's pixel
containing the position, or for synthetic scenes the exact ray-cast depth at the position. Level 0 point
tasks declare requires=("depth",): the engine skips views without depth as "<task>/no_depth".

A pixel is asked about only where its depth is unambiguous: its *window* is every position px + (i, j)
with |i| <= rx, |j| <= ry pixels, rx and ry being EDGE_WINDOW_NORM grid units (0.5 % of the image width
and height, at least one pixel). Rejected, with these reasons:
- "no_depth_at_pixel": no depth at the pixel itself (sky, a hole in sensor depth);
- "depth_hole_near_pixel": a window position without depth (holes sit at edges and on dark or shiny
  surfaces, where the depth next to them is unreliable);
- "depth_edge": a window depth differs from the pixel's by more than EDGE_RELATIVE_BAND (5 %) of it: an
  object boundary, or a surface so oblique that half a percent of the image spans 5 % in depth. A model
  pointing a pixel or two off would see another surface, so the answer would hinge on sub-grid precision.

point_depth_order also rejects points closer than MIN_POINT_SEPARATION_NORM grid units ("points_too_close"),
depths within the distance margin of relations.compare_distances, max(0.1 m, 10 % of the larger depth)
("within_margin"; SPAR's 0.1 m "indistinguishable" threshold and closer_of_two's relative margin), and
pairs whose Euclidean distances to the camera order the other way than their depths
("distance_order_differs"), so that "closer to the camera" is true whichever distance a reader means.

depth_oo rejects the pairs SPAR skips ("We will skip that case if two objects have overlapping bounding
boxes or similar values", paper 003 appx. 7.5 "Depth prediction"): 3D boxes that interpenetrate by more
than OVERLAP_TOLERANCE_M ("boxes_overlap"; SPAR's distance task says 3D boxes, and a box overlapping
another's 3D box makes "its depth" a matter of where one object ends) and depths within the
compare_distances margin ("similar_depth", where the given depth would itself be the answer). A's depth
is stated in a unit drawn like any rendered length (qa.units, SpatialRGPT's mix) through the slot
{a_depth}; the answer's own unit is drawn separately by the renderer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from functools import cache

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.relations import Truth, compare_distances
from spatialforge.qa.units import draw_unit, format_length, length_unit_options
from spatialforge.scene.records import Object3D
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registration import register
from spatialforge.tasks.render import UNIT_BUCKET_DECIMALS
from spatialforge.tasks.sampling import below, combos
from spatialforge.tasks.spec import (
    DISTANCE_CRITERIA,
    Category,
    Fact,
    Mention,
    Pixel,
    Quantity,
    Vector,
    pixel_from_norm,
    trace_name,
)

NORM_GRID = 1000  # SPAR's 0-1000 image grid (spec.Pixel)
# Points are drawn this many grid units clear of every border (their window stays inside the image, and a
# point at the very edge of a picture is a poor question).
POINT_GRID_MARGIN = 20
# Candidates drawn per view (pixels for point_xyz, pixel pairs for point_depth_order): a bound on the work
# for views that are mostly sky or holes; the engine stops long before it at its quota.
POINT_DRAWS_PER_VIEW = 256
# Draws whose windows are sent to the depth sampler together (one vectorised query instead of eight).
POINT_BATCH = 8
# Half-size of a pixel's window, in grid units per axis (0.5 % of the image), and the relative depth band
# every window depth must lie in (module docstring).
EDGE_WINDOW_NORM = 5
EDGE_RELATIVE_BAND = 0.05
# Two points of a depth-order question are at least this far apart on the grid (10 % of the image), so
# the question is about two places, not about the slope of one surface.
MIN_POINT_SEPARATION_NORM = 100.0
# depth_oo: boxes interpenetrating by more than this (along every separating axis) overlap; boxes that
# merely touch (a monitor standing on a table) do not.
OVERLAP_TOLERANCE_M = 0.01

NO_DEPTH_AT_PIXEL = "no_depth_at_pixel"
DEPTH_HOLE_NEAR_PIXEL = "depth_hole_near_pixel"
DEPTH_EDGE = "depth_edge"
POINTS_TOO_CLOSE = "points_too_close"
WITHIN_MARGIN = "within_margin"
DISTANCE_ORDER_DIFFERS = "distance_order_differs"
BOXES_OVERLAP = "boxes_overlap"
SIMILAR_DEPTH = "similar_depth"

POINT_SLOTS = {"a": "{a}", "b": "{b}"}


# ---------------------------------------------------------------- pixels and their depth


def draw_pixel(rng: random.Random, width: int, height: int) -> Pixel:
    """A uniformly drawn grid point POINT_GRID_MARGIN units clear of the borders, as a Pixel of the image."""
    span = NORM_GRID + 1 - 2 * POINT_GRID_MARGIN
    x, y = POINT_GRID_MARGIN + below(rng, span), POINT_GRID_MARGIN + below(rng, span)
    return pixel_from_norm(x, y, width, height)


@cache
def window_offsets(width: int, height: int) -> np.ndarray:
    """(K, 2) pixel offsets of a window in a width x height image, (0, 0) first (module docstring)."""
    rx = max(1, round(EDGE_WINDOW_NORM * width / NORM_GRID))
    ry = max(1, round(EDGE_WINDOW_NORM * height / NORM_GRID))
    grid = [(i, j) for j in range(-ry, ry + 1) for i in range(-rx, rx + 1) if (i, j) != (0, 0)]
    out = np.array([(0, 0), *grid], dtype=float)
    out.flags.writeable = False  # shared by every call (cached)
    return out


def probe_pixels(ctx: ViewContext, pixels: Sequence[Pixel]) -> list[float | str]:
    """Per pixel: its depth z in metres (cam), or the reason it is not asked (module docstring). ctx.depth
    must be a sampler."""
    sampler = ctx.depth
    assert not isinstance(sampler, str), sampler
    cam = ctx.view.camera
    offsets = window_offsets(cam.width, cam.height)  # (K, 2) px
    px = np.array([p.px for p in pixels], dtype=float).reshape(-1, 2)  # (B, 2) px
    z = sampler.z_at((px[:, None, :] + offsets[None, :, :]).reshape(-1, 2)).reshape(len(px), -1)  # (B, K) m
    centre = z[:, :1]  # (B, 1)
    with np.errstate(invalid="ignore"):
        has_depth = np.isfinite(centre[:, 0]) & (centre[:, 0] > 0)
        complete = np.isfinite(z).all(axis=1)
        smooth = (np.abs(z - centre) <= EDGE_RELATIVE_BAND * centre).all(axis=1)
    out: list[float | str] = []
    for zc, ok, full, flat in zip(centre[:, 0].tolist(), has_depth, complete, smooth, strict=True):
        if not ok:
            out.append(NO_DEPTH_AT_PIXEL)
        elif not full:
            out.append(DEPTH_HOLE_NEAR_PIXEL)
        elif not flat:
            out.append(DEPTH_EDGE)
        else:
            out.append(zc)
    return out


def _draws(ctx: ViewContext, rng: random.Random, per_draw: int) -> Iterator[tuple[tuple[Pixel, ...], list]]:
    """POINT_DRAWS_PER_VIEW distinct draws of per_draw pixels (a set of grid points is never drawn twice:
    it would ask the same question twice) with their probes, POINT_BATCH draws per depth query."""
    cam = ctx.view.camera
    seen: set[frozenset[tuple[int, int]]] = set()

    def fresh() -> tuple[Pixel, ...]:
        while True:  # ~1e6 grid points: a repeat is rare and the redraw ends at once
            draw = tuple(draw_pixel(rng, cam.width, cam.height) for _ in range(per_draw))
            key = frozenset(p.norm for p in draw)
            if key not in seen:
                seen.add(key)
                return draw

    for _ in range(POINT_DRAWS_PER_VIEW // POINT_BATCH):
        draws = [fresh() for _ in range(POINT_BATCH)]
        probes = probe_pixels(ctx, [p for d in draws for p in d])
        for i, d in enumerate(draws):
            yield d, probes[i * per_draw : (i + 1) * per_draw]


def _pixel_line(name: str, pixel: Pixel, ctx: ViewContext) -> str:
    cam = ctx.view.camera
    (x, y), (u, v) = pixel.norm, pixel.px
    return (
        f"point {name} = ({x}, {y}) on the 0-1000 grid of the {cam.width}x{cam.height} image "
        f"= pixel ({u:.2f}, {v:.2f})"
    )


def _camera_point(ctx: ViewContext, pixel: Pixel, z: float) -> tuple[float, float, float]:
    """(3,) metres, cam: the point at depth z seen through the exact pixel position."""
    cam = ctx.view.camera
    u, v = pixel.px
    return ((u - cam.cx) / cam.fx * z, (v - cam.cy) / cam.fy * z, z)


# ---------------------------------------------------------------- point_xyz


def point_xyz_fact(ctx: ViewContext, pixel: Pixel, z: float) -> Fact:
    """The point_xyz fact of a pixel whose depth z (metres) passed probe_pixels."""
    cam = ctx.view.camera
    sampler = ctx.depth
    assert not isinstance(sampler, str), sampler
    u, v = pixel.px
    x, y, _ = _camera_point(ctx, pixel, z)
    return Fact(
        "point_xyz",
        "",
        (Mention("a", pixel, "point_a"),),
        Vector("position_m", (x, y, z)),
        ctx.cam_frame,
        (
            _pixel_line("a", pixel, ctx),
            f"depth at the pixel: z = {z:.3f} m ({sampler.describe(u, v)})",
            f"x = (u - cx) / fx * z = ({u:.2f} - {cam.cx:.2f}) / {cam.fx:.2f} * {z:.3f} = {x:.3f} m",
            f"y = (v - cy) / fy * z = ({v:.2f} - {cam.cy:.2f}) / {cam.fy:.2f} * {z:.3f} = {y:.3f} m",
            f"point a in {ctx.cam_frame} = ({x:.3f}, {y:.3f}, {z:.3f}) m",
        ),
    )


def point_xyz_at(ctx: ViewContext, pixel: Pixel) -> Fact | str:
    """point_xyz of one given pixel: its fact, or why it is not asked (also when the view has no depth)."""
    if isinstance(ctx.depth, str):
        return ctx.depth
    (z,) = probe_pixels(ctx, [pixel])
    return z if isinstance(z, str) else point_xyz_fact(ctx, pixel, z)


@register(
    name="point_xyz",
    level=0,
    family="point_query",
    requires=("depth",),
    formats=("free",),
    metric="position_within",
    definition="Metric 3D point (camera frame: x right, y down, z forward; metres) seen at a pixel given "
    "on the 0-1000 grid or by a drawn point.",
)
def point_xyz(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    if isinstance(ctx.depth, str):  # the engine checks "no_depth" first; an unreadable asset ends here
        yield ctx.depth
        return
    for (pixel,), (z,) in _draws(ctx, rng, 1):
        yield z if isinstance(z, str) else point_xyz_fact(ctx, pixel, z)


# ---------------------------------------------------------------- point_depth_order


def point_depth_order_fact(ctx: ViewContext, a: Pixel, b: Pixel, z_a: float, z_b: float) -> Fact | str:
    """Which of pixels a and b (depths z_a, z_b in metres, passed probe_pixels) is closer to the camera."""
    if math.dist(a.norm, b.norm) < MIN_POINT_SEPARATION_NORM:
        return POINTS_TOO_CLOSE
    j = compare_distances(z_a, z_b, ctx.cam_frame)  # TRUE: a is closer by more than the margin
    if j.truth is Truth.AMBIGUOUS:
        return WITHIN_MARGIN
    value = "a" if j.truth is Truth.TRUE else "b"
    dist_a, dist_b = math.hypot(*_camera_point(ctx, a, z_a)), math.hypot(*_camera_point(ctx, b, z_b))
    if (dist_a < dist_b) != (value == "a"):
        return DISTANCE_ORDER_DIFFERS
    return Fact(
        "point_depth_order",
        "",
        (Mention("a", a, "point_a"), Mention("b", b, "point_b")),
        Category(value, POINT_SLOTS),
        ctx.cam_frame,
        (
            f"{_pixel_line('a', a, ctx)}: depth z = {z_a:.3f} m",
            f"{_pixel_line('b', b, ctx)}: depth z = {z_b:.3f} m",
            f"z_b - z_a = {j.quantity:.3f} m vs margin {j.margin:.3f} m -> point {value} is closer",
            f"distances to the camera: a {dist_a:.3f} m, b {dist_b:.3f} m (same order)",
        ),
    )


def point_depth_order_at(ctx: ViewContext, a: Pixel, b: Pixel) -> Fact | str:
    """point_depth_order of two given pixels: its fact, or why it is not asked."""
    if isinstance(ctx.depth, str):
        return ctx.depth
    if math.dist(a.norm, b.norm) < MIN_POINT_SEPARATION_NORM:
        return POINTS_TOO_CLOSE
    z_a, z_b = probe_pixels(ctx, [a, b])
    if isinstance(z_a, str) or isinstance(z_b, str):
        return z_a if isinstance(z_a, str) else z_b  # type: ignore[return-value]
    return point_depth_order_fact(ctx, a, b, z_a, z_b)


@register(
    name="point_depth_order",
    level=0,
    family="depth_order",
    requires=("depth",),
    formats=("free", "mcq", "tf"),
    metric="accuracy",
    definition="Which of two pixels sees the nearer surface (depth z; margin max(0.1 m, 10 %)).",
)
def point_depth_order(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    if isinstance(ctx.depth, str):
        yield ctx.depth
        return
    for (a, b), (z_a, z_b) in _draws(ctx, rng, 2):
        if math.dist(a.norm, b.norm) < MIN_POINT_SEPARATION_NORM:
            yield POINTS_TOO_CLOSE  # before the pixels' own reasons: the pair is refused as a pair
        elif isinstance(z_a, str):
            yield z_a
        elif isinstance(z_b, str):
            yield z_b
        else:
            yield point_depth_order_fact(ctx, a, b, z_a, z_b)


# ---------------------------------------------------------------- depth_oo


def boxes_overlap(a: OrientedBox3D, b: OrientedBox3D, tolerance_m: float = OVERLAP_TOLERANCE_M) -> bool:
    """True when two boxes (one frame) interpenetrate by more than tolerance_m along every candidate
    separating axis (separating axis theorem: the 3 + 3 face normals and the 9 edge cross products; convex
    boxes are disjoint iff their projections on one of these axes are)."""
    offset = b.center - a.center  # (3,) m
    # Boxes whose circumscribed spheres are apart cannot meet: the common case, decided without the axes.
    reach = (math.hypot(*a.size.tolist()) + math.hypot(*b.size.tolist())) / 2.0
    if math.hypot(*offset.tolist()) >= reach:
        return False
    ra, rb = a.rotation, b.rotation  # (3, 3) columns: the boxes' axes
    crosses = np.cross(ra.T[:, None, :], rb.T[None, :, :]).reshape(9, 3)  # (9, 3) edge x edge
    lengths = np.linalg.norm(crosses, axis=1)
    keep = lengths > 1e-9  # parallel edges add no new axis
    normals = np.vstack([ra.T, rb.T, crosses[keep] / lengths[keep, None]])  # (K, 3) unit
    radius_a = np.abs(normals @ ra) @ (a.size / 2.0)  # (K,) half-extent of a's projection
    radius_b = np.abs(normals @ rb) @ (b.size / 2.0)
    gap = np.abs(normals @ offset) - (radius_a + radius_b)  # (K,) > 0: separated along that axis
    return bool(np.all(gap < -tolerance_m))


BEHIND_CAMERA = "behind_camera"


def depth_oo_fact(ctx: ViewContext, a: Object3D, b: Object3D, rng: random.Random) -> Fact | str:
    """Depth of b given a's (a stated in a unit drawn from rng), or why the pair is not asked."""
    if boxes_overlap(a.box, b.box):
        return BOXES_OVERLAP
    centre_a, centre_b = ctx.center_cam[a.object_id], ctx.center_cam[b.object_id]  # (3,) m, cam
    z_a, z_b = centre_a[2], centre_b[2]
    if not (z_a > 0.0 and z_b > 0.0):  # a centre behind the camera has no depth to state (multi-view main
        return BEHIND_CAMERA  # contexts hold objects seen from another image)
    j = compare_distances(z_a, z_b, ctx.cam_frame)
    if j.truth is Truth.AMBIGUOUS:
        return SIMILAR_DEPTH
    # The unit bucket on the value rounded like the renderer's (one draw whatever the value, so the rng
    # stays aligned across scaled or mirrored scenes).
    unit = draw_unit(rng, length_unit_options(round(z_a, UNIT_BUCKET_DECIMALS)))
    stated = format_length(z_a, unit).text
    return Fact(
        "depth_oo",
        "",
        (Mention("a", a, "anchor"), Mention("b", b, "target")),
        Quantity("length", z_b, "mra"),
        ctx.cam_frame,
        (
            f"centre of {trace_name(a)} in {ctx.cam_frame} = ({centre_a[0]:.3f}, {centre_a[1]:.3f}, "
            f"{z_a:.3f}) m: depth {z_a:.3f} m, given as {stated}",
            f"centre of {trace_name(b)} in {ctx.cam_frame} = ({centre_b[0]:.3f}, {centre_b[1]:.3f}, "
            f"{z_b:.3f}) m",
            f"depth of {trace_name(b)} = z = {z_b:.3f} m ({z_b - z_a:+.3f} m from {trace_name(a)}, "
            f"margin {j.margin:.3f} m)",
        ),
        avoid_criteria=DISTANCE_CRITERIA,
        slots={"a_depth": stated},
    )


def _depth_oo_peers(ctx: ViewContext, fact: Fact) -> list[float]:
    """Depths of the view's visible objects other than the two named (A's depth is stated in the question:
    as an option it would be one a reader knows is wrong): numeric distractors."""
    named = {m.obj.object_id for m in fact.mentions}
    return [ctx.center_cam[o.object_id][2] for o in ctx.visible if o.object_id not in named]  # m, cam z


@register(
    name="depth_oo",
    level=0,
    family="localisation",
    requires=("boxes",),
    formats=("free", "mcq", "tf"),
    metric="mra",
    definition="Depth (camera z of the box centre) of object B given the depth of object A (SPAR Depth-OO).",
    peers=_depth_oo_peers,
)
def depth_oo(ctx: ViewContext, rng: random.Random) -> Iterator[Fact | str]:
    for a, b in combos(ctx.visible, 2, rng):
        yield depth_oo_fact(ctx, a, b, rng)
