"""Where a QA record's cost lies: fixed per scene, or per record; and an in-process A/B of the engine.

1. Cost split: in-process `generate_scene` over already-decoded boxes-only scenes at several per-scene caps
   (max_qa_per_scene); the slope between the two largest caps is the cost of one more record, the time at
   cap 1 the cost of a scene before its records. Strict decoding (orjson + scene_from_dict) is timed apart.
2. End to end in-process: `run_generate` (decode, generation, JSONL writing, merge, report) at the shipped
   defaults, `--repeats` times, with the SHA-256 of data.jsonl so two code versions can be checked for
   identical output. Run the code before a change with `PYTHONPATH=<its src>` and a different --label,
   alternating, and compare medians.

    python benchmarks/generate_cost_split.py --scenes 1500 --label after \
        --out benchmarks/results/generate_cost_split.json
    PYTHONPATH=/tmp/base/src python benchmarks/generate_cost_split.py --scenes 1500 --label before \
        --out benchmarks/results/generate_cost_split.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

import spatialforge
from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import GenerateConfig, generate_scene, run_generate
from spatialforge.scene.codec import scene_from_dict
from spatialforge.scene.io import SceneWriter

CAPS = (1, 2, 48, 96)


def cost_split(lines: list[bytes]) -> dict[str, float]:
    """Microseconds per scene: decode, and generate_scene at each cap (best of two), with QA per scene."""
    t0 = time.perf_counter()
    dicts = [orjson.loads(line) for line in lines]
    t1 = time.perf_counter()
    scenes = [scene_from_dict(d) for d in dicts]
    t2 = time.perf_counter()
    n = len(scenes)
    out: dict[str, float] = {
        "orjson_us_per_scene": 1e6 * (t1 - t0) / n,
        "decode_us_per_scene": 1e6 * (t2 - t1) / n,
    }
    per_cap = {}
    for cap in CAPS:
        config = GenerateConfig(max_qa_per_scene=cap)
        generate_scene(scenes[0], config)  # plan built outside the timing
        best, records = float("inf"), 0
        for _ in range(2):
            start = time.perf_counter()
            records = sum(len(generate_scene(s, config).records) for s in scenes)
            best = min(best, time.perf_counter() - start)
        per_cap[cap] = (1e6 * best / n, records / n)
        out[f"cap{cap}_us_per_scene"], out[f"cap{cap}_qa_per_scene"] = per_cap[cap]
    (t_a, q_a), (t_b, q_b) = per_cap[CAPS[-2]], per_cap[CAPS[-1]]
    out["marginal_us_per_record"] = (t_b - t_a) / (q_b - q_a)
    return {k: round(v, 2) for k, v in out.items()}


def end_to_end(scenes: Path, repeats: int, work: Path) -> dict[str, object]:
    seconds = []
    for _ in range(repeats):
        out = work / "qa"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        run_generate(scenes, out, GenerateConfig())
        seconds.append(time.perf_counter() - start)
    data = (work / "qa" / "data.jsonl").read_bytes()
    records = data.count(b"\n")
    median = statistics.median(seconds)
    return {
        "records": records,
        "seconds": [round(s, 3) for s in seconds],
        "median_s": round(median, 3),
        "us_per_qa": round(1e6 * median / records, 2),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=1500)
    ap.add_argument("--split-scenes", type=int, default=1000, help="scenes of the cost split (the first N)")
    ap.add_argument("--repeats", type=int, default=1, help="end-to-end runs")
    ap.add_argument("--label", default="run")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scenes = work / "scenes.jsonl"
        with SceneWriter(scenes) as writer:
            writer.write_all(random_box_scenes(args.scenes, seed=0, depth=False))
        split = cost_split(scenes.read_bytes().splitlines()[: args.split_scenes])
        e2e = end_to_end(scenes, args.repeats, work)
    entry = {
        "code": str(Path(spatialforge.__file__).parent),
        "command": " ".join(["python", *sys.argv]),
        "cost_split": split,
        "end_to_end": e2e,
    }
    print(json.dumps(entry, indent=1))
    if args.out:
        result = json.loads(args.out.read_text()) if args.out.exists() else {}
        result["machine"] = {"python": platform.python_version(), "processor": platform.processor()}
        result["data"] = {"scenes": args.scenes, "kind": "boxes-only (demo.box_scenes, depth=False)"}
        result.setdefault("runs", {}).setdefault(args.label, []).append(entry)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
