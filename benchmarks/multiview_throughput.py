"""Multi-view QA generation throughput: posed multi-view scenes in -> QA JSONL written.

Builds N synthetic indoor rooms, each seen from --views posed views (spatialforge.synth: trajectories with
observations from rendered instance masks; only the scene records are written, generation reads no pixels),
then times `spatialforge generate` as a fresh subprocess, one worker, for two mixes:
- "multi-view tasks": the 16 multi-view tasks only (pairs and keyframe windows, tasks/multiview*.py);
- "default mix": every task at the shipped weights (half the QA of a multi-view scene is multi-view).
Reports the median of --repeats runs, QA records per second and scenes per second, and peak RSS. Usage:

    python benchmarks/multiview_throughput.py --scenes 300 --views 8 --repeats 3 \
        --out benchmarks/results/multiview_throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cli_child import run_cli_measured

from spatialforge.scene.io import SceneWriter
from spatialforge.synth.world import SynthConfig, synthesize_scene
from spatialforge.tasks.registry import TASKS

MULTI_VIEW_TASKS = ",".join(name for name, spec in TASKS.items() if "multi_view" in spec.requires)


def write_scenes(path: Path, n: int, views: int) -> tuple[int, float]:
    """(views written, seconds) for n indoor rooms of `views` views at 320x240 (numpy renderer)."""
    config = SynthConfig(setting="indoor", views=views, width=320, height=240, seed=0)
    start = time.perf_counter()
    total_views = 0
    with SceneWriter(path) as writer:
        for i in range(n):
            scene = synthesize_scene(i, config).scene
            total_views += len(scene.views)
            writer.write(scene)
    return total_views, time.perf_counter() - start


def run(scenes: Path, out: Path, tasks: str) -> tuple[float, int, int]:
    args = ["generate", "--scenes", str(scenes), "--output", str(out), "--workers", "1"]
    if tasks:
        args += ["--tasks", tasks]
    seconds, rss_kib = run_cli_measured(args, out.with_suffix(".rss"))
    report = json.loads((out / "report.json").read_text())
    return seconds, report["records"], rss_kib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--views", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sf_mv_bench_"))
    try:
        scenes = work / "scenes.jsonl"
        n_views, synth_s = write_scenes(scenes, args.scenes, args.views)
        print(f"{args.scenes} scenes, {n_views} views synthesised in {synth_s:.1f} s")
        rows = []
        for label, tasks in (("multi-view tasks", MULTI_VIEW_TASKS), ("default mix", "")):
            times, records, rss = [], 0, 0
            for r in range(args.repeats):
                out = work / f"qa_{len(rows)}_{r}"
                seconds, records, rss = run(scenes, out, tasks)
                times.append(seconds)
                shutil.rmtree(out)
            median = statistics.median(times)
            row = {
                "mix": label,
                "scenes": args.scenes,
                "views_per_scene": args.views,
                "records": records,
                "runs_s": [round(t, 3) for t in times],
                "median_s": round(median, 3),
                "qa_per_s": round(records / median, 1),
                "scenes_per_s": round(args.scenes / median, 1),
                "peak_rss_mib": round(rss / 1024, 1),
            }
            rows.append(row)
            print(json.dumps(row))
        result = {
            "benchmark": "multiview_throughput",
            "command": " ".join(["python", *sys.argv]),
            "machine": f"{platform.machine()} python {platform.python_version()}",
            "rows": rows,
        }
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
