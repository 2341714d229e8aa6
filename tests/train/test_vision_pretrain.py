"""Dense vision-tower pretraining (train/vision_pretrain.py) and loading it for training
(model.vision_weights)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.models.config import named_config
from spatialforge.models.vlm import build_model
from spatialforge.synth.run import SynthConfig, run_synth
from spatialforge.train.config import TrainConfig
from spatialforge.train.trainer import build_training_model
from spatialforge.train.vision_pretrain import (
    HEADS_FILE,
    LOG_FILE,
    SUMMARY_FILE,
    VISION_FILE,
    PretrainConfig,
    dense_losses,
    held_out_scene,
    load_vision_tower,
    pretrain_vision,
)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pretrain_synth")
    run_synth(root, 6, SynthConfig(views=1, width=64, height=48), n_buckets=1)
    return root / "scenes.jsonl"


@pytest.fixture(scope="module")
def pretrained(scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    output = tmp_path_factory.mktemp("pretrained")
    config = PretrainConfig(
        scenes=(str(scenes),),
        model="test-small",
        steps=60,
        batch=4,
        lr=3e-3,
        holdout_fraction=0.3,
        log_every=10,
    )
    return output, pretrain_vision(config, output)


def test_pretraining_learns_and_writes_its_outputs(pretrained: tuple[Path, dict]) -> None:
    output, summary = pretrained
    for name in (VISION_FILE, HEADS_FILE, SUMMARY_FILE, LOG_FILE):
        assert (output / name).is_file()
    rows = [json.loads(line) for line in (output / LOG_FILE).read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(10, 61, 10))
    assert rows[-1]["category_loss"] < rows[0]["category_loss"]
    assert rows[-1]["depth_loss"] < rows[0]["depth_loss"]
    assert summary["views"]["train"] + summary["views"]["held_out"] == 6 and summary["skipped"] == {}
    assert summary["vocabulary"][0] == "none" and summary["vision_settings"]["width"] == 32
    metrics = summary["held_out_metrics"]
    assert metrics["views"] == summary["views"]["held_out"]
    if metrics["views"]:
        assert 0.0 <= metrics["patch_accuracy"] <= 1.0 and metrics["depth_abs_rel"] >= 0.0
    assert json.loads((output / SUMMARY_FILE).read_text()) == summary


def test_a_rerun_with_the_same_config_does_nothing(pretrained: tuple[Path, dict], scenes: Path) -> None:
    output, summary = pretrained
    before = (output / VISION_FILE).stat().st_mtime_ns
    config = PretrainConfig(**{**summary["config"], "scenes": tuple(summary["config"]["scenes"])})
    assert pretrain_vision(config, output) == summary
    assert (output / VISION_FILE).stat().st_mtime_ns == before


def test_cached_targets_give_the_same_tower(pretrained: tuple[Path, dict], tmp_path: Path) -> None:
    """Training from the cached targets gives the same tower as from freshly built ones."""
    output, summary = pretrained
    copy = tmp_path / "again"
    copy.mkdir()
    (copy / "targets.npz").write_bytes((output / "targets.npz").read_bytes())
    config = PretrainConfig(**{**summary["config"], "scenes": tuple(summary["config"]["scenes"])})
    pretrain_vision(config, copy)
    first, second = load_file(str(output / VISION_FILE)), load_file(str(copy / VISION_FILE))
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0)


def test_trainer_loads_the_tower_and_keeps_the_rest(pretrained: tuple[Path, dict]) -> None:
    output, _ = pretrained
    config = TrainConfig.from_dict({"model": {"config": "test-small", "vision_weights": str(output)}})
    torch.manual_seed(0)
    model = build_training_model(config)
    torch.manual_seed(0)
    fresh = build_model(named_config("test-small"))
    tower = load_file(str(output / VISION_FILE))
    for key, value in model.backbone.vision.state_dict().items():
        torch.testing.assert_close(value, tower[key], rtol=0, atol=0)
    fresh_state = fresh.state_dict()
    for key, value in model.state_dict().items():
        if not key.startswith("backbone.vision."):
            torch.testing.assert_close(value, fresh_state[key], rtol=0, atol=0, msg=key)
    assert config.to_dict()["model"]["vision_weights"] == str(output)


def test_loading_refuses_a_tower_of_another_shape_or_kind(
    pretrained: tuple[Path, dict], tmp_path: Path
) -> None:
    output, _ = pretrained
    wider = build_model(
        named_config(
            "test-small",
            backbone={"vision": {"image_size": 32, "patch_size": 8, "width": 64, "layers": 1, "heads": 2}},
        )
    )
    with pytest.raises(ValueError, match=r"vision\.width = 32, the model has 64"):
        load_vision_tower(wider, output)
    with pytest.raises(ValueError, match="no file"):
        load_vision_tower(wider, tmp_path / "missing.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": torch.zeros(1)}, str(foreign))
    with pytest.raises(ValueError, match="not a pretrain-vision tower"):
        load_vision_tower(wider, foreign)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 16)
    with pytest.raises(ValueError, match="cannot read"):
        load_vision_tower(wider, junk)
    with pytest.raises(ValueError, match="has no such tower"):
        load_vision_tower(torch.nn.Linear(2, 2), output)


def _edited(scenes: Path, out: Path, edit: dict[int, str]) -> Path:
    """The scenes with scene i's views broken as edit[i] says: "no_mask" drops the instance mask, "escape"
    points the image outside the dataset root."""
    lines = []
    for i, line in enumerate(scenes.read_text().splitlines()):
        record = json.loads(line)
        for view in record["views"]:
            if edit.get(i) == "no_mask":
                view["metadata"].pop("instance_mask")
            elif edit.get(i) == "escape":
                view["image_path"] = "../../outside.png"
        lines.append(json.dumps(record))
    out.write_text("\n".join(lines) + "\n")
    return out


def test_broken_views_are_counted_by_reason_or_refused(scenes: Path, tmp_path: Path) -> None:
    some = _edited(scenes, tmp_path / "some.jsonl", {4: "no_mask", 5: "escape"})
    config = PretrainConfig(scenes=(str(some),), model="test-small", steps=2, batch=2)
    summary = pretrain_vision(config, tmp_path / "some")
    assert summary["skipped"] == {"missing_field": 1, "unsafe_path": 1}
    assert summary["views"]["train"] + summary["views"]["held_out"] == 4
    none = _edited(scenes, tmp_path / "none.jsonl", dict.fromkeys(range(6), "no_mask"))
    config = PretrainConfig(scenes=(str(none),), model="test-small", steps=1, batch=1)
    with pytest.raises(ValueError, match="missing_field") as error:
        pretrain_vision(config, tmp_path / "none")
    assert "instance masks" in str(error.value)


def test_dense_losses_mask_undefined_targets() -> None:
    logits = torch.zeros(1, 2, 3, requires_grad=True)
    depth = torch.tensor([[0.5, 2.0]], requires_grad=True)
    facing = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], requires_grad=True)
    category = torch.tensor([[0, 2]])
    nan = float("nan")
    log_depth = torch.tensor([[0.5, nan]])  # the second patch has no depth: its 2.0 does not count
    facing_target = torch.tensor([[[nan, nan], [0.0, -1.0]]])
    c, d, f = dense_losses((logits, depth, facing), category, log_depth, facing_target)
    assert math.isclose(float(c), math.log(3.0), rel_tol=1e-6)  # uniform logits over 3 classes
    assert float(d) == 0.0
    assert math.isclose(float(f), 2.0, rel_tol=1e-6)  # ((0-0)^2 + (1+1)^2) / 2
    (c + d + f).backward()
    assert all(torch.isfinite(t.grad).all() for t in (logits, depth, facing))
    none = dense_losses(
        (logits, depth, facing), category, torch.full((1, 2), nan), torch.full((1, 2, 2), nan)
    )
    assert float(none[1]) == 0.0 and float(none[2]) == 0.0


def test_held_out_split_is_a_stable_share() -> None:
    ids = [f"synth_indoor/seed1/{i:06d}" for i in range(4000)]
    share = np.mean([held_out_scene(i, 0.1) for i in ids])
    assert 0.08 < share < 0.12
    assert [held_out_scene(i, 0.1) for i in ids[:50]] == [held_out_scene(i, 0.1) for i in ids[:50]]
    assert not any(held_out_scene(i, 0.0) for i in ids)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scenes": ()}, "at least one"),
        ({"steps": 0}, "steps"),
        ({"holdout_fraction": 1.0}, "holdout_fraction"),
        ({"loss_weights": (0.0, 0.0, 0.0)}, "loss_weights"),
        ({"lr": 0.0}, "lr"),
    ],
)
def test_config_errors_name_the_setting(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PretrainConfig(**{"scenes": ("a.jsonl",), **changes})


def test_other_families_are_refused(scenes: Path, tmp_path: Path) -> None:
    config = PretrainConfig(scenes=(str(scenes),), model="test-paligemma", steps=1, batch=1)
    with pytest.raises(ValueError, match="small family"):
        pretrain_vision(config, tmp_path)


def test_cli_pretrains_and_reports(scenes: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app,
        [
            "pretrain-vision",
            "-s",
            str(scenes),
            "-o",
            str(out),
            "--model",
            "test-small",
            "--steps",
            "3",
            "--batch",
            "2",
            "--holdout",
            "0.3",
            "--log-every",
            "1",
            "--image-size",
            "48",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "held out" in result.output and "step 3" in result.output
    assert json.loads((out / SUMMARY_FILE).read_text())["vision_settings"]["image_size"] == 48
    bad = CliRunner().invoke(
        app, ["pretrain-vision", "-s", str(tmp_path / "none.jsonl"), "-o", str(out / "x")]
    )
    assert bad.exit_code == 2 and "error" in bad.output


def test_a_relative_tower_path_in_a_config_file_is_relative_to_the_file(tmp_path: Path) -> None:
    from spatialforge.train.config import load_config

    folder = tmp_path / "configs"
    folder.mkdir()
    relative = {"model": {"config": "test-small", "vision_weights": "tower"}}
    (folder / "run.json").write_text(json.dumps(relative))
    assert load_config(str(folder / "run.json")).model.vision_weights == str(folder.resolve() / "tower")
    absolute = str(tmp_path / "elsewhere")
    (folder / "abs.json").write_text(json.dumps({"model": {"vision_weights": absolute}}))
    assert load_config(str(folder / "abs.json")).model.vision_weights == absolute


def test_an_unknown_device_is_a_clear_error(scenes: Path, tmp_path: Path) -> None:
    config = PretrainConfig(scenes=(str(scenes),), model="test-small", steps=1, batch=1, device="nonsense")
    with pytest.raises(ValueError, match="not a torch device"):
        pretrain_vision(config, tmp_path)
