"""Where training time goes: the data loader alone and the model step alone, in samples per second.

A training step waits for whichever is slower, so comparing the two says what bounds a run:
- loader: the trainer's own `MicroBatches` stream through its DataLoader (forked workers, the mixture
  sampler, reading, markers, point maps, collate), timed for --seconds after a warm-up of two batches per
  worker; nothing is sent to the model;
- step: forward, loss, backward and AdamW on one fixed collated batch already on the device (bf16 autocast
  on CUDA), the loss read back every step as the trainer does; no loading at all.

It reads a proof-of-learning work folder (`benchmarks/proof_of_learning.py --arms ""` makes one: qa_train
and synth_train) with the sources and mixture of that script (spatial : general 7 : 1, HiSpatial weights).

    python benchmarks/train_throughput_parts.py --work /tmp/pol --loader 14x128,15x64,15x256 \\
        --step-batches 128,256,512 --out parts.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any


def parse_loader(text: str) -> list[tuple[int, int]]:
    """'14x128,15x64' -> [(workers, micro batch), ...]."""
    out = []
    for part in text.split(","):
        workers, batch = part.strip().lower().split("x")
        out.append((int(workers), int(batch)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True, help="A proof_of_learning work folder.")
    parser.add_argument("--loader", default="14x128", help="Comma list of WORKERSxMICRO_BATCH.")
    parser.add_argument("--seconds", type=float, default=12.0, help="Timed seconds per loader setting.")
    parser.add_argument("--step-batches", default="128", help="Comma list of batch sizes for the step.")
    parser.add_argument("--steps", type=int, default=30, help="Timed steps per batch size (after 5).")
    parser.add_argument("--model", default="small", help="Named model config.")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import torch

    from spatialforge.models.config import named_config
    from spatialforge.models.vlm import build_model, next_token_loss
    from spatialforge.train.data import SourceConfig, open_sources
    from spatialforge.train.mixture import MixtureConfig, MixtureSampler
    from spatialforge.train.trainer import MicroBatches, _Collator, _loader

    scenes = str(args.work / "synth_train" / "scenes.jsonl")
    sources = [
        SourceConfig(
            path=str(args.work / "qa_train"), format="engine", scenes=scenes, kind="spatial", name="s"
        ),
        SourceConfig(path=scenes, format="general", scenes=scenes, kind="general", name="g"),
    ]
    data = open_sources(sources)
    sampler = MixtureSampler(
        data, MixtureConfig(spatial_general_ratio=[7, 1], task_weights="hispatial"), seed=0
    )
    model = build_model(named_config(args.model))
    collator = _Collator(model)
    record: dict[str, Any] = {
        "command": " ".join([sys.executable, *sys.argv]),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "loader_samples_per_s": {},
        "step_samples_per_s": {},
        "tokens_per_sample": {},
    }

    def stream(micro_batch: int, end: int) -> MicroBatches:
        return MicroBatches(
            data,
            sampler,
            collator,
            start=0,
            end=end,
            accum=1,
            world=1,
            rank=0,
            micro_batch=micro_batch,
            blank=False,
        )

    for workers, micro_batch in parse_loader(args.loader):
        batches = iter(_loader(stream(micro_batch, 10**9), workers))
        for _ in range(2 * max(workers, 1)):
            next(batches)
        samples, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            next(batches)
            samples += micro_batch
        rate = samples / (time.perf_counter() - start)
        record["loader_samples_per_s"][f"{workers}x{micro_batch}"] = round(rate, 1)
        print(f"loader {workers} workers x {micro_batch}: {rate:.0f} samples/s", flush=True)
        del batches

    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    record["machine"]["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for micro_batch in (int(b) for b in args.step_batches.split(",")):
        batch = next(iter(stream(micro_batch, 1)))[2].to(device)
        inputs = replace(batch, labels=None)

        def step(inputs: Any = inputs, labels: torch.Tensor = batch.labels) -> float:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = next_token_loss(model(inputs).logits, labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return float(loss.detach())  # the trainer reads the loss every step too

        for _ in range(5):
            step()
        sync()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        sync()
        rate = args.steps * micro_batch / (time.perf_counter() - start)
        record["step_samples_per_s"][str(micro_batch)] = round(rate, 1)
        record["tokens_per_sample"][str(micro_batch)] = round(
            float(batch.attention_mask.sum()) / micro_batch, 1
        )
        print(f"step batch {micro_batch}: {rate:.0f} samples/s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
