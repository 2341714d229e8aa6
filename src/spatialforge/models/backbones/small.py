"""The `small` family: a from-scratch vision transformer + decoder-only language model.

Sized to learn on CPU in minutes (configs/small.json) and to be built in milliseconds for tests
(configs/test-small*.json). Nothing is downloaded: the weights start from torch's RNG (callers seed) and
the tokenizer is the byte-level BPE trained offline on the template vocabulary (models/tokenizer.py), or a
saved tokenizer folder.

Settings (the config's `backbone` dict):

    {"vision": {"image_size", "patch_size", "width", "layers", "heads", "mlp_ratio"?, "mean"?, "std"?,
                "resize"?},
     "text": {"width", "layers", "heads", "mlp_ratio"?, "mlp"?, "rope_base"?},
     "tokenizer": "template" | a folder,
     "vocab_size": 2048}

Prompt layout (decoder-only, causal everywhere):

    <bos> <image> x T per image, prompt text, "\\n" | answer <eos>
    labels:   IGNORE_INDEX ..................................... | answer tokens, <eos>
    token types: 0 .............................................. | 1

The prompt text, the newline and the answer are tokenised separately, so the tokens the model is trained to
produce after "\\n" are exactly the tokens a generation prompt (which ends at "\\n") continues with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from spatialforge.models.backbones.base import (
    IGNORE_INDEX,
    Backbone,
    PromptTokens,
    register_backbone,
)
from spatialforge.models.encoders.base import VisionEncoder, register_encoder
from spatialforge.models.image_transform import ImageTransform
from spatialforge.models.tokenizer import (
    BOS,
    EOS,
    IMAGE,
    PAD,
    TEMPLATE_TOKENIZER,
    load_tokenizer,
    save_tokenizer,
)

MLP_KINDS = ("swiglu", "gelu")
_INIT_STD = 0.02  # GPT-2 / Llama style normal init for linear and embedding weights


def _setting(settings: dict[str, Any], key: str, where: str, kind: type = int) -> Any:
    """A required setting of the given type; ValueError naming the field (`where.key`) otherwise."""
    if key not in settings:
        raise ValueError(f"small backbone settings: field {where}.{key} is missing")
    value = settings[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(
            f"small backbone settings: field {where}.{key} must be a positive integer, got {value!r}"
        )
    return value


def _heads_divide(width: int, heads: int, where: str) -> int:
    if width % heads:
        raise ValueError(
            f"small backbone settings: field {where}.heads ({heads}) must divide width ({width})"
        )
    return width // heads


# -- vision -------------------------------------------------------------------------------------------


class _ViTBlock(nn.Module):
    """Pre-LN transformer block, bidirectional attention over the patch sequence (N, T, C)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        hidden = int(round(width * mlp_ratio))
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(n, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attended = functional.scaled_dot_product_attention(q, k, v)  # (N, heads, T, head_dim)
        x = x + self.proj(attended.transpose(1, 2).reshape(n, t, c))
        return x + self.mlp(self.norm2(x))


class ViTEncoder(VisionEncoder):
    """Images (M, 3, S, S) normalised by `image_transform` -> patch features (M, (S/p)^2, width), row-major.

    Conv2d patch embedding (kernel = stride = p), learned position embeddings (one per patch, no class
    token: SpatialVLM reads patch features only), pre-LN blocks, final LayerNorm.
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__()
        where = "vision"
        self.settings = dict(settings)
        image_size = _setting(settings, "image_size", where)
        patch = _setting(settings, "patch_size", where)
        width = _setting(settings, "width", where)
        layers = _setting(settings, "layers", where)
        heads = _setting(settings, "heads", where)
        _heads_divide(width, heads, where)
        if image_size % patch:
            raise ValueError(
                f"small backbone settings: field {where}.image_size ({image_size}) must be a multiple of "
                f"{where}.patch_size ({patch})"
            )
        mean = tuple(float(v) for v in settings.get("mean", (0.5, 0.5, 0.5)))
        std = tuple(float(v) for v in settings.get("std", (0.5, 0.5, 0.5)))
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"small backbone settings: fields {where}.mean / {where}.std need 3 values")
        self.image_transform = ImageTransform(
            size=image_size, mode=str(settings.get("resize", "stretch")), mean=mean, std=std
        )
        self.patch_size = patch
        self.grid = (image_size // patch, image_size // patch)
        self.width = width
        self.patch_embed = nn.Conv2d(3, width, kernel_size=patch, stride=patch)
        self.position = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], width))
        self.blocks = nn.ModuleList(
            _ViTBlock(width, heads, float(settings.get("mlp_ratio", 4.0))) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(width)
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.position, std=_INIT_STD)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=_INIT_STD)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        # The patch embedding is a linear map of the flattened patch (3 * p * p inputs): fan-in scaled.
        nn.init.normal_(self.patch_embed.weight, std=1.0 / math.sqrt(3 * self.patch_size**2))
        if self.patch_embed.bias is not None:
            nn.init.zeros_(self.patch_embed.bias)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        size = self.image_transform.size
        if pixel_values.ndim != 4 or pixel_values.shape[1:] != (3, size, size):
            raise ValueError(f"ViT expects (M, 3, {size}, {size}) pixels, got {tuple(pixel_values.shape)}")
        x = self.patch_embed(pixel_values.to(self.patch_embed.weight.dtype))  # (M, width, rows, cols)
        x = x.flatten(2).transpose(1, 2) + self.position  # (M, T, width), row-major patches
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def resolved_settings(self, folder: Path) -> dict[str, Any]:
        return dict(self.settings)  # sizes only: no files to write


@register_encoder("vit")
def _build_vit(settings: dict[str, Any], base_dir: Path | None) -> ViTEncoder:
    return ViTEncoder(settings)


# -- language model -----------------------------------------------------------------------------------


@dataclass
class KVCache:
    """Per-layer keys and values (B, heads, L_seen, head_dim), rotary already applied to keys; each call of
    the decoder appends its new positions."""

    keys: list[torch.Tensor] = field(default_factory=list)
    values: list[torch.Tensor] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.keys[0].shape[2] if self.keys else 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this call's (B, heads, L, head_dim) k/v to layer `layer`; return everything seen so far."""
        if layer == len(self.keys):
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=2)
        return self.keys[layer], self.values[layer]


class RMSNorm(nn.Module):
    def __init__(self, width: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in float32 (bf16 squares lose too much), return in the input dtype.
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.to(x.dtype) * self.weight


def rotary(position_ids: torch.Tensor, head_dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) positions -> cos, sin (B, 1, L, head_dim): rotate-half RoPE angles p * base^(-2i/d)."""
    inv_freq = base ** (
        -torch.arange(0, head_dim, 2, device=position_ids.device, dtype=torch.float32) / head_dim
    )
    angles = position_ids.float()[..., None] * inv_freq  # (B, L, head_dim / 2)
    angles = torch.cat([angles, angles], dim=-1)[:, None]  # (B, 1, L, head_dim)
    return angles.cos(), angles.sin()


def _apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x.float() * cos + rotated.float() * sin).to(x.dtype)


def attention_mask_4d(attention_mask: torch.Tensor, new_tokens: int) -> torch.Tensor:
    """(B, L_total) 0/1 key mask -> (B, 1, L_new, L_total) bool, True = may attend.

    The new tokens are the last `new_tokens` of the L_total: query i sits at absolute index
    L_total - L_new + i and sees keys j <= that index whose mask is 1 (causal AND not padding). Every query
    also sees itself, so a padding query (left padding: all its earlier keys are padding too) has one key
    and SDPA stays finite; real tokens never see padding, so their outputs do not depend on it.
    """
    total = attention_mask.shape[1]
    past = total - new_tokens
    device = attention_mask.device
    query_index = torch.arange(past, total, device=device)[:, None]  # (L_new, 1) absolute index
    key_index = torch.arange(total, device=device)[None, :]  # (1, L_total)
    causal = key_index <= query_index  # (L_new, L_total)
    keys = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L_total)
    return (causal & keys) | (key_index == query_index)


class _DecoderBlock(nn.Module):
    def __init__(self, width: int, heads: int, hidden: int, mlp: str) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.attn_norm = RMSNorm(width)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.out = nn.Linear(width, width, bias=False)
        self.mlp_norm = RMSNorm(width)
        self.mlp_kind = mlp
        if mlp == "swiglu":
            self.gate = nn.Linear(width, hidden, bias=False)
        self.up = nn.Linear(width, hidden, bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor,
        cache: KVCache | None,
        layer: int,
    ) -> torch.Tensor:
        b, length, width = x.shape
        qkv = self.qkv(self.attn_norm(x)).view(b, length, 3, self.heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, L, head_dim)
        q, k = _apply_rotary(q, cos, sin), _apply_rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(layer, k, v)  # (B, heads, L_past + L, head_dim)
        attended = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.out(attended.transpose(1, 2).reshape(b, length, width))
        h = self.mlp_norm(x)
        if self.mlp_kind == "swiglu":
            h = functional.silu(self.gate(h)) * self.up(h)
        else:
            h = functional.gelu(self.up(h))
        return x + self.down(h)


class SmallDecoder(nn.Module):
    """Decoder-only LM: token embedding, RoPE from the given position ids, RMSNorm pre-norm blocks, tied head.

    inputs_embeds (B, L, width), attention_mask (B, L_past + L), position_ids (B, L) -> logits (B, L, V).
    """

    def __init__(self, settings: dict[str, Any], vocab_size: int) -> None:
        super().__init__()
        where = "text"
        width = _setting(settings, "width", where)
        layers = _setting(settings, "layers", where)
        heads = _setting(settings, "heads", where)
        head_dim = _heads_divide(width, heads, where)
        if head_dim % 2:
            raise ValueError(f"small backbone settings: field {where}.heads gives an odd head dim {head_dim}")
        mlp = str(settings.get("mlp", "swiglu"))
        if mlp not in MLP_KINDS:
            raise ValueError(f"small backbone settings: field {where}.mlp {mlp!r} is not one of {MLP_KINDS}")
        ratio = float(settings.get("mlp_ratio", 4.0))
        # SwiGLU has three matrices: 2/3 of the GELU hidden width keeps the parameter count equal (Llama),
        # rounded up to a multiple of 8 for friendly matmul shapes.
        hidden = int(round(width * ratio * (2 / 3 if mlp == "swiglu" else 1)))
        hidden = 8 * math.ceil(hidden / 8)
        self.width = width
        self.head_dim = head_dim
        self.rope_base = float(settings.get("rope_base", 10000.0))
        self.embed = nn.Embedding(vocab_size, width)
        self.blocks = nn.ModuleList(_DecoderBlock(width, heads, hidden, mlp) for _ in range(layers))
        self.norm = RMSNorm(width)
        self._init_weights(layers)

    def _init_weights(self, layers: int) -> None:
        nn.init.normal_(self.embed.weight, std=_INIT_STD)
        blocks: list[_DecoderBlock] = list(self.blocks)  # type: ignore[arg-type]
        for block in blocks:
            for module in block.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, std=_INIT_STD)
            # Residual-branch outputs scaled by 1/sqrt(2 * layers) (GPT-2) so the stream's variance does
            # not grow with depth at init.
            for last in (block.out, block.down):
                nn.init.normal_(last.weight, std=_INIT_STD / math.sqrt(2 * layers))

    def forward(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        cache: KVCache | None,
    ) -> torch.Tensor:
        b, length, _ = inputs_embeds.shape
        past = cache.length if cache is not None else 0
        if attention_mask.shape != (b, past + length):
            raise ValueError(
                f"attention_mask {tuple(attention_mask.shape)} must cover the {past} cached and {length} new "
                f"tokens of {b} sequences"
            )
        if position_ids.shape != (b, length):
            raise ValueError(f"position_ids {tuple(position_ids.shape)} must be ({b}, {length})")
        cos, sin = rotary(position_ids, self.head_dim, self.rope_base)
        mask = attention_mask_4d(attention_mask, length)
        x = inputs_embeds
        for layer, block in enumerate(self.blocks):
            x = block(x, cos, sin, mask, cache, layer)
        return functional.linear(self.norm(x), self.embed.weight)  # tied head: (B, L, V)


# -- the family -------------------------------------------------------------------------------------


class SmallBackbone(Backbone):
    family = "small"

    def __init__(self, settings: dict[str, Any], base_dir: Path | None = None) -> None:
        super().__init__()
        for key in ("vision", "text"):
            if not isinstance(settings.get(key), dict):
                raise ValueError(f"small backbone settings: field {key} must be an object")
        self.settings = dict(settings)
        vocab_size = _setting(settings, "vocab_size", "backbone")
        self.tokenizer = load_tokenizer(
            settings.get("tokenizer", TEMPLATE_TOKENIZER), vocab_size, base_dir, "small backbone settings"
        )
        if len(self.tokenizer) > vocab_size:
            raise ValueError(
                f"small backbone settings: field vocab_size ({vocab_size}) is smaller than the tokenizer's "
                f"{len(self.tokenizer)} tokens"
            )
        ids = self.tokenizer.convert_tokens_to_ids([BOS, EOS, PAD, IMAGE])
        if self.tokenizer.unk_token_id in ids:
            raise ValueError(f"small backbone: the tokenizer lacks one of {BOS} {EOS} {PAD} {IMAGE}")
        self.bos_token_id, eos, self.pad_token_id, self.image_token_id = ids
        self.eos_token_ids = frozenset({eos})
        self._newline = self._text_ids("\n")

        self.vision = ViTEncoder(settings["vision"])
        self.image_transform = self.vision.image_transform
        self.patch_size = self.vision.patch_size
        self.grid = self.vision.grid
        self.vision_width = self.vision.width
        self.decoder = SmallDecoder(settings["text"], vocab_size)
        self.text_width = self.decoder.width

    # -- vision -----------------------------------------------------------------------------------
    def encode_image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.vision(pixel_values)

    def vision_parameters(self) -> list[nn.Parameter]:
        return list(self.vision.parameters())

    def pretrained_projector(self) -> None:
        return None  # from scratch: the connector's own init stands

    # -- text -------------------------------------------------------------------------------------
    def _text_ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False)) if text else []

    def encode_prompt(self, prompt: str, n_images: int, answer: str | None) -> PromptTokens:
        prefix = (
            [self.bos_token_id]
            + [self.image_token_id] * (n_images * self.tokens_per_image)
            + self._text_ids(prompt)
            + self._newline
        )
        if answer is None:
            return PromptTokens(prefix, [IGNORE_INDEX] * len(prefix), [0] * len(prefix))
        suffix = self._text_ids(answer) + sorted(self.eos_token_ids)
        return PromptTokens(
            input_ids=prefix + suffix,
            labels=[IGNORE_INDEX] * len(prefix) + suffix,
            token_type_ids=[0] * len(prefix) + [1] * len(suffix),
        )

    # -- language model ---------------------------------------------------------------------------
    def new_cache(self) -> KVCache:
        return KVCache()

    def forward_tokens(
        self,
        input_ids: torch.Tensor,
        image_embeds: torch.Tensor | None,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        cache: KVCache | None,
    ) -> tuple[torch.Tensor, KVCache | None]:
        # token_type_ids are not read: this decoder is causal over prefix and answer alike.
        embeds = self.decoder.embed(input_ids)  # (B, L, width)
        is_image = input_ids == self.image_token_id  # (B, L)
        n_slots = int(is_image.sum())
        if image_embeds is None:
            if n_slots:
                raise ValueError(f"input_ids hold {n_slots} image placeholders but no image embeddings")
        else:
            m, t, width = image_embeds.shape
            if m * t != n_slots or width != self.text_width:
                raise ValueError(
                    f"image embeddings ({m}, {t}, {width}) do not fill the {n_slots} image placeholders of "
                    f"width {self.text_width}"
                )
            # masked_scatter fills placeholders in row-major (sample, position) order: image 0's T tokens
            # first, matching the connector's output order (images in sample order).
            embeds = embeds.masked_scatter(is_image[..., None], image_embeds.to(embeds.dtype))
        logits = self.decoder(embeds, attention_mask, position_ids, cache)
        return logits, cache

    # -- saving -----------------------------------------------------------------------------------
    def resolved_settings(self, folder: Path) -> dict[str, Any]:
        return {**self.settings, "tokenizer": save_tokenizer(self.tokenizer, folder)}


@register_backbone("small")
def _build_small(settings: dict[str, Any], base_dir: Path | None) -> SmallBackbone:
    return SmallBackbone(settings, base_dir)
