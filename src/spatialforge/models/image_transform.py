"""One geometric plan per image, applied to the image and to its point map alike.

A vision encoder sees a fixed-size square; an image of another shape is either stretched (SigLIP /
PaliGemma's processor: resize to size x size) or resized so its shorter side is `size` and centre-cropped
(CLIP / LLaVA-1.5's processor). The point map must land on exactly the same pixels, or the point-map
features of a patch describe another part of the scene than its RGB features. So both go through one
`Plan`: a crop box in source-image pixels and an output size.

Pixel convention: pixel (u, v) covers [u, u+1) x [v, v+1); output pixel centre (i + 0.5) maps to source
position x0 + (i + 0.5) * (x1 - x0) / out_w (Pillow's resize with `box` uses the same mapping). Images
are resampled with bicubic filtering; point maps with nearest neighbour (never averaging depths across an
object's edge into points that lie on no surface), validity travelling with the points.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

RESIZE_MODES = ("stretch", "shortest_edge_crop")


@dataclass(frozen=True)
class Plan:
    """crop: (x0, y0, x1, y1) in source-image pixels (floats); out: (width, height) in pixels."""

    crop: tuple[float, float, float, float]
    out: tuple[int, int]


@dataclass(frozen=True)
class ImageTransform:
    """size: output side in pixels (square); mode: stretch | shortest_edge_crop; mean, std: per-channel
    normalisation of [0, 1] RGB values."""

    size: int
    mode: str = "stretch"
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def __post_init__(self) -> None:
        if self.mode not in RESIZE_MODES:
            raise ValueError(f"resize mode {self.mode!r} is not one of {RESIZE_MODES}")
        if self.size < 1:
            raise ValueError(f"image size must be positive, got {self.size}")

    def plan(self, width: int, height: int) -> Plan:
        if width < 1 or height < 1:
            raise ValueError(f"image size {width}x{height} is empty")
        if self.mode == "stretch":
            return Plan((0.0, 0.0, float(width), float(height)), (self.size, self.size))
        side = float(min(width, height))  # the centred square of the shorter side
        x0, y0 = (width - side) / 2.0, (height - side) / 2.0
        return Plan((x0, y0, x0 + side, y0 + side), (self.size, self.size))

    def image(self, image: Image.Image) -> np.ndarray:
        """PIL image -> (3, size, size) float32, normalised."""
        out = np.empty((3, self.size, self.size), dtype=np.float32)
        self.image_into(image, out)
        return out

    def image_into(self, image: Image.Image, out: np.ndarray) -> None:
        """`image(image)` written into `out`, a (3, size, size) float32 array (a slot of a batch)."""
        self.normalise_into(self.resized(image), out)

    def resized(self, image: Image.Image) -> np.ndarray:
        """PIL image -> (size, size, 3) uint8 RGB under the plan, before normalisation."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")  # convert() would only copy an RGB image
        plan = self.plan(*rgb.size)
        return np.asarray(rgb.resize(plan.out, Image.Resampling.BICUBIC, box=plan.crop))

    def normalise_into(self, pixels: np.ndarray, out: np.ndarray) -> None:
        """(size, size, 3) uint8 RGB (`resized`) -> `out`, a (3, size, size) float32 array, normalised."""
        if out.shape != (3, self.size, self.size) or out.dtype != np.float32:
            side = self.size
            raise ValueError(f"out must be (3, {side}, {side}) float32, got {out.shape} {out.dtype}")
        # ((pixels / 255) - mean) / std in float32, element for element, computed channel-first: over
        # (H, W, 3) the (3,) mean and std broadcast in 3-element inner loops, several times slower.
        out[...] = pixels.transpose(2, 0, 1)  # (3, H, W) uint8 -> float32, exact
        np.divide(out, 255.0, out=out)  # [0, 1]
        np.subtract(out, np.asarray(self.mean, np.float32)[:, None, None], out=out)
        np.divide(out, np.asarray(self.std, np.float32)[:, None, None], out=out)

    def point_map(
        self, xyz: np.ndarray, valid: np.ndarray, image_size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(h, w, 3) points + (h, w) validity of an image of image_size (width, height) -> (size, size, 3),
        (size, size). The point map may have another resolution than the image (depth sensors often do):
        it is read through the image's plan in normalised coordinates."""
        h, w = valid.shape
        if xyz.shape != (h, w, 3):
            raise ValueError(
                f"point map must be (H, W, 3) with validity (H, W); got {xyz.shape}, {valid.shape}"
            )
        flat = _nearest_pixels(self, h, w, (image_size[0], image_size[1]))  # (size, size) into h * w
        # take() on the flattened map: the values of xyz[rows[:, None], cols[None, :]] (the same pixels),
        # several times faster than 2-D fancy indexing.
        return xyz.reshape(h * w, 3).take(flat, axis=0), valid.reshape(h * w).take(flat)


@lru_cache(maxsize=64)
def _nearest_pixels(transform: ImageTransform, h: int, w: int, image_size: tuple[int, int]) -> np.ndarray:
    """(out_h, out_w) flat indices (row * w + col) of the (h, w) point-map pixel nearest each output pixel
    centre of an image of image_size (width, height) under `transform`'s plan; read-only. Cached: a loader
    meets a few image and point-map sizes (74 KB each at 96 px)."""
    plan = transform.plan(*image_size)
    x0, y0, x1, y1 = plan.crop
    out_w, out_h = plan.out
    sx, sy = w / image_size[0], h / image_size[1]  # point-map pixels per image pixel
    u = x0 + (np.arange(out_w) + 0.5) * (x1 - x0) / out_w  # (out_w,) image x of output centres
    v = y0 + (np.arange(out_h) + 0.5) * (y1 - y0) / out_h
    cols = np.clip(np.floor(u * sx).astype(np.int64), 0, w - 1)  # nearest point-map pixel
    rows = np.clip(np.floor(v * sy).astype(np.int64), 0, h - 1)
    flat = rows[:, None] * w + cols[None, :]
    flat.flags.writeable = False
    return flat
