"""Synthetic-world throughput: `spatialforge synth` end to end, frames and scenes per second, peak memory.

Times the CLI in a fresh interpreter (start-up, layout, meshes, rendering of every view with the numpy
renderer, the per-object alone renders for visibility and truncation, PNG / .npy writing, Scene records,
the bucket merge and the report) for each setting at the default resolution (640 x 480), one worker, and
reports the median of --repeats runs, plus an in-process breakdown of where one scene's time goes. Usage:

    python benchmarks/synth_throughput.py --scenes 40 --repeats 3 \
        --out benchmarks/results/synth_throughput.json
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

from spatialforge.synth.layout import make_layout
from spatialforge.synth.raster import RenderMesh, render_view
from spatialforge.synth.stuff import stuff_for
from spatialforge.synth.views import camera_poses
from spatialforge.synth.world import SynthConfig, object_meshes, synthesize_scene, write_scene_assets


def run_cli(out: Path, scenes: int, setting: str, views: int, width: int, height: int) -> tuple[float, int]:
    """(seconds, peak RSS KiB) of one `spatialforge synth` run in a fresh interpreter."""
    args = ["synth", "--output", str(out), "--count", str(scenes), "--setting", setting,
            "--views", str(views), "--width", str(width), "--height", str(height)]  # fmt: skip
    return run_cli_measured(args, out.with_suffix(".rss"))


def breakdown(setting: str, views: int, width: int, height: int, n: int, tmp: Path) -> dict[str, float]:
    """Milliseconds per scene in each stage, in-process, over n scenes."""
    config = SynthConfig(setting=setting, views=views, width=width, height=height)
    spent: Counter[str] = Counter()
    for i in range(n):
        t0 = time.perf_counter()
        rng = random.Random(f"{config.seed}:{config.setting}:{i}")
        layout = make_layout(setting, rng)
        camera_poses(layout, views, rng)
        t1 = time.perf_counter()
        meshes = object_meshes(layout)
        stuff = stuff_for(layout, rng)
        t2 = time.perf_counter()
        synth = synthesize_scene(i, config, asset_root=str(tmp))  # layout + meshes + render + observe
        t3 = time.perf_counter()
        for view in synth.scene.views:  # one shaded render of the whole scene, as synthesize_scene does
            scene_meshes = [RenderMesh(stuff.vertices, stuff.faces, stuff.face_colours, 0), *meshes]
            render_view(scene_meshes, view.camera, view.cam_from_world())
        t4 = time.perf_counter()
        write_scene_assets(synth, tmp)
        t5 = time.perf_counter()
        spent["layout_and_cameras"] += t1 - t0
        spent["meshes"] += t2 - t1
        spent["render_views"] += t4 - t3
        # synthesize_scene = layout + cameras + meshes + renders + observations (alone renders, boxes).
        spent["observe"] += (t3 - t2) - (t1 - t0) - (t2 - t1) - (t4 - t3)
        spent["write_files"] += t5 - t4
    return {k: round(v / n * 1000, 1) for k, v in spent.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="sf_synth_bench_"))
    try:
        for setting, views in (("indoor", 1), ("indoor", 3), ("tabletop", 1), ("street", 1)):
            runs = []
            for r in range(args.repeats):
                out = tmp / f"{setting}_{views}_{r}"
                runs.append(run_cli(out, args.scenes, setting, views, args.width, args.height))
                report = json.loads((out / "report.json").read_text())
                frames = report["tallies"]["views"]["rendered"]
                shutil.rmtree(out)
            seconds = statistics.median(s for s, _ in runs)
            rows.append(
                {
                    "setting": setting,
                    "views_per_scene": views,
                    "scenes": args.scenes,
                    "frames": frames,
                    "seconds_all": [round(s, 3) for s, _ in runs],
                    "seconds_median": round(seconds, 3),
                    "scenes_per_second": round(args.scenes / seconds, 2),
                    "frames_per_second": round(frames / seconds, 2),
                    "peak_rss_mib": round(max(k for _, k in runs) / 1024, 1),
                    "ms_per_scene_breakdown": breakdown(
                        setting, views, args.width, args.height, 10, tmp / "b"
                    ),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "resolution": [args.width, args.height],
        "workers": 1,
        "rows": rows,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
