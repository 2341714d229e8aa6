"""What a model family supplies: the primary vision encoder, the prompt layout and the language model.

SpatialVLM (models/vlm.py) composes a Backbone with the parts every family shares - the point-map tower,
extra vision encoders and the block connector - so the point-map branch is one more tower behind the same
interface, not a fork of each family's model class (DESIGN habit 8).

Tensors and frames:
- pixel_values (M, 3, H, W): M images of the batch, normalised by `image_transform`;
- encode_image -> (M, T, vision_width) patch features, T = grid[0] * grid[1], row-major (top-left first);
- image_embeds (M, T, text_width): the connector's output, scattered by the backbone into the image
  placeholder positions of input_ids in order (image 0's T tokens first);
- input_ids / attention_mask / token_type_ids / position_ids (B, L); position_ids are 0-based over the real
  (unpadded) tokens - a family with another origin (PaliGemma counts from 1) shifts them itself;
- logits (B, L, vocab).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from spatialforge.models.image_transform import ImageTransform

IGNORE_INDEX = -100  # label of a position that carries no loss (prompt, image tokens, padding)


@dataclass(frozen=True)
class PromptTokens:
    """One sample's tokens. labels: the target token at each position (IGNORE_INDEX where no loss; the
    shift to next-token prediction happens in the loss); token_type_ids: 0 = prefix (image and prompt,
    which PaliGemma attends to bidirectionally), 1 = suffix (the answer and what is generated)."""

    input_ids: list[int]
    labels: list[int]
    token_type_ids: list[int]


class Backbone(nn.Module, ABC):
    """A family's vision encoder + prompt layout + language model. Subclasses set `family`."""

    family: str = ""

    # -- vision ---------------------------------------------------------------------------------
    image_transform: ImageTransform  # how images (and point maps, consistently) are resized and normalised
    patch_size: int
    grid: tuple[int, int]  # (rows, cols) of the primary encoder's patch grid
    vision_width: int
    text_width: int

    @property
    def tokens_per_image(self) -> int:
        return self.grid[0] * self.grid[1]

    @abstractmethod
    def encode_image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(M, 3, H, W) -> (M, T, vision_width): the features the family's projector reads."""

    @abstractmethod
    def vision_parameters(self) -> list[nn.Parameter]:
        """The primary vision encoder's parameters (frozen when the config says freeze_vision)."""

    def pretrained_projector(self) -> tuple[nn.Linear, nn.Linear | None] | None:
        """The family's pretrained projector as (first linear, last linear or None), for Connector to take
        over; None when the family has none (a from-scratch model)."""
        return None

    def release_pretrained_projector(self) -> None:  # noqa: B027 - optional hook
        """Drop the reference kept for pretrained_projector once the Connector has copied it."""

    # -- text -----------------------------------------------------------------------------------
    tokenizer: Any  # a transformers PreTrainedTokenizerFast
    image_token_id: int
    pad_token_id: int
    eos_token_ids: frozenset[int]

    @abstractmethod
    def encode_prompt(self, prompt: str, n_images: int, answer: str | None) -> PromptTokens:
        """The family's layout of images, prompt and (for training) answer; `answer` None = generation
        prompt. Each image contributes tokens_per_image image_token_id placeholders."""

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)

    # -- language model -------------------------------------------------------------------------
    @abstractmethod
    def new_cache(self) -> Any:
        """An empty key/value cache for `forward_tokens`."""

    @abstractmethod
    def forward_tokens(
        self,
        input_ids: torch.Tensor,
        image_embeds: torch.Tensor | None,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        cache: Any,
    ) -> tuple[torch.Tensor, Any]:
        """Logits (B, L, vocab) for input_ids (B, L), and the cache (None when cache is None).

        image_embeds replaces the image placeholders of input_ids (None when input_ids holds none, as in
        cached decoding steps). attention_mask (B, L_past + L) covers the cached and the new tokens.
        """

    # -- saving ---------------------------------------------------------------------------------
    @abstractmethod
    def resolved_settings(self, folder: Path) -> dict[str, Any]:
        """Settings that rebuild this backbone's skeleton without its weights (e.g. `pretrained` replaced by
        the loaded `hf_config`), writing what they refer to (the tokenizer) under `folder`; paths in the
        result are relative to `folder`."""


BackboneFactory = Callable[[dict[str, Any], Path | None], Backbone]
BACKBONES: dict[str, BackboneFactory] = {}


def register_backbone(family: str) -> Callable[[BackboneFactory], BackboneFactory]:
    def wrap(factory: BackboneFactory) -> BackboneFactory:
        if family in BACKBONES:
            raise ValueError(f"backbone family {family!r} is registered twice")
        BACKBONES[family] = factory
        return factory

    return wrap


def resolve_path(value: str, base_dir: Path | None) -> str:
    """A settings path: absolute or hub id as given; relative to base_dir (a saved model's folder) when set
    and the file exists there."""
    if base_dir is not None and not Path(value).is_absolute() and (base_dir / value).exists():
        return str(base_dir / value)
    return value
