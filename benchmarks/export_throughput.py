"""Export throughput per writer: `spatialforge export` end to end on a generate run of synthetic scenes.

Makes `--scenes` indoor rooms (640 x 480, two views each) and their QA once, then times each writer alone
(`spatialforge export --to <writer>`, fresh interpreter, one worker, --max-side 640) --repeats times and
reports the median seconds, QA records per second, samples per second, MB written and peak memory. Usage:

    python benchmarks/export_throughput.py --scenes 40 --repeats 3 \
        --out benchmarks/results/export_throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from cli_child import run_cli_measured

WRITERS = ("llava", "chat", "spar", "parquet", "webdataset")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="export_bench_"))
    try:
        run_cli_measured(
            [
                "synth",
                "-o",
                str(tmp / "synth"),
                "-n",
                str(args.scenes),
                "--setting",
                "indoor",
                "--views",
                "2",
            ],
            tmp / "synth.rss",
        )
        run_cli_measured(
            ["generate", "-s", str(tmp / "synth" / "scenes.jsonl"), "-o", str(tmp / "run")], tmp / "g.rss"
        )
        records = json.loads((tmp / "run" / "report.json").read_text())["records"]
        results = {}
        for writer in (*WRITERS, "parquet+images"):
            name, extra = (writer, []) if writer != "parquet+images" else ("parquet", ["--parquet-images"])
            times, rss = [], []
            for i in range(args.repeats):
                out = tmp / f"{writer}_{i}"
                seconds, peak = run_cli_measured(
                    ["export", "-r", str(tmp / "run"), "-o", str(out), "--to", name, *extra], tmp / "e.rss"
                )
                times.append(seconds)
                rss.append(peak)
                manifest = json.loads((out / "manifest.json").read_text())
                shutil.rmtree(out)
            w = manifest["writers"][name]
            median = statistics.median(times)
            results[writer] = {
                "seconds_median": round(median, 3),
                "seconds": [round(t, 3) for t in times],
                "records_per_s": round(records / median, 1),
                "samples": w["samples"],
                "samples_per_s": round(w["samples"] / median, 1),
                "mb_written": round(w["bytes"] / 1e6, 2),
                "peak_rss_mib": round(max(rss) / 1024, 1),
            }
            print(writer, results[writer], flush=True)
        report = {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                        "processor": platform.processor() or platform.machine()},
            "scenes": args.scenes,
            "views_per_scene": 2,
            "records": records,
            "note": "seconds include interpreter start-up (about 1 s) and the export's finalize step",
            "writers": results,
        }  # fmt: skip
        if args.out:
            args.out.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
