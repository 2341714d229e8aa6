"""SpatialVLM: a family backbone + extra vision encoders + the point-map tower + one block connector.

    images --(primary encoder)---------------> (M, T, C_v) --.
    images --(extra encoders, resampled)-----> (M, T, C_e) --+--> connector --> (M, T, D) image embeds
    point maps --(geometry tower, same grid)-> (M, T, C_v) --'                       |
    prompt tokens -------------------------------------------------------> language model --> logits

RGB-only, relative depth and metric point map are one model with config.geometry.kind none /
relative_depth / metric_xyz; mixed encoders are config.extra_encoders. The point-map block of the connector
starts at zero, so a freshly built metric model gives exactly the RGB model's logits.

Saving: `save_pretrained(folder)` writes config.json (the resolved config: every `pretrained` reference
replaced by the settings that rebuild the skeleton), model.safetensors (all weights) and the tokenizer;
`SpatialVLM.from_pretrained(folder)` rebuilds the skeleton from config.json and loads the weights strictly
(safetensors: no pickle).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from spatialforge.models.backbones.base import BACKBONES, IGNORE_INDEX, Backbone
from spatialforge.models.config import EncoderConfig, ModelConfig
from spatialforge.models.connector import PRIMARY, Connector
from spatialforge.models.encoders.base import ENCODERS, VisionEncoder, resample_grid
from spatialforge.models.geometry_tower import GeometryTower
from spatialforge.models.image_transform import ImageTransform
from spatialforge.models.processing import Batch, Sample, collate

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
POINTMAP = "pointmap"

# Modules that register backbones and encoders (imported on first build: transformers only when needed).
_BACKBONE_MODULES = {
    "small": "spatialforge.models.backbones.small",
    "paligemma": "spatialforge.models.backbones.paligemma",
    "llava": "spatialforge.models.backbones.llava",
}
_ENCODER_MODULES = {
    "vit": "spatialforge.models.backbones.small",
    "hf_dinov2": "spatialforge.models.encoders.hf",
    "hf_clip": "spatialforge.models.encoders.hf",
    "hf_siglip": "spatialforge.models.encoders.hf",
}


@dataclass(frozen=True)
class ModelOutput:
    """loss: mean next-token cross-entropy over labelled positions (None without labels); logits (B, L, V)."""

    logits: torch.Tensor
    loss: torch.Tensor | None


@dataclass(frozen=True)
class Generation:
    """token_ids: the new tokens of each sample (EOS excluded); text: their decoding."""

    token_ids: list[list[int]]
    text: list[str]


def build_backbone(config: ModelConfig, base_dir: Path | None) -> Backbone:
    if config.family not in BACKBONES:
        importlib.import_module(_BACKBONE_MODULES[config.family])
    return BACKBONES[config.family](dict(config.backbone), base_dir)


def build_encoder(config: EncoderConfig, base_dir: Path | None) -> VisionEncoder:
    if config.kind not in ENCODERS:
        if config.kind not in _ENCODER_MODULES:
            raise ValueError(
                f"unknown vision encoder kind {config.kind!r}; known: {sorted(_ENCODER_MODULES)}"
            )
        importlib.import_module(_ENCODER_MODULES[config.kind])
    return ENCODERS[config.kind](dict(config.settings), base_dir)


class SpatialVLM(nn.Module):
    def __init__(self, config: ModelConfig, base_dir: Path | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config, base_dir)
        self.extra_encoders = nn.ModuleDict(
            {e.name: build_encoder(e, base_dir) for e in config.extra_encoders}
        )
        self.geometry = (
            GeometryTower(config.geometry, self.backbone.patch_size, self.backbone.vision_width)
            if config.geometry.enabled
            else None
        )
        widths = {PRIMARY: self.backbone.vision_width}
        widths.update({name: encoder.width for name, encoder in self.extra_encoders.items()})
        if self.geometry is not None:
            widths[POINTMAP] = self.backbone.vision_width
        self.connector = Connector(
            config.connector.kind, widths, self.backbone.text_width, config.connector.hidden
        )
        pretrained = self.backbone.pretrained_projector()
        if pretrained is not None:
            try:
                self.connector.load_pretrained_rgb(*pretrained)
            except ValueError as error:
                raise ValueError(f"model config {config.name!r}: {error}") from None
            self.backbone.release_pretrained_projector()  # the connector holds the only copy now
        if config.freeze_vision:
            for parameter in self.backbone.vision_parameters():
                parameter.requires_grad_(False)
            for encoder in self.extra_encoders.values():
                encoder.requires_grad_(False)

    # -- inputs ---------------------------------------------------------------------------------
    def image_transforms(self) -> dict[str, ImageTransform]:
        transforms = {PRIMARY: self.backbone.image_transform}
        transforms.update({name: e.image_transform for name, e in self.extra_encoders.items()})
        return transforms

    def collate(self, samples: Sequence[Sample], *, with_labels: bool = True) -> Batch:
        return collate(self, samples, with_labels=with_labels)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # -- forward --------------------------------------------------------------------------------
    def image_embeddings(self, batch: Batch) -> torch.Tensor | None:
        """(M, T, text_width) for the batch's M images, None when it has none."""
        rgb_pixels = batch.pixel_values[PRIMARY]
        if rgb_pixels.shape[0] == 0:
            return None
        features = {PRIMARY: self.backbone.encode_image(rgb_pixels)}
        for name, encoder in self.extra_encoders.items():
            features[name] = resample_grid(
                encoder(batch.pixel_values[name]), encoder.grid, self.backbone.grid
            )
        if self.geometry is not None:
            if batch.points is None or batch.points_valid is None:
                raise ValueError(
                    "this model reads point maps; the batch has none (collate it with this model)"
                )
            features[POINTMAP] = self.geometry(batch.points, batch.points_valid)
        return self.connector(features)

    def forward(self, batch: Batch) -> ModelOutput:
        embeds = self.image_embeddings(batch)
        logits, _ = self.backbone.forward_tokens(
            batch.input_ids, embeds, batch.attention_mask, batch.position_ids, batch.token_type_ids, None
        )
        loss = None
        if batch.labels is not None:
            loss = next_token_loss(logits, batch.labels)
        return ModelOutput(logits=logits, loss=loss)

    # -- generation -----------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        batch: Batch,
        *,
        max_new_tokens: int = 32,
        use_cache: bool = True,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int = 0,
    ) -> Generation:
        """Greedy (temperature 0) or sampled continuation of each prompt, until EOS or max_new_tokens.

        With use_cache the prompt runs once and each step feeds one token with the key/value cache;
        without it every step reruns the whole sequence (the reference the cached path must match).
        """
        embeds = self.image_embeddings(batch)
        ids, mask = batch.input_ids, batch.attention_mask
        types, positions = batch.token_type_ids, batch.position_ids
        generator = torch.Generator(device="cpu").manual_seed(seed)
        cache = self.backbone.new_cache() if use_cache else None
        logits, cache = self.backbone.forward_tokens(ids, embeds, mask, positions, types, cache)
        b = ids.shape[0]
        done = torch.zeros(b, dtype=torch.bool, device=ids.device)
        new_tokens: list[torch.Tensor] = []
        eos = sorted(self.backbone.eos_token_ids)
        # Made once, not per step: each step's Python and host-to-device work is most of a small model's time.
        eos_ids = torch.tensor(eos, dtype=torch.long, device=ids.device)
        pad = torch.full((b,), self.backbone.pad_token_id, dtype=torch.long, device=ids.device)
        one = torch.ones((b, 1), dtype=mask.dtype, device=ids.device)
        position = positions[:, -1:]  # (B, 1) the last position so far
        for _ in range(max_new_tokens):
            token = _pick(logits[:, -1].float(), temperature, top_p, generator).to(ids.device)  # (B,)
            token = torch.where(done, pad, token)
            new_tokens.append(token)
            done = done | torch.isin(token, eos_ids)
            if bool(done.all()):
                break
            mask = torch.cat([mask, one], dim=1)
            position = position + 1
            if use_cache:
                # The cache holds every earlier position: only the new token, its position and the mask.
                logits, cache = self.backbone.forward_tokens(
                    token[:, None], None, mask, position, None, cache
                )
            else:
                ids = torch.cat([ids, token[:, None]], dim=1)
                types = torch.cat([types, torch.ones_like(token[:, None])], dim=1)
                positions = torch.cat([positions, position], dim=1)
                logits, _ = self.backbone.forward_tokens(ids, embeds, mask, positions, types, None)
        steps = torch.stack(new_tokens, dim=1).tolist() if new_tokens else [[] for _ in range(b)]  # (B, S)
        out = []
        for row in steps:
            ends = [i for i, value in enumerate(row) if value in eos]
            out.append(row[: ends[0]] if ends else row)
        return Generation(token_ids=out, text=[self.backbone.decode(row) for row in out])

    def answer(self, samples: Sequence[Sample], **settings: Any) -> list[str]:
        """Generated answers for prompts (samples without answers)."""
        batch = self.collate(samples, with_labels=False).to(self.device, self.dtype)
        return self.generate(batch, **settings).text

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    # -- saving ---------------------------------------------------------------------------------
    def resolved_config(self, folder: Path) -> ModelConfig:
        extras = tuple(
            replace(e, settings=self.extra_encoders[e.name].resolved_settings(folder))
            for e in self.config.extra_encoders
        )
        return replace(self.config, backbone=self.backbone.resolved_settings(folder), extra_encoders=extras)

    def save_pretrained(self, folder: str | Path) -> Path:
        from safetensors.torch import save_model

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.resolved_config(folder).save(folder / CONFIG_FILE)
        save_model(self, str(folder / WEIGHTS_FILE))  # handles tied weights (shared storage)
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device = "cpu") -> SpatialVLM:
        from safetensors.torch import load_model

        folder = Path(folder)
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder}: not a saved spatialforge model (no {name})")
        model = cls(ModelConfig.load(folder / CONFIG_FILE), base_dir=folder)
        load_model(model, str(folder / WEIGHTS_FILE), strict=True, device=str(device))
        return model.to(device).eval()


def build_model(config: ModelConfig, base_dir: Path | None = None) -> SpatialVLM:
    return SpatialVLM(config, base_dir)


def next_token_loss(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy (fp32) of predicting labels[:, t + 1] from position t over labelled positions: their
    mean, or their sum (reduction="sum": the trainer divides by the global batch's target count)."""
    shifted_logits = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
    shifted_labels = labels[:, 1:].reshape(-1)
    return functional.cross_entropy(
        shifted_logits, shifted_labels, ignore_index=IGNORE_INDEX, reduction=reduction
    )


def _pick(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator) -> torch.Tensor:
    """(B, V) -> (B,): argmax, or a sample from the temperature-scaled distribution cut to its top_p mass."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.cpu() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        keep = sorted_probs.cumsum(-1) - sorted_probs < top_p  # always keeps the most likely token
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs / probs.sum(-1, keepdim=True), 1, generator=generator).squeeze(-1)
