"""Headless z-buffer rasteriser in pure numpy: RGB, metric z-depth and instance ids of triangle meshes.

The default renderer of the synthetic world (docs/SYNTH.md): no system GL, deterministic, runs in CI.
`spatialforge.synth.gl` renders the same views through OpenGL (EGL) with the same API.

Conventions. Meshes are in the world frame (metres). `cam_from_world` maps world points into the OpenCV
camera frame (+x right, +y down, +z forward); pixels (u, v) have integer values at pixel centres
(geometry/camera.py). A pixel takes the surface seen through its centre: nothing is anti-aliased, so the id,
depth and colour of a pixel always belong to one triangle.

Pipeline (all steps vectorised over triangles, then over rows, then over pixels):
1. Triangles go to the camera frame and are clipped against the near plane z = near_m (a triangle with one
   vertex in front becomes one triangle, with two in front a quad = two triangles; wholly behind: dropped).
2. Vertices are projected; each triangle gets the screen-space plane of its inverse depth: for a planar
   triangle 1/z is exactly affine in (u, v), so depth = 1 / (a u + b v + c) is perspective-correct.
3. Scanline coverage: for each triangle and each pixel row its bounding box spans, every non-horizontal edge
   bounds the covered columns from the left (x >= t) or the right (x < t), t = the edge's crossing of the row.
   t is computed from the edge's endpoints in a canonical order, so two triangles sharing an edge compute the
   same t bit for bit: a pixel centre exactly on the edge goes to the triangle on its right and never to both
   or neither (no cracks, no double writes). Horizontal edges use the same rule on rows (y >= y0 below the
   edge, y < y0 above it).
4. Z-buffer: each covered pixel (a fragment) makes one int64 key = float32 depth bits << 32 | triangle index;
   positive float32 bit patterns sort like the numbers, so `np.minimum.at` over the keys keeps the nearest
   fragment per pixel (ties: the lower triangle index) in one scatter.
5. Flat Lambert shading per face (two-sided: the normal is flipped to face the camera), encoded to sRGB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform

DEFAULT_BACKGROUND_RGB = (0.78, 0.85, 0.92)  # linear RGB of pixels where no surface is seen
DEFAULT_LIGHT_DIR_WORLD = (0.3, -0.5, -1.0)  # direction the light travels (world, z up): from above
DEFAULT_AMBIENT = 0.45

# Fragments (covered pixels) rasterised per batch: bounds the working set to ~100 MB at any resolution.
FRAGMENTS_PER_BATCH = 1 << 20
# Triangles whose screen area (pixels^2) is below this cover no pixel centre reliably: dropped as edge-on.
MIN_SCREEN_AREA_PX2 = 1e-9
_EMPTY_KEY = np.iinfo(np.int64).max
_LOW32 = np.int64(0xFFFFFFFF)
_MAX_INSTANCE_ID = int(np.iinfo(np.int32).max)


class RenderMesh(NamedTuple):
    """One mesh to render: a triangle soup with one colour per face and one instance id for the whole mesh."""

    vertices: np.ndarray  # (V, 3) float64 m, world
    faces: np.ndarray  # (F, 3) int64 vertex indices
    face_colours: np.ndarray  # (F, 3) float64 linear RGB in [0, 1]
    instance_id: int  # >= 1: an object; 0: "stuff" (floor, walls, ground) that is no object


class RenderedView(NamedTuple):
    """What one camera sees."""

    rgb: np.ndarray  # (H, W, 3) uint8 sRGB; all zeros when rendered with shade=False
    depth_m: np.ndarray  # (H, W) float32 z-depth in the camera frame (OpenCV +z), m; NaN where no surface
    instance: np.ndarray  # (H, W) int32 instance_id of the visible surface; 0 where stuff or nothing


class SceneTriangles(NamedTuple):
    """All meshes flattened into one triangle soup (the input both backends share)."""

    triangles_world: np.ndarray  # (F, 3, 3) m, world: face f, corner k, xyz
    face_colours: np.ndarray  # (F, 3) linear RGB in [0, 1]
    face_instance: np.ndarray  # (F,) int32 instance id of each face's mesh


# --------------------------------------------------------------------------------------------------- checks


def validate_meshes(meshes: Sequence[RenderMesh]) -> SceneTriangles:
    """Checks every mesh and returns them flattened into one triangle soup.

    ValueError naming the mesh and field for wrong shapes, non-finite vertices, out-of-range face indices,
    colours outside [0, 1] or a negative instance id. Shapes are checked per mesh (cheap); values are
    checked on the concatenated arrays and only traced back to a mesh when something is wrong.
    """
    if isinstance(meshes, RenderMesh) or not isinstance(meshes, Sequence):
        raise ValueError(f"meshes must be a sequence of RenderMesh, got {type(meshes).__name__}")
    vertices_all, faces_all, colours_all, instances = [], [], [], []
    for i, mesh in enumerate(meshes):
        vertices, faces, colours = _checked_shapes(mesh, f"meshes[{i}]")
        vertices_all.append(vertices)
        faces_all.append(faces)
        colours_all.append(colours)
        instances.append(int(mesh.instance_id))
    if not meshes:
        return SceneTriangles(np.zeros((0, 3, 3)), np.zeros((0, 3)), np.zeros(0, dtype=np.int32))
    n_vertices = np.array([len(v) for v in vertices_all])  # (M,)
    n_faces = np.array([len(f) for f in faces_all])  # (M,)
    vertices = np.concatenate(vertices_all)  # (sum V, 3) m, world
    faces = np.concatenate(faces_all)  # (sum F, 3) local vertex indices
    colours = np.concatenate(colours_all)  # (sum F, 3)
    mesh_of_face = np.repeat(np.arange(len(meshes)), n_faces)  # (sum F,)
    if not np.all(np.isfinite(vertices)):
        bad = int(np.repeat(np.arange(len(meshes)), n_vertices)[~np.isfinite(vertices).all(axis=1)][0])
        raise ValueError(f"meshes[{bad}].vertices contains NaN or inf")
    index_ok = (faces >= 0) & (faces < n_vertices[mesh_of_face, None])  # (sum F, 3)
    if not np.all(index_ok):
        bad = int(mesh_of_face[~index_ok.all(axis=1)][0])
        f = faces_all[bad]
        raise ValueError(
            f"meshes[{bad}].faces has vertex indices outside [0, {n_vertices[bad]}): "
            f"min {f.min()}, max {f.max()}"
        )
    colour_ok = np.isfinite(colours) & (colours >= 0.0) & (colours <= 1.0)
    if not np.all(colour_ok):
        bad = int(mesh_of_face[~colour_ok.all(axis=1)][0])
        raise ValueError(f"meshes[{bad}].face_colours must be finite linear RGB in [0, 1]")
    first_vertex = np.cumsum(n_vertices) - n_vertices  # (M,) offset of each mesh's vertices
    triangles = vertices[faces + first_vertex[mesh_of_face, None]]  # (sum F, 3, 3) m, world
    face_instance = np.repeat(np.array(instances, dtype=np.int32), n_faces)
    return SceneTriangles(triangles, colours, face_instance)


def _checked_shapes(mesh: object, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices (V, 3) float, faces (F, 3) int64, colours (F, 3) float) of one mesh; ValueError on a wrong
    type, shape or dtype, or a bad instance id."""
    if not isinstance(mesh, RenderMesh):
        raise ValueError(f"{where} must be a RenderMesh, got {type(mesh).__name__}")
    vertices = np.asarray(mesh.vertices)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or vertices.dtype.kind not in "iuf":
        raise ValueError(f"{where}.vertices must be a (V, 3) float array, got shape {vertices.shape}")
    faces = np.asarray(mesh.faces)
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"{where}.faces must be (F, 3), got shape {faces.shape}")
    if faces.size and faces.dtype.kind not in "iu":
        raise ValueError(f"{where}.faces must hold integer vertex indices, got dtype {faces.dtype}")
    colours = np.asarray(mesh.face_colours)
    if colours.shape != (len(faces), 3):
        raise ValueError(f"{where}.face_colours must be (F, 3) = {(len(faces), 3)}, got {colours.shape}")
    if colours.size and colours.dtype.kind not in "iuf":
        raise ValueError(f"{where}.face_colours must be numbers, got dtype {colours.dtype}")
    instance_id = mesh.instance_id
    if isinstance(instance_id, bool) or not isinstance(instance_id, (int, np.integer)):
        raise ValueError(f"{where}.instance_id must be an int, got {type(instance_id).__name__}")
    if not 0 <= int(instance_id) <= _MAX_INSTANCE_ID:
        raise ValueError(f"{where}.instance_id must be >= 0 (0 = stuff), got {instance_id}")
    return (
        vertices.astype(float, copy=False),
        faces.astype(np.int64, copy=False),
        colours.astype(float, copy=False),
    )


def _check_unit_interval(name: str, value: object, length: int | None = None) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if length is not None and arr.shape != (length,):
        raise ValueError(f"{name} must have {length} values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {arr.tolist()}")
    return arr


def validate_view_args(
    camera: PinholeCamera,
    cam_from_world: RigidTransform,
    near_m: float,
    background_rgb: Sequence[float],
    light_dir_world: Sequence[float],
    ambient: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Checks the non-mesh arguments of render_view; returns (background (3,), unit light direction (3,))."""
    if not isinstance(camera, PinholeCamera):
        raise ValueError(f"camera must be a PinholeCamera, got {type(camera).__name__}")
    if camera.width <= 0 or camera.height <= 0:
        raise ValueError(f"camera size must be positive, got {camera.width} x {camera.height}")
    intrinsics = np.array([camera.fx, camera.fy, camera.cx, camera.cy], dtype=float)
    if not np.all(np.isfinite(intrinsics)) or camera.fx <= 0 or camera.fy <= 0:
        raise ValueError(f"camera intrinsics must be finite with fx, fy > 0, got {intrinsics.tolist()}")
    if not isinstance(cam_from_world, RigidTransform):
        raise ValueError(f"cam_from_world must be a RigidTransform, got {type(cam_from_world).__name__}")
    if not cam_from_world.is_rigid():
        raise ValueError(f"cam_from_world ({cam_from_world.name}) is not a finite rigid transform")
    if not (np.isfinite(near_m) and near_m > 0):
        raise ValueError(f"near_m must be a positive distance in metres, got {near_m}")
    background = _check_unit_interval("background_rgb", background_rgb, 3)
    if not (np.isfinite(ambient) and 0.0 <= ambient <= 1.0):
        raise ValueError(f"ambient must lie in [0, 1], got {ambient}")
    light = np.asarray(light_dir_world, dtype=float)
    if light.shape != (3,) or not np.all(np.isfinite(light)) or np.linalg.norm(light) == 0.0:
        raise ValueError(f"light_dir_world must be a finite non-zero 3-vector, got {light.tolist()}")
    return background, light / np.linalg.norm(light)


# ------------------------------------------------------------------------------------------------ geometry


def transform_points_elementwise(transform: RigidTransform, points: np.ndarray) -> np.ndarray:
    """(..., 3) points mapped by a rigid transform with elementwise arithmetic only.

    A BLAS matrix product may round one point differently depending on where it sits in the array; written
    out, equal inputs give bit-equal outputs, which watertight rasterisation of shared edges relies on.
    """
    r, t = transform.rotation, transform.translation
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack(
        [r[i, 0] * x + r[i, 1] * y + r[i, 2] * z + t[i] for i in range(3)],
        axis=-1,
    )


def clip_triangles_near(triangles_cam: np.ndarray, near_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip (F, 3, 3) camera-frame triangles to z >= near_m.

    Returns ((G, 3, 3) clipped triangles, (G,) index of the input face each came from). Winding is kept. The
    point where an edge crosses the plane is computed from its front vertex towards its behind vertex, the
    same for both faces sharing the edge, so clipped neighbours still share their new vertex bit for bit.
    """
    z = triangles_cam[:, :, 2]  # (F, 3) m
    in_front = z >= near_m  # (F, 3)
    n_front = in_front.sum(axis=1)  # (F,)
    keep = np.flatnonzero(n_front == 3)
    parts = [triangles_cam[keep]]
    parents = [keep]
    corners = np.arange(3)

    def crossing(front: np.ndarray, behind: np.ndarray) -> np.ndarray:
        # (n, 3) point on segment front -> behind with z = near_m exactly.
        s = (near_m - front[:, 2]) / (behind[:, 2] - front[:, 2])  # (n,) in [0, 1)
        p = front + s[:, None] * (behind - front)
        p[:, 2] = near_m
        return p

    one = np.flatnonzero(n_front == 1)
    if len(one):
        # Roll each face so its one front vertex is corner 0: (a front; b, c behind) -> (a, ab, ac).
        first = np.argmax(in_front[one], axis=1)  # (n,)
        rolled = triangles_cam[one[:, None], (first[:, None] + corners) % 3]  # (n, 3, 3)
        a, b, c = rolled[:, 0], rolled[:, 1], rolled[:, 2]
        parts.append(np.stack([a, crossing(a, b), crossing(a, c)], axis=1))
        parents.append(one)
    two = np.flatnonzero(n_front == 2)
    if len(two):
        # Roll each face so its one behind vertex is corner 0: (a behind; b, c front) -> quad (ab, b, c, ca).
        first = np.argmin(in_front[two], axis=1)
        rolled = triangles_cam[two[:, None], (first[:, None] + corners) % 3]
        a, b, c = rolled[:, 0], rolled[:, 1], rolled[:, 2]
        ab, ca = crossing(b, a), crossing(c, a)
        parts.append(np.stack([ab, b, c], axis=1))
        parts.append(np.stack([ab, c, ca], axis=1))
        parents.extend([two, two])
    return np.concatenate(parts), np.concatenate(parents)


def project_triangles(triangles_cam: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """(G, 3, 3) camera-frame triangles with z > 0 -> (G, 3, 2) pixel coordinates (u, v)."""
    z = triangles_cam[..., 2]
    u = camera.fx * (triangles_cam[..., 0] / z) + camera.cx
    v = camera.fy * (triangles_cam[..., 1] / z) + camera.cy
    return np.stack([u, v], axis=-1)


def inverse_depth_planes(triangles_cam: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """(G, 3) coefficients (a, b, c) with 1/z = a u + b v + c on each triangle's plane (NaN for a plane
    through the camera centre, which is seen edge-on).

    Plane n . X = d; the ray through pixel (u, v) is X = z ((u - cx) / fx, (v - cy) / fy, 1), so
    1/z = (n_x (u - cx) / fx + n_y (v - cy) / fy + n_z) / d.
    """
    p0 = triangles_cam[:, 0]
    n = np.cross(triangles_cam[:, 1] - p0, triangles_cam[:, 2] - p0)  # (G, 3) not normalised
    d = np.einsum("gi,gi->g", n, p0)  # (G,)
    scale = np.linalg.norm(n, axis=1) * np.linalg.norm(p0, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_d = np.where(np.abs(d) > 1e-12 * scale, 1.0 / d, np.nan)
    a = n[:, 0] / camera.fx * inv_d
    b = n[:, 1] / camera.fy * inv_d
    c = (n[:, 2] - n[:, 0] * camera.cx / camera.fx - n[:, 1] * camera.cy / camera.fy) * inv_d
    return np.stack([a, b, c], axis=1)


# ------------------------------------------------------------------------------------------- rasterisation


class _EdgeTables(NamedTuple):
    """Per triangle (G,) and edge (3): the edge as x = x0 + (y - y0) * slope, and how it bounds the
    triangle."""

    x0: np.ndarray  # (G, 3) px, canonical first endpoint (smaller v, then smaller u)
    y0: np.ndarray  # (G, 3) px
    slope: np.ndarray  # (G, 3) du/dv; 0 for horizontal edges
    left: np.ndarray  # (G, 3) bool: the triangle lies right of the edge, so the edge bounds x from the left
    horizontal: np.ndarray  # (G, 3) bool
    below: np.ndarray  # (G, 3) bool: horizontal edge with the triangle below it (rows y >= y0)


def _edge_tables(px: np.ndarray) -> _EdgeTables:
    """Edge tables of (G, 3, 2) screen triangles."""
    p = px  # (G, 3, 2)
    q = np.roll(px, -1, axis=1)  # (G, 3, 2) next corner: edge k runs p[k] -> p[k + 1]
    r = np.roll(px, -2, axis=1)  # (G, 3, 2) the corner opposite edge k
    swap = (q[..., 1] < p[..., 1]) | ((q[..., 1] == p[..., 1]) & (q[..., 0] < p[..., 0]))  # (G, 3)
    a = np.where(swap[..., None], q, p)  # canonical first endpoint
    b = np.where(swap[..., None], p, q)
    dy = b[..., 1] - a[..., 1]  # (G, 3) >= 0
    dx = b[..., 0] - a[..., 0]
    horizontal = dy == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(horizontal, 0.0, dx / np.where(horizontal, 1.0, dy))
    # Cross product sign: < 0 when the opposite corner is right of the edge a -> b (v down, dy > 0).
    cross = dx * (r[..., 1] - a[..., 1]) - dy * (r[..., 0] - a[..., 0])
    return _EdgeTables(
        x0=a[..., 0],
        y0=a[..., 1],
        slope=slope,
        left=cross < 0.0,
        horizontal=horizontal,
        below=horizontal & (r[..., 1] > a[..., 1]),
    )


def _row_spans(
    px: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Covered columns of every (triangle, row) pair: ((R,) triangle, (R,) row v, (R,) first u, (R,) count),
    pairs with no covered pixel left out."""
    u_min, u_max = px[..., 0].min(axis=1), px[..., 0].max(axis=1)  # (G,)
    first_row = np.maximum(np.ceil(px[..., 1].min(axis=1)), 0.0)
    last_row = np.minimum(np.floor(px[..., 1].max(axis=1)), height - 1.0)
    on_screen = (u_max >= 0.0) & (u_min <= width - 1.0)
    n_rows = np.where(on_screen, np.maximum(last_row - first_row + 1.0, 0.0), 0.0).astype(np.int64)
    tri = np.repeat(np.arange(len(px)), n_rows)  # (R,)
    starts = np.cumsum(n_rows) - n_rows
    y = (first_row[tri] + (np.arange(len(tri)) - starts[tri])).astype(float)  # (R,) pixel row
    e = _edge_tables(px)
    lo = np.zeros(len(tri))
    hi = np.full(len(tri), width - 1.0)
    rows_ok = np.ones(len(tri), dtype=bool)
    for k in range(3):
        x0, y0, slope = e.x0[tri, k], e.y0[tri, k], e.slope[tri, k]
        horizontal = e.horizontal[tri, k]
        # x >= t on the edge's right side, x < t on its left: both read ceil(t), bit-equal for neighbours.
        crossing = np.ceil(x0 + (y - y0) * slope)
        bounds_left = e.left[tri, k] & ~horizontal
        bounds_right = ~e.left[tri, k] & ~horizontal
        lo = np.where(bounds_left, np.maximum(lo, crossing), lo)
        hi = np.where(bounds_right, np.minimum(hi, crossing - 1.0), hi)
        below = e.below[tri, k]
        rows_ok &= ~horizontal | np.where(below, y >= y0, y < y0)
    count = np.where(rows_ok, np.maximum(hi - lo + 1.0, 0.0), 0.0).astype(np.int64)
    keep = count > 0
    return tri[keep], y[keep].astype(np.int64), lo[keep].astype(np.int64), count[keep]


def rasterize(px: np.ndarray, planes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Z-buffer (G, 3, 2) screen triangles with inverse-depth planes (G, 3).

    Returns ((H, W) int64 index of the visible triangle, -1 where none; (H, W) float32 z-depth, NaN where
    none).
    """
    buffer = np.full(width * height, _EMPTY_KEY, dtype=np.int64)  # (H*W,) depth bits << 32 | triangle
    area2 = (px[:, 1, 0] - px[:, 0, 0]) * (px[:, 2, 1] - px[:, 0, 1]) - (px[:, 2, 0] - px[:, 0, 0]) * (
        px[:, 1, 1] - px[:, 0, 1]
    )
    usable = np.flatnonzero(
        np.isfinite(area2)
        & (np.abs(area2) > 2.0 * MIN_SCREEN_AREA_PX2)
        & np.all(np.isfinite(planes), axis=1)
        & np.all(np.isfinite(px), axis=(1, 2))
    )
    if len(usable):
        tri, y, x_first, count = _row_spans(px[usable], width, height)
        tri = usable[tri]  # (R,) index into px / planes
        row_inv_depth = planes[tri, 1] * y + planes[tri, 2]  # (R,) b v + c
        row_slope = planes[tri, 0]  # (R,) a
        span_starts = np.cumsum(count) - count  # (R,) first fragment of each row span
        # Batches of whole row spans, about FRAGMENTS_PER_BATCH fragments each: a span joins the batch its
        # first fragment falls in.
        batch = span_starts // FRAGMENTS_PER_BATCH
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(batch)) + 1, [len(count)]])
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            rows = slice(start, stop)
            _scatter_fragments(
                buffer,
                width,
                tri[rows],
                y[rows],
                x_first[rows],
                count[rows],
                row_inv_depth[rows],
                row_slope[rows],
            )
    hit = buffer != _EMPTY_KEY
    triangle = np.where(hit, buffer & _LOW32, -1).reshape(height, width)
    depth = (buffer >> 32).astype(np.int32).view(np.float32)
    depth = np.where(hit, depth, np.float32(np.nan)).reshape(height, width)
    return triangle, depth


def _scatter_fragments(
    buffer: np.ndarray,
    width: int,
    tri: np.ndarray,
    y: np.ndarray,
    x_first: np.ndarray,
    count: np.ndarray,
    row_inv_depth: np.ndarray,
    row_slope: np.ndarray,
) -> None:
    """Expand row spans (R,) into fragments and keep the nearest per pixel in buffer (H*W,) int64."""
    span = np.repeat(np.arange(len(count)), count)  # (N,) row span of each fragment
    k = np.arange(len(span))  # (N,) fragment counter; in span s the column is x_first + k - start
    shift = x_first - (np.cumsum(count) - count)  # (R,) column minus counter, constant along a span
    pixel = (y * width + shift)[span]  # (N,) flat pixel index
    pixel += k
    inv_depth = row_slope[span] * k  # (N,) 1/m: a u + b v + c with u = shift + k
    inv_depth += (row_inv_depth + row_slope * shift)[span]
    np.maximum(inv_depth, 1e-30, out=inv_depth)
    depth = np.reciprocal(inv_depth).astype(np.float32)  # (N,) m
    key = depth.view(np.int32).astype(np.int64)
    key <<= 32
    key |= tri[span]
    np.minimum.at(buffer, pixel, key)


# ------------------------------------------------------------------------------------------------- shading


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear RGB in [0, 1] -> uint8 sRGB (IEC 61966-2-1 transfer curve), same shape."""
    c = np.clip(np.asarray(linear, dtype=float), 0.0, 1.0)
    encoded = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055)
    return np.round(encoded * 255.0).astype(np.uint8)


def shade_faces(
    triangles_world: np.ndarray,
    colours: np.ndarray,
    camera_centre_world: np.ndarray,
    light_dir_world: np.ndarray,
    ambient: float,
) -> np.ndarray:
    """(F, 3) linear RGB of each face: colour * (ambient + (1 - ambient) * max(0, -n . l)).

    n is the unit face normal flipped towards the camera (so the inside of a room is lit like the outside of
    a box); l is the unit direction the light travels. Degenerate faces get ambient only.
    """
    p0 = triangles_world[:, 0]  # (F, 3) m, world
    n = np.cross(triangles_world[:, 1] - p0, triangles_world[:, 2] - p0)  # (F, 3)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    towards_camera = np.einsum("fi,fi->f", n, camera_centre_world - p0)
    n = np.where(towards_camera[:, None] < 0.0, -n, n)
    lambert = np.maximum(0.0, -(n @ light_dir_world))  # (F,)
    return colours * (ambient + (1.0 - ambient) * lambert)[:, None]


def compose_view(
    scene: SceneTriangles,
    face: np.ndarray,
    depth: np.ndarray,
    *,
    shade: bool,
    background: np.ndarray,
    camera_centre_world: np.ndarray,
    light_dir_world: np.ndarray,
    ambient: float,
) -> RenderedView:
    """RenderedView from the visible face per pixel ((H, W) int64, -1 for none) and its depth (H, W)."""
    # Lookup with the last entry for "no face" (index -1): instance 0.
    instance_of = np.append(scene.face_instance, np.int32(0)).astype(np.int32)
    instance = instance_of[face]  # (H, W) int32
    if not shade:
        rgb = np.zeros((*face.shape, 3), dtype=np.uint8)
    else:
        # One lookup table: row f = face f's shaded colour, the last row = background (face index -1).
        palette = np.empty((len(scene.face_colours) + 1, 3), dtype=np.uint8)
        palette[-1] = srgb_encode(background)
        if len(scene.face_colours):
            palette[:-1] = srgb_encode(
                shade_faces(
                    scene.triangles_world, scene.face_colours, camera_centre_world, light_dir_world, ambient
                )
            )
        rgb = palette[face]  # (H, W, 3) uint8; face -1 picks the background row
    return RenderedView(rgb=rgb, depth_m=depth.astype(np.float32), instance=instance)


# ------------------------------------------------------------------------------------------------------ API


def render_view(
    meshes: Sequence[RenderMesh],
    camera: PinholeCamera,
    cam_from_world: RigidTransform,
    *,
    near_m: float = 0.05,
    shade: bool = True,
    background_rgb: Sequence[float] = DEFAULT_BACKGROUND_RGB,
    light_dir_world: Sequence[float] = DEFAULT_LIGHT_DIR_WORLD,
    ambient: float = DEFAULT_AMBIENT,
) -> RenderedView:
    """Render meshes (world frame) seen by camera at cam_from_world: sRGB colour, z-depth and instance ids.

    near_m: surfaces closer than this (camera z, metres) are clipped away. shade=False leaves rgb all zeros
    and skips the colour work (ids and depth only). background_rgb: linear RGB where nothing is seen.
    light_dir_world: direction the light travels (normalised here). ambient: the light a face turned away
    from the light still gets.
    """
    return render_with(
        rasterize_scene,
        meshes,
        camera,
        cam_from_world,
        near_m,
        shade,
        background_rgb,
        light_dir_world,
        ambient,
    )


def render_with(
    rasterize: Callable[
        [SceneTriangles, PinholeCamera, RigidTransform, float], tuple[np.ndarray, np.ndarray]
    ],
    meshes: Sequence[RenderMesh],
    camera: PinholeCamera,
    cam_from_world: RigidTransform,
    near_m: float,
    shade: bool,
    background_rgb: Sequence[float],
    light_dir_world: Sequence[float],
    ambient: float,
) -> RenderedView:
    """render_view with a given rasterisation step (this module's, or OpenGL's in synth.gl): validation,
    shading and composition are shared, so both backends colour and label pixels the same way."""
    scene = validate_meshes(meshes)
    background, light = validate_view_args(
        camera, cam_from_world, near_m, background_rgb, light_dir_world, ambient
    )
    face, depth = rasterize(scene, camera, cam_from_world, near_m)
    return compose_view(
        scene,
        face,
        depth,
        shade=shade,
        background=background,
        camera_centre_world=cam_from_world.inverse().translation,
        light_dir_world=light,
        ambient=float(ambient),
    )


def rasterize_scene(
    scene: SceneTriangles, camera: PinholeCamera, cam_from_world: RigidTransform, near_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """((H, W) int64 visible face index into the scene, -1 for none; (H, W) float32 z-depth in metres, NaN
    for none)."""
    triangles_cam = transform_points_elementwise(cam_from_world, scene.triangles_world)  # (F, 3, 3) m, cam
    clipped, parent = clip_triangles_near(triangles_cam, near_m)  # (G, 3, 3) m, cam; (G,)
    px = project_triangles(clipped, camera)  # (G, 3, 2) px
    planes = inverse_depth_planes(clipped, camera)  # (G, 3)
    triangle, depth = rasterize(px, planes, camera.width, camera.height)
    face = np.where(triangle >= 0, parent[np.maximum(triangle, 0)] if len(parent) else -1, -1)
    return face, depth


# ------------------------------------------------------------------------------------------- test geometry

# Corners of the unit cube [-0.5, 0.5]^3 (bit k of the index picks the sign of axis k) and its 12 triangles,
# wound counter-clockwise seen from outside (outward normals).
_CUBE_CORNERS = np.array([[(i >> k & 1) - 0.5 for k in range(3)] for i in range(8)], dtype=float)  # (8, 3)
_CUBE_FACES = np.array(
    [
        [0, 2, 3], [0, 3, 1],  # -z
        [4, 5, 7], [4, 7, 6],  # +z
        [0, 1, 5], [0, 5, 4],  # -y
        [2, 6, 7], [2, 7, 3],  # +y
        [0, 4, 6], [0, 6, 2],  # -x
        [1, 3, 7], [1, 7, 5],  # +x
    ],
    dtype=np.int64,
)  # fmt: skip


def box_mesh(
    center: Sequence[float],
    size: Sequence[float],
    colour: Sequence[float],
    instance_id: int,
    world_from_box: np.ndarray | None = None,
) -> RenderMesh:
    """A box of 12 triangles: centre (3,) m world, size (3,) m along its own x, y, z, one linear RGB colour,
    rotation world_from_box (3, 3) (identity when None). For tests, benchmarks and placeholders."""
    size_arr = np.asarray(size, dtype=float)
    if size_arr.shape != (3,) or not np.all(np.isfinite(size_arr)) or np.any(size_arr <= 0):
        raise ValueError(f"size must be three positive lengths in metres, got {size_arr.tolist()}")
    rotation = np.eye(3) if world_from_box is None else np.asarray(world_from_box, dtype=float)
    vertices = (_CUBE_CORNERS * size_arr) @ rotation.T + np.asarray(center, dtype=float)  # (8, 3) m, world
    colours = np.tile(np.asarray(colour, dtype=float), (len(_CUBE_FACES), 1))  # (12, 3)
    return RenderMesh(vertices, _CUBE_FACES.copy(), colours, int(instance_id))
