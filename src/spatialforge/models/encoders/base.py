"""Extra vision encoders mixed into the primary grid (SpatialLLM's hybrid CLIP + DINOv2 feature maps).

An extra encoder preprocesses the image its own way (`image_transform`: its resolution and normalisation),
returns patch features on its own grid, and SpatialVLM resamples them to the primary encoder's grid
(bilinear, `resample_grid`) before the connector concatenates them. Registry: one factory per kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from spatialforge.models.image_transform import ImageTransform


class VisionEncoder(nn.Module, ABC):
    image_transform: ImageTransform
    grid: tuple[int, int]  # (rows, cols) of this encoder's own patch grid
    width: int

    @abstractmethod
    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(M, 3, H, W) -> (M, rows * cols, width): row-major patch features (no class tokens)."""

    @abstractmethod
    def resolved_settings(self, folder: Path) -> dict[str, Any]:
        """Settings that rebuild this encoder's skeleton without weights (see Backbone.resolved_settings)."""


EncoderFactory = Callable[[dict[str, Any], Path | None], VisionEncoder]
ENCODERS: dict[str, EncoderFactory] = {}


def register_encoder(kind: str) -> Callable[[EncoderFactory], EncoderFactory]:
    def wrap(factory: EncoderFactory) -> EncoderFactory:
        if kind in ENCODERS:
            raise ValueError(f"vision encoder kind {kind!r} is registered twice")
        ENCODERS[kind] = factory
        return factory

    return wrap


def resample_grid(features: torch.Tensor, source: tuple[int, int], target: tuple[int, int]) -> torch.Tensor:
    """(M, rows_s * cols_s, C) -> (M, rows_t * cols_t, C): bilinear resampling of a patch grid (cell centres
    aligned, align_corners=False); identity when the grids match."""
    if source == target:
        return features
    m, t, c = features.shape
    if t != source[0] * source[1]:
        raise ValueError(f"{t} features do not fill a {source[0]}x{source[1]} grid")
    grid = features.transpose(1, 2).reshape(m, c, *source)
    resampled = functional.interpolate(grid.float(), size=target, mode="bilinear", align_corners=False)
    return resampled.to(features.dtype).flatten(2).transpose(1, 2)
