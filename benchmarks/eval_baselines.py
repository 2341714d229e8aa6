"""End to end: benchmarks built from synthetic scenes, evaluated with the reference baselines, reported.

Makes synthetic indoor rooms (two views), table tops and streets; builds each preset's benchmark from the
captures the split holds out (the same split for every preset: same salt and fraction); generates training QA
from the train side as the blind baseline's prior; checks that train and benchmarks share nothing; evaluates
chance, frequency, blind (prior from the train split) and blind (cross-fit on the benchmark) on every
benchmark, each through `spatialforge eval` in a fresh interpreter; compares the runs per preset. The small,
readable outputs (datasheets, tables, reports, comparisons, leakage reports) are copied to --out. Usage:

    python benchmarks/eval_baselines.py --out benchmarks/eval_baselines
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRESET_SCALES = {"spatialvqa": 0.1, "hispatial": 0.25, "sparbench_single": 0.1}
MODELS = {
    "chance": "chance:seed=0",
    "frequency": "frequency",
    "blind_prior": "blind:prior={prior}",
    "blind_crossfit": "blind",
}
SETTINGS = {"indoor": ("--views", "2"), "tabletop": (), "street": ()}


def cli(*args: str) -> float:
    """Run `spatialforge ARGS` in a fresh interpreter; seconds taken. Fails loudly."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spatialforge.cli.main", *args], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--indoor", type=int, default=60)
    parser.add_argument("--tabletop", type=int, default=40)
    parser.add_argument("--street", type=int, default=40)
    parser.add_argument("--fraction", type=float, default=0.35)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=None, help="Keep the full outputs here.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="eval_baselines_"))
    timings: dict[str, float] = {}
    counts = {"indoor": args.indoor, "tabletop": args.tabletop, "street": args.street}

    scenes = work / "scenes.jsonl"
    if not scenes.exists():
        parts = []
        for setting, n in counts.items():
            target = work / "synth" / setting
            timings[f"synth_{setting}"] = cli(
                "synth", "-o", str(target), "-n", str(n), "--setting", setting, *SETTINGS[setting],
                "--workers", str(args.workers),
            )  # fmt: skip
            parts.append((target / "scenes.jsonl").read_text(encoding="utf-8"))
        scenes.write_text("".join(parts), encoding="utf-8")

    runs: dict[str, list[Path]] = {}
    for preset, scale in PRESET_SCALES.items():
        bench = work / "bench" / preset
        timings[f"build_{preset}"] = cli(
            "bench", "build", "--scenes", str(scenes), "--preset", preset, "--output", str(bench),
            "--fraction", str(args.fraction), "--scale", str(scale), "--exclude", "all",
            "--workers", str(args.workers),
        )  # fmt: skip
    train_scenes = work / "bench" / "spatialvqa" / "work" / "split" / "train.scenes.jsonl"
    prior_run = work / "train_qa"
    timings["generate_train_prior"] = cli(
        "generate", "--scenes", str(train_scenes), "--output", str(prior_run), "--workers", str(args.workers)
    )
    leakage = {}
    for preset in PRESET_SCALES:
        target = work / f"leakage_{preset}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "spatialforge.cli.main", "bench", "leakage", str(train_scenes),
             str(work / "bench" / preset), "--hash-images", "--output", str(target)],
            check=False,
        )  # fmt: skip
        if proc.returncode not in (0, 1):
            raise SystemExit(f"bench leakage failed for {preset}")
        leakage[preset] = json.loads(target.read_text())
    for preset in PRESET_SCALES:
        bench = work / "bench" / preset
        for label, spec in MODELS.items():
            out = work / "runs" / preset / label
            model = spec.format(prior=prior_run / "data.jsonl")
            timings[f"eval_{preset}_{label}"] = cli(
                "eval", "--benchmark", str(bench), "--model", model, "--output", str(out), "--no-progress"
            )
            runs.setdefault(preset, []).append(out)
        cli(
            "eval-compare", *map(str, runs[preset]), "--output", str(work / "compare" / preset),
            *[x for label in MODELS for x in ("--label", label)],
        )  # fmt: skip

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    for preset in PRESET_SCALES:
        dst = out / preset
        dst.mkdir(exist_ok=True)
        bench = work / "bench" / preset
        for name in ("datasheet.md", "benchmark.json"):
            shutil.copy(bench / name, dst / name)
        for run in runs[preset]:
            rdst = dst / run.name
            rdst.mkdir(exist_ok=True)
            for name in ("tables.md", "tables.json", "eval.json", "report.html"):
                shutil.copy(run / name, rdst / name)
        for name in ("comparison.md", "comparison.html", "comparison.json"):
            shutil.copy(work / "compare" / preset / name, dst / name)
        (dst / "leakage.json").write_text(json.dumps(leakage[preset], indent=2) + "\n")
    summary = {
        "command": " ".join(["python", "benchmarks/eval_baselines.py", *sys.argv[1:]]),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": _cpus()},
        "scenes": counts,
        "fraction": args.fraction,
        "scales": PRESET_SCALES,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "leaked": {p: leakage[p]["leaked"] for p in PRESET_SCALES},
    }
    (out / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
