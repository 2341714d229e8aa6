"""LLaVA-style VLMs (CLIP ViT + Llama, mlp2x_gelu projector): LLaVA-1.5 and SpatialLLM's base.

Settings (JSON): {"pretrained": "<folder or hub id>"} - a real checkpoint, e.g. llava-hf/llava-1.5-7b-hf, with
its own tokenizer - or {"hf_config": {...LlavaConfig...}, "tokenizer": "template" | "<folder>"}; optional
"image_size" (default: the CLIP config's) and "dtype".

Vision features (as LlavaModel.get_image_features): the hidden state of `vision_feature_layer` (-2: the
penultimate CLIP layer; a list concatenates several along channels), CLS dropped ("default" select
strategy), then the projector linear -> GELU -> linear, whose layers the Connector takes over.
Images: shorter side resized to image_size and centre-cropped, CLIP's mean / std.

Prompt layout: with a tokenizer chat template, one user turn "<image> x n_images \\n prompt" rendered with the
generation prompt; without one, LLaVA-1.5's "USER: <image> x n_images\\n{prompt} ASSISTANT:". Each <image>
then expands to T placeholders, BOS leads (unless the text already starts with it), and the answer follows
(" answer" after LLaVA-1.5's "ASSISTANT:") with EOS; only answer + EOS are labelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import LlavaConfig, LlavaForConditionalGeneration

from spatialforge.errors import RecordError
from spatialforge.models.backbones.base import IGNORE_INDEX, PromptTokens, register_backbone
from spatialforge.models.hf_common import HFBackbone

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class LlavaBackbone(HFBackbone):
    family = "llava"
    model_class = LlavaForConditionalGeneration
    config_class = LlavaConfig
    default_mode = "shortest_edge_crop"
    default_mean = CLIP_MEAN
    default_std = CLIP_STD

    def __init__(self, settings: dict[str, Any], base_dir: Path | None) -> None:
        super().__init__(settings, base_dir)
        config = self.hf.config
        if config.vision_feature_select_strategy != "default":
            # "full" keeps CLS: T + 1 features per image are no patch grid the point-map tower can match.
            raise RecordError(
                "bad_value",
                f"vision_feature_select_strategy {config.vision_feature_select_strategy!r}: only 'default' "
                "(CLS dropped) gives a patch grid",
                file=self.where,
                field="hf_config.vision_feature_select_strategy",
            )
        self.feature_layers: list[int] = (
            [config.vision_feature_layer]
            if isinstance(config.vision_feature_layer, int)
            else list(config.vision_feature_layer)
        )

    def _take_projector(self) -> tuple[nn.Linear, nn.Linear | None]:
        config = self.hf.config
        if config.projector_hidden_act != "gelu" or not config.multimodal_projector_bias:
            # The Connector's mlp2x_gelu is linear(+bias) -> exact GELU -> linear(+bias).
            raise RecordError(
                "bad_value",
                f"projector act {config.projector_hidden_act!r} / bias {config.multimodal_projector_bias} "
                "is not mlp2x_gelu (gelu, with bias)",
                file=self.where,
                field="hf_config.projector_hidden_act",
            )
        projector = self.hf.model.multi_modal_projector
        self.hf.model.multi_modal_projector = nn.Identity()  # the Connector carries these weights now
        return projector.linear_1, projector.linear_2

    def _vision_width(self) -> int:
        layer = self.hf.config.vision_feature_layer
        n_layers = 1 if isinstance(layer, int) else len(layer)
        return int(self.hf.config.vision_config.hidden_size) * n_layers

    def encode_image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(M, 3, S, S) -> (M, T, vision_width): the selected CLIP layers' hidden states without CLS."""
        tower = self.hf.model.vision_tower
        dtype = next(tower.parameters()).dtype
        output = tower(
            pixel_values.to(dtype), output_hidden_states=True, interpolate_pos_encoding=self.interpolate
        )
        # hidden_states[0] is the embedding output, [i] layer i's; each (M, 1 + T, hidden), CLS first.
        selected = [output.hidden_states[layer][:, 1:] for layer in self.feature_layers]
        return torch.cat(selected, dim=-1)

    def _image_output(self, image_embeds: torch.Tensor) -> Any:
        return list(image_embeds)  # LlavaModel concatenates a per-image list of (T, text_width)

    def _forward_extras(
        self, position_ids: torch.Tensor, token_type_ids: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        return {"position_ids": position_ids}  # causal throughout: token types only mark the labels

    def prompt_text(self, prompt: str, n_images: int) -> tuple[str, str]:
        """(text before the answer, with one image token per image; separator before the answer)."""
        images = self.image_token * n_images
        if getattr(self.tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": f"{images}\n{prompt}"}]
            text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            return str(text), ""
        return f"USER: {images}\n{prompt} ASSISTANT:", " "

    def encode_prompt(self, prompt: str, n_images: int, answer: str | None) -> PromptTokens:
        text, separator = self.prompt_text(prompt, n_images)
        ids = self.tokenize(text)
        if ids.count(self.image_token_id) != n_images:
            raise ValueError(f"{self.where}: the prompt text holds image token {self.image_token!r} itself")
        bos = self.tokenizer.bos_token_id
        lead = [bos] if bos is not None and (not ids or ids[0] != bos) else []
        prefix: list[int] = list(lead)
        for token in ids:  # each image token -> T placeholders (image i's features fill the i-th run)
            prefix.extend([token] * self.tokens_per_image if token == self.image_token_id else [token])
        suffix: list[int] = []
        if answer is not None:
            # Tokenise prompt + answer together and keep the tail when the prompt tokens are its prefix
            # (sentencepiece merges across the joint); otherwise the answer alone.
            joint = self.tokenize(text + separator + answer)
            tail = joint[len(ids) :] if joint[: len(ids)] == ids else self.tokenize(separator + answer)
            self.check_text(tail, "answer")
            suffix = tail + [int(self.tokenizer.eos_token_id)]
        return PromptTokens(
            input_ids=prefix + suffix,
            labels=[IGNORE_INDEX] * len(prefix) + suffix,
            token_type_ids=[0] * len(prefix) + [1] * len(suffix),
        )


@register_backbone("llava")
def build_llava(settings: dict[str, Any], base_dir: Path | None) -> LlavaBackbone:
    return LlavaBackbone(settings, base_dir)
