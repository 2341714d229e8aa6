"""HF transformers vision towers as extra encoders: DINOv2, CLIP ViT and SigLIP (SpatialLLM's mixed encoders).

Settings (JSON): {"pretrained": "<folder or hub id>"} (e.g. facebook/dinov2-large; a full CLIP / SigLIP
checkpoint loads its vision half) or {"hf_config": {...vision config...}}; optional
- "image_size": the square side the encoder sees (default: the config's; DINOv2 and the ViTs interpolate
  their position embeddings to other sizes) - the grid is image_size // patch_size per side;
- "resize": stretch | shortest_edge_crop, "mean" / "std": per-channel normalisation (defaults per kind:
  DINOv2 ImageNet statistics with a centre crop, CLIP its own statistics with a centre crop, SigLIP 0.5 with
  a stretch - their image processors' choices);
- "feature_layer": which hidden state to read (null = the final output, after the final layer norm;
  -2 = the penultimate layer, LLaVA's choice for CLIP and the default of hf_clip);
- "dtype": float32 | bfloat16 | float16.
The output drops the class token (CLIP, DINOv2) and DINOv2's register tokens: (M, rows * cols, hidden),
row-major, which SpatialVLM resamples to the primary grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    CLIPVisionConfig,
    CLIPVisionModel,
    Dinov2Config,
    Dinov2Model,
    Dinov2WithRegistersConfig,
    Dinov2WithRegistersModel,
    SiglipVisionConfig,
    SiglipVisionModel,
)

from spatialforge.errors import RecordError
from spatialforge.models.backbones.base import resolve_path
from spatialforge.models.encoders.base import VisionEncoder, register_encoder
from spatialforge.models.hf_common import check_settings, config_to_dict, load_hf_model
from spatialforge.models.image_transform import ImageTransform

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SETTINGS_KEYS = ("pretrained", "hf_config", "image_size", "resize", "mean", "std", "feature_layer", "dtype")


@dataclass(frozen=True)
class Tower:
    """One HF vision model type: its classes, leading non-patch tokens and whether its forward takes
    interpolate_pos_encoding (DINOv2 always interpolates)."""

    config_class: type
    model_class: type
    takes_interpolate: bool


@dataclass(frozen=True)
class Kind:
    towers: dict[str, Tower]  # by model_type; the first is the default
    resize: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    feature_layer: int | None


KINDS: dict[str, Kind] = {
    "hf_dinov2": Kind(
        {
            "dinov2": Tower(Dinov2Config, Dinov2Model, False),
            "dinov2_with_registers": Tower(Dinov2WithRegistersConfig, Dinov2WithRegistersModel, False),
        },
        "shortest_edge_crop",
        IMAGENET_MEAN,
        IMAGENET_STD,
        None,
    ),
    "hf_clip": Kind(
        {"clip_vision_model": Tower(CLIPVisionConfig, CLIPVisionModel, True)},
        "shortest_edge_crop",
        CLIP_MEAN,
        CLIP_STD,
        -2,
    ),
    "hf_siglip": Kind(
        {"siglip_vision_model": Tower(SiglipVisionConfig, SiglipVisionModel, True)},
        "stretch",
        (0.5, 0.5, 0.5),
        (0.5, 0.5, 0.5),
        None,
    ),
}


def _tower(kind: str, settings: dict[str, Any], base_dir: Path | None, where: str) -> Tower:
    """Which model type the settings describe (a pretrained folder says it in its config.json)."""
    towers = KINDS[kind].towers
    if "hf_config" in settings:
        data = settings["hf_config"]
        model_type = data.get("model_type", next(iter(towers))) if isinstance(data, dict) else None
    else:
        source = resolve_path(str(settings["pretrained"]), base_dir)
        try:
            model_type = AutoConfig.from_pretrained(source).model_type
        except (OSError, ValueError) as error:
            raise RecordError(
                "unreadable", f"cannot load pretrained {source!r}: {error}", file=where, field="pretrained"
            ) from None
        # A full CLIP / SigLIP checkpoint: its vision half is what this encoder loads.
        model_type = {"clip": "clip_vision_model", "siglip": "siglip_vision_model"}.get(
            model_type, model_type
        )
    if model_type not in towers:
        raise RecordError(
            "bad_value",
            f"model_type {model_type!r} is not one of {sorted(towers)}",
            file=where,
            field="hf_config.model_type",
        )
    return towers[model_type]


class HFVisionEncoder(VisionEncoder):
    model: Any  # the transformers vision model (typed loosely: its classes are untyped)

    def __init__(self, kind: str, settings: dict[str, Any], base_dir: Path | None) -> None:
        super().__init__()
        where = f"extra encoder settings (kind {kind})"
        check_settings(settings, SETTINGS_KEYS, where)
        spec = KINDS[kind]
        tower = _tower(kind, settings, base_dir, where)
        self.model = load_hf_model(tower.model_class, tower.config_class, settings, base_dir, where)
        config = self.model.config
        self.kind = kind
        self.dtype_name = str(settings.get("dtype", "float32"))
        self.takes_interpolate = tower.takes_interpolate
        # Tokens before the patches: CLS (CLIP, DINOv2) and DINOv2's registers; SigLIP has none.
        self.prefix_tokens = 0 if kind == "hf_siglip" else 1 + int(getattr(config, "num_register_tokens", 0))
        self.feature_layer: int | None = settings.get("feature_layer", spec.feature_layer)
        if self.feature_layer is not None and not isinstance(self.feature_layer, int):
            raise RecordError(
                "wrong_type", "feature_layer must be an int or null", file=where, field="feature_layer"
            )
        self.patch_size = int(config.patch_size)
        self.native_size = int(config.image_size)
        size = int(settings.get("image_size", self.native_size))
        if size % self.patch_size:
            message = f"image_size {size} is not a multiple of patch {self.patch_size}"
            raise RecordError("bad_value", message, file=where, field="image_size")
        try:
            self.image_transform = ImageTransform(
                size,
                str(settings.get("resize", spec.resize)),
                tuple(settings.get("mean", spec.mean)),  # type: ignore[arg-type]
                tuple(settings.get("std", spec.std)),  # type: ignore[arg-type]
            )
        except ValueError as error:
            raise RecordError("bad_value", str(error), file=where, field="resize") from None
        self.grid = (size // self.patch_size, size // self.patch_size)
        self.width = int(config.hidden_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(M, 3, S, S) -> (M, rows * cols, width) patch features, row-major."""
        dtype = next(self.model.parameters()).dtype
        options: dict[str, Any] = {"output_hidden_states": self.feature_layer is not None}
        if self.takes_interpolate:
            options["interpolate_pos_encoding"] = self.image_transform.size != self.native_size
        output = self.model(pixel_values.to(dtype), **options)
        hidden = (
            output.last_hidden_state
            if self.feature_layer is None
            else output.hidden_states[self.feature_layer]
        )
        patches = hidden[:, self.prefix_tokens :]  # (M, T, width): class and register tokens dropped
        expected = self.grid[0] * self.grid[1]
        if patches.shape[1] != expected:
            raise ValueError(f"{self.kind}: {patches.shape[1]} patch features, expected a {self.grid} grid")
        return patches

    def resolved_settings(self, folder: Path) -> dict[str, Any]:
        return {
            "hf_config": config_to_dict(self.model.config),
            "image_size": self.image_transform.size,
            "resize": self.image_transform.mode,
            "mean": list(self.image_transform.mean),
            "std": list(self.image_transform.std),
            "feature_layer": self.feature_layer,
            "dtype": self.dtype_name,
        }


def _factory(kind: str) -> Any:
    def build(settings: dict[str, Any], base_dir: Path | None) -> HFVisionEncoder:
        return HFVisionEncoder(kind, settings, base_dir)

    return build


for _kind in KINDS:
    register_encoder(_kind)(_factory(_kind))

__all__ = ["HFVisionEncoder", "KINDS"]
