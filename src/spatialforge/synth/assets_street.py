"""Street categories (KITTI / nuScenes names in Omni3D). Object frame: +x front, +y left, +z up, metres,
ground at z = -h/2.

Sizes: car 3.6-4.9 x 1.65-1.9 x 1.4-1.65 m (compact hatchback to full-size sedan; KITTI car mean
3.9 x 1.6 x 1.5 m); box truck 5.5-10 x 2.2-2.55 x 2.8-3.8 m (EU width limit 2.55 m); city bus
10-13 x 2.45-2.55 x 2.9-3.4 m; pedestrian 1.5-1.95 m tall, 0.45-0.6 m across the shoulders, 0.3-0.8 m
front-to-back (standing to mid-stride; KITTI pedestrian mean 0.84 x 0.66 x 1.76 m); cyclist on a 700c
bicycle 1.6-1.85 x 0.5-0.7 x 1.5-1.85 m (KITTI cyclist mean 1.76 x 0.6 x 1.74 m); traffic cones 0.45 /
0.7 / 0.9 m tall on 0.3-0.45 m bases; street trees 4-12 m tall with 2-6 m crowns; sign posts 2.2-3 m with
0.6-0.9 m plates.
"""

from __future__ import annotations

import math

import numpy as np

from spatialforge.synth.assets_core import (
    AMBER,
    BARK,
    DARK_METAL,
    GLASS,
    HAIR,
    HEADLIGHT,
    METAL,
    REFLECTIVE_WHITE,
    SHOE,
    SKIN,
    TAILLIGHT,
    TROUSERS,
    TYRE,
    CategorySpec,
    Part,
    box,
    cylinder,
    frustum,
    rotated,
    sphere,
    tight,
)


def _dims(size: np.ndarray) -> tuple[float, float, float]:
    return float(size[0]) / 2, float(size[1]) / 2, float(size[2]) / 2


def _beam(
    p0: tuple[float, float], p1: tuple[float, float], y0: float, y1: float, t: float, **style: object
) -> Part:
    """A square bar of thickness t (z) between two points (x, z) of the xz plane, spanning y0..y1."""
    dx, dz = p1[0] - p0[0], p1[1] - p0[1]
    length = math.hypot(dx, dz)
    mx, mz = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    bar = box((mx - length / 2, y0, mz - t / 2), (mx + length / 2, y1, mz + t / 2), **style)
    return rotated(bar, "y", math.atan2(-dz, dx), (mx, 0.0, mz))  # rotation about y takes +x to (dx, dz)


def _wheel_pair(x: float, Y: float, z0: float, r: float, tyre_w: float, inset: float) -> list[Part]:
    """Two tyres (axis y, radius r, bottom at z0) at x on both sides, with metal hubs flush outside."""
    parts = []
    for s in (-1, 1):
        outer = s * (Y - inset)
        inner = outer - s * tyre_w
        ya, yb = min(inner, outer), max(inner, outer)
        parts.append(
            cylinder(
                (x - r, ya, z0), (x + r, yb, z0 + 2 * r), axis="y", sections=10, colour=TYRE, role="wheel"
            )
        )
        ha, hb = (yb, yb + 0.01) if s > 0 else (ya - 0.01, ya)
        parts.append(
            cylinder(
                (x - 0.55 * r, ha, z0 + 0.45 * r),
                (x + 0.55 * r, hb, z0 + 1.55 * r),
                axis="y",
                sections=8,
                colour=METAL,
                role="hub",
            )
        )
    return parts


def _lamps(
    x0: float, x1: float, Y: float, z0: float, z1: float, colour: object, role: str, w: float
) -> list[Part]:
    """Two lamps of width w at the outer ends of the x0..x1 face slab, between z0 and z1."""
    return [
        box(
            (x0, s * Y - (w if s > 0 else 0), z0),
            (x1, s * Y + (0 if s > 0 else w), z1),
            colour=colour,
            role=role,
        )
        for s in (-1, 1)
    ]


def _band(
    bot_x: tuple[float, float],
    top_x: tuple[float, float],
    bot_y: tuple[float, float],
    top_y: tuple[float, float],
    z0: float,
    z1: float,
    za: float,
    zb: float,
    grow_x: tuple[float, float],
    grow_y: tuple[float, float],
    **style: object,
) -> Part:
    """The za..zb slice of the frustum (bottom rectangle at z0, top at z1) with its -x / +x faces moved out
    by grow_x and its -y / +y faces by grow_y (negative: inwards, hidden inside the frustum). Glass that
    stands 1 cm proud of one face of a cabin."""

    def at(z: float, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        f = (z - z0) / (z1 - z0)
        return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))

    (xa, xb), (ya, yb) = (
        (at(za, bot_x, top_x), at(zb, bot_x, top_x)),
        (at(za, bot_y, top_y), at(zb, bot_y, top_y)),
    )
    gx0, gx1 = grow_x
    gy0, gy1 = grow_y
    return frustum(
        (xa[0] - gx0, ya[0] - gy0, za),
        (xa[1] + gx1, ya[1] + gy1, zb),
        top_x=(xb[0] - gx0, xb[1] + gx1),
        top_y=(yb[0] - gy0, yb[1] + gy1),
        **style,
    )


@tight
def build_car(size: np.ndarray) -> list[Part]:
    """Sedan: lower body, raked cabin with windscreen / rear window / side glass, headlights and grille at
    +x, red tail lights at -x, four wheels."""
    X, Y, Z = _dims(size)
    length, height = 2 * X, 2 * Z
    r = min(0.34, 0.21 * height)
    belt = -Z + 0.6 * height
    bot_x, top_x = (-X + 0.14 * length, X - 0.27 * length), (-X + 0.3 * length, X - 0.44 * length)
    bot_y, top_y = (-Y + 0.04, Y - 0.04), (-Y + 0.14, Y - 0.14)
    glass_z = (belt + 0.03, Z - 0.05)
    cab = (bot_x, top_x, bot_y, top_y, belt, Z)
    return [
        box((-X + 0.02, -Y, -Z + 0.6 * r), (X - 0.02, Y, belt)),
        frustum((bot_x[0], bot_y[0], belt), (bot_x[1], bot_y[1], Z), top_x=top_x, top_y=top_y, role="cabin"),
        _band(*cab, *glass_z, grow_x=(-0.3, 0.01), grow_y=(-0.09, -0.09), colour=GLASS, role="windscreen"),
        _band(
            *cab,
            belt + 0.12,
            Z - 0.05,
            grow_x=(0.01, -0.3),
            grow_y=(-0.12, -0.12),
            colour=GLASS,
            role="rear_window",
        ),
        _band(*cab, *glass_z, grow_x=(-0.1, -0.1), grow_y=(0.01, 0.01), colour=GLASS, role="glass"),
        box(
            (X - 0.02, -0.4 * Y, belt - 0.22),
            (X - 0.005, 0.4 * Y, belt - 0.04),
            colour=DARK_METAL,
            role="grille",
        ),
        box(
            (X - 0.02, -0.6 * Y, -Z + 0.6 * r + 0.05),
            (X - 0.005, 0.6 * Y, -Z + 0.6 * r + 0.2),
            colour=DARK_METAL,
            role="grille",
        ),
        *_lamps(X - 0.03, X, Y - 0.06, belt - 0.2, belt - 0.05, HEADLIGHT, "headlight", 0.35),
        *_lamps(-X, -X + 0.03, Y - 0.04, belt - 0.17, belt - 0.03, TAILLIGHT, "taillight", 0.28),
        *_wheel_pair(X - 0.19 * length, Y, -Z, r, 0.2, 0.02),
        *_wheel_pair(-X + 0.2 * length, Y, -Z, r, 0.2, 0.02),
    ]


@tight
def build_truck(size: np.ndarray) -> list[Part]:
    """Box truck: cab at +x with windscreen, side windows, headlights and grille; cargo box behind with
    rear doors and red tail lights at -x; front axle and a dual rear axle."""
    X, Y, Z = _dims(size)
    height = 2 * Z
    cab_l, r = 2.0, 0.5
    cab_x0 = X - cab_l
    cab_top = -Z + 0.8 * height
    floor = -Z + 2 * r + 0.15
    return [
        box(
            (-X + 0.3, -Y + 0.25, -Z + 0.5 * r), (X - 0.2, Y - 0.25, floor), colour=DARK_METAL, role="chassis"
        ),
        box((cab_x0, -Y + 0.05, -Z + 0.8 * r), (X - 0.03, Y - 0.05, cab_top), role="cab"),
        box(
            (X - 0.03, -Y + 0.2, cab_top - 0.95),
            (X - 0.01, Y - 0.2, cab_top - 0.12),
            colour=GLASS,
            role="windscreen",
        ),
        box(
            (X - 0.9, -Y + 0.04, cab_top - 0.8),
            (X - 0.2, Y - 0.04, cab_top - 0.15),
            colour=GLASS,
            role="glass",
        ),
        box(
            (X - 0.02, -0.5 * Y, -Z + 0.8 * r + 0.3),
            (X, 0.5 * Y, cab_top - 1.1),
            colour=DARK_METAL,
            role="grille",
        ),
        *_lamps(X - 0.02, X, Y - 0.1, -Z + 0.8 * r + 0.3, -Z + 0.8 * r + 0.5, HEADLIGHT, "headlight", 0.3),
        box((-X + 0.02, -Y, floor), (cab_x0 - 0.1, Y, Z), role="cargo"),
        box(
            (-X, -Y + 0.05, floor + 0.05),
            (-X + 0.02, -0.01, Z - 0.08),
            role="rear_door",
            tone=0.12,
            contrast=True,
        ),
        box(
            (-X, 0.01, floor + 0.05),
            (-X + 0.02, Y - 0.05, Z - 0.08),
            role="rear_door",
            tone=0.12,
            contrast=True,
        ),
        *_lamps(-X, -X + 0.05, Y - 0.05, floor - 0.3, floor - 0.1, TAILLIGHT, "taillight", 0.3),
        box(
            (-X, -Y + 0.05, floor - 0.35), (-X + 0.3, Y - 0.05, floor - 0.3), colour=DARK_METAL, role="bumper"
        ),
        *_wheel_pair(X - 0.6 * cab_l, Y, -Z, r, 0.3, 0.05),
        *_wheel_pair(-X + 0.25 * 2 * X, Y, -Z, r, 0.5, 0.03),
    ]


@tight
def build_bus(size: np.ndarray) -> list[Part]:
    """City bus: body, tall windscreen with an amber destination sign above it and headlights at +x, a
    window band along both sides, small rear window and red tail lights at -x, two axles."""
    X, Y, Z = _dims(size)
    height = 2 * Z
    r = 0.5
    sill, top = -Z + 0.32 * height, Z - 0.12 * height
    return [
        box((-X + 0.02, -Y + 0.01, -Z + 0.3), (X - 0.02, Y - 0.01, Z)),
        box((X - 0.02, -Y + 0.12, -Z + 0.25 * height), (X, Y - 0.12, top), colour=GLASS, role="windscreen"),
        box((X - 0.02, -Y + 0.3, top + 0.05), (X, Y - 0.3, Z - 0.05), colour=AMBER, role="destination_sign"),
        box((-X + 0.8, -Y, sill), (X - 2.6, Y, top), colour=GLASS, role="glass"),
        box((-X, -Y + 0.5, top - 0.6), (-X + 0.02, Y - 0.5, top), colour=GLASS, role="rear_window"),
        *_lamps(X - 0.02, X, Y - 0.08, -Z + 0.5, -Z + 0.7, HEADLIGHT, "headlight", 0.35),
        *_lamps(-X, -X + 0.02, Y - 0.06, -Z + 0.55, -Z + 1.0, TAILLIGHT, "taillight", 0.2),
        *_wheel_pair(X - 2.6 - 0.2, Y, -Z, r, 0.3, 0.03),
        *_wheel_pair(-X + 3.2, Y, -Z, r, 0.5, 0.03),
    ]


def _head(x_c: float, z_top: float, hh: float) -> list[Part]:
    """Head of height hh with its top at z_top: hair ball behind, face (skin) ball to +x and below."""
    hw = 0.78 * hh  # head depth and width, metres
    return [
        sphere(
            (x_c - 0.55 * hw, -0.4 * hw, z_top - 0.75 * hh),
            (x_c + 0.35 * hw, 0.4 * hw, z_top),
            colour=HAIR,
            role="hair",
        ),
        sphere(  # hair down to the nape, so the back of the head shows no skin
            (x_c - 0.55 * hw, -0.38 * hw, z_top - 0.95 * hh),
            (x_c + 0.05 * hw, 0.38 * hw, z_top - 0.3 * hh),
            colour=HAIR,
            role="hair",
        ),
        sphere(
            (x_c - 0.4 * hw, -0.36 * hw, z_top - hh),
            (x_c + 0.55 * hw, 0.36 * hw, z_top - 0.12 * hh),
            colour=SKIN,
            role="face",
        ),
    ]


@tight
def build_pedestrian(size: np.ndarray) -> list[Part]:
    """Walking adult: shoes with toes towards +x (front foot forward), trousers, shirt torso and arms in the
    body colour, skin hands and face on +x, hair behind."""
    X, Y, Z = _dims(size)
    h = 2 * Z
    hip, shoulder, hh = -Z + 0.52 * h, -Z + 0.81 * h, 0.13 * h
    shoe_l, shoe_h, leg_t = 0.26, 0.07, 0.13
    stride = max(0.0, (2 * X - shoe_l) / 2)  # each ankle's x offset from the hip, metres
    swing = math.atan2(stride, hip - (-Z + shoe_h))
    parts: list[Part] = []
    for s, side in ((1, 1), (-1, -1)):  # s: this leg forward (+1) or back (-1); side: +y / -y
        y0, y1 = (0.01, 0.01 + leg_t) if side > 0 else (-0.01 - leg_t, -0.01)
        leg = box((-leg_t / 2, y0, -Z + shoe_h), (leg_t / 2, y1, hip + 0.05), colour=TROUSERS, role="leg")
        parts.append(rotated(leg, "y", s * swing, (0.0, 0.0, hip)))
        ax = s * stride  # ankle x
        parts.append(
            box((ax - 0.07, y0, -Z), (ax - 0.07 + shoe_l * 0.65, y1, -Z + shoe_h), colour=SHOE, role="shoe")
        )
        parts.append(
            box(
                (ax - 0.07 + shoe_l * 0.65, y0, -Z),
                (ax - 0.07 + shoe_l, y1, -Z + 0.8 * shoe_h),
                colour=SHOE,
                role="toe",
            )
        )
        ya, yb = (Y - 0.09, Y) if side > 0 else (-Y, -Y + 0.09)  # arm: the outer 9 cm of the width
        arm = box((-0.045, ya, hip - 0.04), (0.045, yb, shoulder), role="arm")
        hand = box((-0.04, ya + 0.01, hip - 0.13), (0.04, yb - 0.01, hip - 0.04), colour=SKIN, role="hand")
        arm_swing = -s * 0.6 * swing  # arms swing against the legs
        parts += [
            rotated(arm, "y", arm_swing, (0.0, 0.0, shoulder)),
            rotated(hand, "y", arm_swing, (0.0, 0.0, shoulder)),
        ]
    parts += [
        box((-0.1, -Y + 0.09, hip - 0.04), (0.1, Y - 0.09, shoulder + 0.02), role="torso"),
        box((0.1, -0.05, shoulder - 0.1), (0.106, 0.05, shoulder + 0.02), colour=SKIN, role="neckline"),
        box((-0.1, -Y + 0.1, hip - 0.08), (0.1, Y - 0.1, hip + 0.02), colour=TROUSERS, role="hips"),
        cylinder((-0.04, -0.04, shoulder), (0.05, 0.04, Z - 0.8 * hh), sections=8, colour=SKIN, role="neck"),
        *_head(0.0, Z, hh),
    ]
    return parts


@tight
def build_cyclist(size: np.ndarray) -> list[Part]:
    """Rider on a bicycle riding towards +x: two wheels, frame, handlebar with a white front light, red rear
    reflector, rider leaning forward with arms to the bar, face (skin) on +x and hair behind."""
    X, Y, Z = _dims(size)
    r = 0.34  # 700c wheel radius, metres
    ground = -Z
    fx, rx = X - r, -X + r  # wheel centres x
    axle = ground + r
    bb = (rx + 0.42, axle - 0.05)  # bottom bracket (x, z)
    seat = (rx + 0.25, axle + 0.55)  # saddle
    bar = (fx - 0.15, axle + 0.65)  # handlebar
    t = 0.035
    hw = Y  # half handlebar width reaches the object width
    parts: list[Part] = [
        cylinder(
            (fx - r, -0.02, ground),
            (fx + r, 0.02, ground + 2 * r),
            axis="y",
            sections=14,
            colour=TYRE,
            role="wheel",
        ),
        cylinder(
            (rx - r, -0.02, ground),
            (rx + r, 0.02, ground + 2 * r),
            axis="y",
            sections=14,
            colour=TYRE,
            role="wheel",
        ),
        _beam((rx, axle), bb, -0.015, 0.015, t, role="frame"),
        _beam(bb, seat, -0.015, 0.015, t, role="frame"),
        _beam(seat, (bar[0] - 0.05, bar[1] - 0.08), -0.015, 0.015, t, role="frame"),
        _beam(bb, (bar[0] - 0.05, bar[1] - 0.12), -0.015, 0.015, t, role="frame"),
        _beam((rx, axle), seat, -0.015, 0.015, t, role="frame"),
        _beam((fx, axle), bar, -0.02, 0.02, t, colour=DARK_METAL, role="fork"),
        box(
            (bar[0] - 0.02, -hw, bar[1] - 0.015),
            (bar[0] + 0.02, hw, bar[1] + 0.015),
            colour=DARK_METAL,
            role="handlebar",
        ),
        box(
            (bar[0] + 0.02, -0.03, bar[1] - 0.07),
            (bar[0] + 0.07, 0.03, bar[1] - 0.02),
            colour=HEADLIGHT,
            role="front_light",
        ),
        box(
            (seat[0] - 0.12, -0.03, seat[1] - 0.1),
            (seat[0] - 0.09, 0.03, seat[1] - 0.05),
            colour=TAILLIGHT,
            role="rear_reflector",
        ),
        box(
            (seat[0] - 0.1, -0.07, seat[1]),
            (seat[0] + 0.12, 0.07, seat[1] + 0.04),
            colour=DARK_METAL,
            role="saddle",
        ),
    ]
    hip = (seat[0], seat[1] + 0.1)
    shoulder = (hip[0] + 0.35, hip[1] + 0.5)
    hh = 0.22
    head_top = shoulder[1] + 0.05 + hh  # nominal; fit_parts scales the whole rider to the height asked
    for side in (-1, 1):
        y0, y1 = (0.02, 0.15) if side > 0 else (-0.15, -0.02)
        knee = (bb[0] + 0.15, bb[1] + 0.45) if side > 0 else (bb[0] + 0.05, bb[1] + 0.38)
        foot = (bb[0] + 0.12, bb[1] - 0.05) if side > 0 else (bb[0] - 0.12, bb[1] + 0.05)
        parts += [
            _beam(hip, knee, y0, y1, 0.13, colour=TROUSERS, role="leg"),
            _beam(knee, foot, y0, y1, 0.11, colour=TROUSERS, role="leg"),
            box(
                (foot[0] - 0.06, y0, foot[1] - 0.04),
                (foot[0] + 0.17, y1, foot[1] + 0.03),
                colour=SHOE,
                role="shoe",
            ),
        ]
        ya, yb = (0.16, 0.25) if side > 0 else (-0.25, -0.16)
        parts.append(
            _beam((shoulder[0], shoulder[1] - 0.03), (bar[0] - 0.02, bar[1] + 0.04), ya, yb, 0.08, role="arm")
        )
    parts += [
        _beam(hip, shoulder, -0.17, 0.17, 0.24, role="torso"),
        *_head(shoulder[0] + 0.12, head_top, hh),
    ]
    return parts


@tight
def build_traffic_cone(size: np.ndarray) -> list[Part]:
    """Square base and a truncated cone in the body colour with two reflective white bands."""
    X, Y, Z = _dims(size)
    base_h, top_r = 0.03, 0.12  # top radius as a fraction of the bottom radius
    r0 = 0.72  # cone bottom radius as a fraction of the base half-width
    z0 = -Z + base_h

    def radius(z: float) -> float:  # fraction of the base half-width at height z
        return r0 * (1 + (top_r - 1) * (z - z0) / (Z - z0))

    parts = [
        box((-X, -Y, -Z), (X, Y, z0), role="base"),
        cylinder((-r0 * X, -r0 * Y, z0), (r0 * X, r0 * Y, Z), sections=12, taper=top_r),
    ]
    for fa, fb in ((0.35, 0.47), (0.6, 0.7)):
        za, zb = z0 + fa * (Z - z0), z0 + fb * (Z - z0)
        ra = radius(za) + 0.006 / X
        parts.append(
            cylinder(
                (-ra * X, -ra * Y, za),
                (ra * X, ra * Y, zb),
                sections=12,
                taper=(radius(zb) + 0.006 / X) / ra,
                colour=REFLECTIVE_WHITE,
                role="band",
            )
        )
    return parts


@tight
def build_tree(size: np.ndarray) -> list[Part]:
    """Bark trunk and a two-ball crown in the body colour (green in summer; see the category's colours)."""
    X, Y, Z = _dims(size)
    h = 2 * Z
    tr = min(0.25, 0.06 * X)  # trunk radius, metres
    return [
        cylinder((-tr, -tr, -Z), (tr, tr, -Z + 0.55 * h), sections=10, taper=0.75, colour=BARK, role="trunk"),
        sphere((-X, -Y, -Z + 0.3 * h), (X, Y, Z - 0.15 * h), role="crown"),
        sphere((-0.65 * X, -0.65 * Y, Z - 0.45 * h), (0.65 * X, 0.65 * Y, Z), role="crown", tone=0.12),
    ]


@tight
def build_traffic_sign(size: np.ndarray) -> list[Part]:
    """Metal post and a round plate (axis x) in the body colour with a contrasting bar through it, seen
    the same from +x and -x (signs have no semantic front)."""
    X, Y, Z = _dims(size)
    plate_t = 0.01
    pr = Y  # plate radius
    cz = Z - pr
    return [
        cylinder((-X, -X, -Z), (X, X, cz), sections=10, colour=METAL, role="post"),
        cylinder((-plate_t / 2, -pr, cz - pr), (plate_t / 2, pr, Z), axis="x", sections=16, role="plate"),
        box(
            (-plate_t / 2 - 0.002, -0.7 * pr, cz - 0.15 * pr),
            (plate_t / 2 + 0.002, 0.7 * pr, cz + 0.15 * pr),
            role="symbol",
            tone=0.9,
            contrast=True,
        ),
    ]


def _spec(
    name: str,
    lo: tuple[float, float, float],
    hi: tuple[float, float, float],
    build: object,
    has_front: bool,
    **kw: object,
) -> CategorySpec:
    return CategorySpec(name, "street", lo, hi, has_front, "floor", False, build, **kw)  # type: ignore[arg-type]


_VEHICLE = {"front_cue": "colour", "yaw_hint": "along_road"}
STREET_SPECS: tuple[CategorySpec, ...] = (
    _spec("car", (3.6, 1.65, 1.40), (4.9, 1.90, 1.65), build_car, True, **_VEHICLE),
    _spec("truck", (5.5, 2.20, 2.80), (10.0, 2.55, 3.80), build_truck, True, **_VEHICLE),
    _spec("bus", (10.0, 2.45, 2.90), (13.0, 2.55, 3.40), build_bus, True, **_VEHICLE),
    _spec(
        "pedestrian",
        (0.30, 0.45, 1.50),
        (0.80, 0.60, 1.95),
        build_pedestrian,
        True,
        front_cue="colour",
        yaw_hint="free",
    ),
    _spec("cyclist", (1.60, 0.50, 1.50), (1.85, 0.70, 1.85), build_cyclist, True, **_VEHICLE),
    _spec(
        "traffic cone",
        (0.30, 0.30, 0.45),
        (0.45, 0.45, 0.90),
        build_traffic_cone,
        False,
        round_xy=True,
        colours=("orange", "red", "yellow"),
    ),
    _spec(
        "tree",
        (2.0, 2.0, 4.0),
        (6.0, 6.0, 12.0),
        build_tree,
        False,
        round_xy=True,
        colours=("green", "yellow", "orange", "red"),
    ),
    _spec(
        "traffic sign",
        (0.06, 0.60, 2.20),
        (0.09, 0.90, 3.00),
        build_traffic_sign,
        False,
        yaw_hint="roadside",
        colours=("red", "blue", "yellow", "green", "white"),
    ),
)
