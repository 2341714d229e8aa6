"""Per-view metric depth from a View's depth asset, whatever the source stored.

`load_depth(scene, view)` returns a (H, W) float32 z-depth map in metres (distance along the camera's +z,
not ray length) at the view camera's resolution, NaN where there is no data. It dispatches on
`AssetRef.kind` (records.DEPTH_KINDS):

- "png_u16": 16-bit PNG; metres = stored value * scale_to_m (0.001 for millimetres); 0 = no data.
- "npy_f32": float .npy (H, W); metres = stored value * scale_to_m; NaN, inf and <= 0 = no data.
- "sunrgbd_points_mat": SUN RGB-D export .mat, variable 'instance' (N, >=3): points xyz (then rgb) in the
  asset's frame ("world" or "cam:<view_id>"); metres = stored * scale_to_m. The points are projected into
  the view with its camera; where several land on one pixel the nearest wins (z-buffer).
- "raycast_scene": no file; the view's depth is the scene's own geometry, every well-formed object box and
  the floor plane of records.FLOOR_HEIGHT_KEY, ray-cast through each pixel centre (geometry.raycast).

Raster depth must already have the camera's size (a different size raises wrong_shape: resampling depth
is a decision for the caller, not something to do silently here). Problems raise RecordError naming the file.

QA generation asks for depth at a few pixels, not for whole maps: `open_depth(scene, view)` returns a
`DepthSampler` whose `z_at(uv)` answers z-depth at (N, 2) pixel positions. A raster kind is loaded once
(load_depth) and read at the pixel containing each position; the ray-cast kind casts one ray through each
exact position and never builds a raster. A view with only a point map is refused (no point-map layout is
defined yet, and guessing one would give silently wrong depth).
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np
import scipy.io
from PIL import Image, UnidentifiedImageError
from scipy.io.matlab import MatReadError

from spatialforge.errors import RecordError
from spatialforge.geometry.camera import MIN_DEPTH_M, PinholeCamera
from spatialforge.geometry.raycast import BoxArrays, Plane, depth_at_pixels, stack_boxes
from spatialforge.scene.records import (
    FLOOR_HEIGHT_KEY,
    RAYCAST_DEPTH_KIND,
    AssetRef,
    Scene,
    View,
    resolve_inside,
)

# Variable name the VoteNet export (extract_rgbd_data_v2.m, `save(filename, 'instance')`) writes.
SUNRGBD_POINTS_VARIABLE = "instance"
# What scipy raises on a .mat it cannot parse (v7.3 / HDF5 is NotImplementedError).
_MAT_ERRORS = (NotImplementedError, MatReadError, ValueError, OSError, EOFError, TypeError, zlib.error)


def load_depth(scene: Scene, view: View) -> np.ndarray:
    """(H, W) float32 metres for `view` (H, W = view.camera.height, width); NaN = no data."""
    asset = view.depth
    if asset is None:
        raise RecordError(
            "missing_field",
            "view has no depth asset",
            record=scene.scene_id,
            field=f"views[{view.view_id}].depth",
        )
    if asset.kind == RAYCAST_DEPTH_KIND:
        cam = view.camera
        v, u = np.mgrid[0 : cam.height, 0 : cam.width]  # (H, W) pixel centres
        uv = np.stack([u.ravel(), v.ravel()], axis=1)  # (H * W, 2)
        return RaycastDepth(scene, view).z_at(uv).reshape(cam.height, cam.width).astype(np.float32)
    path = _asset_path(scene, view, asset)
    if asset.kind == "png_u16":
        raw = read_png_u16(path)
    elif asset.kind == "npy_f32":
        raw = _read_npy(path)
    elif asset.kind == "sunrgbd_points_mat":
        points = read_points_mat(path)[:, :3] * asset.scale_to_m  # (N, 3) in asset.frame, metres
        points_cam = _to_camera(points, scene, view, asset)
        return rasterize_points(points_cam, view.camera)
    else:
        raise RecordError(
            "unsupported_depth_kind",
            f"unknown depth kind {asset.kind!r}",
            file=str(path),
            record=scene.scene_id,
            field="depth.kind",
        )
    cam = view.camera
    if raw.shape == (cam.height, cam.width):
        # metres = stored value * scale_to_m in float64, each rounded once to float32 as it is stored: the
        # values of (float64(raw) * scale_to_m).astype(float32) without the float64 map in between.
        depth = np.multiply(raw, asset.scale_to_m, out=np.empty(raw.shape, np.float32), dtype=np.float64)
    else:
        # A raster of its own camera (ScanNet: 640 x 480 depth beside 1296 x 968 colour, registered to it),
        # recorded in the view's metadata by the adapter: resampled onto the image's pixel grid.
        from spatialforge.scene.visibility import depth_camera_of, resample_depth_to_camera

        depth_camera = depth_camera_of(view)
        if depth_camera is None or raw.shape != (depth_camera.height, depth_camera.width):
            raise RecordError(
                "wrong_shape",
                f"depth is {raw.shape} (H, W), camera is {(cam.height, cam.width)}",
                file=str(path),
                record=scene.scene_id,
                field="depth",
            )
        metres = np.multiply(raw, asset.scale_to_m, dtype=np.float64)  # (h, w) of the depth camera
        depth = resample_depth_to_camera(metres, depth_camera, cam).astype(np.float32)  # (H, W)
    depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth


# ---------------------------------------------------------------- depth at pixels (QA generation)

# Why a view offers no depth sampler (RecordError reasons of open_depth, besides load_depth's own).
POINT_MAP_UNSUPPORTED = "point_map_unsupported"


class DepthSampler(Protocol):
    """z-depth of one view at any pixel positions."""

    def z_at(self, uv: np.ndarray) -> np.ndarray:
        """(N, 2) pixel positions (x right, y down; integer = pixel centre) -> (N,) float64 z-depth in
        metres along the camera's +z, NaN where there is no data (or off the image)."""
        ...

    def describe(self, u: float, v: float) -> str:
        """Where the depth at pixel position (u, v) comes from, for reasoning traces."""
        ...


class RasterDepth:
    """A loaded (H, W) depth map read at the pixel whose area contains each position (pixel (c, r) covers
    [c - 0.5, c + 0.5) x [r - 0.5, r + 0.5)): the map's own value, no interpolation across pixels."""

    def __init__(self, depth: np.ndarray) -> None:
        self.depth = np.asarray(depth)  # (H, W) float32 metres, NaN = no data
        self.height, self.width = self.depth.shape

    def _pixel(self, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        uv = np.atleast_2d(np.asarray(uv, dtype=float)).reshape(-1, 2)
        with np.errstate(invalid="ignore"):  # NaN positions stay out of the image below
            col = np.floor(uv[:, 0] + 0.5)
            row = np.floor(uv[:, 1] + 0.5)
        return col, row

    def z_at(self, uv: np.ndarray) -> np.ndarray:
        col, row = self._pixel(uv)
        inside = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        out = np.full(len(col), np.nan)
        out[inside] = self.depth[row[inside].astype(np.int64), col[inside].astype(np.int64)]
        return out

    def describe(self, u: float, v: float) -> str:
        col, row = self._pixel(np.array([[u, v]]))
        return f"depth map value at pixel (column {int(col[0])}, row {int(row[0])})"


class RaycastDepth:
    """Exact depth of a synthetic scene: a ray through each exact position onto the scene's well-formed
    object boxes and its floor (records.RAYCAST_DEPTH_KIND). Cheap per query; no raster is built."""

    def __init__(self, scene: Scene, view: View) -> None:
        self.camera = view.camera
        self.world_from_cam = view.world_from_cam
        self.boxes: BoxArrays = stack_boxes([o.box for o in scene.objects if o.box.is_well_formed])  # world
        self.floor: Plane | None = floor_plane(scene)  # world

    def z_at(self, uv: np.ndarray) -> np.ndarray:
        return depth_at_pixels(self.camera, self.world_from_cam, uv, self.boxes, self.floor)

    def describe(self, u: float, v: float) -> str:
        return "ray cast through the pixel onto the scene's boxes and floor"


def floor_plane(scene: Scene) -> Plane | None:
    """The floor of records.FLOOR_HEIGHT_KEY as a world-frame plane (normal = up = -gravity), or None when
    the scene declares none; RecordError (as scene.validate reports it) when the value is unusable."""
    height = scene.metadata.get(FLOOR_HEIGHT_KEY)
    if height is None:
        return None
    field = f"metadata.{FLOOR_HEIGHT_KEY}"
    if isinstance(height, bool) or not isinstance(height, (int, float)) or not np.isfinite(height):
        raise RecordError(
            "non_finite",
            f"floor height must be a finite number, got {height!r}",
            record=scene.scene_id,
            field=field,
        )
    if scene.gravity is None:
        raise RecordError(
            "bad_gravity", "a floor height needs a known gravity", record=scene.scene_id, field="gravity"
        )
    down = np.asarray(scene.gravity.down_world, dtype=float)
    up = -down / np.linalg.norm(down)
    return Plane((float(up[0]), float(up[1]), float(up[2])), float(height))


def open_depth(scene: Scene, view: View) -> DepthSampler:
    """The view's depth as a sampler: raster kinds loaded now (load_depth, whole map once), the ray-cast
    kind ready to cast. RecordError when the view has no depth (missing_field), only a point map
    (point_map_unsupported) or a depth asset that cannot be read (load_depth's reasons)."""
    asset = view.depth
    if asset is None and view.point_map is not None:
        raise RecordError(
            POINT_MAP_UNSUPPORTED,
            f"point map of kind {view.point_map.kind!r}: no point-map reader is defined",
            record=scene.scene_id,
            field=f"views[{view.view_id}].point_map",
        )
    if asset is not None and asset.kind == RAYCAST_DEPTH_KIND:
        return RaycastDepth(scene, view)
    return RasterDepth(load_depth(scene, view))  # load_depth names a missing depth asset


def rasterize_points(points_cam: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """(N, 3) camera-frame points (metres) -> (H, W) float32 z-depth; nearest point per pixel, NaN elsewhere.

    A point belongs to the pixel whose centre is nearest its projection (pixel u covers [u - 0.5, u + 0.5)).
    Points at z <= MIN_DEPTH_M, non-finite points and points off the image are dropped.
    """
    depth = np.full((camera.height, camera.width), np.nan, dtype=np.float32)
    p = np.asarray(points_cam, dtype=float).reshape(-1, 3)
    p = p[np.all(np.isfinite(p), axis=1) & (p[:, 2] > MIN_DEPTH_M)]
    if len(p) == 0:
        return depth
    uv, z = camera.project(p)  # (N, 2) pixels, (N,) metres
    col = np.floor(uv[:, 0] + 0.5).astype(np.int64)
    row = np.floor(uv[:, 1] + 0.5).astype(np.int64)
    inside = (col >= 0) & (col < camera.width) & (row >= 0) & (row < camera.height)
    flat, z = row[inside] * camera.width + col[inside], z[inside]
    # z-buffer: sort by pixel, then depth; the first entry of each pixel run is the nearest point.
    order = np.lexsort((z, flat))
    flat, z = flat[order], z[order]
    first = np.ones(len(flat), dtype=bool)
    first[1:] = flat[1:] != flat[:-1]
    depth.reshape(-1)[flat[first]] = z[first]
    return depth


def read_points_mat(path: Path, variable: str = SUNRGBD_POINTS_VARIABLE) -> np.ndarray:
    """(N, C >= 3) float array of a SUN RGB-D export .mat (MATLAB v5/v7; scipy.io.loadmat, no pickle)."""
    try:
        data = scipy.io.loadmat(str(path), variable_names=[variable])
    except NotImplementedError:
        raise RecordError(
            "unreadable_file",
            "MATLAB v7.3 (HDF5) .mat is not supported; re-save it with save(..., '-v7')",
            file=str(path),
        ) from None
    except _MAT_ERRORS as e:
        raise RecordError("unreadable_file", f"cannot read .mat: {e}", file=str(path)) from None
    if variable not in data:
        raise RecordError(
            "missing_field", f"no variable {variable!r} in the .mat", file=str(path), field=variable
        )
    points = data[variable]
    if not (isinstance(points, np.ndarray) and np.issubdtype(points.dtype, np.number)):
        raise RecordError(
            "wrong_type",
            f"expected a numeric matrix, got {type(points).__name__}",
            file=str(path),
            field=variable,
        )
    if points.size == 0:  # MATLAB writes an empty matrix as (0, 0)
        return np.zeros((0, 3))
    if points.ndim != 2 or points.shape[1] < 3:
        raise RecordError(
            "wrong_shape",
            f"expected (N, 6) points (xyz rgb), got {points.shape}",
            file=str(path),
            field=variable,
        )
    return points.astype(float)


def _asset_path(scene: Scene, view: View, asset: AssetRef) -> Path:
    try:
        path = resolve_inside(scene.asset_root, asset.path)
    except ValueError as e:
        raise RecordError(
            "path_escapes_root", str(e), record=scene.scene_id, field=f"views[{view.view_id}].depth.path"
        ) from None
    if not path.is_file():
        raise RecordError("missing_file", "depth file not found", file=str(path), record=scene.scene_id)
    return path


def _to_camera(points: np.ndarray, scene: Scene, view: View, asset: AssetRef) -> np.ndarray:
    """(N, 3) points in asset.frame -> (N, 3) in the view's OpenCV camera frame."""
    if asset.frame == "world":
        return view.cam_from_world().apply(points)
    if asset.frame == view.frame:
        return points
    raise RecordError(
        "unsupported_frame",
        f"point depth must be in 'world' or {view.frame!r}, got {asset.frame!r}",
        record=scene.scene_id,
        field=f"views[{view.view_id}].depth.frame",
    )


def read_png_u16(path: Path, field: str = "depth") -> np.ndarray:
    """(H, W) integers of a 16-bit single-channel PNG (depth, instance masks); RecordError naming the file
    and `field` when it is unreadable or not such a PNG."""
    try:
        with Image.open(path) as im:
            mode = im.mode
            raw = np.asarray(im)
    except (OSError, UnidentifiedImageError) as e:
        raise RecordError("unreadable_file", f"cannot read PNG: {e}", file=str(path), field=field) from None
    # PIL opens 16-bit greyscale as "I;16*" or widens it to "I"; 8-bit or colour PNGs are not depth.
    if not (mode.startswith("I;16") or mode == "I") or raw.ndim != 2:
        raise RecordError(
            "wrong_type",
            f"expected a 16-bit single-channel PNG, got mode {mode}",
            file=str(path),
            field=field,
        )
    return raw  # (H, W) integers as stored; load_depth scales them in float64


# The header np.save writes for a C-order little-endian float (H, W) array (format 1.0: magic, version, a
# 2-byte header length, then this dict padded with spaces so that the data starts on a 64-byte boundary,
# and a newline). Sizes are written without leading zeros.
_NPY_MAGIC_V1 = b"\x93NUMPY\x01\x00"
_NPY_FLOAT_2D_HEADER = re.compile(
    rb"\{'descr': '(<f[248])', 'fortran_order': False, 'shape': \((0|[1-9][0-9]*), (0|[1-9][0-9]*)\), \} *\n"
)
_NPY_ALIGN = 64


def _read_npy_float_2d(path: Path) -> np.ndarray | None:
    """The (H, W) float array of a .npy file in exactly np.save's layout for one (header above, then
    H * W * itemsize bytes and nothing else), read-only; None for anything else, which np.load then reads
    (and reports). np.load parses the header with ast.literal_eval and costs ~6x more on a 160 x 120 map."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if not data.startswith(_NPY_MAGIC_V1) or len(data) < 10:
        return None
    start = 10 + int.from_bytes(data[8:10], "little")
    if start % _NPY_ALIGN or start > 1024:  # not np.save's padding: np.load decides (it refuses huge headers)
        return None
    match = _NPY_FLOAT_2D_HEADER.fullmatch(data, 10, start)
    if match is None:
        return None
    dtype = np.dtype(match[1].decode("ascii"))
    height, width = int(match[2]), int(match[3])
    if len(data) != start + height * width * dtype.itemsize:
        return None
    return np.frombuffer(data, dtype, height * width, start).reshape(height, width)


def _read_npy(path: Path) -> np.ndarray:
    """(H, W) floats as stored (any float width; load_depth scales them in float64)."""
    raw = _read_npy_float_2d(path)
    if raw is not None:
        return raw
    try:
        raw = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise RecordError("unreadable_file", f"cannot read .npy: {e}", file=str(path)) from None
    if not np.issubdtype(raw.dtype, np.floating) or raw.ndim != 2:
        raise RecordError(
            "wrong_type",
            f"expected a 2-D float array, got {raw.dtype} {raw.shape}",
            file=str(path),
            field="depth",
        )
    return raw
