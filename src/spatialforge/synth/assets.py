"""The synthetic world's object catalogue: procedural trimesh assets per category (docs/SYNTH.md).

Object frame (geometry.boxes): +x front / length, +y left / width, +z up / height, metres, origin at the
centre of the object's tight box; a mesh built at size s spans exactly [-s/2, +s/2] on every axis.

    CATALOGUE["chair"]                        -> CategorySpec (sizes, front, placement, builder, hints)
    categories("indoor")                      -> the indoor CategorySpecs, in catalogue order
    sample_size(spec, random.Random(0))       -> (3,) metres inside [size_min_m, size_max_m]
    build_mesh(spec, size, palette_rgb("red"))-> AssetMesh(vertices, faces, face_colours)

Settings: "indoor" (furniture), "tabletop" (small objects standing on a support's top: put them on an
indoor "table", "desk", "cabinet", "dresser" or "nightstand", whose spec has supports=True), "street".
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from spatialforge.synth.assets_core import (
    BACK_ROLES,
    FRONT_ROLES,
    PALETTE,
    PALETTE_NAMES,
    SETTINGS,
    YAW_HINTS,
    CategorySpec,
    Part,
    check_size,
    part_colour,
)
from spatialforge.synth.assets_indoor import INDOOR_SPECS
from spatialforge.synth.assets_street import STREET_SPECS
from spatialforge.synth.assets_tabletop import TABLETOP_SPECS

__all__ = [
    "BACK_ROLES",
    "CATALOGUE",
    "FRONT_ROLES",
    "PALETTE",
    "PALETTE_NAMES",
    "SETTINGS",
    "YAW_HINTS",
    "AssetMesh",
    "CategorySpec",
    "Part",
    "build_mesh",
    "categories",
    "palette_rgb",
    "sample_size",
]


def _register(*groups: tuple[CategorySpec, ...]) -> Mapping[str, CategorySpec]:
    out: dict[str, CategorySpec] = {}
    for group in groups:
        for spec in group:
            if spec.name in out:
                raise ValueError(f"duplicate category name in the asset catalogue: {spec.name!r}")
            out[spec.name] = spec
    return MappingProxyType(out)


CATALOGUE: Mapping[str, CategorySpec] = _register(INDOOR_SPECS, TABLETOP_SPECS, STREET_SPECS)


def categories(setting: str) -> tuple[CategorySpec, ...]:
    """The categories of one setting ("indoor", "tabletop", "street"), in catalogue order."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}; got {setting!r}")
    return tuple(spec for spec in CATALOGUE.values() if spec.setting == setting)


def palette_rgb(name: str) -> tuple[float, float, float]:
    """Linear RGB of a PALETTE colour by name."""
    for n, rgb in PALETTE:
        if n == name:
            return rgb
    raise ValueError(f"colour name must be one of {PALETTE_NAMES}; got {name!r}")


# Weight of the draw shared by all three axes: big objects tend to be big in every direction (a long
# sofa is rarely the shallowest), while each axis still varies on its own.
_SHARED_WEIGHT = 0.5


def sample_size(spec: CategorySpec, rng: random.Random) -> np.ndarray:
    """(3,) metres: size_min + (size_max - size_min) * u per axis, u = 0.5 * shared + 0.5 * own.

    `shared` and the three `own` values are uniform in [0, 1) drawn in that order from rng (4 draws per
    call, always), so u is in [0, 1) and the result lies in [size_min_m, size_max_m]. round_xy categories
    use the x value for y as well (a round object's two diameters are one). Deterministic for a seeded rng.
    """
    if not isinstance(rng, random.Random):
        raise ValueError(f"rng must be a random.Random; got {type(rng).__name__}")
    shared = rng.random()
    u = np.array([_SHARED_WEIGHT * shared + (1 - _SHARED_WEIGHT) * rng.random() for _ in range(3)])
    if spec.round_xy:
        u[1] = u[0]
    lo = np.asarray(spec.size_min_m, dtype=float)
    hi = np.asarray(spec.size_max_m, dtype=float)
    return lo + (hi - lo) * u


class AssetMesh(NamedTuple):
    """vertices (V, 3) m in the object frame; faces (F, 3) int64 CCW from outside; face_colours (F, 3)
    linear RGB in [0, 1]."""

    vertices: np.ndarray
    faces: np.ndarray
    face_colours: np.ndarray


def _check_rgb(rgb: object) -> tuple[float, float, float]:
    c = np.asarray(rgb, dtype=float).reshape(-1)
    if c.shape != (3,) or not np.all(np.isfinite(c)) or np.any(c < 0) or np.any(c > 1):
        raise ValueError(f"body_rgb must be 3 linear RGB values in [0, 1]; got {rgb!r}")
    return (float(c[0]), float(c[1]), float(c[2]))


def build_mesh(spec: CategorySpec, size_m: np.ndarray, body_rgb: tuple[float, float, float]) -> AssetMesh:
    """One mesh of the category at size_m (any positive size; sample_size keeps it realistic), painted
    with body_rgb where a part takes the body colour. Bounds are exactly [-size_m/2, +size_m/2]."""
    if not isinstance(spec, CategorySpec):
        raise ValueError(f"spec must be a CategorySpec; got {type(spec).__name__}")
    size = check_size(size_m, "size_m")
    body = _check_rgb(body_rgb)
    parts = spec.build(size)
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts[:-1]])
    vertices = np.concatenate([p.vertices for p in parts])  # (V, 3) m, object frame
    faces = np.concatenate([p.faces + off for p, off in zip(parts, offsets, strict=True)])  # (F, 3)
    colours = np.concatenate(
        [np.tile(np.asarray(part_colour(p, body), dtype=float), (len(p.faces), 1)) for p in parts]
    )  # (F, 3) linear RGB
    return AssetMesh(vertices, faces.astype(np.int64), colours)
