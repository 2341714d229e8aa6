"""The block connector (models/connector.py): a fresh geometry model starts exactly at the RGB model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spatialforge.models.connector import Connector

KINDS = ["linear", "mlp2x_gelu"]
RGB, GEO, TEXT = 6, 6, 5  # vision width, point-map width (= vision width), text width


def features(n: int = 2, tokens: int = 4, **widths: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(n * 100 + tokens)
    return {name: torch.randn(n, tokens, width, generator=generator) for name, width in widths.items()}


def rgb_and_geometry(kind: str) -> tuple[Connector, Connector]:
    """An RGB-only connector and a geometry one that took over its projector (as a pretrained one)."""
    torch.manual_seed(0)
    rgb = Connector(kind, {"rgb": RGB}, TEXT, hidden=7)
    torch.manual_seed(1)  # different random init everywhere, so only load_pretrained_rgb can align them
    both = Connector(kind, {"rgb": RGB, "pointmap": GEO, "dino": 3}, TEXT, hidden=7)
    tail = rgb.tail[1] if kind == "mlp2x_gelu" else None
    both.load_pretrained_rgb(rgb.blocks["rgb"], tail)
    return rgb, both


@pytest.mark.parametrize("kind", KINDS)
def test_zero_blocks_give_exactly_the_rgb_output(kind: str):
    rgb, both = rgb_and_geometry(kind)
    f = features(rgb=RGB, pointmap=GEO, dino=3)
    assert torch.equal(both(f), rgb({"rgb": f["rgb"]}))
    assert both.sources == ["rgb", "pointmap", "dino"]
    assert both.blocks["pointmap"].bias is None and both.blocks["rgb"].bias is not None
    assert torch.equal(both.blocks["pointmap"].weight, torch.zeros(7 if kind == "mlp2x_gelu" else TEXT, GEO))


@pytest.mark.parametrize("kind", KINDS)
def test_load_pretrained_rgb_copies_weights(kind: str):
    rgb, both = rgb_and_geometry(kind)
    assert torch.equal(both.blocks["rgb"].weight, rgb.blocks["rgb"].weight)
    assert torch.equal(both.blocks["rgb"].bias, rgb.blocks["rgb"].bias)
    assert both.blocks["rgb"].weight.data_ptr() != rgb.blocks["rgb"].weight.data_ptr()  # a copy
    if kind == "mlp2x_gelu":
        assert torch.equal(both.tail[1].weight, rgb.tail[1].weight)
        assert torch.equal(both.tail[1].bias, rgb.tail[1].bias)
        assert isinstance(both.tail[0], nn.GELU)
    else:
        assert isinstance(both.tail, nn.Identity)


@pytest.mark.parametrize("kind", KINDS)
def test_a_nonzero_pointmap_block_changes_the_output(kind: str):
    rgb, both = rgb_and_geometry(kind)
    f = features(rgb=RGB, pointmap=GEO, dino=3)
    with torch.no_grad():
        both.blocks["pointmap"].weight[0, 0] = 0.5
    assert not torch.equal(both(f), rgb({"rgb": f["rgb"]}))
    # Linear: the change is exactly W_pointmap @ pointmap features.
    if kind == "linear":
        delta = both(f) - rgb({"rgb": f["rgb"]})
        torch.testing.assert_close(delta[..., 0], 0.5 * f["pointmap"][..., 0])
        torch.testing.assert_close(delta[..., 1:], torch.zeros_like(delta[..., 1:]))


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_the_zero_blocks(kind: str):
    _, both = rgb_and_geometry(kind)
    out = both(features(rgb=RGB, pointmap=GEO, dino=3))
    (out**2).sum().backward()
    for name in ("pointmap", "dino"):
        grad = both.blocks[name].weight.grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_sources_must_match():
    connector = Connector("linear", {"rgb": RGB, "pointmap": GEO}, TEXT)
    with pytest.raises(ValueError, match="connector sources"):
        connector(features(rgb=RGB))  # missing pointmap
    with pytest.raises(ValueError, match="connector sources"):
        connector(features(rgb=RGB, pointmap=GEO, depth=2))  # extra
    with pytest.raises(ValueError, match="'rgb' source"):
        Connector("linear", {"pointmap": GEO}, TEXT)
    with pytest.raises(ValueError, match="unknown connector kind"):
        Connector("qformer", {"rgb": RGB}, TEXT)


def test_output_width_and_hidden():
    assert Connector("linear", {"rgb": RGB}, TEXT)(features(rgb=RGB)).shape == (2, 4, TEXT)
    mlp = Connector("mlp2x_gelu", {"rgb": RGB, "pointmap": GEO}, TEXT)  # hidden defaults to the text width
    assert mlp.blocks["pointmap"].out_features == TEXT
    assert mlp(features(rgb=RGB, pointmap=GEO)).shape == (2, 4, TEXT)
