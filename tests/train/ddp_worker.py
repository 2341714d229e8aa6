"""A tiny in-memory TrainDataset for the trainer tests, and the script torchrun runs for the DDP / FSDP tests.

`python -m torch.distributed.run --nproc_per_node 2 tests/train/ddp_worker.py OUTPUT STRATEGY STEPS MICRO
GLOBAL` trains the test-small model on TinyDataset in OUTPUT; the test compares it with a one-process run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from spatialforge.models.pointmap import PointMap
from spatialforge.models.processing import Sample
from spatialforge.train.data import ExampleInfo

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30), "yellow": (230, 220, 40)}
PROMPTS = ("What colour is the box?", "How far is the box from the camera?")
PROBE_EXAMPLES = 4  # the input probe runs on every rank under DDP / FSDP (its forward passes are collective)


class TinyDataset:
    """n examples: a uniformly coloured 32 x 32 image at a depth; the answer is its colour or its distance,
    so the model can learn it from the pixels and the point map."""

    def __init__(self, n: int = 16, name: str = "tiny") -> None:
        self.name = name
        self.n = n
        self.blank_calls = 0

    def __len__(self) -> int:
        return self.n

    def _task(self, index: int) -> str:
        return "distance" if index % 2 else "colour"

    def info(self, index: int) -> ExampleInfo:
        return ExampleInfo(
            id=f"{self.name}-{index}",
            task=f"test/{self._task(index)}",
            level=1,
            family="localisation",
            kind="spatial",
            capture_id=f"capture-{index % 4}",
        )

    def sample(self, index: int, *, blank: bool = False) -> Sample:
        colour = list(COLOURS)[index % len(COLOURS)]
        depth = 1.0 + (index % 3)
        image = Image.new("RGB", (32, 32), (128, 128, 128) if blank else COLOURS[colour])
        xyz = np.zeros((32, 32, 3), np.float32)
        xyz[..., 2] = depth
        point_map = None if blank else PointMap(xyz, np.ones((32, 32), bool))
        if blank:
            self.blank_calls += 1
        if self._task(index) == "colour":
            return Sample(PROMPTS[0], (image,), (point_map,), answer=colour)
        return Sample(PROMPTS[1], (image,), (point_map,), answer=f"{depth:.1f} m")


def logged(output: Path, key: str) -> list[Any]:
    """One field of every record of a run's log.jsonl, in order."""
    return [json.loads(line)[key] for line in (output / "log.jsonl").read_text().splitlines()]


def tiny_config(**sections: dict) -> dict:
    """A raw train config for test-small on TinyDataset (no sources: the tests pass the datasets)."""
    base = {
        "name": "tiny",
        "model": {"config": "test-small"},
        "optim": {"lr": 3e-3, "warmup_fraction": 0.0, "weight_decay": 0.0},
        "train": {"steps": 4, "global_batch": 4, "micro_batch": 4, "seed": 0, "device": "cpu"},
        "checkpoint": {"every": 100, "keep": 2},
        "log": {"every": 1},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return base


def main(argv: list[str]) -> None:
    import torch

    from spatialforge.train.config import load_config
    from spatialforge.train.trainer import train

    torch.set_num_threads(1)
    output, strategy, steps, micro, global_batch = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    config = load_config(
        tiny_config(
            train={"steps": steps, "micro_batch": micro, "global_batch": global_batch},
            distributed={"strategy": strategy},
            log={"every": 1, "probe": PROBE_EXAMPLES},
        )
    )
    train(config, Path(output), datasets=[TinyDataset()])


if __name__ == "__main__":
    main(sys.argv[1:])
