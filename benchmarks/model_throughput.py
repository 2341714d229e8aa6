"""Spatial VLM training throughput: forward + backward steps per second of named model configs.

For each config, geometry kind (--geometries: metric_xyz and RGB-only by default) and batch size: builds
the model (seed 0), collates one batch of synthetic samples (one 320x240 image + its point map each, a
template-like question and a short answer; collation is timed separately, it is data-loader work), then
times --steps forward + backward passes (optionally with an AdamW step) after --warmup untimed ones and
reports the median (and the minimum: the least disturbed step on a shared machine): step ms, samples/s,
tokens/s (real tokens, padding excluded) and the parameter counts per part. On CUDA the step runs under
bf16 autocast (fp32 master weights), synchronised before each clock read. Each measurement runs in a fresh
interpreter: on CPU, a large model's allocations left behind in one process slowed later, smaller runs in
the same process by 10-40x here. Usage:

    python benchmarks/model_throughput.py --configs small test-small --batch-sizes 8 32 \
        --out benchmarks/results/model_throughput_cpu.json

Without --out the result goes to benchmarks/results/model_throughput_<device>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from spatialforge.models import named_config
from spatialforge.models.pointmap import PointMap
from spatialforge.models.processing import Sample
from spatialforge.models.vlm import SpatialVLM, build_model

QUESTIONS = (
    ("How far is the chair from the table, measured between their centres?", "1.8 meters"),
    ("Is the lamp to the left of the sofa from the camera's viewpoint?", "yes"),
    ("Which is closer to the camera, the bed or the wardrobe?", "the bed"),
    ("What is the height of the bookshelf in metres?", "1.25 m"),
)


def synthetic_samples(n: int, seed: int = 0) -> list[Sample]:
    """n samples: a 320x240 noise image and a tilted-plane point map (metres, OpenCV camera frame)."""
    rng = np.random.default_rng(seed)
    width, height = 320, 240
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    samples = []
    for i in range(n):
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        rx, ry = (u - width / 2) / width, (v - height / 2) / width
        z = (1.5 + i % 5) / (1.0 - 0.3 * rx)
        xyz = np.stack([rx * z, ry * z, z], axis=-1).astype(np.float32)
        points = PointMap(xyz=xyz, valid=np.ones((height, width), bool))
        question, answer = QUESTIONS[i % len(QUESTIONS)]
        samples.append(Sample(question, (image,), (points,), answer))
    return samples


def parameter_counts(model: SpatialVLM) -> dict[str, int]:
    def count(module: torch.nn.Module | None) -> int:
        return 0 if module is None else sum(p.numel() for p in module.parameters())

    backbone = model.backbone
    vision = sum(p.numel() for p in backbone.vision_parameters())
    return {
        "total": count(model),
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "vision": vision,
        "language_model": count(backbone) - vision,
        "geometry_tower": count(model.geometry),
        "connector": count(model.connector),
        "extra_encoders": count(model.extra_encoders),
    }


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    name: str, geometry: str, batch_size: int, device: torch.device, steps: int, warmup: int, optimizer: bool
) -> dict[str, object]:
    torch.manual_seed(0)
    model = build_model(named_config(name, geometry=geometry)).to(device).train()
    samples = synthetic_samples(batch_size)
    collate_s = []
    for _ in range(3):
        t0 = time.perf_counter()
        batch = model.collate(samples)
        collate_s.append(time.perf_counter() - t0)
    batch = batch.to(device)
    tokens = int(batch.attention_mask.sum())
    adamw = torch.optim.AdamW(model.parameters(), lr=1e-4) if optimizer else None
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    times = []
    for step in range(warmup + steps):
        sync(device)
        t0 = time.perf_counter()
        with autocast:
            loss = model(batch).loss
        assert loss is not None
        loss.backward()
        if adamw is not None:
            adamw.step()
        model.zero_grad(set_to_none=True)
        sync(device)
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    step_s = statistics.median(times)
    return {
        "config": name,
        "geometry": geometry,
        "batch_size": batch_size,
        "sequence_length": int(batch.input_ids.shape[1]),
        "tokens_per_batch": tokens,
        "image_tokens_per_sample": model.backbone.tokens_per_image,
        "step_ms_median": round(step_s * 1e3, 2),
        "step_ms_min": round(min(times) * 1e3, 2),  # the least disturbed step on a shared machine
        "step_ms_all": [round(t * 1e3, 2) for t in times],
        "samples_per_s": round(batch_size / step_s, 1),
        "tokens_per_s": round(tokens / step_s, 1),
        "collate_ms_median": round(statistics.median(collate_s) * 1e3, 2),
        "final_loss": round(float(loss.detach()), 4),
        "parameters": parameter_counts(model),
        "peak_cuda_mib": round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        if device.type == "cuda"
        else None,
    }


def machine_info(device: torch.device) -> dict[str, object]:
    info: dict[str, object] = {
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["precision"] = "bf16 autocast, fp32 weights"
    else:
        info["precision"] = "fp32"
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["small", "test-small"])
    ap.add_argument("--batch-sizes", nargs="+", type=int, default=[8, 32])
    ap.add_argument(
        "--geometries", nargs="+", default=["metric_xyz", "none"], help="none | relative_depth | metric_xyz"
    )
    ap.add_argument("--steps", type=int, default=10, help="timed steps (median reported)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--optimizer", action="store_true", help="include an AdamW step in each timed step")
    ap.add_argument("--device", default="auto", help="auto (cuda when available) | cpu | cuda")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--one", nargs=3, metavar=("CONFIG", "GEOMETRY", "BATCH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    name = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = torch.device("cpu" if name == "auto" else name)
    if args.one:  # a child: one measurement, its JSON on the last line of stdout
        config, geometry, batch = args.one
        run = measure(config, geometry, int(batch), device, args.steps, args.warmup, args.optimizer)
        print(json.dumps(run))
        return
    runs = []
    for config in args.configs:
        for geometry in args.geometries:
            for batch_size in args.batch_sizes:
                child = [sys.executable, __file__, "--one", config, geometry, str(batch_size),
                         "--steps", str(args.steps), "--warmup", str(args.warmup), "--device", str(device),
                         *(["--optimizer"] if args.optimizer else [])]  # fmt: skip
                done = subprocess.run(child, check=True, capture_output=True, text=True)
                run = json.loads(done.stdout.strip().splitlines()[-1])
                print(json.dumps({k: v for k, v in run.items() if k not in {"step_ms_all", "parameters"}}))
                runs.append(run)
    result = {
        "command": " ".join(["python", *sys.argv]),
        "machine": machine_info(device),
        "step": "forward + backward" + (" + AdamW" if args.optimizer else ""),
        "runs": runs,
    }
    out = args.out or Path(__file__).parent / "results" / f"model_throughput_{device.type}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
