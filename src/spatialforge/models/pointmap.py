"""Point maps: per-pixel 3D points in the camera frame, the geometry input of the spatial VLM.

Frame and units: OpenCV camera frame (+x right, +y down, +z forward), metres (SPEC section 1). A pixel
without a trustworthy point has valid = False; its xyz is ignored (the model's tower replaces it).

Builders (below the record): from a z-depth map and its camera (`point_map_from_depth`), from camera-frame
points (`point_map_from_points`, z-buffered), from a scene's view whatever its depth asset
(`point_map_for_view`), and readers for depth files (`read_depth_file`) and point-map files
(`read_point_map_file`). Builders put NaN in xyz wherever valid is False.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, UnidentifiedImageError

from spatialforge.errors import RecordError
from spatialforge.geometry.camera import MIN_DEPTH_M, PinholeCamera
from spatialforge.scene.depth import load_depth, rasterize_points
from spatialforge.scene.records import Scene, View


@dataclass(frozen=True)
class PointMap:
    """xyz: (H, W, 3) float32 metres, camera frame; valid: (H, W) bool."""

    xyz: np.ndarray
    valid: np.ndarray

    def __post_init__(self) -> None:
        if self.xyz.ndim != 3 or self.xyz.shape[-1] != 3 or self.valid.shape != self.xyz.shape[:2]:
            raise ValueError(
                f"point map must be xyz (H, W, 3) with valid (H, W); got {self.xyz.shape}, {self.valid.shape}"
            )

    @property
    def height(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def width(self) -> int:
        return int(self.xyz.shape[1])


# ---------------------------------------------------------------- builders
#
# Pixel convention (geometry/camera.py): integer pixel coordinates are pixel *centres*; pixel (u, v) covers
# [u - 0.5, u + 0.5) x [v - 0.5, v + 0.5). The point of depth pixel (row v, column u) is therefore the
# unprojection of the centre (u, v): x = (u - cx) * z / fx, y = (v - cy) * z / fy, z = depth (z-depth along
# +z, not ray length) - exactly PinholeCamera.unproject / point_map, and the inverse of PinholeCamera.project
# and scene.depth.rasterize_points (which gives a point to the pixel whose centre is nearest its projection).
# models/image_transform.py writes pixel (u, v) as the cell [u, u + 1): the same cells, its coordinates are
# these + 0.5.


def _invalid_to_nan(xyz: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """NaN where there is no point, so a pixel without data can never pass for the camera origin."""
    out = np.array(xyz, dtype=np.float32)
    out[~valid] = np.nan
    return out


def point_map_from_depth(depth: np.ndarray, camera: PinholeCamera) -> PointMap:
    """(H, W) z-depth in metres (camera frame +z) -> PointMap at the depth's pixels.

    NaN, inf and <= 0 depth is invalid (xyz NaN, valid False). The depth must have the camera's size:
    resampling depth is the caller's decision (scene.depth.load_depth resamples registered sensor rasters).
    """
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.shape != (camera.height, camera.width):
        raise RecordError(
            "wrong_shape",
            f"depth is {depth.shape} (H, W), camera is {(camera.height, camera.width)}",
            field="depth",
        )
    if not np.issubdtype(depth.dtype, np.number) or np.issubdtype(depth.dtype, np.complexfloating):
        raise RecordError("wrong_type", f"depth must be real numbers, got {depth.dtype}", field="depth")
    # float32 and float64 widen to float64 exactly inside the products below; other types are converted
    # once, as the products would convert them.
    z = depth if depth.dtype in (np.float32, np.float64) else depth.astype(np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(z) & (z > 0)
    return PointMap(_camera_points_float32(z, valid, camera), valid)


def _camera_points_float32(z: np.ndarray, valid: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """(H, W) z-depth (metres) + (H, W) validity -> (H, W, 3) float32 camera-frame points, NaN where invalid.

    The values of `_invalid_to_nan(camera.point_map(z), valid)`, bit for bit: the same float64 arithmetic,
    ((u - cx) / fx) * z per column and ((v - cy) / fy) * z per row, each product rounded once to float32 as
    it is stored. Writing float32 directly skips the (H, W, 3) float64 map and its copy, which cost more
    than the arithmetic in the training loader (one point map per sample; tests/train/test_loader_identity.py
    compares the two)."""
    h, w = z.shape
    x_over_z = (np.arange(w, dtype=float) - camera.cx) / camera.fx  # (W,), as PinholeCamera.point_map
    y_over_z = (np.arange(h, dtype=float) - camera.cy) / camera.fy  # (H,)
    xyz = np.empty((h, w, 3), dtype=np.float32)
    # Invalid pixels (NaN, inf, <= 0) may make inf * 0 or overflow here; they are overwritten with NaN below.
    with np.errstate(invalid="ignore", over="ignore"):
        xyz[..., 0] = x_over_z[None, :] * z  # (H, W) float64 products (z widens exactly), stored as float32
        xyz[..., 1] = y_over_z[:, None] * z
        xyz[..., 2] = z
    xyz[~valid] = np.nan
    return xyz


def point_map_from_points(points_cam: np.ndarray, camera: PinholeCamera) -> PointMap:
    """(N, 3) camera-frame points (metres) -> PointMap of the camera's size.

    Each point goes to the pixel whose centre is nearest its projection and the nearest point of a pixel
    wins (scene.depth.rasterize_points, the z-buffer SUN RGB-D depth uses). The pixel keeps the winning
    point's exact xyz, not the unprojection of the pixel centre at its depth: the point is what the sensor
    measured, and moving it onto the centre ray would shift it by up to half a pixel sideways (2 mm at 2 m
    with f = 500 px) for nothing. Pixels no point reaches are invalid (xyz NaN).
    """
    p = np.asarray(points_cam, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise RecordError("wrong_shape", f"points must be (N, 3), got {p.shape}", field="points")
    depth = rasterize_points(p, camera)  # (H, W) float32 z of the winner, NaN elsewhere
    xyz = np.full((camera.height, camera.width, 3), np.nan, dtype=np.float32)
    valid = np.isfinite(depth)
    keep = np.all(np.isfinite(p), axis=1) & (p[:, 2] > MIN_DEPTH_M)
    index = np.flatnonzero(keep)
    if len(index) == 0:
        return PointMap(xyz, valid)
    uv, z = camera.project(p[index])  # (n, 2) pixels, (n,) metres
    col = np.floor(uv[:, 0] + 0.5).astype(np.int64)  # the same pixel rule as rasterize_points
    row = np.floor(uv[:, 1] + 0.5).astype(np.int64)
    inside = (col >= 0) & (col < camera.width) & (row >= 0) & (row < camera.height)
    index, col, row, z = index[inside], col[inside], row[inside], z[inside]
    # The z-buffer stored the winner's z as float32: the candidates are the points with that value. Among
    # equal float32 values the smaller float64 z and then the earlier point win, as rasterize_points'
    # stable sort decides.
    winner = np.float32(z) == depth[row, col]
    index, col, row, z = index[winner], col[winner], row[winner], z[winner]
    flat = row * camera.width + col
    order = np.lexsort((index, z, flat))
    flat, index = flat[order], index[order]
    first = np.ones(len(flat), dtype=bool)
    first[1:] = flat[1:] != flat[:-1]
    xyz.reshape(-1, 3)[flat[first]] = p[index[first]]
    return PointMap(xyz, valid)


def point_map_for_view(scene: Scene, view: View) -> PointMap:
    """The point map of a scene's view from its depth asset, whatever kind (scene.depth.load_depth): a
    16-bit PNG or float .npy depth raster, the exact ray-cast depth of a synthetic scene, or SUN RGB-D's
    point export (rasterised there, so its points come back at pixel centres). RecordError naming the
    scene and field when the view has no depth or it cannot be read."""
    return point_map_from_depth(load_depth(scene, view), view.camera)


# ---------------------------------------------------------------- files

DEPTH_SUFFIXES = (".npy", ".png", ".tif", ".tiff")
# Metres per stored unit when the caller gives none: integer rasters store millimetres (ScanNet, CA-1M,
# SUN RGB-D's PNGs after their bit shift), float files metres.
INTEGER_DEPTH_SCALE_M = 0.001
FLOAT_DEPTH_SCALE_M = 1.0


def read_depth_file(path: str | Path, scale_to_m: float | None = None) -> np.ndarray:
    """A depth file -> (H, W) float32 z-depth in metres, NaN where there is no data (0, negative, NaN, inf).

    .npy: a 2-D float array (read without pickle); .png: 16-bit single channel; .tif / .tiff: 32-bit float
    (Pillow mode F) or 16-bit integer. metres = stored * scale_to_m; by default 0.001 for integer files
    (millimetres) and 1.0 for float files. RecordError naming the file: missing_file, unreadable_file,
    unsupported_format, wrong_type (dtype / image mode, pickled object arrays), wrong_shape.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in DEPTH_SUFFIXES:
        raise RecordError("unsupported_format", f"depth file must be one of {DEPTH_SUFFIXES}", file=str(path))
    if not path.is_file():
        raise RecordError("missing_file", "depth file not found", file=str(path))
    if suffix == ".npy":
        raw = _read_npy_file(path, "depth")
        if not np.issubdtype(raw.dtype, np.floating):
            raise RecordError(
                "wrong_type", f"depth .npy must be float, got {raw.dtype}", file=str(path), field="depth"
            )
        default = FLOAT_DEPTH_SCALE_M
    else:
        raw, default = _read_depth_image(path)
    if raw.ndim != 2:
        raise RecordError(
            "wrong_shape", f"depth must be (H, W), got {raw.shape}", file=str(path), field="depth"
        )
    scale = default if scale_to_m is None else float(scale_to_m)
    if not (np.isfinite(scale) and scale > 0):
        raise RecordError("invalid_value", f"scale_to_m must be > 0, got {scale_to_m}", file=str(path))
    depth = raw.astype(np.float64) * scale
    with np.errstate(invalid="ignore"):
        depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth.astype(np.float32)


def read_point_map_file(path: str | Path) -> PointMap:
    """A point-map file -> PointMap (metres, camera frame, as stored: no unit conversion).

    .npy: (H, W, 3) float xyz, a pixel with any non-finite coordinate invalid; .npz: "xyz" (H, W, 3) float
    and optional "valid" (H, W) bool (a pixel is valid when "valid" says so and its xyz is finite). Read
    without pickle. RecordError naming the file and field: missing_file, unreadable_file,
    unsupported_format, missing_field, wrong_type, wrong_shape.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise RecordError("unsupported_format", "point map file must be .npy or .npz", file=str(path))
    if not path.is_file():
        raise RecordError("missing_file", "point map file not found", file=str(path))
    given_valid: np.ndarray | None = None
    if suffix == ".npy":
        xyz = _read_npy_file(path, "xyz")
    else:
        members = _read_npz(path, ("xyz", "valid"))
        if "xyz" not in members:
            raise RecordError("missing_field", "no 'xyz' array in the .npz", file=str(path), field="xyz")
        xyz, given_valid = members["xyz"], members.get("valid")
    if not np.issubdtype(xyz.dtype, np.floating):
        raise RecordError("wrong_type", f"xyz must be float, got {xyz.dtype}", file=str(path), field="xyz")
    if xyz.ndim != 3 or xyz.shape[-1] != 3:
        raise RecordError(
            "wrong_shape", f"xyz must be (H, W, 3), got {xyz.shape}", file=str(path), field="xyz"
        )
    valid = np.isfinite(xyz).all(axis=-1)
    if given_valid is not None:
        if given_valid.dtype != np.bool_:
            raise RecordError(
                "wrong_type", f"valid must be bool, got {given_valid.dtype}", file=str(path), field="valid"
            )
        if given_valid.shape != xyz.shape[:2]:
            raise RecordError(
                "wrong_shape",
                f"valid is {given_valid.shape}, xyz is {xyz.shape} (valid must be (H, W))",
                file=str(path),
                field="valid",
            )
        valid &= given_valid
    return PointMap(_invalid_to_nan(xyz, valid), valid)


def _read_npy_stream(stream: IO[bytes], file: str, field: str) -> np.ndarray:
    """One .npy array from a binary stream, header checked first: an object array (pickled Python objects,
    which could run code on load) is refused as wrong_type before any of it is read."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            _, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise RecordError(
                "unsupported_format", f".npy format version {version} is not read", file=file, field=field
            )
        if dtype.hasobject:
            raise RecordError(
                "wrong_type", "object arrays (pickled Python objects) are refused", file=file, field=field
            )
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        if isinstance(error, RecordError):
            raise
        raise RecordError("unreadable_file", f"cannot read .npy: {error}", file=file, field=field) from None


def _read_npy_file(path: Path, field: str) -> np.ndarray:
    try:
        with path.open("rb") as stream:
            return _read_npy_stream(stream, str(path), field)
    except OSError as error:
        raise RecordError("unreadable_file", f"cannot open: {error}", file=str(path)) from None


def _read_npz(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named members of an .npz (a zip of .npy files) that are present, each read like a .npy."""
    try:
        with zipfile.ZipFile(path) as archive:
            present = set(archive.namelist())
            out = {}
            for name in names:
                if f"{name}.npy" in present:
                    with archive.open(f"{name}.npy") as stream:
                        out[name] = _read_npy_stream(stream, str(path), name)
            return out
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise RecordError("unreadable_file", f"cannot read .npz: {error}", file=str(path)) from None


def _read_depth_image(path: Path) -> tuple[np.ndarray, float]:
    """A depth PNG / TIFF -> (raw (H, W) array, default metres per unit)."""
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            raw = np.asarray(image)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise RecordError("unreadable_file", f"cannot read depth image: {error}", file=str(path)) from None
    # Pillow opens 16-bit greyscale as "I;16*" (or widens it to "I"), 32-bit float as "F"; 8-bit or colour
    # images are not depth (a visualisation, most likely).
    if mode == "F":
        return raw, FLOAT_DEPTH_SCALE_M
    if mode.startswith("I;16") or mode == "I":
        return raw, INTEGER_DEPTH_SCALE_M
    raise RecordError(
        "wrong_type",
        f"depth image must be 16-bit integer or 32-bit float, got mode {mode}",
        file=str(path),
        field="depth",
    )
