"""The point-map tower (models/geometry_tower.py): sin-cos encoding golden values, the 250 m fill rule,
the relative-depth ablation, and patch locality of the patchify convolution."""

from __future__ import annotations

import math

import pytest
import torch

from spatialforge.models.config import GeometryConfig
from spatialforge.models.geometry_tower import GeometryTower, relative_depth, sanitize_points, sincos_encode

METRIC = GeometryConfig("metric_xyz")
RELATIVE = GeometryConfig("relative_depth")


def test_sincos_golden_values():
    # omega_k = 10000^(-k / 32): omega_0 = 1, omega_8 = 0.1, omega_16 = 0.01, omega_24 = 0.001.
    encoded = sincos_encode(torch.tensor([[1.0, 100.0, -2.0]]), 32, 10000.0)
    assert encoded.shape == (1, 192)
    x, y, z = encoded[0, :64], encoded[0, 64:128], encoded[0, 128:]  # one 64-block per coordinate
    assert x[0].item() == pytest.approx(math.sin(1.0), abs=1e-6)
    assert x[32].item() == pytest.approx(math.cos(1.0), abs=1e-6)
    assert x[8].item() == pytest.approx(math.sin(0.1), abs=1e-6)
    assert x[32 + 16].item() == pytest.approx(math.cos(0.01), abs=1e-6)
    assert y[16].item() == pytest.approx(math.sin(1.0), abs=1e-6)  # 100 * 0.01
    assert y[24].item() == pytest.approx(math.sin(0.1), abs=1e-6)  # 100 * 0.001
    assert y[32 + 8].item() == pytest.approx(math.cos(10.0), abs=1e-5)  # 100 * 0.1
    assert z[24].item() == pytest.approx(math.sin(-0.002), abs=1e-7)
    assert z[32 + 31].item() == pytest.approx(math.cos(-2 * 10000 ** (-31 / 32)), abs=1e-7)
    # Every block is [sin x 32, cos x 32]: sin^2 + cos^2 = 1 pairwise.
    blocks = encoded.view(3, 2, 32)
    torch.testing.assert_close(blocks[:, 0] ** 2 + blocks[:, 1] ** 2, torch.ones(3, 32))


def test_input_has_193_channels_with_the_mask_last():
    assert METRIC.in_channels == 193
    tower = GeometryTower(METRIC, patch_size=2, width=8)
    points = torch.rand(2, 4, 6, 3) * 5
    valid = torch.ones(2, 4, 6, dtype=torch.bool)
    valid[1, 0, 0] = False
    x = tower.encode_input(points, valid)
    assert x.shape == (2, 193, 4, 6)
    assert x[:, 192].sum().item() == 2 * 24 - 1 and x[1, 192, 0, 0].item() == 0.0
    torch.testing.assert_close(x[0, :192, 3, 5], sincos_encode(points[0, 3, 5], 32, 10000.0))


def test_every_kind_of_missing_point_gets_the_same_encoding():
    tower = GeometryTower(METRIC, patch_size=1, width=4)
    nan, inf = float("nan"), float("inf")
    points = torch.tensor(
        [
            [1.0, 2.0, 3.0],  # masked out
            [nan, 0.0, 1.0],
            [0.0, inf, 1.0],
            [0.0, 0.0, -inf],
            [0.0, 0.0, 250.5],  # beyond 250 m
            [-300.0, 0.0, 5.0],
            [250.0, 250.0, 250.0],  # the fill value itself, marked invalid
            [0.0, 0.0, 250.0],  # exactly at the limit: still a point
        ]
    ).view(1, 1, 8, 3)
    valid = torch.tensor([[[False, True, True, True, True, True, False, True]]])
    clean, mask = sanitize_points(points, valid, 250.0)
    assert mask.view(-1).tolist() == [0, 0, 0, 0, 0, 0, 0, 1]
    assert torch.equal(clean[0, 0, :7], torch.full((7, 3), 250.0))
    x = tower.encode_input(points, valid)[0, :, 0]  # (193, 8)
    for column in range(1, 7):
        assert torch.equal(x[:, column], x[:, 0])
    assert torch.isfinite(x).all() and x[192, 7] == 1.0 and not torch.equal(x[:, 7], x[:, 0])


def test_relative_depth_maps_valid_depth_to_unit_range():
    points = torch.tensor([[2.0, 0.0, 1.0], [0.0, -1.0, 3.0], [5.0, 5.0, 2.0], [0.0, 0.0, 90.0]]).view(
        1, 1, 4, 3
    )
    valid = torch.tensor([[[True, True, True, False]]])
    rel = relative_depth(points, valid)
    # Valid z 1, 3, 2 -> 0, 1, 0.5, repeated in x, y, z; the invalid pixel (z = 90) plays no part.
    assert rel[0, 0, :3].tolist() == [[0.0] * 3, [1.0] * 3, [0.5] * 3]
    assert relative_depth(torch.full((1, 2, 2, 3), 4.0), torch.ones(1, 2, 2, dtype=torch.bool)).eq(0).all()


def test_relative_depth_is_scale_invariant_but_metric_is_not():
    generator = torch.Generator().manual_seed(0)
    points = torch.rand(2, 4, 4, 3, generator=generator) * 8 + 0.5
    valid = torch.rand(2, 4, 4, generator=generator) > 0.2
    relative, metric = GeometryTower(RELATIVE, 2, 8), GeometryTower(METRIC, 2, 8)
    for factor in (0.1, 3.7, 40.0):
        torch.testing.assert_close(
            relative.encode_input(points * factor, valid),
            relative.encode_input(points, valid),
            atol=2e-6,
            rtol=0,
        )
        assert not torch.allclose(
            metric.encode_input(points * factor, valid), metric.encode_input(points, valid)
        )


def test_patchify_layer_shape_and_init():
    tower = GeometryTower(METRIC, patch_size=4, width=12)
    conv = tower.patchify
    assert conv.kernel_size == (4, 4) and conv.stride == (4, 4)
    assert (conv.in_channels, conv.out_channels) == (193, 12)
    assert torch.equal(conv.bias, torch.zeros(12))
    # Kaiming normal (fan-in, relu): std = sqrt(2 / (193 * 16)).
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (193 * 16)), rel=0.05)
    out = tower(torch.rand(3, 8, 12, 3), torch.ones(3, 8, 12, dtype=torch.bool))
    assert out.shape == (3, 2 * 3, 12)
    with pytest.raises(ValueError, match="multiple of the patch size"):
        tower(torch.rand(1, 8, 10, 3), torch.ones(1, 8, 10, dtype=torch.bool))
    with pytest.raises(ValueError, match="point map must be"):
        tower(torch.rand(1, 8, 8, 2), torch.ones(1, 8, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="relative_depth or metric_xyz"):
        GeometryTower(GeometryConfig("none"), 4, 12)


@pytest.mark.parametrize("config", [METRIC, RELATIVE], ids=["metric", "relative"])
def test_a_patch_feature_depends_only_on_its_own_pixels(config: GeometryConfig):
    torch.manual_seed(0)
    tower = GeometryTower(config, patch_size=4, width=6)
    points = torch.rand(1, 8, 12, 3) * 3 + 1  # 2 x 3 patches
    # Relative depth normalises by the image's depth range: pin it (z 0.5 at one corner, 5 at the other)
    # so that the changes below, inside that range and away from the corners, leave it alone.
    points[0, 0, 0, 2], points[0, 7, 11, 2] = 0.5, 5.0
    valid = torch.ones(1, 8, 12, dtype=torch.bool)
    base = tower(points, valid)
    for row, col in [(5, 2), (0, 11), (7, 7)]:
        changed = points.clone()
        changed[0, row, col] = torch.tensor([0.3, -0.2, 2.2])  # inside the depth range: relative keeps
        masked = valid.clone()
        masked[0, row, col] = False
        for p, m in ((changed, valid), (points, masked)):
            out = tower(p, m)
            index = (row // 4) * 3 + col // 4  # row-major patch order
            differs = [not torch.equal(out[0, t], base[0, t]) for t in range(6)]
            assert differs == [t == index for t in range(6)]


def test_patch_matrix_product_equals_the_convolution() -> None:
    """forward computes the kernel = stride convolution as one matrix product over patches."""
    torch.manual_seed(0)
    tower = GeometryTower(GeometryConfig(), patch_size=8, width=16)
    points = torch.randn(2, 16, 24, 3) * 5.0
    valid = torch.rand(2, 16, 24) > 0.2
    reference = tower.patchify(tower.encode_input(points, valid)).flatten(2).transpose(1, 2)  # (2, 6, 16)
    assert torch.allclose(tower(points, valid), reference, atol=1e-4, rtol=1e-4)


def test_layernorm_output_normalises_each_patch_feature_and_keeps_locality():
    torch.manual_seed(0)
    config = GeometryConfig("metric_xyz", output_norm="layernorm")
    tower = GeometryTower(config, patch_size=4, width=16)
    plain = GeometryTower(METRIC, patch_size=4, width=16)
    plain.load_state_dict(tower.state_dict(), strict=False)  # the same patchify weights
    points = torch.rand(2, 8, 12, 3) * 4 + 0.5
    valid = torch.ones(2, 8, 12, dtype=torch.bool)
    out = tower(points, valid)  # (2, 6, 16)
    # at init the norm's affine is the identity: every patch feature has mean 0 and variance 1
    assert torch.allclose(out.mean(-1), torch.zeros(2, 6), atol=1e-5)
    assert torch.allclose(out.var(-1, unbiased=False), torch.ones(2, 6), atol=1e-3)
    assert torch.allclose(out, torch.nn.functional.layer_norm(plain(points, valid), (16,)), atol=1e-5)
    changed = points.clone()
    changed[1, 5, 2] = torch.tensor([0.3, -0.2, 2.2])  # patch (1, 0) of image 1
    differs = (tower(changed, valid) != out).any(-1)
    assert differs.tolist() == [[False] * 6, [t == 3 for t in range(6)]]
    assert {n for n, _ in tower.named_parameters()} == {
        "patchify.weight",
        "patchify.bias",
        "norm.weight",
        "norm.bias",
    }
    assert tower.config.output_norm == "layernorm" and plain.norm is None
