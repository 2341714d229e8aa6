"""LoRA on a SpatialVLM: which parameters train, exact start, learning, merging and saving."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spatialforge.errors import RecordError
from spatialforge.models import named_config
from spatialforge.models.pointmap import PointMap
from spatialforge.models.processing import Sample
from spatialforge.models.vlm import SpatialVLM, build_model
from spatialforge.train.lora import LoraConfig, apply_lora, has_lora, lora_targets, merge_lora

CONFIGS = ("test-small", "test-llava")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_model(name: str, seed: int = 0, **options: object) -> SpatialVLM:
    torch.manual_seed(seed)
    return build_model(named_config(name, **options)).eval()


def samples() -> list[Sample]:
    out = []
    for seed, (prompt, answer) in enumerate(
        [("How far is the chair?", "1.5 m"), ("Is the lamp left?", "yes")]
    ):
        rng = np.random.default_rng(seed)
        image = Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8))
        xyz = rng.uniform(0.5, 4.0, (20, 24, 3)).astype(np.float32)
        out.append(Sample(prompt, (image,), (PointMap(xyz=xyz, valid=np.ones((20, 24), bool)),), answer))
    return out


def logits(model: SpatialVLM) -> torch.Tensor:
    with torch.no_grad():
        return model(model.collate(samples())).logits


def train_steps(model: SpatialVLM, steps: int = 3) -> None:
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.05)
    batch = model.collate(samples())
    for _ in range(steps):
        optimizer.zero_grad()
        model(batch).loss.backward()
        optimizer.step()
    model.eval()


def component_prefix(name: str, target: str) -> tuple[str, ...]:
    hf = name != "test-small"
    vision = "backbone.hf.model.vision_tower." if hf else "backbone.vision."
    language = ("backbone.hf.model.language_model.", "backbone.hf.lm_head.") if hf else ("backbone.decoder.",)
    return {"vision": (vision,), "language": language, "all": (vision, *language)}[target]


# -- trainable parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("target", ["vision", "language", "all"])
def test_only_adapters_train_in_the_target(name: str, target: str) -> None:
    model = make_model(name, freeze_vision=False)
    config = LoraConfig(target, r=2, alpha=4)
    targets = lora_targets(model, config)
    before = {n for n, p in model.named_parameters() if p.requires_grad}
    apply_lora(model, config)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    prefixes = component_prefix(name, target)
    adapters = {f"backbone.{t}.lora_{ab}.default.weight" for t in targets for ab in "AB"}
    untouched = {n for n in before if not n.startswith(prefixes)}
    assert trainable == adapters | untouched
    assert adapters and untouched  # both sides are non-empty, so the equality says something
    # Every Linear layer of the component body got an adapter (default modules).
    linear_count = sum(
        isinstance(m, torch.nn.Linear) and not n.startswith("backbone.hf.lm_head")
        for n, m in build_model(named_config(name)).named_modules()
        if n.startswith(prefixes)
    )
    assert len(targets) == linear_count


def test_frozen_vision_stays_frozen_under_language_lora() -> None:
    model = make_model("test-small", freeze_vision=True)
    apply_lora(model, LoraConfig("language"))
    assert not any(p.requires_grad for p in model.backbone.vision.parameters())
    assert all(p.requires_grad for p in model.connector.parameters())
    assert not model.backbone.decoder.embed.weight.requires_grad


def test_modules_select_by_suffix() -> None:
    model = make_model("test-small")
    config = LoraConfig("language", modules=["qkv", "blocks.1.down"])
    assert lora_targets(model, config) == [
        "decoder.blocks.0.qkv",
        "decoder.blocks.1.qkv",
        "decoder.blocks.1.down",
    ]
    apply_lora(model, config)
    adapted = {n.split(".lora_")[0] for n, p in model.named_parameters() if ".lora_" in n}
    assert adapted == {
        "backbone.decoder.blocks.0.qkv",
        "backbone.decoder.blocks.1.qkv",
        "backbone.decoder.blocks.1.down",
    }
    with pytest.raises(RecordError, match="names no Linear") as error:
        lora_targets(make_model("test-small"), LoraConfig("vision", modules=["gate"]))
    assert error.value.field == "modules"


def test_llava_lm_head_only_when_named() -> None:
    model = make_model("test-llava")
    assert "hf.lm_head" not in lora_targets(model, LoraConfig("language"))
    assert lora_targets(model, LoraConfig("language", modules=["lm_head"])) == ["hf.lm_head"]
    apply_lora(model, LoraConfig("language"))
    assert not model.backbone.hf.lm_head.weight.requires_grad  # part of the language component: frozen


# -- outputs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIGS)
def test_lora_starts_at_base_learns_merges_and_saves(name: str, tmp_path: Path) -> None:
    model = make_model(name, freeze_vision=False)
    base_logits = logits(model)
    fresh_keys = set(build_model(named_config(name, freeze_vision=False)).state_dict())
    apply_lora(model, LoraConfig("all", r=4, alpha=8))
    assert torch.equal(logits(model), base_logits)  # B = 0: exactly the base model

    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if ".base_layer." in n}
    train_steps(model)
    adapted_logits = logits(model)
    assert not torch.allclose(adapted_logits, base_logits, atol=1e-4)
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n  # the base weights under the adapters did not move

    merged = merge_lora(model)
    assert not has_lora(merged)
    assert set(merged.state_dict()) == fresh_keys
    torch.testing.assert_close(logits(merged), adapted_logits, rtol=1e-4, atol=1e-4)

    merged.save_pretrained(tmp_path / "merged")
    loaded = SpatialVLM.from_pretrained(tmp_path / "merged")
    torch.testing.assert_close(logits(loaded), logits(merged), rtol=0, atol=0)


def test_adapted_model_generates() -> None:
    model = apply_lora(make_model("test-small"), LoraConfig("language"))
    prompt = [Sample("How far is the chair?", samples()[0].images, samples()[0].point_maps)]
    assert len(model.answer(prompt, max_new_tokens=3)) == 1


def test_vision_then_language_after_merge() -> None:
    # SpatialLLM-style stages: vision LoRA, merged, then language LoRA on the same model.
    model = apply_lora(make_model("test-small"), LoraConfig("vision"))
    with pytest.raises(ValueError, match="already has LoRA"):
        apply_lora(model, LoraConfig("all"))
    merge_lora(model)
    apply_lora(model, LoraConfig("language"))
    assert has_lora(model.backbone.decoder) and not has_lora(model.backbone.vision)


# -- config -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"target": "decoder"}, "target"),
        ({"target": "vision", "r": 0}, "r"),
        ({"target": "vision", "alpha": -1}, "alpha"),
        ({"target": "vision", "dropout": 1.0}, "dropout"),
        ({"target": "vision", "modules": "qkv"}, "modules"),
        ({"target": "vision", "rank": 4}, "rank"),
        ({"r": 4}, "target"),
    ],
)
def test_config_errors_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(RecordError) as error:
        LoraConfig.from_dict(data, source="train.json")
    assert error.value.field == field and "train.json" in str(error.value)


def test_config_round_trip() -> None:
    config = LoraConfig("all", r=4, alpha=8, dropout=0.1, modules=["qkv"])
    assert LoraConfig.from_dict(config.to_dict()) == config


def test_missing_peft_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "peft", None)  # import peft now raises ImportError
    with pytest.raises(ImportError, match=r"spatialforge\[train\]"):
        apply_lora(make_model("test-small"), LoraConfig("language"))
