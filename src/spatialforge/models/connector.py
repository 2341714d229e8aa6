"""The connector: patch features of every source on one grid -> language-model embeddings.

HiSpatial concatenates the RGB features (vision width) and the point-map features (vision width) along the
channel axis and applies one linear projector whose RGB half is the pretrained projector and whose point-map
half starts at zero (SPEC section 6); SpatialLLM's mixed encoders concatenate a second encoder's features the
same way before its MLP connector.

A linear layer over a channel concatenation [a | b | c] is the sum of one linear layer per block:
W [a; b; c] + bias = W_a a + W_b b + W_c c + bias. The connector stores its first layer as those column
blocks: `rgb` carries the pretrained weights and the bias, every other block (`pointmap`, extra encoders) has
no bias and starts at exactly zero. The model therefore starts exactly at the RGB model (x + 0 == x in
floating point, which a wider matrix product would not promise), and each block stays readable on its own.

kinds: `linear` (PaliGemma: first layer -> text width) and `mlp2x_gelu` (LLaVA-1.5: first layer -> hidden,
GELU, linear -> text width).
"""

from __future__ import annotations

import torch
from torch import nn

PRIMARY = "rgb"


class Connector(nn.Module):
    """Block-structured first layer plus the rest of the projector.

    widths: {source name: channels}, with "rgb" first; out_width: the language model's embedding width;
    hidden: the first layer's output width for mlp2x_gelu (ignored for linear).
    """

    def __init__(self, kind: str, widths: dict[str, int], out_width: int, hidden: int | None = None) -> None:
        super().__init__()
        if PRIMARY not in widths:
            raise ValueError(f"connector needs an {PRIMARY!r} source, got {sorted(widths)}")
        self.kind = kind
        first_width = out_width if kind == "linear" else (hidden or out_width)
        self.blocks = nn.ModuleDict()
        for name, width in widths.items():
            layer = nn.Linear(width, first_width, bias=name == PRIMARY)
            if name != PRIMARY:
                nn.init.zeros_(layer.weight)
            self.blocks[name] = layer
        if kind == "linear":
            self.tail: nn.Module = nn.Identity()
        elif kind == "mlp2x_gelu":
            self.tail = nn.Sequential(nn.GELU(), nn.Linear(first_width, out_width))
        else:
            raise ValueError(f"unknown connector kind {kind!r}")

    @property
    def sources(self) -> list[str]:
        return list(self.blocks)

    def load_pretrained_rgb(self, first: nn.Linear, tail_linear: nn.Linear | None = None) -> None:
        """Take over a pretrained projector: its first linear layer becomes the rgb block, its last linear
        layer (mlp2x_gelu) the tail's."""
        if (tail_linear is not None) != (self.kind == "mlp2x_gelu"):
            layers, fitting = (
                ("two-layer", "mlp2x_gelu") if tail_linear is not None else ("one-layer", "linear")
            )
            raise ValueError(
                f"a pretrained {layers} projector cannot become a {self.kind!r} connector; use {fitting}"
            )
        with torch.no_grad():
            self.blocks[PRIMARY].weight.copy_(first.weight)
            self.blocks[PRIMARY].bias.copy_(first.bias)
            if tail_linear is not None:
                last = self.tail[1]
                last.weight.copy_(tail_linear.weight)
                last.bias.copy_(tail_linear.bias)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """{source: (N, T, width_source)} on one grid (same T) -> (N, T, out_width)."""
        missing = set(self.blocks) - set(features)
        if missing or set(features) - set(self.blocks):
            raise ValueError(f"connector sources {sorted(self.blocks)}, got features {sorted(features)}")
        first = self.blocks[PRIMARY]
        x = first(features[PRIMARY].to(first.weight.dtype))
        for name, block in self.blocks.items():
            if name != PRIMARY:
                x = x + block(features[name].to(x.dtype))
        return self.tail(x)
