"""Point maps: per-pixel 3D points in the camera frame, the geometry input of the spatial VLM.

Frame and units: OpenCV camera frame (+x right, +y down, +z forward), metres (SPEC section 1). A pixel
without a trustworthy point has valid = False; its xyz is ignored (the model's tower replaces it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
