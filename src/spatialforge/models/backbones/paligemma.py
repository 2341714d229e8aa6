"""PaliGemma / PaliGemma2 (SigLIP + Gemma / Gemma2, one linear projector): HiSpatial's base model.

Settings (JSON): {"pretrained": "<folder or hub id>"} - a real checkpoint, e.g. google/paligemma2-3b-pt-448,
with its own tokenizer from the same folder - or {"hf_config": {...PaliGemmaConfig...}, "tokenizer":
"template" | "<folder>"}; optional "image_size" (default: the SigLIP config's; another size interpolates
the position embeddings) and "dtype" (float32 | bfloat16 | float16).

Images: stretched to image_size x image_size, normalised with mean = std = 0.5 (SiglipImageProcessor).
Prompt layout, as PaliGemmaProcessor builds it:
    <image> x (T * n_images)  <bos> prompt "\n"      | answer <eos>
    ------------ prefix: token type 0 -------------    -- suffix: token type 1, labelled --
The prefix attends bidirectionally (HF builds that mask from token_type_ids), the suffix causally.
PaliGemma counts positions from 1: the wrapper passes our 0-based position ids + 1 explicitly (the HF model
adds the 1 itself only when it is given no position ids).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration

from spatialforge.models.backbones.base import IGNORE_INDEX, PromptTokens, register_backbone
from spatialforge.models.hf_common import HFBackbone


class PaliGemmaBackbone(HFBackbone):
    family = "paligemma"
    model_class = PaliGemmaForConditionalGeneration
    config_class = PaliGemmaConfig
    default_mode = "stretch"
    default_mean = (0.5, 0.5, 0.5)
    default_std = (0.5, 0.5, 0.5)

    def __init__(self, settings: dict[str, Any], base_dir: Path | None) -> None:
        super().__init__(settings, base_dir)
        bos = self.tokenizer.bos_token
        if bos is None:
            raise ValueError(f"{self.where}: PaliGemma's layout needs a tokenizer with a BOS token")
        self.bos_token = str(bos)

    def _take_projector(self) -> tuple[nn.Linear, nn.Linear | None]:
        projector = self.hf.model.multi_modal_projector.linear  # vision width -> text width, with bias
        self.hf.model.multi_modal_projector = nn.Identity()  # the Connector's rgb block replaces it
        return projector, None

    def encode_image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(M, 3, S, S) -> (M, T, vision_width): SigLIP's last hidden state (post layer norm), what
        PaliGemma's projector reads."""
        tower = self.hf.model.vision_tower
        dtype = next(tower.parameters()).dtype
        output = tower(pixel_values.to(dtype), interpolate_pos_encoding=self.interpolate)
        return output.last_hidden_state

    def encode_prompt(self, prompt: str, n_images: int, answer: str | None) -> PromptTokens:
        text_ids = self.tokenize(self.bos_token + prompt + "\n")
        self.check_text(text_ids, "prompt")
        prefix = [self.image_token_id] * (self.tokens_per_image * n_images) + text_ids
        suffix: list[int] = []
        if answer is not None:
            # Tokenised on its own, as the processor's text_pair: the answer does not merge with the "\n".
            suffix = self.tokenize(answer + str(self.tokenizer.eos_token))
            self.check_text(suffix, "answer")
        return PromptTokens(
            input_ids=prefix + suffix,
            labels=[IGNORE_INDEX] * len(prefix) + suffix,
            token_type_ids=[0] * len(prefix) + [1] * len(suffix),
        )

    def _forward_extras(
        self, position_ids: torch.Tensor, token_type_ids: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        extras = {"position_ids": position_ids + 1}  # PaliGemma's positions start at 1
        if token_type_ids is not None:
            extras["token_type_ids"] = token_type_ids  # prefix (0) bidirectional, suffix (1) causal
        return extras


@register_backbone("paligemma")
def build_paligemma(settings: dict[str, Any], base_dir: Path | None) -> PaliGemmaBackbone:
    return PaliGemmaBackbone(settings, base_dir)
