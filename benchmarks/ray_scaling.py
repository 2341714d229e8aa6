"""Ray Data scaling of the engine: the same sharded job on the local process pool and on Ray Data with 1, 2,
... workers, wall time and parallel efficiency E(n) = T(1) / (n * T(n)).

Two workloads, both the real per-bucket functions:
- synth: `run_synth` of --scenes indoor rooms (640 x 480, numpy renderer): CPU-heavy, about 0.1 s a scene;
- generate: `run_generate` over those scenes (default task mix, 48 QA per scene).
Ray is started once (num_cpus = the machine's cores) and kept for every measurement, so the figures are the
steady state a cluster sees, not Ray's start-up (measured separately as `ray_init_s`). Usage:

    python benchmarks/ray_scaling.py --scenes 64 --workers 1 2 --out benchmarks/results/ray_scaling.json
    python benchmarks/ray_scaling.py --backends local --workers 1 2 4 8 16 ...   (the process pool only)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from spatialforge.engine.backends import Backend
from spatialforge.engine.generate import GenerateConfig, run_generate
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig


def timed(fn, repeats: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenes", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--buckets", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cpus-per-task", type=float, default=0.5)
    parser.add_argument("--backends", nargs="+", default=["local", "ray"], choices=["local", "ray"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    ray, ray_init = None, None
    if "ray" in args.backends:
        import ray

        start = time.perf_counter()
        ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        ray_init = round(time.perf_counter() - start, 2)
    tmp = Path(tempfile.mkdtemp(prefix="ray_scaling_"))
    synth_config = SynthConfig(setting="indoor", views=2)
    results: dict[str, dict[str, dict[str, float]]] = {"synth": {}, "generate": {}}
    try:
        scenes = Path(run_synth(tmp / "scenes", args.scenes, synth_config, n_buckets=args.buckets).output_dir)
        scenes_file = scenes / "scenes.jsonl"
        for backend_name in args.backends:
            for n in args.workers:
                backend = Backend(backend_name, n, cpus_per_task=args.cpus_per_task)
                key = f"{backend_name}/{n}"

                def synth(backend: Backend = backend) -> None:
                    out = tmp / "synth_run"
                    shutil.rmtree(out, ignore_errors=True)
                    run_synth(out, args.scenes, synth_config, n_buckets=args.buckets, backend=backend)

                def generate(backend: Backend = backend) -> None:
                    out = tmp / "gen_run"
                    shutil.rmtree(out, ignore_errors=True)
                    run_generate(scenes_file, out, GenerateConfig(), n_buckets=args.buckets, backend=backend)

                results["synth"][key] = {"seconds": round(timed(synth, args.repeats), 3)}
                results["generate"][key] = {"seconds": round(timed(generate, args.repeats), 3)}
                print(key, results["synth"][key], results["generate"][key], flush=True)
        for workload in results.values():
            for backend_name in args.backends:
                t1 = workload[f"{backend_name}/{args.workers[0]}"]["seconds"] * args.workers[0]
                for n in args.workers:
                    entry = workload[f"{backend_name}/{n}"]
                    entry["efficiency_pct"] = round(100 * t1 / (n * entry["seconds"]), 1)
        report = {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "ray": ray.__version__ if ray else None,
                        "processor": platform.processor() or platform.machine()},
            "scenes": args.scenes,
            "buckets": args.buckets,
            "cpus_per_task": args.cpus_per_task,
            "ray_init_s": ray_init,
            "results": results,
        }  # fmt: skip
        print(json.dumps(report, indent=2))
        if args.out:
            args.out.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        if ray is not None:
            ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
