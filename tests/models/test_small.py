"""The from-scratch `small` family inside SpatialVLM: layout, masks, cache, geometry, saving, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from spatialforge.models import named_config
from spatialforge.models.backbones.base import IGNORE_INDEX
from spatialforge.models.backbones.small import (
    KVCache,
    SmallBackbone,
    ViTEncoder,
    attention_mask_4d,
)
from spatialforge.models.config import GEOMETRY_KINDS, ModelConfig
from spatialforge.models.pointmap import PointMap
from spatialforge.models.processing import Batch, Sample
from spatialforge.models.vlm import CONFIG_FILE, SpatialVLM, build_model

TEST_CONFIGS = ("test-small", "test-small-mixed")


# -- helpers --------------------------------------------------------------------------------------------


def make_image(seed: int, size: tuple[int, int] = (40, 30)) -> Image.Image:
    """A random RGB image of size (width, height)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def plane_point_map(depth_m: float, size: tuple[int, int] = (40, 30), tilt: float = 0.0) -> PointMap:
    """A plane z = depth + tilt * x seen by a pinhole camera (fx = fy = width, centred principal point),
    OpenCV camera frame in metres; the top-left 3x3 pixels are invalid (a sensor hole)."""
    width, height = size
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    rx, ry = (u - width / 2) / width, (v - height / 2) / width  # ray directions (x/z, y/z)
    z = depth_m / (1.0 - tilt * rx)  # where the ray meets the plane z = depth + tilt * x
    xyz = np.stack([rx * z, ry * z, z], axis=-1).astype(np.float32)
    valid = np.ones((height, width), bool)
    valid[:3, :3] = False
    return PointMap(xyz=xyz, valid=valid)


def make_sample(seed: int, prompt: str, answer: str | None = None, n_images: int = 1) -> Sample:
    images = tuple(make_image(seed * 10 + i) for i in range(n_images))
    points = tuple(plane_point_map(1.0 + seed + i, tilt=0.2 * i) for i in range(n_images))
    return Sample(prompt=prompt, images=images, point_maps=points, answer=answer)


def make_model(name: str = "test-small", seed: int = 0, **options: object) -> SpatialVLM:
    torch.manual_seed(seed)
    return build_model(named_config(name, **options)).eval()


def make_lively(model: SpatialVLM) -> SpatialVLM:
    """Give the decoder's blocks large random weights. At the small init a tied-head decoder greedily repeats
    its last token, which would make cached and uncached generation agree trivially; these weights give a
    different token at every step."""
    with torch.no_grad():
        for parameter in model.backbone.decoder.blocks.parameters():
            if parameter.ndim == 2:
                parameter.normal_(std=0.3)
    return model


def two_prompts(with_answers: bool = True) -> list[Sample]:
    """Two samples of different lengths (one image vs two, short vs long prompt): the first gets padded."""
    return [
        make_sample(1, "Is the chair left of the table?", "yes" if with_answers else None),
        make_sample(
            2,
            "How far is the lamp from the sofa, in meters, measured between their centres?",
            "2.5 meters" if with_answers else None,
            n_images=2,
        ),
    ]


# -- the parts ------------------------------------------------------------------------------------------


def test_vit_encoder_shapes_and_registry() -> None:
    torch.manual_seed(0)
    vit = ViTEncoder({"image_size": 48, "patch_size": 16, "width": 24, "layers": 1, "heads": 2})
    out = vit(torch.randn(5, 3, 48, 48))
    assert vit.grid == (3, 3)
    assert out.shape == (5, 9, 24)
    assert torch.isfinite(out).all()
    assert vit.resolved_settings(None)["image_size"] == 48  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="vision.image_size"):
        ViTEncoder({"image_size": 50, "patch_size": 16, "width": 24, "layers": 1, "heads": 2})
    with pytest.raises(ValueError, match="vision.heads"):
        ViTEncoder({"image_size": 48, "patch_size": 16, "width": 24, "layers": 1, "heads": 5})


def test_attention_mask_is_causal_hides_padding_and_keeps_pad_rows_finite() -> None:
    mask = attention_mask_4d(torch.tensor([[0, 1, 1], [1, 1, 1]]), new_tokens=3)
    expected_padded = torch.tensor([[True, False, False], [False, True, False], [False, True, True]])
    assert torch.equal(mask[0, 0], expected_padded)  # the pad query sees only itself
    assert torch.equal(mask[1, 0], torch.ones(3, 3, dtype=torch.bool).tril())
    step = attention_mask_4d(torch.tensor([[0, 1, 1, 1]]), new_tokens=1)  # one cached decoding step
    assert torch.equal(step[0, 0], torch.tensor([[False, True, True, True]]))


def test_kv_cache_appends_per_layer() -> None:
    cache = KVCache()
    k = torch.zeros(2, 4, 3, 8)
    cache.update(0, k, k)
    cache.update(1, k, k)
    keys, _ = cache.update(0, torch.ones(2, 4, 1, 8), torch.ones(2, 4, 1, 8))
    assert keys.shape == (2, 4, 4, 8) and cache.length == 4
    assert cache.keys[1].shape[2] == 3


def test_prompt_layout_labels_and_token_types() -> None:
    model = make_model()
    backbone = model.backbone
    assert isinstance(backbone, SmallBackbone)
    t = backbone.tokens_per_image
    assert t == 16  # 32 px / patch 8 -> 4 x 4
    train = backbone.encode_prompt("Is it left?", 2, "yes")
    prompt = backbone.encode_prompt("Is it left?", 2, None)
    n = len(prompt.input_ids)
    assert train.input_ids[:n] == prompt.input_ids  # generation continues exactly where training answers
    assert prompt.input_ids[0] == backbone.bos_token_id
    assert prompt.input_ids[1 : 1 + 2 * t] == [backbone.image_token_id] * (2 * t)
    assert backbone.decode(prompt.input_ids).endswith("Is it left?\n")
    eos = next(iter(backbone.eos_token_ids))
    answer = train.input_ids[n:]
    assert answer[-1] == eos and backbone.decode(answer) == "yes"
    assert train.labels == [IGNORE_INDEX] * n + answer
    assert train.token_type_ids == [0] * n + [1] * len(answer)
    assert prompt.labels == [IGNORE_INDEX] * n and set(prompt.token_type_ids) == {0}


def test_parameter_counts_are_pinned() -> None:
    # Golden counts of the tiny configs: a change of architecture or config shows up here.
    counts = {name: sum(p.numel() for p in make_model(name).parameters()) for name in TEST_CONFIGS}
    assert counts == {"test-small": 621024, "test-small-mixed": 648504}


# -- the model: every config x geometry ---------------------------------------------------------------


@pytest.mark.parametrize("geometry", GEOMETRY_KINDS)
@pytest.mark.parametrize("name", TEST_CONFIGS)
def test_forward_backward_generate(name: str, geometry: str) -> None:
    model = make_model(name, geometry=geometry).train()
    batch = model.collate(two_prompts())
    assert (batch.points is None) == (geometry == "none")
    out = model(batch)
    assert out.logits.shape == (*batch.input_ids.shape, model.backbone.decoder.embed.num_embeddings)
    assert out.loss is not None and torch.isfinite(out.loss)
    # Fresh model: the loss is near uniform guessing over the vocabulary (ln 2048 = 7.62).
    assert abs(out.loss.item() - np.log(2048)) < 0.5
    out.loss.backward()
    for block_name, block in model.connector.blocks.items():
        assert block.weight.grad is not None, block_name
        assert block.weight.grad.abs().sum() > 0, block_name  # zero-init blocks must be able to move
    if geometry != "none":
        assert model.geometry is not None and model.geometry.patchify.weight.grad is not None
    for encoder in model.extra_encoders.values():
        assert encoder.patch_embed.weight.grad is not None
    assert all(p.grad is not None for p in model.backbone.vision_parameters())  # freeze_vision false
    assert model.backbone.decoder.embed.weight.grad is not None
    model.eval()
    texts = model.answer(two_prompts(with_answers=False), max_new_tokens=4)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)


def test_cached_generation_matches_uncached() -> None:
    model = make_lively(make_model("test-small-mixed"))
    batch = model.collate(two_prompts(with_answers=False), with_labels=False)
    assert batch.attention_mask[0, 0] == 0  # the first prompt is left-padded
    cached = model.generate(batch, max_new_tokens=10, use_cache=True)
    full = model.generate(batch, max_new_tokens=10, use_cache=False)
    assert cached.token_ids == full.token_ids
    assert all(len(set(row)) >= 5 for row in full.token_ids)  # a varied continuation, not one repeated token
    assert cached.text == full.text


def test_cached_step_logits_match_full_sequence() -> None:
    model = make_lively(make_model())
    batch = model.collate(two_prompts(), with_labels=True)  # the answers give a few tokens to step over
    backbone = model.backbone
    with torch.no_grad():
        embeds = model.image_embeddings(batch)
        ids, mask, pos = batch.input_ids, batch.attention_mask, batch.position_ids
        full, _ = backbone.forward_tokens(ids, embeds, mask, pos, batch.token_type_ids, None)
        prefix = ids.shape[1] - 4  # all image placeholders lie before this point
        cache = backbone.new_cache()
        first, cache = backbone.forward_tokens(
            ids[:, :prefix], embeds, mask[:, :prefix], pos[:, :prefix], None, cache
        )
        steps = [first]
        for i in range(prefix, ids.shape[1]):
            logits, cache = backbone.forward_tokens(
                ids[:, i : i + 1], None, mask[:, : i + 1], pos[:, i : i + 1], None, cache
            )
            steps.append(logits)
    stepped = torch.cat(steps, dim=1)
    real = mask.bool()  # padding positions carry no meaning
    torch.testing.assert_close(stepped[real], full[real], atol=1e-5, rtol=1e-4)


def test_left_padding_does_not_change_a_samples_logits() -> None:
    model = make_lively(make_model())
    samples = two_prompts()
    alone = model.collate(samples[:1])
    padded = model.collate(samples)
    pad = padded.input_ids.shape[1] - alone.input_ids.shape[1]
    assert pad > 0
    with torch.no_grad():
        logits_alone = model(alone).logits[0]
        logits_batch = model(padded).logits[0, pad:]
    torch.testing.assert_close(logits_batch, logits_alone, atol=1e-5, rtol=1e-4)


def test_fresh_metric_model_equals_rgb_model() -> None:
    metric = make_model(geometry="metric_xyz", seed=3)
    rgb = make_model(geometry="none", seed=3)
    shared = metric.state_dict()
    missing, unexpected = rgb.load_state_dict({k: shared[k] for k in rgb.state_dict()}, strict=True)
    assert not missing and not unexpected
    samples = two_prompts()
    with torch.no_grad():
        metric_logits = metric(metric.collate(samples)).logits
        rgb_logits = rgb(rgb.collate(samples)).logits
    assert torch.equal(metric_logits, rgb_logits)  # the zero point-map block adds exactly 0


@pytest.mark.parametrize("name", TEST_CONFIGS)
def test_save_and_reload_give_identical_logits(name: str, tmp_path) -> None:
    model = make_model(name, seed=5)
    with torch.no_grad():  # move the zero point-map block off zero so the round trip covers it
        model.connector.blocks["pointmap"].weight.normal_(std=0.02)
    folder = model.save_pretrained(tmp_path / "model")
    config = ModelConfig.load(folder / CONFIG_FILE)
    assert config.backbone["tokenizer"] == "tokenizer" and (folder / "tokenizer").is_dir()
    assert config == model.resolved_config(folder)
    reloaded = SpatialVLM.from_pretrained(folder)
    samples = two_prompts()
    with torch.no_grad():
        before = model(model.collate(samples)).logits
        after = reloaded(reloaded.collate(samples)).logits
    assert torch.equal(before, after)
    assert reloaded.backbone.tokenizer.get_vocab() == model.backbone.tokenizer.get_vocab()


def test_tiny_model_overfits_a_handful_of_questions() -> None:
    questions = [
        ("Is the red chair left of the table?", "yes"),
        ("Which is closer, the lamp or the sofa?", "the lamp"),
        ("How far is the bed from the door?", "2.5 meters"),
        ("How many chairs are there?", "3"),
        ("Is the shelf taller than the desk?", "no"),
        ("What is the height of the cabinet?", "1.25 m"),
    ]
    samples = [make_sample(i, q, a) for i, (q, a) in enumerate(questions)]
    model = make_model(seed=1).train()
    batch = model.collate(samples)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    prompts = [Sample(s.prompt, s.images, s.point_maps) for s in samples]
    answers: list[str] = []
    for step in range(1, 301):
        loss = model(batch).loss
        optimizer.zero_grad()
        loss.backward()  # type: ignore[union-attr]
        optimizer.step()
        if step % 25 == 0 and loss.item() < 0.05:  # type: ignore[union-attr]
            model.eval()
            answers = model.answer(prompts, max_new_tokens=8)
            model.train()
            if answers == [a for _, a in questions]:
                break
    assert answers == [a for _, a in questions], f"after {step} steps: {answers}"


# -- bad input ------------------------------------------------------------------------------------------


def test_geometry_model_rejects_a_batch_without_points() -> None:
    rgb = make_model(geometry="none")
    metric = make_model(geometry="metric_xyz")
    batch: Batch = rgb.collate(two_prompts())
    assert batch.points is None
    with pytest.raises(ValueError, match="point maps"):
        metric(batch)


def test_sample_with_wrong_point_map_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="2 point maps for 1 images"):
        Sample("Where?", (make_image(0),), (plane_point_map(1.0), plane_point_map(2.0)))


def test_backbone_settings_errors_name_the_field() -> None:
    settings = dict(named_config("test-small").backbone)
    with pytest.raises(ValueError, match="text.width"):
        SmallBackbone({**settings, "text": {"layers": 1, "heads": 2}})
    with pytest.raises(ValueError, match="vocab_size"):
        SmallBackbone({**settings, "vocab_size": 100})
    with pytest.raises(ValueError, match="text.mlp"):
        SmallBackbone({**settings, "text": {**settings["text"], "mlp": "relu"}})


def test_image_placeholders_must_match_image_embeddings() -> None:
    model = make_model(geometry="none")
    batch = model.collate(two_prompts())
    with pytest.raises(ValueError, match="image placeholders"):
        model.backbone.forward_tokens(
            batch.input_ids, None, batch.attention_mask, batch.position_ids, None, None
        )


def split_point_map(left_near: bool, size: tuple[int, int] = (40, 30)) -> PointMap:
    """The plane of plane_point_map(2 m) with its left half pulled to 1 m and its right half pushed to 3 m
    along the rays (or the other way round): the same scene depth on average, a different layout."""
    plane = plane_point_map(2.0, size)
    scale = np.empty(plane.valid.shape, np.float32)
    half = size[0] // 2
    scale[:, :half], scale[:, half:] = (0.5, 1.5) if left_near else (1.5, 0.5)
    return PointMap(xyz=plane.xyz * scale[..., None], valid=plane.valid)


def steps_to_learn(model: SpatialVLM, samples: list[Sample], max_steps: int) -> int | None:
    """Full-batch AdamW steps until greedy answers equal the samples' answers (checked every 25), or None."""
    model.train()
    batch = model.collate(samples)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    prompts = [Sample(s.prompt, s.images, s.point_maps) for s in samples]
    for step in range(1, max_steps + 1):
        loss = model(batch).loss
        optimizer.zero_grad()
        loss.backward()  # type: ignore[union-attr]
        optimizer.step()
        if step % 25 == 0:
            model.eval()
            answers = model.answer(prompts, max_new_tokens=4)
            model.train()
            if answers == [s.answer for s in samples]:
                return step
    return None


def test_answers_only_the_point_map_or_only_the_image_determines_are_learned() -> None:
    """The inputs reach the answer: one question over the same image whose answer only the point map's
    layout gives, and one over the same point map whose answer only the image's colour gives."""
    image = make_image(0)
    by_layout = [
        Sample("Which side is closer?", (image,), (split_point_map(left_near),), answer=answer)
        for left_near, answer in ((True, "left"), (False, "right"))
    ]
    normed = make_model(seed=2, geometry={"output_norm": "layernorm"})
    assert steps_to_learn(normed, by_layout, max_steps=400) is not None
    solid = [(255, 0, 0), (0, 0, 255), (0, 160, 0)]
    by_colour = [
        Sample("What colour is it?", (Image.new("RGB", (40, 30), rgb),), (plane_point_map(2.0),), answer=name)
        for rgb, name in zip(solid, ("red", "blue", "green"), strict=True)
    ]
    assert steps_to_learn(make_model(seed=1), by_colour, max_steps=200) is not None
