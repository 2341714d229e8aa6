"""The surroundings of a synthetic scene ("stuff": no object, instance id 0): floor, walls, ceiling of a room;
ground, road, lane marks, sidewalks and building fronts of a street. World frame, metres, z up; floor at 0.

Faces are wound counter-clockwise as seen from the side a camera looks at them from (the room's inside, the
street's sky); the renderer shades both sides alike, so the winding only matters for readers of the meshes.
"""

from __future__ import annotations

import random
from typing import NamedTuple

import numpy as np

from spatialforge.synth.layout import Layout

RGB = tuple[float, float, float]


class StuffMesh(NamedTuple):
    vertices: np.ndarray  # (V, 3) m, world
    faces: np.ndarray  # (F, 3)
    face_colours: np.ndarray  # (F, 3) linear RGB in [0, 1]


def _quad(corners: list[tuple[float, float, float]], colour: RGB) -> StuffMesh:
    """Two triangles over four corners given counter-clockwise as seen from the visible side."""
    return StuffMesh(
        np.array(corners, dtype=float),
        np.array([[0, 1, 2], [0, 2, 3]]),
        np.array([colour, colour], dtype=float),
    )


def _tiled_floor(
    x0: float, x1: float, y0: float, y1: float, tile: float, a: RGB, b: RGB, z: float = 0.0
) -> list[StuffMesh]:
    """A checkerboard of square tiles (tile m) over x0..x1, y0..y1: parallel lines that show perspective."""
    out = []
    xs = np.append(np.arange(x0, x1, tile), x1)
    ys = np.append(np.arange(y0, y1, tile), y1)
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            colour = a if (i + j) % 2 == 0 else b
            out.append(
                _quad(
                    [
                        (xs[i], ys[j], z),
                        (xs[i + 1], ys[j], z),
                        (xs[i + 1], ys[j + 1], z),
                        (xs[i], ys[j + 1], z),
                    ],
                    colour,
                )
            )
    return out


def merge(meshes: list[StuffMesh]) -> StuffMesh:
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    return StuffMesh(
        np.concatenate([m.vertices for m in meshes]),
        np.concatenate([m.faces + o for m, o in zip(meshes, offsets, strict=True)]),
        np.concatenate([m.face_colours for m in meshes]),
    )


def room_stuff(layout: Layout, rng: random.Random) -> StuffMesh:
    assert layout.room_m is not None
    w, d, h = layout.room_m
    x0, x1, y0, y1 = -w / 2, w / 2, -d / 2, d / 2
    wood = (rng.uniform(0.45, 0.6), rng.uniform(0.33, 0.42), rng.uniform(0.22, 0.3))
    floor = _tiled_floor(x0, x1, y0, y1, 0.6, wood, tuple(c * 0.85 for c in wood))  # type: ignore[arg-type]
    paint = (rng.uniform(0.8, 0.9), rng.uniform(0.78, 0.88), rng.uniform(0.72, 0.82))
    accent = (paint[0] * 0.88, paint[1] * 0.92, paint[2])  # one wall a shade cooler: the room has a "side"
    walls = [
        _quad([(x0, y0, 0), (x1, y0, 0), (x1, y0, h), (x0, y0, h)], paint),  # y = -d/2, seen from +y
        _quad([(x1, y1, 0), (x0, y1, 0), (x0, y1, h), (x1, y1, h)], accent),  # y = +d/2
        _quad([(x0, y1, 0), (x0, y0, 0), (x0, y0, h), (x0, y1, h)], paint),  # x = -w/2
        _quad([(x1, y0, 0), (x1, y1, 0), (x1, y1, h), (x1, y0, h)], paint),  # x = +w/2
        _quad(
            [(x0, y0, h), (x0, y1, h), (x1, y1, h), (x1, y0, h)], (0.93, 0.93, 0.92)
        ),  # ceiling, seen from below
    ]
    return merge([*floor, *walls])


def street_stuff(layout: Layout, rng: random.Random) -> StuffMesh:
    assert layout.road_half_width_m is not None and layout.sidewalk_m is not None
    r, s = layout.road_half_width_m, layout.sidewalk_m
    y0, y1 = -10.0, 90.0
    asphalt = (0.24, 0.24, 0.26)
    pavement = (0.62, 0.61, 0.58)
    grass = (0.33, 0.47, 0.26)
    parts = [
        _quad([(-r, y0, 0), (r, y0, 0), (r, y1, 0), (-r, y1, 0)], asphalt),
        _quad([(r, y0, 0), (r + s, y0, 0), (r + s, y1, 0), (r, y1, 0)], pavement),
        _quad([(-r - s, y0, 0), (-r, y0, 0), (-r, y1, 0), (-r - s, y1, 0)], pavement),
        _quad([(r + s, y0, 0), (r + s + 60, y0, 0), (r + s + 60, y1, 0), (r + s, y1, 0)], grass),
        _quad([(-r - s - 60, y0, 0), (-r - s, y0, 0), (-r - s, y1, 0), (-r - s - 60, y1, 0)], grass),
    ]
    for y in np.arange(y0, y1, 6.0):  # dashed centre line, 3 m dashes, 1 cm above the asphalt
        parts.append(
            _quad(
                [(-0.07, y, 0.01), (0.07, y, 0.01), (0.07, y + 3.0, 0.01), (-0.07, y + 3.0, 0.01)],
                (0.9, 0.9, 0.85),
            )
        )
    for side in (-1.0, 1.0):  # building fronts beyond the sidewalk, 8-20 m tall, 10-25 m wide
        y = y0
        while y < y1:
            width = rng.uniform(10.0, 25.0)
            height = rng.uniform(8.0, 20.0)
            x = side * (r + s + rng.uniform(1.0, 4.0))
            shade = rng.uniform(0.45, 0.8)
            colour = (shade, shade * rng.uniform(0.85, 1.0), shade * rng.uniform(0.75, 0.95))
            a, b = (y, y + width) if side < 0 else (y + width, y)
            parts.append(_quad([(x, a, 0), (x, b, 0), (x, b, height), (x, a, height)], colour))
            y += width + rng.uniform(0.0, 6.0)
    return merge(parts)


def stuff_for(layout: Layout, rng: random.Random) -> StuffMesh:
    return street_stuff(layout, rng) if layout.setting == "street" else room_stuff(layout, rng)
