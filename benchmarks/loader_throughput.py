"""Training data loader cost per sample: `EngineDataset.sample(i)` and the trainer's collate, in one process.

Builds (when --work lacks them) the data of a proof-of-learning run in small: `spatialforge synth` of
--scenes indoor scenes at 160 x 120 and `spatialforge generate` over them. Then, per repeat, it opens the
engine source afresh (default options) and draws random examples in micro-batches of --batch, each
micro-batch read and then collated before the next, as a DataLoader worker of the trainer does. Times, in
milliseconds per sample:

- sample_ms: `sample(j)`, after --warmup random draws: a long run's steady state, where the worker has read
  every scene at least once (a GPU run draws uniformly over ~12,000 scenes, so the per-process LRUs of
  16 scenes / point maps almost never hit, and did not before the view cache either);
- collate_ms: `trainer._Collator` of the `small` model (96 px, geometry tower) over those micro-batches;
- sample_first_touch_ms: `sample(j)` with options.view_cache = 0, i.e. every scene read for the first time
  (a run's first minutes); older code ignores the option, and parsed the scene on almost every sample.

Medians over repeats are written under --label (with labels "before" and "after", their ratio too);
calling the script again with the same --out adds its repeats to the label's list: alternate a "before"
and an "after" source tree with PYTHONPATH, as host timing is noisy. Usage:

    python benchmarks/loader_throughput.py --work /tmp/ld --repeats 3 --label after \
        --out benchmarks/results/loader_throughput.json
    PYTHONPATH=/tmp/ld_base/src python benchmarks/loader_throughput.py --work /tmp/ld --repeats 3 \
        --label before --out benchmarks/results/loader_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import spatialforge  # noqa: E402
from spatialforge.models.config import named_config  # noqa: E402
from spatialforge.models.vlm import build_model  # noqa: E402
from spatialforge.train.data import SourceConfig, open_source  # noqa: E402
from spatialforge.train.trainer import _Collator  # noqa: E402

CLI = "import sys; from spatialforge.cli.main import app; sys.argv = ['spatialforge', *sys.argv[1:]]; app()"


def build_data(work: Path, scenes: int) -> tuple[Path, Path]:
    """(QA file, scenes file) under work, made with the CLI when missing."""
    scenes_file, qa_file = work / "synth" / "scenes.jsonl", work / "qa" / "data.jsonl"
    if not scenes_file.is_file():
        args = ["synth", "-o", str(work / "synth"), "-n", str(scenes), "--setting", "indoor", "--seed", "1",
                "--width", "160", "--height", "120", "--workers", "2"]  # fmt: skip
        subprocess.run([sys.executable, "-c", CLI, *args], check=True)
    if not qa_file.is_file():
        args = ["generate", "-s", str(scenes_file), "-o", str(work / "qa"), "--seed", "1", "--workers", "2"]
        subprocess.run([sys.executable, "-c", CLI, *args], check=True)
    return qa_file, scenes_file


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def ms_per(seconds: float, n: int) -> float:
    return round(seconds / n * 1000, 3)


def timed_batches(ds: object, collator: _Collator | None, batches: list[list[int]]) -> tuple[float, float]:
    """(seconds in sample(), seconds in collate) over micro-batches drawn and collated in turn, as a
    DataLoader worker does (only one micro-batch of samples alive at a time)."""
    spent_sample = spent_collate = 0.0
    for batch in batches:
        t0 = time.perf_counter()
        samples = [ds.sample(j) for j in batch]  # type: ignore[attr-defined]
        t1 = time.perf_counter()
        if collator is not None:
            collator(samples)
        spent_sample += t1 - t0
        spent_collate += time.perf_counter() - t1
        del samples
    return spent_sample, spent_collate


def one_repeat(
    qa: Path, scenes: Path, collator: _Collator, args: argparse.Namespace, seed: int
) -> tuple[int, dict[str, float]]:
    """(examples, ms per sample) of freshly opened datasets."""
    ds = open_source(SourceConfig(path=str(qa), format="engine", scenes=str(scenes)))
    rng = random.Random(seed)

    def draws(n: int) -> list[list[int]]:
        flat = [rng.randrange(len(ds)) for _ in range(n)]
        return [flat[k : k + args.batch] for k in range(0, n, args.batch)]

    timed_batches(ds, None, draws(args.warmup))  # a long run's steady state: every scene read once
    sample_s, collate_s = timed_batches(ds, collator, draws(args.samples))
    # Every scene met for the first time (a run's first minutes over ~12,000 scenes): no view cache, so
    # each sample parses its scene as before the cache existed (an unknown option to older code).
    options = {"view_cache": 0}
    first = open_source(SourceConfig(path=str(qa), format="engine", scenes=str(scenes), options=options))
    first_s, _ = timed_batches(first, None, draws(args.samples))
    return len(ds), {
        "sample_ms": ms_per(sample_s, args.samples),
        "collate_ms": ms_per(collate_s, args.samples),
        "sample_first_touch_ms": ms_per(first_s, args.samples),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/ld"))
    ap.add_argument("--scenes", type=int, default=600)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--warmup", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--label", default="current")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--note", help="what the label's code is (e.g. a commit), kept with its runs")
    args = ap.parse_args()
    pythonpath = os.environ.get("PYTHONPATH")
    command = " ".join([*([f"PYTHONPATH={pythonpath}"] if pythonpath else []), "python", *sys.argv])
    qa, scenes = build_data(args.work, args.scenes)
    collator = _Collator(build_model(named_config("small")))
    previous = json.loads(args.out.read_text()) if args.out and args.out.is_file() else {}
    runs = previous.get("runs", {})
    rows = runs.get(args.label, {}).get("repeats", [])
    for r in range(args.repeats):
        examples, row = one_repeat(qa, scenes, collator, args, seed=r)
        rows.append(row)
        print(args.label, row, flush=True)
    medians = {key: round(statistics.median(row[key] for row in rows), 3) for key in rows[0]}
    medians["sample_plus_collate_ms"] = round(medians["sample_ms"] + medians["collate_ms"], 3)
    medians["first_touch_plus_collate_ms"] = round(
        medians["sample_first_touch_ms"] + medians["collate_ms"], 3
    )
    runs[args.label] = {
        "code": str(Path(spatialforge.__file__).parent),
        "command": command,
        **({"note": args.note} if args.note else {}),
        "medians": medians,
        "repeats": rows,
    }
    print(args.label, "medians", medians)
    result = {
        **previous,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.machine(),
            "cpu_model": cpu_model(),
        },
        "data": {
            "scenes": args.scenes,
            "examples": examples,
            "image": "160 x 120",
            "model": "small (96 px transforms, geometry tower)",
        },
        "settings": {"samples": args.samples, "warmup": args.warmup, "batch": args.batch},
        "runs": runs,
    }
    if "before" in runs and "after" in runs:  # how many times fewer ms per sample
        before, after = runs["before"]["medians"], runs["after"]["medians"]
        result["before_over_after"] = {key: round(before[key] / after[key], 2) for key in after}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
