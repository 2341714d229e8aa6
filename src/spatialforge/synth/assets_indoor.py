"""Indoor furniture categories (SUN RGB-D / Omni3D names). Object frame: +x front, +y left, +z up, metres.

Every builder lays its parts out inside [-size/2, +size/2] with the floor at z = -h/2; CategorySpec.build
wraps it with fit_parts so the union is exactly tight. Sizes: typical catalogue dimensions of
mass-market furniture (IKEA / Wayfair product sheets) and ergonomic standards (BS EN 1335 / ANSI-BIFMA
seat heights ~0.40-0.52 m, EN 527 desk heights 0.72-0.76 m); ranges checked against the SUN RGB-D
category means reported in Omni3D's statistics (chair ~0.6 x 0.6 x 0.9 m, table ~1.2 x 0.8 x 0.75 m).
"""

from __future__ import annotations

import math

import numpy as np

from spatialforge.synth.assets_core import (
    BOOK_COLOURS,
    LEAF,
    LIGHT,
    METAL,
    PALETTE_NAMES,
    SCREEN,
    SHEET,
    SOIL,
    CategorySpec,
    Part,
    box,
    cylinder,
    rotated,
    sphere,
    tight,
)


def _dims(size: np.ndarray) -> tuple[float, float, float]:
    """Half extents (X, Y, Z) of the object box, metres."""
    return float(size[0]) / 2, float(size[1]) / 2, float(size[2]) / 2


def _four_legs(
    X: float, Y: float, z0: float, z1: float, leg: float, inset: float, **style: object
) -> list[Part]:
    """Four square legs (side `leg`) at the corners of [-X, X] x [-Y, Y], inset from the edges."""
    out = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            cx, cy = sx * (X - inset - leg / 2), sy * (Y - inset - leg / 2)
            out.append(box((cx - leg / 2, cy - leg / 2, z0), (cx + leg / 2, cy + leg / 2, z1), **style))
    return out


@tight
def build_table(size: np.ndarray) -> list[Part]:
    """Top slab (4 cm) on four square legs; no front."""
    X, Y, Z = _dims(size)
    top = min(0.04, 0.1 * 2 * Z)
    leg = min(0.06, 0.15 * 2 * Y)
    return [
        box((-X, -Y, Z - top), (X, Y, Z)),
        *_four_legs(X, Y, -Z, Z - top, leg, 0.03, tone=-0.25),
    ]


@tight
def build_desk(size: np.ndarray) -> list[Part]:
    """Top on two full-depth panel legs at the x ends plus a low stretcher; symmetric (no front)."""
    X, Y, Z = _dims(size)
    top, panel = 0.03, 0.03
    return [
        box((-X, -Y, Z - top), (X, Y, Z)),
        box((-X + 0.02, -Y + 0.02, -Z), (-X + 0.02 + panel, Y - 0.02, Z - top), tone=-0.2),
        box((X - 0.02 - panel, -Y + 0.02, -Z), (X - 0.02, Y - 0.02, Z - top), tone=-0.2),
        box((-X + 0.05, -0.02, -Z + 0.15), (X - 0.05, 0.02, -Z + 0.2), tone=-0.2),
    ]


def _seat_height(h: float) -> float:
    """Chair seat height above the floor: 0.46 m (BIFMA mid-range), lower for short chairs."""
    return min(0.46, 0.55 * h)


@tight
def build_chair(size: np.ndarray) -> list[Part]:
    """Seat with a darker cushion, four legs, backrest raked 8 degrees at -x; the +x side is open."""
    X, Y, Z = _dims(size)
    seat_top = -Z + _seat_height(2 * Z)
    frame, cushion, back_t, leg = 0.03, 0.03, 0.04, 0.035
    seat_z0 = seat_top - cushion - frame
    back_h = Z - seat_top
    tilt = math.radians(8.0)
    back_x0 = -X + back_h * math.sin(tilt)  # the raked top ends at x = -X
    backrest = box((back_x0, -Y, seat_top - cushion), (back_x0 + back_t, Y, Z), role="backrest")
    pad = box(
        (back_x0 + back_t, -Y + 0.03, seat_top + 0.06),
        (back_x0 + back_t + 0.02, Y - 0.03, Z - 0.05),
        role="back_cushion",
        tone=0.3,
        contrast=True,
    )
    pivot = (back_x0, 0.0, seat_top - cushion)
    return [
        box((-X, -Y, seat_z0), (X, Y, seat_top - cushion)),
        box(
            (back_x0 + back_t, -Y + 0.01, seat_top - cushion),
            (X, Y - 0.01, seat_top),
            role="seat_cushion",
            tone=0.3,
            contrast=True,
        ),
        rotated(backrest, "y", -tilt, pivot),
        rotated(pad, "y", -tilt, pivot),
        *_four_legs(X, Y, -Z, seat_z0, leg, 0.02, tone=-0.35),
    ]


@tight
def build_stool(size: np.ndarray) -> list[Part]:
    """Round seat on four legs with a footrest ring; no front."""
    X, Y, Z = _dims(size)
    seat = 0.04
    legs = _four_legs(0.8 * X, 0.8 * Y, -Z, Z - seat, 0.03, 0.0, tone=-0.35)
    return [
        cylinder((-X, -Y, Z - seat), (X, Y, Z), sections=16),
        *legs,
        box((-0.7 * X, -0.7 * Y, -Z + 0.25 * Z), (0.7 * X, 0.7 * Y, -Z + 0.25 * Z + 0.025), tone=-0.35),
    ]


@tight
def build_sofa(size: np.ndarray) -> list[Part]:
    """Base, two seat cushions, backrest with back cushions at -x, arms at both y ends; seat faces +x."""
    X, Y, Z = _dims(size)
    foot, arm_w, back_d = 0.06, min(0.2, 0.12 * 2 * Y), min(0.22, 0.3 * 2 * X)
    seat_top, arm_top = -Z + 0.44, -Z + min(0.64, 0.8 * 2 * Z)
    base_top = seat_top - 0.14
    inner = Y - arm_w
    parts = [
        box((-X, -Y, -Z + foot), (X, Y, base_top)),
        box((-X, -Y, base_top), (-X + back_d, Y, Z), role="backrest"),
        box((-X + back_d, -Y, base_top), (X, -inner, arm_top), role="arm"),
        box((-X + back_d, inner, base_top), (X, Y, arm_top), role="arm"),
        *_four_legs(X, Y, -Z, -Z + foot, 0.05, 0.03, tone=-0.6),
    ]
    n = 2 if inner < 0.8 else 3  # cushions ~0.55-0.75 m wide
    edges = np.linspace(-inner, inner, n + 1)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        parts.append(
            box(
                (-X + back_d, a + 0.005, base_top),
                (X - 0.01, b - 0.005, seat_top),
                role="seat_cushion",
                tone=0.2,
                contrast=True,
            )
        )
        parts.append(
            box(
                (-X + back_d, a + 0.01, seat_top),
                (-X + back_d + 0.12, b - 0.01, Z - 0.06),
                role="back_cushion",
                tone=0.2,
                contrast=True,
            )
        )
    return parts


@tight
def build_bed(size: np.ndarray) -> list[Part]:
    """Frame, white mattress and pillows, duvet in the body colour, headboard at -x; no semantic front."""
    X, Y, Z = _dims(size)
    frame_top, mat_top = -Z + 0.32, -Z + min(0.52, 0.7 * 2 * Z)
    head_t = 0.06
    pillows = []
    n_pillows = 1 if Y < 0.6 else 2
    edges = np.linspace(-Y + 0.08, Y - 0.08, n_pillows + 1)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        pillows.append(
            box(
                (-X + head_t + 0.05, a + 0.03, mat_top),
                (-X + head_t + 0.45, b - 0.03, mat_top + 0.12),
                colour=SHEET,
                role="pillow",
            )
        )
    return [
        box((-X, -Y, -Z), (X, Y, frame_top), tone=-0.3),
        box(
            (-X + head_t, -Y + 0.02, frame_top), (X - 0.02, Y - 0.02, mat_top), colour=SHEET, role="mattress"
        ),
        box((-X + head_t + 0.55, -Y, mat_top - 0.2), (X, Y, mat_top + 0.05), role="duvet"),
        box((-X, -Y, frame_top), (-X + head_t, Y, Z), role="headboard", tone=-0.3),
        *pillows,
    ]


@tight
def build_bookshelf(size: np.ndarray) -> list[Part]:
    """Side panels, top, plinth, closed back at -x, shelves, and blocks of coloured book spines at +x."""
    X, Y, Z = _dims(size)
    t, back = 0.02, 0.012
    n_shelves = max(2, round(2 * Z / 0.38))  # one compartment per ~0.38 m of height
    plinth = 0.06
    levels = np.linspace(-Z + plinth, Z - t, n_shelves + 1)  # board bottoms; the last is the top
    parts = [
        box((-X, -Y, -Z), (X, -Y + t, Z)),
        box((-X, Y - t, -Z), (X, Y, Z)),
        box((-X, -Y + t, -Z), (-X + back, Y - t, Z), role="back_panel"),
        box((-X + back, -Y + t, -Z), (X - 0.01, Y - t, -Z + plinth), tone=-0.2),
    ]
    # Book blocks (width fraction, height fraction of the compartment) cycled per compartment: a few
    # volumes of one colour side by side, filling ~70% of the width (~4 blocks, 48 triangles per shelf).
    pattern = ((0.22, 0.85), (0.15, 0.7), (0.2, 0.78), (0.12, 0.9), (0.18, 0.65))
    inner_w = 2 * (Y - t)
    for k, (z0, z1) in enumerate(zip(levels[:-1], levels[1:], strict=True)):
        parts.append(box((-X + back, -Y + t, z0), (X, Y - t, z0 + t)))  # shelf board
        y = -Y + t + 0.01
        for j in range(4):
            wf, hf = pattern[(j + 2 * k) % len(pattern)]
            bw = wf * inner_w
            if y + bw > Y - t - 0.01:
                break
            top = z0 + t + hf * (z1 - z0 - t)
            parts.append(
                box(
                    (-X + back + 0.03, y, z0 + t),
                    (X - 0.015, y + bw, top),
                    colour=BOOK_COLOURS[(j + 3 * k) % len(BOOK_COLOURS)],
                    role="book",
                )
            )
            y += bw + 0.005
    parts.append(box((-X + back, -Y + t, Z - t), (X, Y - t, Z)))  # top board
    return parts


@tight
def build_lamp(size: np.ndarray) -> list[Part]:
    """Floor lamp: metal disc base, pole, bulb, tapered shade in the body colour; round, no front."""
    X, Y, Z = _dims(size)
    shade_h = min(0.35, 0.22 * 2 * Z)
    return [
        cylinder(
            (-0.6 * X, -0.6 * Y, -Z), (0.6 * X, 0.6 * Y, -Z + 0.03), sections=16, colour=METAL, role="base"
        ),
        cylinder(
            (-0.012, -0.012, -Z + 0.03),
            (0.012, 0.012, Z - 0.5 * shade_h),
            sections=8,
            colour=METAL,
            role="pole",
        ),
        sphere(
            (-0.05, -0.05, Z - shade_h + 0.02),
            (0.05, 0.05, Z - shade_h + 0.12),
            subdivisions=0,
            colour=LIGHT,
            role="light",
        ),
        cylinder((-X, -Y, Z - shade_h), (X, Y, Z), sections=16, taper=0.7, role="shade"),
    ]


def _front_panels(
    X: float, Y: float, z0: float, z1: float, rows: int, cols: int, role: str, knob: bool
) -> list[Part]:
    """Doors/drawers on the +x face between z0 and z1: panels from x = X - 0.045 to X - 0.025 (toned away
    from the body so they show on any colour) and handles up to x = X."""
    parts = []
    ys = np.linspace(-Y + 0.01, Y - 0.01, cols + 1)
    zs = np.linspace(z0, z1, rows + 1)
    for r in range(rows):
        for c in range(cols):
            ya, yb, za, zb = ys[c] + 0.003, ys[c + 1] - 0.003, zs[r] + 0.003, zs[r + 1] - 0.003
            parts.append(box((X - 0.045, ya, za), (X - 0.025, yb, zb), role=role, tone=0.15, contrast=True))
            if knob:  # drawer pull: a short horizontal bar centred on the panel
                yc, zc, half = (ya + yb) / 2, (za + zb) / 2, min(0.06, 0.25 * (yb - ya))
                lo, hi = (X - 0.025, yc - half, zc - 0.008), (X, yc + half, zc + 0.008)
            else:  # door: a vertical bar near the edge where the door opens (next to its neighbour)
                yh = yb - 0.04 if c % 2 == 0 else ya + 0.04
                zc, half = (za + zb) / 2, min(0.08, 0.2 * (zb - za))
                lo, hi = (X - 0.025, yh - 0.008, zc - half), (X, yh + 0.008, zc + half)
            parts.append(box(lo, hi, role="handle", tone=0.6, contrast=True))
    return parts


def _case(X: float, Y: float, Z: float, plinth: float) -> list[Part]:
    """Carcass of a case piece (body colour) whose fronts are added by _front_panels."""
    return [
        box((-X, -Y, -Z + plinth), (X - 0.045, Y, Z)),
        box((-X + 0.03, -Y + 0.03, -Z), (X - 0.08, Y - 0.03, -Z + plinth), role="plinth", tone=-0.5),
    ]


@tight
def build_cabinet(size: np.ndarray) -> list[Part]:
    """Carcass with one or two doors (two when wider than 0.6 m) and door handles on +x."""
    X, Y, Z = _dims(size)
    plinth = 0.06
    cols = 2 if 2 * Y > 0.6 else 1
    return [
        *_case(X, Y, Z, plinth),
        *_front_panels(X, Y, -Z + plinth + 0.01, Z - 0.02, 1, cols, "door", False),
    ]


@tight
def build_nightstand(size: np.ndarray) -> list[Part]:
    """Small carcass with two drawers and pulls on +x."""
    X, Y, Z = _dims(size)
    plinth = 0.05
    return [
        *_case(X, Y, Z, plinth),
        *_front_panels(X, Y, Z - 0.02 - 0.5 * (2 * Z - plinth), Z - 0.02, 2, 1, "drawer", True),
    ]


@tight
def build_dresser(size: np.ndarray) -> list[Part]:
    """Carcass with 3-4 rows of drawers (two columns when wider than 1 m) and pulls on +x."""
    X, Y, Z = _dims(size)
    plinth = 0.06
    rows = 3 if 2 * Z < 0.95 else 4
    cols = 2 if 2 * Y > 1.0 else 1
    return [
        *_case(X, Y, Z, plinth),
        *_front_panels(X, Y, -Z + plinth + 0.01, Z - 0.02, rows, cols, "drawer", True),
    ]


def _display(size: np.ndarray, bezel: float, panel_t: float, stand_w_frac: float) -> list[Part]:
    """Monitor / tv: flat foot, neck, casing (body colour) and a dark screen on the casing's +x face."""
    X, Y, Z = _dims(size)
    foot_h = 0.02
    panel_z0 = -Z + min(0.12, 0.2 * 2 * Z)
    screen_x0 = X - 0.004
    case_x0 = screen_x0 - panel_t
    neck_x0 = max(-X + 0.02, case_x0 - 0.04)
    sw = stand_w_frac * Y
    return [
        box((-X, -sw, -Z), (X - 0.01, sw, -Z + foot_h), role="stand", tone=-0.3),
        box((neck_x0, -0.03, -Z + foot_h), (case_x0, 0.03, panel_z0 + 0.1), role="stand", tone=-0.3),
        box((case_x0, -Y, panel_z0), (screen_x0, Y, Z)),
        box(
            (screen_x0, -Y + bezel, panel_z0 + bezel), (X, Y - bezel, Z - bezel), colour=SCREEN, role="screen"
        ),
    ]


@tight
def build_monitor(size: np.ndarray) -> list[Part]:
    """Computer monitor: 1.5 cm bezel, 4 cm casing, dark screen facing +x."""
    return _display(size, bezel=0.015, panel_t=0.04, stand_w_frac=0.35)


@tight
def build_tv(size: np.ndarray) -> list[Part]:
    """Television on a pedestal foot: 1 cm bezel, 5 cm casing, dark screen facing +x."""
    return _display(size, bezel=0.01, panel_t=0.05, stand_w_frac=0.3)


@tight
def build_plant(size: np.ndarray) -> list[Part]:
    """Tapered pot in the body colour, soil, and a two-ball leaf crown (fixed green); round, no front."""
    X, Y, Z = _dims(size)
    pot_h = 0.32 * 2 * Z
    pot_r = 0.55
    return [
        cylinder(
            (-pot_r * X, -pot_r * Y, -Z),
            (pot_r * X, pot_r * Y, -Z + pot_h),
            sections=12,
            taper=1.3,
            role="pot",
        ),
        cylinder(
            (-0.9 * pot_r * X, -0.9 * pot_r * Y, -Z + pot_h),
            (0.9 * pot_r * X, 0.9 * pot_r * Y, -Z + pot_h + 0.01),
            sections=12,
            colour=SOIL,
            role="soil",
        ),
        sphere((-X, -Y, -Z + pot_h * 0.9), (X, Y, Z - 0.25 * 2 * Z), colour=LEAF, role="leaf"),
        sphere((-0.7 * X, -0.7 * Y, Z - 0.5 * 2 * Z), (0.7 * X, 0.7 * Y, Z), colour=LEAF, role="leaf"),
    ]


def _colours_except(*names: str) -> tuple[str, ...]:
    return tuple(n for n in PALETTE_NAMES if n not in names)


# Wood and fabric furniture reads naturally in every palette colour; displays exclude black (the dark
# screen must stand out from the casing in the image).
# (l, w, h) ranges in metres; sources per line.
INDOOR_SPECS: tuple[CategorySpec, ...] = (
    # dining / kitchen tables: 0.8-1.8 m long, 0.6-1.0 m wide, 0.72-0.76 m high (IKEA EKEDALEN/LISABO range)
    CategorySpec(
        "table",
        "indoor",
        (0.8, 0.6, 0.70),
        (1.8, 1.0, 0.78),
        False,
        "floor",
        True,
        build_table,
        yaw_hint="free",
    ),
    # EN 527 desk height 0.72-0.76 m; 1.0-1.6 m x 0.55-0.8 m tops (IKEA MICKE/BEKANT)
    CategorySpec(
        "desk",
        "indoor",
        (1.0, 0.55, 0.72),
        (1.6, 0.8, 0.76),
        False,
        "floor",
        True,
        build_desk,
        yaw_hint="back_to_wall",
    ),
    # dining/side chairs: seat 0.46 m, overall 0.78-1.0 m high, 0.45-0.6 deep, 0.42-0.55 wide (BIFMA, IKEA)
    CategorySpec(
        "chair",
        "indoor",
        (0.45, 0.42, 0.78),
        (0.60, 0.55, 1.00),
        True,
        "floor",
        False,
        build_chair,
        front_cue="shape",
        yaw_hint="faces_table",
    ),
    # bar / kitchen stools: seat 0.3-0.45 m across, 0.45-0.75 m high
    CategorySpec(
        "stool",
        "indoor",
        (0.30, 0.30, 0.45),
        (0.42, 0.42, 0.75),
        False,
        "floor",
        False,
        build_stool,
        yaw_hint="free",
        round_xy=True,
    ),
    # 2-3 seat sofas: 0.8-1.0 m deep, 1.5-2.4 m wide, 0.75-0.95 m high, seat 0.44 m
    CategorySpec(
        "sofa",
        "indoor",
        (0.80, 1.50, 0.75),
        (1.00, 2.40, 0.95),
        True,
        "floor",
        False,
        build_sofa,
        front_cue="shape",
        yaw_hint="back_to_wall",
    ),
    # beds: single 0.9 x 2.0 m to king 1.8-1.9 x 2.1 m frames; headboard 0.8-1.1 m high
    CategorySpec(
        "bed",
        "indoor",
        (1.95, 0.95, 0.80),
        (2.15, 1.90, 1.10),
        False,
        "floor",
        False,
        build_bed,
        yaw_hint="back_to_wall",
    ),
    # bookcases: 0.28-0.40 m deep, 0.6-1.2 m wide, 1.0-2.0 m high (IKEA BILLY 0.28 x 0.8 x 2.02)
    CategorySpec(
        "bookshelf",
        "indoor",
        (0.28, 0.60, 1.00),
        (0.40, 1.20, 2.00),
        True,
        "floor",
        True,
        build_bookshelf,
        front_cue="colour",
        yaw_hint="back_to_wall",
    ),
    # floor lamps: 1.4-1.8 m high, shade 0.3-0.5 m across
    CategorySpec(
        "lamp",
        "indoor",
        (0.30, 0.30, 1.40),
        (0.50, 0.50, 1.80),
        False,
        "floor",
        False,
        build_lamp,
        yaw_hint="free",
        round_xy=True,
    ),
    # storage cabinets / sideboards: 0.4-0.6 m deep, 0.5-1.2 m wide, 0.7-1.9 m high
    CategorySpec(
        "cabinet",
        "indoor",
        (0.40, 0.50, 0.70),
        (0.60, 1.20, 1.90),
        True,
        "floor",
        True,
        build_cabinet,
        front_cue="colour",
        yaw_hint="back_to_wall",
    ),
    # bedside tables: 0.35-0.45 m deep, 0.4-0.55 m wide, 0.45-0.65 m high
    CategorySpec(
        "nightstand",
        "indoor",
        (0.35, 0.40, 0.45),
        (0.45, 0.55, 0.65),
        True,
        "floor",
        True,
        build_nightstand,
        front_cue="colour",
        yaw_hint="back_to_wall",
    ),
    # chests of drawers: 0.4-0.55 m deep, 0.8-1.6 m wide, 0.75-1.2 m high (IKEA MALM range)
    CategorySpec(
        "dresser",
        "indoor",
        (0.40, 0.80, 0.75),
        (0.55, 1.60, 1.20),
        True,
        "floor",
        True,
        build_dresser,
        front_cue="colour",
        yaw_hint="back_to_wall",
    ),
    # 22-32" monitors on their stand: 0.5-0.72 m wide, 0.38-0.55 m high, foot 0.15-0.25 m deep
    CategorySpec(
        "monitor",
        "indoor",
        (0.15, 0.50, 0.38),
        (0.25, 0.72, 0.55),
        True,
        "surface",
        False,
        build_monitor,
        front_cue="colour",
        yaw_hint="faces_room",
        colours=_colours_except("black"),
    ),
    # 40-75" televisions on a pedestal: 0.9-1.68 m wide, 0.58-1.0 m high, foot 0.2-0.35 m deep
    CategorySpec(
        "tv",
        "indoor",
        (0.20, 0.90, 0.58),
        (0.35, 1.68, 1.00),
        True,
        "surface",
        False,
        build_tv,
        front_cue="colour",
        yaw_hint="faces_room",
        colours=_colours_except("black"),
    ),
    # potted floor plants: 0.5-1.5 m high, crown 0.35-0.7 m across
    CategorySpec(
        "plant",
        "indoor",
        (0.35, 0.35, 0.50),
        (0.70, 0.70, 1.50),
        False,
        "floor",
        False,
        build_plant,
        yaw_hint="free",
        round_xy=True,
        colours=_colours_except("green"),
    ),
)
