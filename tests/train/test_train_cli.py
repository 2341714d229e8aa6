"""`spatialforge train` end to end on real engine output (synth -> generate -> train -> final/ loads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.models.vlm import SpatialVLM

torch.set_num_threads(1)
runner = CliRunner()


@pytest.fixture(scope="module")
def engine_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two rendered table tops and the spatial QA generated from them: (qa folder, scenes.jsonl)."""
    root = tmp_path_factory.mktemp("engine")
    done = runner.invoke(
        app,
        ["synth", "--setting", "tabletop", "--count", "2", "--views", "1", "--output", str(root / "synth")],
    )
    assert done.exit_code == 0, done.output
    scenes = root / "synth" / "scenes.jsonl"
    done = runner.invoke(app, ["generate", "--scenes", str(scenes), "--output", str(root / "qa")])
    assert done.exit_code == 0, done.output
    return root / "qa", scenes


def train_args(output: Path, qa: Path, scenes: Path, *extra: str) -> list[str]:
    source = {"path": str(qa), "format": "engine", "scenes": str(scenes), "name": "engine"}
    return [
        "train", "--config", "hispatial", "--output", str(output), "--quiet",
        "--set", "model.config=test-small",
        "--set", "model.freeze=null",
        "--set", f"data.sources={json.dumps([source])}",
        "--set", "data.mixture.spatial_general_ratio=null",
        "--set", "train.steps=3",
        "--set", "train.global_batch=4",
        "--set", "train.micro_batch=2",
        "--set", "train.precision=fp32",
        "--set", "log.every=1",
        *extra,
    ]  # fmt: skip


def test_train_command_writes_a_loadable_model(engine_output: tuple[Path, Path], tmp_path: Path) -> None:
    qa, scenes = engine_output
    output = tmp_path / "run"
    done = runner.invoke(app, train_args(output, qa, scenes))
    assert done.exit_code == 0, done.output
    records = [json.loads(line) for line in (output / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(r["loss"] > 0 and r["grad_norm"] > 0 for r in records)
    mixture = json.loads((output / "mixture.json").read_text())
    assert mixture["config"]["task_weights"] == "hispatial"
    model = SpatialVLM.from_pretrained(output / "final")
    assert model.config.name == "test-small" and model.geometry is not None
    # Running again resumes at the end: nothing retrained, the same log.
    again = runner.invoke(app, train_args(output, qa, scenes))
    assert again.exit_code == 0, again.output
    assert "resumed from step 3" in again.output
    assert len((output / "log.jsonl").read_text().splitlines()) == 3


def test_train_command_config_errors_exit_2_naming_the_key(tmp_path: Path) -> None:
    done = runner.invoke(
        app, ["train", "--config", "hispatial", "--output", str(tmp_path), "--set", "train.stepz=3"]
    )
    assert done.exit_code == 2
    assert "train.stepz" in done.output
    done = runner.invoke(
        app, ["train", "--config", "hispatial", "--output", str(tmp_path), "--set", "model.config=test-small"]
    )
    assert done.exit_code == 2 and "data.sources" in done.output  # no training data given
