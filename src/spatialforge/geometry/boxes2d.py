"""Axis-aligned 2D boxes in pixels, (x_min, y_min, x_max, y_max) with the pixel-centre convention."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Box2D:
    x_min: float
    y_min: float
    x_max: float
    y_max: float

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> Box2D:
        return cls(x, y, x + w, y + h)

    def as_list(self) -> list[float]:
        return [self.x_min, self.y_min, self.x_max, self.y_max]

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def is_valid(self) -> bool:
        finite = all(math.isfinite(v) for v in (self.x_min, self.y_min, self.x_max, self.y_max))
        return finite and self.width > 0 and self.height > 0

    def clipped(self, width: int, height: int) -> Box2D:
        """Clip to the image area [-0.5, W - 0.5] x [-0.5, H - 0.5] (plain floats: called per object per
        question, where numpy's scalar overhead dominated)."""
        x_hi, y_hi = width - 0.5, height - 0.5
        return Box2D(
            float(min(max(self.x_min, -0.5), x_hi)),
            float(min(max(self.y_min, -0.5), y_hi)),
            float(min(max(self.x_max, -0.5), x_hi)),
            float(min(max(self.y_max, -0.5), y_hi)),
        )


def box2d_iou(a: Box2D, b: Box2D) -> float:
    """Intersection over union of two boxes; 0 when either is empty."""
    iw = min(a.x_max, b.x_max) - max(a.x_min, b.x_min)
    ih = min(a.y_max, b.y_max) - max(a.y_min, b.y_min)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = a.area + b.area - inter
    return float(inter / union) if union > 0 else 0.0
