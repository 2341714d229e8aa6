"""`spatialforge eval` throughput with a saved spatialforge model: items/s, and where the time goes.

Builds, into --work when missing, the benchmark and model of the eval-throughput recipe:

    spatialforge synth -o WORK/synth -n 60 --setting indoor --seed 2 --width W --height H --workers 2
    spatialforge bench build -s WORK/synth/scenes.jsonl -p hierarchy -o WORK/bench --held-out \
        --n-per-task 20 --seed 2 --workers 2
    spatialforge bench pointmaps WORK/bench
    WORK/model: the `small` config (15M parameters, 96 px images, 4-layer ViT + 4-layer decoder), random
        weights (torch seed 0) with the decoder blocks' matrices redrawn at std 0.1: at the init's 0.02 the
        tied head repeats the prompt's last token, every reply is the same and comparing two code versions'
        answers shows nothing; these replies differ by item. Same cost per token; no reply reached EOS
        here, so every generate call runs all --max-new-tokens steps (completion tokens are recorded)
    WORK/model-proxy: the same layout (as many layers, so as many kernels per decode step) at widths small
        enough that every op costs its dispatch, not its arithmetic, on a CPU - as the 15M model's ops do
        on a GPU; it shows on a CPU what the eval's non-model work does to a GPU run

(W x H: --size, 160x120 by default as in the recipe; 640x480 is synth's default and a real camera's size,
whose point maps cost ~10x more to read), then runs, each --repeats times in a fresh interpreter,

    spatialforge eval -b WORK/bench -o OUT --prompt-style plain --max-new-tokens N --no-report --no-progress \
        -m spatialforge:MODEL,pointmaps=WORK/bench/pointmaps,device=D,batch_size=B

with the eval's phases clocked from inside (model load, asking, scoring + tables) and every
SpatialVLM.generate call timed (synchronised: generate ends by copying its tokens to the host) and its batch
size counted. "model" is the time inside generate (vision + prefill + decoding); "overhead" is the asking
phase's wall time minus it (reading inputs, collation, the runner, writing predictions - what was not
overlapped with generation). --stub replaces generate by an instant empty answer: the items/s of everything
but the model. Every run records the sha256 of its sorted (id, prediction) pairs, so runs of two code
versions can be checked for identical answers.

    python benchmarks/eval_throughput.py --work /tmp/ev --label after --repeats 3 \
        --out benchmarks/results/eval_throughput_cpu.json
    PYTHONPATH=/tmp/ev_base/src python benchmarks/eval_throughput.py --work /tmp/ev --label before ...

(--label names the result's entry; an existing --out file keeps its other entries.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "spatialforge.cli.main", *args], check=True, capture_output=True)


def build_work(work: Path, size: str) -> None:
    """The benchmark and the two models of the recipe (module docstring), each built only when missing."""
    work.mkdir(parents=True, exist_ok=True)
    synth, bench = work / "synth", work / "bench"
    width, height = size.split("x")
    if not (synth / "scenes.jsonl").is_file():
        _cli(
            "synth", "-o", str(synth), "-n", "60", "--setting", "indoor", "--seed", "2",
            "--width", width, "--height", height, "--workers", "2",
        )  # fmt: skip
    if not (bench / "items.jsonl").is_file():
        _cli(
            "bench", "build", "-s", str(synth / "scenes.jsonl"), "-p", "hierarchy", "-o", str(bench),
            "--held-out", "--n-per-task", "20", "--seed", "2", "--workers", "2",
        )  # fmt: skip
    if not (bench / "pointmaps").is_dir():
        _cli("bench", "pointmaps", str(bench))
    import torch

    from spatialforge.models.config import named_config
    from spatialforge.models.vlm import build_model

    def talkative(model: Any) -> Any:
        with torch.no_grad():
            for parameter in model.backbone.decoder.blocks.parameters():
                if parameter.ndim == 2:
                    parameter.normal_(0.0, 0.1)
        return model

    if not (work / "model" / "config.json").is_file():
        torch.manual_seed(0)
        talkative(build_model(named_config("small"))).save_pretrained(work / "model")
    if not (work / "model-proxy" / "config.json").is_file():
        from dataclasses import replace

        config = named_config("small")
        backbone = dict(config.backbone)
        backbone["vision"] = {**backbone["vision"], "image_size": 32, "patch_size": 8, "width": 32}
        backbone["text"] = {**backbone["text"], "width": 32, "mlp_ratio": 2}
        torch.manual_seed(0)
        talkative(build_model(replace(config, name="small-proxy", backbone=backbone))).save_pretrained(
            work / "model-proxy"
        )


def eval_args(args: argparse.Namespace, out: Path) -> list[str]:
    work = Path(args.work)
    model = work / ("model-proxy" if args.model == "proxy" else "model")
    spec = (
        f"spatialforge:{model},pointmaps={work / 'bench' / 'pointmaps'},device={args.device},"
        f"batch_size={args.batch_size}"
    )
    return [
        "eval", "-b", str(work / "bench"), "-m", spec, "-o", str(out), "--prompt-style", "plain",
        "--max-new-tokens", str(args.max_new_tokens), "--no-report", "--no-progress",
    ]  # fmt: skip


# -- the child: one instrumented eval in a fresh interpreter ------------------------------------------


def child(eval_argv: list[str], stub: bool, result_file: str) -> None:
    start = time.perf_counter()
    from spatialforge.cli.main import app
    from spatialforge.evaluate import run
    from spatialforge.models import vlm

    phases: dict[str, float] = {}
    calls: list[tuple[int, float]] = []

    def clocked(name: str, function: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    run.build_model = clocked("load_model", run.build_model)
    run._ask_all = clocked("ask", run._ask_all)
    run.score_run = clocked("score", run.score_run)
    run.build_tables = clocked("score", run.build_tables)
    run.write_tables = clocked("score", run.write_tables)
    generate = vlm.SpatialVLM.generate

    def timed_generate(self: Any, batch: Any, **settings: Any) -> Any:
        t = time.perf_counter()
        if stub:
            b = batch.input_ids.shape[0]
            result = vlm.Generation([[] for _ in range(b)], ["" for _ in range(b)])
        else:
            result = generate(self, batch, **settings)
        calls.append((int(batch.input_ids.shape[0]), time.perf_counter() - t))
        return result

    vlm.SpatialVLM.generate = timed_generate
    sys.argv = ["spatialforge", *eval_argv]
    imported = time.perf_counter() - start
    try:
        app()
    except SystemExit as e:
        if e.code:
            raise
    out = Path(eval_argv[eval_argv.index("-o") + 1])
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    pairs = "".join(f"{r['id']}\t{r['prediction']}\n" for r in sorted(records, key=lambda r: r["id"]))
    Path(result_file).write_text(
        json.dumps(
            {
                "imports_s": imported,
                "phases": phases,
                "generate_calls": calls,
                "answered": len(records),
                "completion_tokens": sum(r["usage"].get("completion_tokens", 0) for r in records),
                "distinct_replies": len({r["prediction"] for r in records}),
                "predictions_sha256": hashlib.sha256(pairs.encode()).hexdigest(),
            }
        )
    )


# -- the parent ---------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, stub: bool) -> dict[str, Any]:
    work = Path(args.work)
    runs = []
    for repeat in range(args.repeats):
        out = work / "runs" / f"{args.label}-{args.model}-{'stub' if stub else 'model'}-{repeat}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        result_file = work / "runs" / f"{out.name}.json"
        argv = eval_args(args, out)
        command = [sys.executable, str(HERE), "--child", json.dumps(argv), str(result_file)]
        command += ["--stub"] if stub else []
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
        wall = time.perf_counter() - start
        got = json.loads(result_file.read_text())
        generate_s = sum(seconds for _, seconds in got["generate_calls"])
        ask = got["phases"]["ask"]
        runs.append(
            {
                "wall_s": round(wall, 3),
                "ask_s": round(ask, 3),
                "generate_s": round(generate_s, 3),
                "overhead_s": round(ask - generate_s, 3),
                "load_model_s": round(got["phases"]["load_model"], 3),
                "score_s": round(got["phases"]["score"], 3),
                "items": got["answered"],
                "completion_tokens": got["completion_tokens"],
                "distinct_replies": got["distinct_replies"],
                "batches": len(got["generate_calls"]),
                "batch_sizes": dict(sorted(Counter(n for n, _ in got["generate_calls"]).items())),
                "predictions_sha256": got["predictions_sha256"],
            }
        )
        print(f"  {out.name}: {json.dumps(runs[-1])}", flush=True)
    n = runs[0]["items"]

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 3)

    return {
        "command": "spatialforge " + " ".join(eval_args(args, Path("OUT"))),
        "stub_generate": stub,
        "items": n,
        "wall_s_median": median("wall_s"),
        "ask_s_median": median("ask_s"),
        "generate_s_median": median("generate_s"),
        "overhead_s_median": median("overhead_s"),
        "items_per_s_end_to_end": round(n / median("wall_s"), 1),
        "items_per_s_asking": round(n / median("ask_s"), 1),
        "runs": runs,
    }


def describe_bench(bench: Path) -> dict[str, Any]:
    from PIL import Image

    images = sorted((bench / "images").rglob("*.png")) + sorted((bench / "images").rglob("*.jpg"))
    with Image.open(images[0]) as first:
        size = f"{first.width}x{first.height}"
    pointmaps = list((bench / "pointmaps").iterdir())
    return {
        "path": str(bench),
        "items": sum(1 for _ in open(bench / "items.jsonl")),
        "images": len(images),
        "image_size": size,
        "point_map_files_mib": round(sum(p.stat().st_size for p in pointmaps) / 2**20, 1),
    }


def machine(device: str) -> dict[str, Any]:
    import torch

    import spatialforge

    return {
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device if device == "cpu" else torch.cuda.get_device_name(0),
        "spatialforge_source": str(Path(spatialforge.__file__).parent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", default="/tmp/ev", help="folder of the benchmark, models and run outputs")
    parser.add_argument(
        "--size", default="160x120", help="WxH of the synthetic images (when --work has no benchmark yet)"
    )
    parser.add_argument("--model", choices=("small", "proxy"), nargs="+", default=["small", "proxy"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-stub", action="store_true", help="skip the runs with an instant generate")
    parser.add_argument("--label", default="run", help="the result's entry in --out (e.g. before, after)")
    parser.add_argument("--note", default="", help="free text stored with the entry")
    parser.add_argument("--out", help="JSON file to add this entry to")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--stub", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child[0]), args.stub, args.child[1])
        return
    build_work(Path(args.work), args.size)
    entry: dict[str, Any] = {
        "recorded": time.strftime("%Y-%m-%d"),
        "script": "python " + " ".join([str(Path(sys.argv[0])), *sys.argv[1:]]),
        "pythonpath": os.environ.get("PYTHONPATH"),
        "machine": machine(args.device),
        "benchmark": describe_bench(Path(args.work) / "bench"),
        "note": args.note,
        "results": {},
    }
    chosen = args.model
    for model in chosen:
        args.model = model
        for stub in (False,) if args.no_stub else (False, True):
            key = f"{model}{'-stub' if stub else ''}"
            print(f"{args.label} {key}:", flush=True)
            entry["results"][key] = measure(args, stub)
            r = entry["results"][key]
            print(
                f"  median: {r['items_per_s_end_to_end']} items/s end to end, {r['items_per_s_asking']} "
                f"asking; ask {r['ask_s_median']} s = model {r['generate_s_median']} s + overhead "
                f"{r['overhead_s_median']} s",
                flush=True,
            )
    if args.out:
        path = Path(args.out)
        data = json.loads(path.read_text()) if path.is_file() else {}
        data[args.label] = entry
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
