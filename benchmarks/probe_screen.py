"""A recipe screen with the input probe on the trainer's toy data: how soon does each recipe read its inputs?

The toy is the trainer tests' TinyDataset (tests/train/ddp_worker.py), here with 64 examples: a uniformly
coloured 32 x 32 image at a depth, asked either its colour or its distance, so no answer can come from the
text. The `test-small` model trains on it for --steps steps per seed and recipe with the input probe on
(train/probe.py, 32 draws, a record every 5 steps). Per run: the first logged step whose input gain exceeds
--threshold nats per answer token (None: not within the run) and the final gain. The same screen on the real
data is `benchmarks/proof_of_learning.py --probe` with short single-arm runs, before the full metric and
blank runs.

    python benchmarks/probe_screen.py --seeds 5 --steps 80 --out benchmarks/results/probe_screen_toy.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.train.ddp_worker

from spatialforge.train.config import load_config  # noqa: E402
from spatialforge.train.trainer import train  # noqa: E402
from tests.train.ddp_worker import TinyDataset, tiny_config  # noqa: E402

EXAMPLES = 64  # distinct toy examples (16 in the unit tests): fewer repeats among the probe's draws
PROBE = 32
LR_SCALE_3 = {"lr_scale": {"vision": 3.0, "geometry": 3.0, "connector": 3.0}}
LAYERNORM = {"options": {"geometry": {"output_norm": "layernorm"}}}
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "baseline": {},
    "geometry_layernorm": {"model": LAYERNORM},
    "lr_scale_3": {"optim": LR_SCALE_3},
    "geometry_layernorm+lr_scale_3": {"model": LAYERNORM, "optim": LR_SCALE_3},
}


def run_one(recipe: str, seed: int, steps: int, work: Path) -> list[tuple[int, float]]:
    config = tiny_config(train={"steps": steps, "seed": seed}, log={"every": 5, "probe": PROBE})
    for section, values in RECIPES[recipe].items():
        config[section] = {**config.get(section, {}), **values}
    output = work / f"{recipe}-{seed}"
    train(load_config(config), output, datasets=[TinyDataset(EXAMPLES)])
    rows = [json.loads(line) for line in (output / "log.jsonl").read_text().splitlines()]
    shutil.rmtree(output)
    return [(row["step"], row["probe"]["gain"]) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--threshold", type=float, default=0.05, help="Input gain that counts as reading.")
    parser.add_argument("--recipes", default=",".join(RECIPES), help=f"Comma list of {', '.join(RECIPES)}.")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, Any] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        for recipe in args.recipes.split(","):
            runs = []
            for seed in range(args.seeds):
                curve = run_one(recipe, seed, args.steps, Path(work))
                first = next((step for step, gain in curve if gain > args.threshold), None)
                runs.append({"seed": seed, "first_step_above": first, "final_gain": round(curve[-1][1], 4)})
            results[recipe] = runs
            firsts = [r["first_step_above"] for r in runs]
            print(f"{recipe:32s} first step above {args.threshold}: {firsts}  final gains "
                  f"{[r['final_gain'] for r in runs]}", flush=True)  # fmt: skip
    record = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": f"{platform.machine()}, one torch thread, Python {platform.python_version()}",
        "torch": torch.__version__,
        "steps": args.steps,
        "threshold": args.threshold,
        "seconds": round(time.perf_counter() - start, 1),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
