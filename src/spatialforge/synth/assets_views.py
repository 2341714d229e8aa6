"""Renderer-free views of catalogue meshes: orthographic first-hit rasterisation along an object axis.

Used by the tests (is a front visible from +x and not from -x?) and for quick contact sheets. Pure NumPy:
every triangle is projected onto the plane of the other two axes and each grid point keeps the
triangle whose hit is nearest to the viewer; no lighting unless asked for.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spatialforge.synth.assets import AssetMesh

_AXES = {"x": 0, "y": 1, "z": 2}


class AxisView(NamedTuple):
    """First hits seen from one side of an object along one axis.

    Grid axes: rows follow the first remaining object axis in ascending coordinate order, columns the
    second (view along x: rows = y, columns = z; along y: rows = x, columns = z; along z: rows = x,
    columns = y). Views from the two opposite sides share the grid, so they compare pixel by pixel.
    face (R, C) int: face index hit, -1 = empty; depth (R, C) m: distance from the object's box face
    on the viewer's side (NaN = empty); colour (R, C, 3) linear RGB (NaN = empty).
    """

    face: np.ndarray
    depth: np.ndarray
    colour: np.ndarray


def axis_view(mesh: AssetMesh, axis: str, sign: int, pixels: int = 48, chunk: int = 512) -> AxisView:
    """The mesh seen from the `sign` side (+1 or -1) of object `axis` ("x", "y", "z"), orthographic, on a
    pixels x pixels grid of square cells centred on the mesh, its longer side spanning the bounds."""
    if axis not in _AXES or sign not in (1, -1):
        raise ValueError(f"axis must be 'x', 'y' or 'z' and sign +1 or -1; got {axis!r}, {sign!r}")
    if pixels < 2:
        raise ValueError(f"pixels must be >= 2; got {pixels}")
    a = _AXES[axis]
    u_ax, v_ax = [i for i in range(3) if i != a]
    v = np.asarray(mesh.vertices, dtype=float)  # (V, 3) m
    lo, hi = v.min(axis=0), v.max(axis=0)
    tri = v[mesh.faces]  # (F, 3 corners, 3) m
    cell = max(hi[u_ax] - lo[u_ax], hi[v_ax] - lo[v_ax]) / pixels  # square cells, metres
    gu = (lo[u_ax] + hi[u_ax]) / 2 + (np.arange(pixels) + 0.5 - pixels / 2) * cell  # (R,) cell centres
    gv = (lo[v_ax] + hi[v_ax]) / 2 + (np.arange(pixels) + 0.5 - pixels / 2) * cell  # (C,)
    pu, pv = (g.reshape(-1) for g in np.meshgrid(gu, gv, indexing="ij"))  # (R*C,) each
    p0, p1, p2 = tri[:, 0], tri[:, 1], tri[:, 2]  # (F, 3) each
    e1u, e1v = p1[:, u_ax] - p0[:, u_ax], p1[:, v_ax] - p0[:, v_ax]
    e2u, e2v = p2[:, u_ax] - p0[:, u_ax], p2[:, v_ax] - p0[:, v_ax]
    det = e1u * e2v - e2u * e1v  # (F,) twice the signed projected area
    ok = np.abs(det) > 1e-14  # faces seen edge-on cover no grid point
    best_face = np.full(pu.shape, -1, dtype=np.int64)
    best_w = np.full(pu.shape, -np.inf)  # sign * coordinate along the axis: larger = nearer the viewer
    for s in range(0, len(pu), chunk):
        du = pu[s : s + chunk, None] - p0[None, ok, u_ax]  # (n, F')
        dv = pv[s : s + chunk, None] - p0[None, ok, v_ax]
        b1 = (du * e2v[ok] - e2u[ok] * dv) / det[ok]  # barycentric weight of p1
        b2 = (e1u[ok] * dv - du * e1v[ok]) / det[ok]  # of p2
        inside = (b1 >= -1e-9) & (b2 >= -1e-9) & (b1 + b2 <= 1 + 1e-9)
        w = sign * (p0[ok, a] + b1 * (p1[ok, a] - p0[ok, a]) + b2 * (p2[ok, a] - p0[ok, a]))  # (n, F')
        w = np.where(inside, w, -np.inf)
        j = np.argmax(w, axis=1)
        wj = w[np.arange(len(j)), j]
        hit = np.isfinite(wj)
        best_face[s : s + chunk][hit] = np.flatnonzero(ok)[j[hit]]
        best_w[s : s + chunk][hit] = wj[hit]
    face = best_face.reshape(pixels, pixels)
    near = hi[a] if sign > 0 else -lo[a]  # sign * coordinate of the box face on the viewer's side
    depth = np.where(face >= 0, near - best_w.reshape(pixels, pixels), np.nan)
    colour = np.full((pixels, pixels, 3), np.nan)
    colour[face >= 0] = np.asarray(mesh.face_colours)[face[face >= 0]]
    return AxisView(face, depth, colour)


def shaded_image(mesh: AssetMesh, axis: str, sign: int, pixels: int = 96) -> np.ndarray:
    """(pixels, pixels, 3) sRGB uint8 picture of axis_view with simple Lambert shading, drawn the way a
    viewer on that side sees it (up = +z for side views; for the top view +x is up), white background."""
    view = axis_view(mesh, axis, sign, pixels)
    tri = np.asarray(mesh.vertices)[mesh.faces]  # (F, 3, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)  # (F, 3) outward unit normals
    light = np.zeros(3)
    light[_AXES[axis]] = sign
    light += np.array([0.3, 0.4, 0.6])  # a little from above-left so faces at right angles still differ
    light /= np.linalg.norm(light)
    shade = 0.35 + 0.65 * np.clip(n @ light, 0, 1)  # (F,)
    img = np.ones((pixels, pixels, 3))
    hit = view.face >= 0
    img[hit] = view.colour[hit] * shade[view.face[hit], None]
    img = np.where(img <= 0.0031308, 12.92 * img, 1.055 * np.power(np.clip(img, 0, 1), 1 / 2.4) - 0.055)
    if axis == "z":  # rows = x, cols = y: put +x up and +y to the left, as seen from above
        img = img[::-1, ::-1]
    else:  # rows = horizontal axis, cols = z: transpose so z runs up the picture
        img = np.transpose(img, (1, 0, 2))[::-1]
        right_is_ascending = (axis == "x" and sign > 0) or (axis == "y" and sign < 0)
        if not right_is_ascending:
            img = img[:, ::-1]
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
