"""Pixels for the writers: images resized and encoded once per shard, depth as 16-bit log PNG, point maps.

Resizing: an image whose longer side exceeds `max_side` is scaled down (Lanczos) so that its longer side is
`max_side`, keeping the aspect ratio; the intrinsics are scaled with it (`scaled_intrinsics`), so a point
map unprojected from the resized depth is in the same metres as the original. Depth is resized by nearest
neighbour (averaging across an object edge would invent depths that belong to no surface).

Depth PNG (HiSpatial's released loader, microsoft/HiSpatial hispatial/data/vqa_dataset.py `read_depth`): a
16-bit greyscale PNG with text chunks "near" and "far" (metres); value 0 = no depth (NaN), 65535 = infinity,
otherwise v in 1..65534 encodes t = (v - 1) / 65533 and depth = near^(1 - t) * far^t, i.e. log-uniform
steps between near and far. With near/far the valid depth range of the image the relative quantisation error
is at most (far / near)^(1 / 65533 / 2) - 1: 0.0053 % for 0.1..100 m (0.0035 % for 1..100 m).

Marked copies: a QA record that names objects by a drawn marker needs the marker on the image it is shown
with (LLaVA / chat exports); `MediaCache.marked_jpeg` draws it on the resized image (qa/draw_markers.py, with
the geometry scaled to the resized size) once per distinct (view, markers) in a shard.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from spatialforge.errors import RecordError
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.qa.draw_markers import draw_markers
from spatialforge.qa.records import Marker
from spatialforge.scene.depth import load_depth
from spatialforge.scene.records import Scene, View

DEPTH_PNG_INVALID = 0
DEPTH_PNG_INFINITE = 65535
DEPTH_PNG_STEPS = 65533  # v = 1 + round(t * 65533), t in [0, 1]
# near/far when a depth map has no valid pixel (the PNG is then all DEPTH_PNG_INVALID; any range decodes it).
FALLBACK_NEAR_FAR_M = (0.1, 100.0)


def intrinsics_dict(cam: PinholeCamera) -> dict[str, Any]:
    """The intrinsics as exported (pixels): fx, fy, cx, cy, width, height and the (3, 3) matrix K."""
    return {
        "fx": cam.fx,
        "fy": cam.fy,
        "cx": cam.cx,
        "cy": cam.cy,
        "width": cam.width,
        "height": cam.height,
        "K": cam.matrix().tolist(),
    }


def resized_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(w, h) after scaling the longer side down to max_side (never up; None keeps the size)."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def scaled_intrinsics(view: View, size: tuple[int, int]) -> PinholeCamera:
    """The view's pinhole intrinsics for the image resized to `size` (w, h).

    Pixel centres at integer coordinates (geometry/boxes2d.py): the image area [-0.5, W - 0.5] maps onto
    [-0.5, w - 0.5], so u' = (u + 0.5) * sx - 0.5 and cx' = (cx + 0.5) * sx - 0.5.
    """
    cam = view.camera
    w, h = size
    sx, sy = w / cam.width, h / cam.height
    return PinholeCamera(cam.fx * sx, cam.fy * sy, (cam.cx + 0.5) * sx - 0.5, (cam.cy + 0.5) * sy - 0.5, w, h)


def encode_depth_png(depth_m: np.ndarray, near_far: tuple[float, float] | None = None) -> bytes:
    """(H, W) metres (NaN / <= 0 = no data, +inf = infinite) -> 16-bit log PNG bytes with near/far chunks."""
    if depth_m.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {depth_m.shape}")
    depth = depth_m.astype(np.float64)
    valid = np.isfinite(depth) & (depth > 0)
    if near_far is None:
        near_far = (
            (float(depth[valid].min()), float(depth[valid].max())) if valid.any() else FALLBACK_NEAR_FAR_M
        )
    near, far = near_far
    if not (0 < near and math.isfinite(near) and math.isfinite(far)):
        raise ValueError(f"near/far must be finite and positive, got {near_far}")
    if far <= near:  # a flat depth map: any far above near encodes it exactly at t = 0
        far = near * 1.001
    out = np.full(depth.shape, DEPTH_PNG_INVALID, dtype=np.uint16)
    clipped = np.clip(depth[valid], near, far)
    t = np.log(clipped / near) / math.log(far / near)
    out[valid] = (1 + np.rint(t * DEPTH_PNG_STEPS)).astype(np.uint16)
    out[np.isposinf(depth)] = DEPTH_PNG_INFINITE
    info = PngImagePlugin.PngInfo()
    info.add_text("near", repr(float(near)))
    info.add_text("far", repr(float(far)))
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def decode_depth_png(data: bytes) -> np.ndarray:
    """Inverse of encode_depth_png: (H, W) float32 metres, NaN where no data, inf where infinite."""
    image = Image.open(io.BytesIO(data))
    try:
        near, far = float(image.info["near"]), float(image.info["far"])
    except KeyError as err:
        raise RecordError(
            "missing_field", "depth PNG without near/far text chunks", field=err.args[0]
        ) from err
    v = np.asarray(image).astype(np.int64)
    t = (v - 1) / DEPTH_PNG_STEPS
    depth = (near ** (1 - t) * far**t).astype(np.float32)
    depth[v == DEPTH_PNG_INVALID] = np.nan
    depth[v == DEPTH_PNG_INFINITE] = np.inf
    return depth


def point_map(depth_m: np.ndarray, intrinsics: PinholeCamera) -> np.ndarray:
    """(H, W, 3) float32 camera-frame points (x right, y down, z forward; metres) from (H, W) z-depth."""
    h, w = depth_m.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)  # (H, W) pixel centres
    z = depth_m.astype(np.float32)
    x = (u - intrinsics.cx) / intrinsics.fx * z
    y = (v - intrinsics.cy) / intrinsics.fy * z
    return np.stack([x, y, z], axis=-1)


def resize_depth(depth_m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of (H, W) metres to size (w, h) (no averaging across edges)."""
    h, w = depth_m.shape
    if (w, h) == size:
        return depth_m
    # The source pixel whose area holds each target pixel centre: floor((j + 0.5) * H / h).
    rows = np.clip(np.floor((np.arange(size[1]) + 0.5) * h / size[1]).astype(int), 0, h - 1)
    cols = np.clip(np.floor((np.arange(size[0]) + 0.5) * w / size[0]).astype(int), 0, w - 1)
    return depth_m[np.ix_(rows, cols)]


# Chroma subsampling of every JPEG written: none (4:4:4). With PIL's default 4:2:0 a 2-pixel coloured marker
# outline at 80 px shares its chroma with its neighbours and a red box comes out brown (qa/marked_copies.py
# likewise); plain images use the same setting so that a marked copy and its plain image differ only where
# the markers are.
JPEG_SUBSAMPLING = 0


def encode_jpeg(image: Image.Image, quality: int, subsampling: int | None = None) -> bytes:
    """JPEG bytes; subsampling: PIL's chroma subsampling (0 = 4:4:4), None for PIL's default (4:2:0)."""
    buf = io.BytesIO()
    extra = {} if subsampling is None else {"subsampling": subsampling}
    image.convert("RGB").save(buf, format="JPEG", quality=quality, **extra)
    return buf.getvalue()


def scale_marker(marker: Marker, size: tuple[int, int], original: tuple[int, int]) -> Marker:
    """The marker on the image resized from `original` (w, h) to `size`: pixel geometry scaled by the size
    ratio, which keeps SPAR's normalised geometry (1000 * x / width) unchanged."""
    sx, sy = size[0] / original[0], size[1] / original[1]
    px = tuple(c * (sx if i % 2 == 0 else sy) for i, c in enumerate(marker.geometry_px))
    return Marker(marker.kind, marker.colour, marker.image_index, marker.geometry_norm, px)


def marker_from_dict(data: dict[str, Any]) -> Marker:
    return Marker(
        data["kind"],
        data["colour"],
        int(data["image_index"]),
        tuple(float(c) for c in data["geometry_norm"]),
        tuple(float(c) for c in data["geometry_px"]),
    )


class MediaCache:
    """Decoded and encoded pixels of one scene at a time, shared by every writer of a shard.

    Keyed by view id; `start(scene)` drops the previous scene's entries, so memory holds one scene's images.
    """

    def __init__(self, max_side: int | None, jpeg_quality: int) -> None:
        self.max_side = max_side
        self.jpeg_quality = jpeg_quality
        self.scene: Scene | None = None
        self._cache: dict[tuple[str, ...], Any] = {}

    def start(self, scene: Scene) -> None:
        self.scene = scene
        self._cache.clear()

    def _view(self, view_id: str) -> View:
        assert self.scene is not None, "MediaCache.start(scene) first"
        return self.scene.view(view_id)

    def _memo(self, key: tuple[str, ...], make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def image_path(self, view_id: str) -> str:
        """Absolute path of the view's original image."""
        view = self._view(view_id)
        assert self.scene is not None
        return str(self.scene.resolve(view.image_path))

    def original(self, view_id: str) -> Image.Image:
        def load() -> Image.Image:
            path = self.image_path(view_id)
            try:
                with Image.open(path) as im:
                    image = im.convert("RGB")
            except (OSError, ValueError) as err:
                raise RecordError(
                    "unreadable_image",
                    str(err),
                    file=path,
                    record=self.scene.scene_id if self.scene else None,
                ) from err
            view = self._view(view_id)
            if image.size != (view.camera.width, view.camera.height):
                raise RecordError(
                    "wrong_shape",
                    f"image is {image.size} (w, h), camera is {(view.camera.width, view.camera.height)}",
                    file=path,
                    field="image",
                )
            return image

        return self._memo(("original", view_id), load)

    def check(self, view_id: str) -> None:
        """Raise RecordError unless the view's image opens and has the camera's size (header only: the
        pixels are decoded when a writer needs them)."""

        def probe() -> bool:
            path = self.image_path(view_id)
            view = self._view(view_id)
            try:
                with Image.open(path) as im:
                    size = im.size
            except (OSError, ValueError) as err:
                scene_id = self.scene.scene_id if self.scene else None
                raise RecordError("unreadable_image", str(err), file=path, record=scene_id) from err
            if size != (view.camera.width, view.camera.height):
                raise RecordError(
                    "wrong_shape",
                    f"image is {size} (w, h), camera is {(view.camera.width, view.camera.height)}",
                    file=path,
                    field="image",
                )
            return True

        self._memo(("check", view_id), probe)

    def size(self, view_id: str) -> tuple[int, int]:
        cam = self._view(view_id).camera
        return resized_size(cam.width, cam.height, self.max_side)

    def resized(self, view_id: str) -> Image.Image:
        def make() -> Image.Image:
            image = self.original(view_id)
            size = self.size(view_id)
            return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)

        return self._memo(("resized", view_id), make)

    def jpeg(self, view_id: str) -> bytes:
        return self._memo(
            ("jpeg", view_id), lambda: encode_jpeg(self.resized(view_id), self.jpeg_quality, JPEG_SUBSAMPLING)
        )

    def intrinsics(self, view_id: str) -> PinholeCamera:
        return scaled_intrinsics(self._view(view_id), self.size(view_id))

    def depth(self, view_id: str) -> np.ndarray:
        """(h, w) float32 metres at the resized size; NaN = no data. Raises RecordError without depth."""

        def make() -> np.ndarray:
            assert self.scene is not None
            return resize_depth(load_depth(self.scene, self._view(view_id)), self.size(view_id))

        return self._memo(("depth", view_id), make)

    def depth_png(self, view_id: str) -> bytes:
        return self._memo(("depth_png", view_id), lambda: encode_depth_png(self.depth(view_id)))

    def points(self, view_id: str) -> np.ndarray:
        """(h, w, 3) float32 camera-frame metres at the resized size."""
        return self._memo(
            ("points", view_id), lambda: point_map(self.depth(view_id), self.intrinsics(view_id))
        )

    def marked_jpeg(self, view_id: str, markers: Sequence[Marker]) -> bytes:
        """JPEG of the resized image with `markers` (pixel geometry on the original image) drawn on it."""
        key = ("marked", view_id, repr(sorted((m.kind, m.colour, m.geometry_px) for m in markers)))

        def make() -> bytes:
            view = self._view(view_id)
            original = (view.camera.width, view.camera.height)
            size = self.size(view_id)
            scaled = [scale_marker(m, size, original) for m in markers]
            drawn = draw_markers(self.resized(view_id), scaled)
            return encode_jpeg(drawn, self.jpeg_quality, JPEG_SUBSAMPLING)

        return self._memo(key, make)
