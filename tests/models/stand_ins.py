"""Tiny stand-ins for named configs that reference real `pretrained` weights (which tests cannot download).

`stand_in(config)` keeps a config's structure - family, geometry, connector kind, freeze_vision and the
names and kinds of its extra encoders - and swaps every `pretrained` reference for a tiny `hf_config` built
from scratch, so a registry sweep can build, run and train every named config on a CPU in a second.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from spatialforge.models.config import EncoderConfig, ModelConfig, named_config

# Per encoder kind: a tiny tower on another grid than the tiny backbones' 4 x 4, so resampling runs.
TINY_ENCODERS: dict[str, dict[str, Any]] = {
    "hf_dinov2": {
        "image_size": 12,
        "hf_config": {
            "model_type": "dinov2",
            "hidden_size": 8,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "mlp_ratio": 2,
            "image_size": 12,
            "patch_size": 4,
        },
    },
    "hf_clip": {
        "image_size": 12,
        "hf_config": {
            "model_type": "clip_vision_model",
            "hidden_size": 8,
            "intermediate_size": 16,
            "projection_dim": 8,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 12,
            "patch_size": 6,
        },
    },
    "hf_siglip": {
        "image_size": 12,
        "hf_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": 8,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 12,
            "patch_size": 4,
        },
    },
}

# Per family: the backbone settings of its tiny test config.
TINY_BACKBONE_CONFIGS = {"paligemma": "test-paligemma", "llava": "test-llava"}


def _tiny_backbone(config: ModelConfig) -> dict[str, Any]:
    if config.family not in TINY_BACKBONE_CONFIGS:
        raise ValueError(f"{config.name}: no tiny stand-in for pretrained family {config.family!r}")
    return dict(named_config(TINY_BACKBONE_CONFIGS[config.family]).backbone)


def _tiny_encoder(encoder: EncoderConfig) -> EncoderConfig:
    if "pretrained" not in encoder.settings:
        return encoder
    if encoder.kind not in TINY_ENCODERS:
        raise ValueError(f"extra encoder {encoder.name!r}: no tiny stand-in for kind {encoder.kind!r}")
    return replace(encoder, settings=dict(TINY_ENCODERS[encoder.kind]))


def stand_in(config: ModelConfig) -> ModelConfig:
    """`config` itself when it references no pretrained weights; else the same structure with tiny towers."""
    backbone = _tiny_backbone(config) if "pretrained" in config.backbone else config.backbone
    extras = tuple(_tiny_encoder(e) for e in config.extra_encoders)
    if backbone is config.backbone and extras == config.extra_encoders:
        return config
    # A pretrained connector width (e.g. an MLP hidden size) would not fit the tiny text width.
    connector = (
        replace(config.connector, hidden=None) if backbone is not config.backbone else config.connector
    )
    return replace(config, backbone=backbone, extra_encoders=extras, connector=connector)
