"""QA generation throughput: scenes JSONL in -> QA JSONL written, process start-up included.

Writes N boxes-only scenes (spatialforge.demo.box_scenes: 8 furniture boxes, one level view, exact gravity),
then times `spatialforge generate` as a fresh subprocess (interpreter start, imports, scene split, generation,
JSONL write, merge, report) at the shipped default task mix and per-scene cap, one worker; peak memory is the
child's max RSS. Reports the median of --repeats runs, and an in-process breakdown of where the time goes on
the same scenes (scene decode, per-view setup, candidate facts, rendering, JSON encoding). Run it at two
sizes to see that memory does not grow with the number of scenes. Usage:

    python benchmarks/generate_throughput.py --scenes 3000 --repeats 3 \
        --out benchmarks/results/generate_throughput.json

The scenes declare their exact ray-cast depth (demo.box_scenes), so the default mix includes the level 0 point
tasks; `--no-depth` writes them without it, and `--tasks a,b,...` restricts the mix (the level 1-2 set of the
first engine release: `--tasks` with the thirteen names in benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from cli_child import run_cli_measured

from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import GenerateConfig, build_plan
from spatialforge.jsonl import encode_line_fast
from spatialforge.scene.codec import scene_from_dict
from spatialforge.scene.io import SceneWriter
from spatialforge.tasks.banks import load_common
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.render import Renderer


def run_cli(scenes: Path, out: Path, workers: int, tasks: str, profile: str) -> tuple[float, int, int]:
    """(seconds, QA records, peak RSS in KiB) of one `spatialforge generate` in a fresh interpreter."""
    args = ["generate", "--scenes", str(scenes), "--output", str(out), "--workers", str(workers),
            "--format-profile", profile, *(["--tasks", tasks] if tasks else [])]  # fmt: skip
    seconds, rss_kib = run_cli_measured(args, out.with_suffix(".rss"))
    report = json.loads((out / "report.json").read_text())
    return seconds, report["records"], rss_kib


def breakdown(scenes_path: Path, limit: int, tasks: tuple[str, ...], profile: str) -> dict[str, float]:
    """Microseconds per QA record spent in each stage, in-process, on the first `limit` scenes."""
    lines = scenes_path.read_text().splitlines()[:limit]
    config = GenerateConfig(tasks=tasks, format_profile=profile)
    plan = build_plan(config)
    common = load_common()
    spent: Counter[str] = Counter()
    n_records = 0
    for line in lines:
        t0 = time.perf_counter()
        scene = scene_from_dict(json.loads(line))
        t1 = time.perf_counter()
        ctx = ViewContext(scene, scene.views[0])
        renderer = Renderer(ctx, common, plan.mcq_layout, plan.always_mark)
        t2 = time.perf_counter()
        spent["decode"] += t1 - t0
        spent["view_setup"] += t2 - t1
        for task in plan.tasks:
            if task.view_requirements and ctx.unmet_requirement(task.view_requirements):
                continue
            rng = random.Random(0)
            candidates = task.spec.candidates(ctx, rng)
            for _ in range(4):  # a typical quota's worth of candidates per task and scene
                t3 = time.perf_counter()
                item = next(candidates, None)
                t4 = time.perf_counter()
                spent["candidates"] += t4 - t3
                if item is None or isinstance(item, str):
                    continue
                for fmt in task.formats:
                    t5 = time.perf_counter()
                    out = renderer.render(task.spec, task.bank, item, fmt, rng, 0)
                    t6 = time.perf_counter()
                    spent["render"] += t6 - t5
                    if isinstance(out, list):
                        for record in out:
                            encode_line_fast(record)
                        spent["json_encode"] += time.perf_counter() - t6
                        n_records += len(out)
    return {k: round(v / n_records * 1e6, 2) for k, v in spent.items()} | {"records": n_records}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--tasks", default="", help="comma-separated task names (default: every registered task)")
    ap.add_argument("--no-depth", action="store_true", help="scenes without their ray-cast depth")
    ap.add_argument("--format-profile", default="hispatial", help="hispatial (default) or spar")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    tasks = tuple(t for t in args.tasks.split(",") if t)
    tmp = Path(tempfile.mkdtemp(prefix="sf_gen_bench_"))
    try:
        scenes_path = tmp / "scenes.jsonl"
        with SceneWriter(scenes_path) as writer:
            writer.write_all(random_box_scenes(args.scenes, seed=0, depth=not args.no_depth))
        runs = []
        for i in range(args.repeats):
            out = tmp / f"out{i}"
            runs.append(run_cli(scenes_path, out, args.workers, args.tasks, args.format_profile))
            shutil.rmtree(out)
        seconds = statistics.median(r[0] for r in runs)
        records = runs[0][1]
        result = {
            "command": " ".join(["python", *sys.argv]),
            "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
            "scenes": args.scenes,
            "workers": args.workers,
            "tasks": list(tasks) or "all registered",
            "depth": not args.no_depth,
            "format_profile": args.format_profile,
            "records": records,
            "qa_per_scene": round(records / args.scenes, 2),
            "seconds_median": round(seconds, 3),
            "seconds_all": [round(r[0], 3) for r in runs],
            "qa_per_second": round(records / seconds, 1),
            "scenes_per_second": round(args.scenes / seconds, 1),
            "peak_rss_mib": round(max(r[2] for r in runs) / 1024, 1),
            "us_per_qa_breakdown": breakdown(scenes_path, min(args.scenes, 500), tasks, args.format_profile),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
