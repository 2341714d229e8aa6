"""Shared pieces of the HF transformers families (PaliGemma, LLaVA) and the HF extra encoders.

Settings of an HF part are plain JSON (models/config.py) in one of two forms:
- {"pretrained": "<folder or hub id>"}: load real weights with `from_pretrained` (a hub id is looked up in the
  local HF cache; with HF_HUB_OFFLINE=1 nothing is downloaded);
- {"hf_config": {...}}: build the skeleton from a transformers config dict (random weights: tiny test models,
  and the form a saved SpatialVLM records, since its own model.safetensors carries the weights).
plus "dtype" (float32 | bfloat16 | float16) and part-specific keys. A saved model never refers back to the
hub: `resolved_settings` turns `pretrained` into `hf_config` and writes the tokenizer beside the weights.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import torch
from torch import nn

from spatialforge.errors import RecordError
from spatialforge.models.backbones.base import Backbone, resolve_path
from spatialforge.models.image_transform import ImageTransform
from spatialforge.models.tokenizer import TEMPLATE_TOKENIZER, load_tokenizer, save_tokenizer

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


def check_settings(settings: dict[str, Any], allowed: Collection[str], where: str) -> None:
    """Exactly one of pretrained / hf_config, and no unknown keys (a typo would otherwise be ignored)."""
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise RecordError(
            "unknown_field",
            f"unknown settings {unknown}; known: {sorted(allowed)}",
            file=where,
            field=unknown[0],
        )
    if ("pretrained" in settings) == ("hf_config" in settings):
        raise RecordError(
            "missing_field",
            "settings need exactly one of 'pretrained' (folder or hub id) and 'hf_config' (config dict)",
            file=where,
            field="pretrained",
        )


def torch_dtype(settings: dict[str, Any], where: str) -> torch.dtype:
    name = settings.get("dtype", "float32")
    if name not in DTYPES:
        raise RecordError(
            "bad_value", f"dtype {name!r} is not one of {sorted(DTYPES)}", file=where, field="dtype"
        )
    return DTYPES[name]


def config_from_dict(config_class: Any, data: Any, where: str, field: str = "hf_config") -> Any:
    """A transformers config object from its dict (nested sub-config dicts included)."""
    if not isinstance(data, dict):
        raise RecordError("wrong_type", f"{field} must be a JSON object", file=where, field=field)
    expected = getattr(config_class, "model_type", None)
    model_type = data.get("model_type", expected)
    if model_type != expected:
        raise RecordError(
            "bad_value",
            f"{field} has model_type {model_type!r}, expected {expected!r}",
            file=where,
            field=field,
        )
    try:
        return config_class.from_dict(dict(data))
    except (TypeError, ValueError, KeyError) as error:
        raise RecordError("bad_value", f"{field}: {error}", file=where, field=field) from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """A transformers config as a JSON-safe dict that config_from_dict turns back into the same config.

    The JSON round trip drops what JSON cannot hold (torch dtypes become their names via to_dict) and
    fails loudly if anything else slips in."""
    data = config.to_dict()
    data.pop("_name_or_path", None)  # the source folder: meaningless once saved elsewhere
    data.pop("transformers_version", None)  # the installed version; not a property of the model
    return json.loads(json.dumps(data))


def load_hf_model(
    model_class: Any, config_class: Any, settings: dict[str, Any], base_dir: Path | None, where: str
) -> nn.Module:
    """The HF model of `settings`: from_pretrained(pretrained) or model_class(hf_config), in its dtype."""
    dtype = torch_dtype(settings, where)
    if "pretrained" in settings:
        source = resolve_path(str(settings["pretrained"]), base_dir)
        try:
            return model_class.from_pretrained(source, dtype=dtype)
        except OSError as error:  # missing folder, not in the offline cache, wrong files
            raise RecordError(
                "unreadable", f"cannot load pretrained {source!r}: {error}", file=where, field="pretrained"
            ) from None
    config = config_from_dict(config_class, settings["hf_config"], where)
    return model_class(config).to(dtype)


def token_id(tokenizer: Any, token: str | None, where: str, field: str) -> int:
    """The id of a special token the prompt layout needs; loud when the tokenizer lacks it."""
    value = tokenizer.convert_tokens_to_ids(token) if token is not None else None
    if value is None or (token != tokenizer.unk_token and value == tokenizer.unk_token_id):
        raise RecordError(
            "missing_field", f"the tokenizer has no {field} token {token!r}", file=where, field=field
        )
    return int(value)


class HFBackbone(Backbone):
    """A Backbone around an HF `...ForConditionalGeneration` VLM (PaliGemma, LLaVA).

    The wrapper computes the vision features itself (`encode_image`) and hands the connector's image
    embeddings to the HF forward as `mm_encoder_outputs`, so the HF model does the rest exactly as it does
    for its own checkpoints: placeholder scatter, attention masks, softcapping, caches. The HF projector is
    taken out of the HF model (replaced by nn.Identity) and offered to the Connector, which carries those
    weights from then on; the state dict stores them once.

    Subclasses set model_class / config_class / family and implement encode_image, encode_prompt,
    _take_projector and, where the family differs, _image_output and _forward_extras.
    """

    model_class: type
    config_class: type
    hf: Any  # the transformers ...ForConditionalGeneration (typed loosely: its classes are untyped)
    default_mode: str = "stretch"
    default_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    default_std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    settings_keys: tuple[str, ...] = ("pretrained", "hf_config", "tokenizer", "image_size", "dtype")

    def __init__(self, settings: dict[str, Any], base_dir: Path | None) -> None:
        super().__init__()
        where = f"backbone settings (family {self.family})"
        check_settings(settings, self.settings_keys, where)
        self.where = where
        self.dtype_name = settings.get("dtype", "float32")
        self.hf = load_hf_model(self.model_class, self.config_class, settings, base_dir, where)
        config = self.hf.config
        text_config = config.get_text_config(decoder=True)
        vision_config = config.vision_config

        # Tokenizer: a real checkpoint's own (same folder) unless settings name one.
        tokenizer_setting = settings.get("tokenizer", settings.get("pretrained"))
        if tokenizer_setting is None:
            raise RecordError(
                "missing_field", "hf_config settings need a 'tokenizer'", file=where, field="tokenizer"
            )
        self.tokenizer = load_tokenizer(tokenizer_setting, text_config.vocab_size, base_dir, where)
        if tokenizer_setting == TEMPLATE_TOKENIZER:
            # A tiny model's config does not know the offline-trained tokenizer: use its <image> placeholder.
            from spatialforge.models.tokenizer import IMAGE

            config.image_token_id = token_id(self.tokenizer, IMAGE, where, "image")
        self.image_token_id = int(config.image_token_id)
        # Every id the tokenizer can produce needs an embedding row - except the image placeholder, which a
        # checkpoint may put past the vocabulary (HF replaces its embedding before the LM reads it).
        largest = len(self.tokenizer) - 1
        largest -= int(largest == self.image_token_id)
        if largest >= text_config.vocab_size:
            raise RecordError(
                "bad_value",
                f"tokenizer ids reach {largest}, the language model has {text_config.vocab_size} embeddings",
                file=where,
                field="tokenizer",
            )
        self.image_token = self.tokenizer.convert_ids_to_tokens(self.image_token_id)
        eos = self.tokenizer.eos_token_id
        if eos is None:
            raise RecordError(
                "missing_field", "the tokenizer has no EOS token", file=where, field="tokenizer"
            )
        self.eos_token_ids = frozenset({int(eos)})
        pad = self.tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else eos)

        # Vision geometry: a square image of image_size pixels, patch_size patches, row-major grid.
        self.patch_size = int(vision_config.patch_size)
        self.native_size = int(vision_config.image_size)  # the size the position embeddings were trained at
        size = int(settings.get("image_size", self.native_size))
        if size % self.patch_size:
            message = f"image_size {size} is not a multiple of patch {self.patch_size}"
            raise RecordError("bad_value", message, file=where, field="image_size")
        self.image_transform = ImageTransform(size, self.default_mode, self.default_mean, self.default_std)
        self.grid = (size // self.patch_size, size // self.patch_size)
        self.text_width = int(text_config.hidden_size)
        self.vision_width = self._vision_width()
        # Not a registered module: the Connector copies it (pretrained_projector); the state dict skips it.
        self._projector: tuple[nn.Linear, nn.Linear | None] | None = self._take_projector()

    # -- family hooks ---------------------------------------------------------------------------
    def _vision_width(self) -> int:
        return int(self.hf.config.vision_config.hidden_size)

    def _take_projector(self) -> tuple[nn.Linear, nn.Linear | None]:
        raise NotImplementedError

    def _image_output(self, image_embeds: torch.Tensor) -> Any:
        """(M, T, text_width) -> what the HF forward reads as pooler_output."""
        return image_embeds

    def _forward_extras(
        self, position_ids: torch.Tensor, token_type_ids: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        return {"position_ids": position_ids}

    # -- Backbone -------------------------------------------------------------------------------
    @property
    def interpolate(self) -> bool:
        """Whether the vision tower must interpolate its position embeddings (another image size)."""
        return self.image_transform.size != self.native_size

    def vision_parameters(self) -> list[nn.Parameter]:
        return list(self.hf.model.vision_tower.parameters())

    def pretrained_projector(self) -> tuple[nn.Linear, nn.Linear | None] | None:
        return self._projector

    def release_pretrained_projector(self) -> None:
        self._projector = None

    def new_cache(self) -> Any:
        from transformers import DynamicCache

        # With the config the cache knows Gemma2's sliding-window layers (as HF generate builds it).
        return DynamicCache(config=self.hf.config.get_text_config(decoder=True))

    def forward_tokens(
        self,
        input_ids: torch.Tensor,
        image_embeds: torch.Tensor | None,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        cache: Any,
    ) -> tuple[torch.Tensor, Any]:
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        encoder_outputs = None
        if image_embeds is not None:
            encoder_outputs = {
                "image": BaseModelOutputWithPooling(pooler_output=self._image_output(image_embeds))
            }
        output = self.hf(
            input_ids=input_ids,
            attention_mask=attention_mask,
            past_key_values=cache,
            use_cache=cache is not None,
            mm_encoder_outputs=encoder_outputs,
            **self._forward_extras(position_ids, token_type_ids),
        )
        return output.logits, (output.past_key_values if cache is not None else None)

    def resolved_settings(self, folder: Path) -> dict[str, Any]:
        return {
            "hf_config": config_to_dict(self.hf.config),
            "tokenizer": save_tokenizer(self.tokenizer, folder),
            "image_size": self.image_transform.size,
            "dtype": self.dtype_name,
        }

    # -- shared prompt helpers ------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        """Token ids of text with no automatic specials (each layout places BOS / EOS itself)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def check_text(self, ids: list[int], what: str) -> None:
        """Text must not smuggle in image placeholders: their count has to equal the images'."""
        if self.image_token_id in ids:
            raise ValueError(
                f"{self.family} prompt layout: the {what} text contains the image token {self.image_token!r}"
            )
