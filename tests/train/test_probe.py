"""The input-reliance probe (train/probe.py): swap partners and skips, and in the trainer a gain that grows
as the model learns to read its inputs, exactly zero for a blank-input run, and no effect on training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spatialforge.models.processing import Sample
from spatialforge.train.config import load_config, resume_differences
from spatialforge.train.data import ExampleInfo
from spatialforge.train.probe import (
    DUPLICATE,
    GENERAL_LEVEL,
    NO_IMAGES,
    NO_PARTNER,
    build_input_probe,
    probe_losses,
)
from spatialforge.train.trainer import train
from tests.train.ddp_worker import TinyDataset, logged, tiny_config

torch.set_num_threads(1)


class Counts:
    """Example i shows images_per_example[i] images, each a uniform grey of value 10 * i (so a swap can be
    traced); level None for the examples without images (general text)."""

    name = "counts"

    def __init__(self, images_per_example: list[int]) -> None:
        self.images_per_example = images_per_example

    def __len__(self) -> int:
        return len(self.images_per_example)

    def info(self, index: int) -> ExampleInfo:
        level = 2 if self.images_per_example[index] else None
        return ExampleInfo(f"e{index}", "test/task", level, None, "spatial", None)

    def sample(self, index: int, *, blank: bool = False) -> Sample:
        value = 128 if blank else 10 * index
        images = tuple(Image.new("RGB", (8, 8), (value,) * 3) for _ in range(self.images_per_example[index]))
        return Sample(f"question {index}", images, (), answer=f"answer {index}")


class Identity:
    """Draw g is example g of dataset 0."""

    def draw(self, index: int) -> tuple[int, int]:
        return 0, index


def test_swap_partners_share_an_image_count_and_skips_are_named() -> None:
    # one-image examples 0, 2, 4 swap cyclically; two-image example 3 has no partner; 1 has no images
    dataset = Counts([1, 0, 1, 2, 1])
    seen: list[list[Sample]] = []

    def collate(samples):
        seen.append(list(samples))
        return len(seen) - 1

    probe = build_input_probe([dataset], Identity(), collate, first_index=0, size=5, chunk=2)
    assert probe.skipped == {NO_IMAGES: 1, NO_PARTNER: 1}
    assert probe.examples == 3 and probe.levels == (("2", "2"), ("2",))
    own = [s for i, batch in enumerate(seen) if i in probe.matched for s in batch]
    other = [s for i, batch in enumerate(seen) if i in probe.swapped for s in batch]
    assert [s.prompt for s in own] == [s.prompt for s in other] == ["question 0", "question 2", "question 4"]
    assert [s.answer for s in other] == ["answer 0", "answer 2", "answer 4"]
    assert [s.images[0].getpixel((0, 0))[0] for s in own] == [0, 20, 40]
    assert [s.images[0].getpixel((0, 0))[0] for s in other] == [20, 40, 0]


class Repeating:
    """Draw g is example g // 2 of dataset 0: every example comes twice."""

    def draw(self, index: int) -> tuple[int, int]:
        return 0, index // 2


def test_a_repeated_draw_is_dropped_so_no_example_swaps_with_itself() -> None:
    probe = build_input_probe([Counts([1] * 4)], Repeating(), list, first_index=0, size=8, chunk=8)
    assert probe.skipped == {DUPLICATE: 4}
    own, other = probe.matched[0], probe.swapped[0]
    assert [s.prompt for s in own] == ["question 0", "question 1", "question 2", "question 3"]
    for mine, theirs in zip(own, other, strict=True):
        assert mine.images[0].getpixel((0, 0)) != theirs.images[0].getpixel((0, 0))


def test_probe_draws_start_at_the_first_index_and_size_must_be_positive() -> None:
    dataset = Counts([1] * 10)
    probe = build_input_probe([dataset], Identity(), list, first_index=6, size=3, chunk=8)
    assert [s.prompt for s in probe.matched[0]] == ["question 6", "question 7", "question 8"]
    with pytest.raises(ValueError, match="size"):
        build_input_probe([dataset], Identity(), list, first_index=0, size=0, chunk=8)


def test_gain_grows_as_the_model_learns_to_read_its_inputs(tmp_path: Path) -> None:
    # TinyDataset's answers are its image's colour or its point map's depth: the text alone cannot give them
    config = tiny_config(train={"steps": 60}, log={"every": 10, "probe": 16})
    train(load_config(config), tmp_path / "run", datasets=[TinyDataset()])
    records = logged(tmp_path / "run", "probe")
    assert len(records) == 6
    first, last = records[0], records[-1]
    assert abs(first["gain"]) < 0.02, first  # an untrained model barely reacts to its inputs
    assert last["gain"] > 0.05 and last["loss_swapped"] > last["loss"], last
    # 16 draws from 16 examples: the repeats are dropped
    assert last["examples"] + last["skipped"].get(DUPLICATE, 0) == 16 and set(last["skipped"]) <= {DUPLICATE}
    assert set(last["by_level"]) == {"1"} and last["by_level"]["1"]["gain"] == pytest.approx(last["gain"])


def test_blank_run_gain_is_exactly_zero(tmp_path: Path) -> None:
    config = tiny_config(train={"steps": 6}, log={"every": 2, "probe": 8}, data={"blank_inputs": True})
    train(load_config(config), tmp_path / "blank", datasets=[TinyDataset()])
    assert [r["gain"] for r in logged(tmp_path / "blank", "probe")] == [0.0, 0.0, 0.0]


def test_probe_changes_nothing_in_training(tmp_path: Path) -> None:
    runs = {}
    for probe in (0, 8):
        config = tiny_config(train={"steps": 6}, log={"every": 2, "probe": probe})
        output = tmp_path / f"probe{probe}"
        train(load_config(config), output, datasets=[TinyDataset()])
        runs[probe] = logged(output, "loss")
    assert runs[0] == runs[8]
    saved, resumed = (load_config(tiny_config(log={"probe": p})).to_dict() for p in (0, 8))
    assert resume_differences(saved, resumed) == []  # adding the probe to a resumed run is allowed


class HalfGeneral(TinyDataset):
    """TinyDataset with the odd examples labelled as general data (no level)."""

    def info(self, index: int) -> ExampleInfo:
        info = super().info(index)
        if index % 2 == 0:
            return info
        return ExampleInfo(info.id, "general/caption", None, "general", "general", None)


def test_probe_losses_by_level_add_up_and_restore_train_mode() -> None:
    from spatialforge.models.config import named_config
    from spatialforge.models.vlm import build_model
    from spatialforge.train.trainer import _Collator

    torch.manual_seed(0)
    model = build_model(named_config("test-small"))
    model.train()
    probe = build_input_probe([HalfGeneral()], Identity(), _Collator(model), first_index=0, size=6, chunk=4)
    result = probe_losses(model, probe, torch.device("cpu"))
    assert model.training
    assert len(probe.matched) == 2 and result["examples"] == 6
    by_level = result["by_level"]
    assert set(by_level) == {"1", GENERAL_LEVEL} and by_level["1"]["examples"] == 3
    assert np.isfinite(result["loss"]) and result["gain"] == pytest.approx(
        result["loss_swapped"] - result["loss"]
    )
    # the overall loss is the token-weighted mean of the levels' (each level's tokens: its answers)
    weights = [b["loss"] for b in by_level.values()]
    assert min(weights) <= result["loss"] <= max(weights)
