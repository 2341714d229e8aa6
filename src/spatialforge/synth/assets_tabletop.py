"""Tabletop categories: small objects that stand on a support's top face (placement "surface").

The support itself is an indoor category with supports=True ("table", "desk", "cabinet", "dresser",
"nightstand", "bookshelf"): a tabletop scene uses the indoor "table" rather than a second table here, so
category names stay unique. Object frame: +x front, +y left, +z up, metres, bottom at z = -h/2.
Sizes: typical retail product dimensions (11 oz mug 8.2 cm x 9.5 cm; 0.5 l water bottle 6.5 x 21 cm,
wine bottle 7.5 x 30 cm; 330 ml can 6.6 x 11.5 cm; dinner plate 25-28 cm; 13-16" laptops 30-36 cm wide;
phones 14-16.5 x 7-7.8 cm; apples 6.5-9 cm).
"""

from __future__ import annotations

import math

import numpy as np

from spatialforge.synth.assets_core import (
    BARK,
    KEYBOARD,
    METAL,
    PAGES,
    SCREEN,
    CategorySpec,
    Part,
    box,
    cylinder,
    rotated,
    sphere,
    tight,
)


def _dims(size: np.ndarray) -> tuple[float, float, float]:
    return float(size[0]) / 2, float(size[1]) / 2, float(size[2]) / 2


def _interior(X: float, Y: float, Z: float, frac: float, tone: float) -> Part:
    """A 2 mm disc on the top face, toned away from the body: the shadowed inside of an open vessel."""
    return cylinder(
        (-frac * X, -frac * Y, Z - 0.002),
        (frac * X, frac * Y, Z),
        sections=12,
        role="interior",
        tone=tone,
        contrast=True,
    )


@tight
def build_mug(size: np.ndarray) -> list[Part]:
    """Cylindrical mug with a C handle on -x (the handle is no front)."""
    X, Y, Z = _dims(size)
    hd = 0.28 * 2 * X  # handle reach, metres
    bx0 = -X + hd
    body_X = (X - bx0) / 2
    cx = (X + bx0) / 2
    z_lo, z_hi, t = -Z + 0.25 * 2 * Z, Z - 0.15 * 2 * Z, 0.012
    return [
        cylinder((bx0, -Y, -Z), (X, Y, Z - 0.002), sections=16),
        cylinder(
            (cx - 0.85 * body_X, -0.85 * Y, Z - 0.002),
            (cx + 0.85 * body_X, 0.85 * Y, Z),
            sections=16,
            role="interior",
            tone=0.5,
            contrast=True,
        ),
        box((-X, -0.006, z_lo), (-X + t, 0.006, z_hi), role="handle_mug"),
        box((-X, -0.006, z_hi - t), (bx0 + 0.004, 0.006, z_hi), role="handle_mug"),
        box((-X, -0.006, z_lo), (bx0 + 0.004, 0.006, z_lo + t), role="handle_mug"),
    ]


@tight
def build_cup(size: np.ndarray) -> list[Part]:
    """Drinking / paper cup widening towards the top."""
    X, Y, Z = _dims(size)
    return [cylinder((-X, -Y, -Z), (X, Y, Z - 0.002), sections=16, taper=1.35), _interior(X, Y, Z, 0.88, 0.5)]


@tight
def build_bowl(size: np.ndarray) -> list[Part]:
    """Bowl: strongly tapered body with a darker inside disc."""
    X, Y, Z = _dims(size)
    return [cylinder((-X, -Y, -Z), (X, Y, Z - 0.002), sections=16, taper=1.7), _interior(X, Y, Z, 0.9, 0.45)]


@tight
def build_plate(size: np.ndarray) -> list[Part]:
    """Plate: flat tapered disc with a slightly toned well."""
    X, Y, Z = _dims(size)
    return [cylinder((-X, -Y, -Z), (X, Y, Z - 0.002), sections=16, taper=1.25), _interior(X, Y, Z, 0.7, 0.15)]


@tight
def build_bottle(size: np.ndarray) -> list[Part]:
    """Bottle: body, tapered shoulder, neck and a contrasting cap."""
    X, Y, Z = _dims(size)
    h = 2 * Z
    z_sh, z_neck, z_cap = -Z + 0.6 * h, -Z + 0.75 * h, Z - 0.06 * h
    return [
        cylinder((-X, -Y, -Z), (X, Y, z_sh), sections=12),
        cylinder((-X, -Y, z_sh), (X, Y, z_neck), sections=12, taper=0.35),
        cylinder((-0.33 * X, -0.33 * Y, z_neck), (0.33 * X, 0.33 * Y, z_cap), sections=12),
        cylinder(
            (-0.4 * X, -0.4 * Y, z_cap),
            (0.4 * X, 0.4 * Y, Z),
            sections=12,
            role="cap",
            tone=0.6,
            contrast=True,
        ),
    ]


@tight
def build_book(size: np.ndarray) -> list[Part]:
    """Book lying flat: covers and spine (-y) in the body colour around a cream page block."""
    X, Y, Z = _dims(size)
    c = min(0.003, 0.2 * Z)  # cover board thickness
    return [
        box((-X, -Y, -Z), (X, Y, -Z + c), role="cover"),
        box((-X, -Y, Z - c), (X, Y, Z), role="cover"),
        box((-X, -Y, -Z + c), (X, -Y + c, Z - c), role="spine"),
        box((-X + 0.003, -Y + c, -Z + c), (X - 0.003, Y - 0.003, Z - c), colour=PAGES, role="pages"),
    ]


_LID_LEAN = math.radians(18.0)  # open lid leans back 18 degrees from vertical (~108 degrees opening)


@tight
def build_laptop(size: np.ndarray) -> list[Part]:
    """Open laptop, user at +x: base with dark keyboard and touchpad, lid hinged at the base's -x edge
    leaning back, screen facing +x."""
    X, Y, Z = _dims(size)
    base_t, lid_t = 0.018, 0.007
    lid_h = (2 * Z - base_t) / math.cos(_LID_LEAN)
    base_x0 = -X + lid_h * math.sin(_LID_LEAN)  # the lid's top edge reaches x = -X
    base_top = -Z + base_t
    pivot = (base_x0, 0.0, base_top)
    lid = box((base_x0, -Y, base_top), (base_x0 + lid_t, Y, base_top + lid_h))
    screen = box(
        (base_x0 + lid_t, -Y + 0.012, base_top + 0.012),
        (base_x0 + lid_t + 0.002, Y - 0.012, base_top + lid_h - 0.012),
        colour=SCREEN,
        role="screen",
    )
    depth = X - base_x0
    return [
        box((base_x0, -Y, -Z), (X, Y, base_top)),
        box(
            (base_x0 + 0.02, -Y + 0.025, base_top),
            (base_x0 + 0.55 * depth, Y - 0.025, base_top + 0.002),
            colour=KEYBOARD,
            role="keyboard",
        ),
        box(
            (base_x0 + 0.6 * depth, -0.2 * Y, base_top),
            (X - 0.015, 0.2 * Y, base_top + 0.001),
            role="keyboard",
            tone=0.3,
            contrast=True,
        ),
        rotated(lid, "y", -_LID_LEAN, pivot),
        rotated(screen, "y", -_LID_LEAN, pivot),
    ]


@tight
def build_vase(size: np.ndarray) -> list[Part]:
    """Vase: round belly, narrow neck, flared lip."""
    X, Y, Z = _dims(size)
    h = 2 * Z
    return [
        sphere((-X, -Y, -Z), (X, Y, -Z + 0.65 * h)),
        cylinder((-0.4 * X, -0.4 * Y, -Z + 0.55 * h), (0.4 * X, 0.4 * Y, Z - 0.08 * h), sections=12),
        cylinder((-0.55 * X, -0.55 * Y, Z - 0.1 * h), (0.55 * X, 0.55 * Y, Z - 0.002), sections=12),
        _interior(0.55 * X, 0.55 * Y, Z, 0.8, 0.5),
    ]


@tight
def build_box(size: np.ndarray) -> list[Part]:
    """Lidded box: body with a slightly wider lid over its top quarter."""
    X, Y, Z = _dims(size)
    lid = 0.25 * 2 * Z
    return [
        box((-X + 0.004, -Y + 0.004, -Z), (X - 0.004, Y - 0.004, Z - lid + 0.002)),
        box((-X, -Y, Z - lid), (X, Y, Z), role="lid", tone=-0.15),
    ]


@tight
def build_apple(size: np.ndarray) -> list[Part]:
    """Apple: slightly flattened ball with a short stem."""
    X, Y, Z = _dims(size)
    h = 2 * Z
    return [
        sphere((-X, -Y, -Z), (X, Y, Z - 0.12 * h)),
        cylinder((-0.004, -0.004, Z - 0.2 * h), (0.004, 0.004, Z), sections=6, colour=BARK, role="stem"),
    ]


@tight
def build_phone(size: np.ndarray) -> list[Part]:
    """Phone lying face up: body with a dark display on top (+z); no semantic front."""
    X, Y, Z = _dims(size)
    return [
        box((-X, -Y, -Z), (X, Y, Z - 0.0005)),
        box((-X + 0.004, -Y + 0.003, Z - 0.0005), (X - 0.004, Y - 0.003, Z), colour=SCREEN, role="display"),
    ]


@tight
def build_can(size: np.ndarray) -> list[Part]:
    """Drinks can: body in the body colour, aluminium top and bottom rims."""
    X, Y, Z = _dims(size)
    return [
        cylinder(
            (-0.92 * X, -0.92 * Y, -Z), (0.92 * X, 0.92 * Y, -Z + 0.01), sections=12, colour=METAL, role="rim"
        ),
        cylinder((-X, -Y, -Z + 0.01), (X, Y, Z - 0.012), sections=12),
        cylinder((-X, -Y, Z - 0.012), (X, Y, Z), sections=12, taper=0.85, colour=METAL, role="rim"),
    ]


def _spec(
    name: str, lo: tuple[float, float, float], hi: tuple[float, float, float], build: object, **kw: object
) -> CategorySpec:
    return CategorySpec(name, "tabletop", lo, hi, name == "laptop", "surface", False, build, **kw)  # type: ignore[arg-type]


# (l, w, h) ranges in metres; round objects use one diameter for x and y.
TABLETOP_SPECS: tuple[CategorySpec, ...] = (
    _spec("mug", (0.11, 0.075, 0.085), (0.13, 0.095, 0.105), build_mug),  # x includes the handle
    _spec("cup", (0.07, 0.07, 0.09), (0.09, 0.09, 0.12), build_cup, round_xy=True),
    _spec("bowl", (0.12, 0.12, 0.05), (0.20, 0.20, 0.09), build_bowl, round_xy=True),
    _spec("plate", (0.18, 0.18, 0.015), (0.28, 0.28, 0.03), build_plate, round_xy=True),
    _spec("bottle", (0.06, 0.06, 0.20), (0.09, 0.09, 0.33), build_bottle, round_xy=True),
    _spec("can", (0.058, 0.058, 0.10), (0.068, 0.068, 0.16), build_can, round_xy=True),
    _spec("book", (0.18, 0.12, 0.015), (0.28, 0.20, 0.05), build_book),  # lying flat, spine at -y
    # open laptop: depth with the leaning lid 0.26-0.32 m, 0.30-0.36 m wide, 0.20-0.25 m high
    _spec(
        "laptop",
        (0.26, 0.30, 0.20),
        (0.32, 0.36, 0.25),
        build_laptop,
        front_cue="colour",
        yaw_hint="faces_user",
        colours=("grey", "white", "blue", "red", "pink"),
    ),
    _spec("vase", (0.10, 0.10, 0.20), (0.20, 0.20, 0.40), build_vase, round_xy=True),
    _spec("box", (0.10, 0.08, 0.05), (0.30, 0.25, 0.20), build_box),
    _spec(
        "apple",
        (0.065, 0.065, 0.06),
        (0.09, 0.09, 0.085),
        build_apple,
        round_xy=True,
        colours=("red", "green", "yellow"),
    ),
    _spec(
        "phone",
        (0.14, 0.068, 0.007),
        (0.165, 0.078, 0.009),
        build_phone,
        colours=("black", "white", "grey", "blue", "pink", "red"),
    ),
)
