"""Proof of learning: does a small spatial VLM trained on our synthetic-world QA learn spatial skills?

One script, every step a `spatialforge` command (printed and recorded, so each number can be re-made by hand):

1. `synth` training scenes (seed 1) and held-out scenes (seed 2): different seeds, so different scenes with
   disjoint scene and capture ids (synth ids carry the seed); `bench leakage` checks the two share nothing.
2. `generate` the training QA (HiSpatial's task and format mix) from the training scenes; `bench build
   --preset hierarchy --held-out` a benchmark of every single-view task of levels 0-3 from the held-out
   scenes; `bench pointmaps` writes its point maps.
3. `train` one small model per arm over the same data, sampler and seed (configs written beside the runs):
   - metric: RGB + metric point map (HiSpatial's design), the model under test;
   - blank: the same, trained and asked with every image grey and no point map - the fair baseline, which
     learns everything the question text alone gives (answer priors, units, formats);
   - rgb / relative_depth: the geometry ablation (HiSpatial Table 6: RGB, relative depth, metric points);
   - no_l01: levels 0 and 1 removed, their draws backfilled with general data (HiSpatial Table 5 and
     appendix 6.3: the other tasks keep their absolute rates);
   - stage_3d_late / stage_3d_early: SpatialLLM Table 2 in miniature - a stage-1 alignment run on general
     data alone or on general + level-1 probing data, then the same stage-2 instruction tuning from each (the
     small decoder starts random, so unlike SpatialLLM's frozen LLM it trains in stage 1 too).
   With --tasks a,b,..., every arm trains on those spatial tasks alone (equal weights, the same general
   share) and is scored on them alone: a focused miniature that gives each task several times the samples
   of the full mix at the same cost. Its runs and evaluations go to runs/<key>/ and evals/<key>/ (key: the
   task list's digest), beside the full mix's, and share the data and the tower.
   With --vision-pretrain-steps N, a `pretrain-vision` step first trains the small model's ViT on per-patch
   targets (object category, log depth, facing) from the training scenes' instance masks, and every arm starts
   from that tower (model.vision_weights; --freeze-vision keeps it frozen, as HiSpatial keeps SigLIP).
4. `eval` every arm on the benchmark (greedy, the question as generated: `--prompt-style plain`), plus the
   chance, frequency and blind (a text-only prior fitted on the training QA) baselines; per-level and
   per-task scores with 95% percentile-bootstrap CIs come from the harness's tables.json.

Results: --out (JSON: commands, machine, data sizes, training logs' summaries, per-arm level and task tables,
for each level whether metric's CI lies above blank's, and the paired per-level difference metric - blank).
Every step is skipped when its output exists, so a killed run resumes. Arms can share one GPU: with
--side-by-side the arms run at once after the shared steps, one child invocation each (records OUT.ARM.json,
output in WORK/side_by_side_ARM.log), and --out joins them. Arms started by hand as separate invocations on
one work folder work too: each records the arms that others finished there, so the last to finish holds the
whole comparison (the paired one included).
Example (run D of docs/TRAINING.md, in one command):

    python benchmarks/proof_of_learning.py --work /tmp/pol --train-scenes 12000 --bench-scenes 1200 \
        --n-per-task 300 --workers 16 --geometry-norm layernorm --vision-pretrain-steps 3000 \
        --vision-pretrain-batch 256 --freeze-vision --steps 5500 --batch 256 --loader-workers 7 \
        --arms metric,blank --side-by-side --out proof.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: no lock, so run the shared steps first (`--arms ""`) as in the example
    fcntl = None  # type: ignore[assignment]

ARMS = ("metric", "blank", "rgb", "relative_depth", "no_l01", "stage_3d_late", "stage_3d_early")


def run(command: list[str], log: list[dict[str, Any]], *, check: bool = True) -> float:
    """Run one command (stdout/stderr passed through), record it with its wall time."""
    text = shlex.join(command)
    print(f"$ {text}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, check=False)
    seconds = time.perf_counter() - start
    log.append({"command": text, "seconds": round(seconds, 2), "exit": result.returncode})
    if check and result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {text}")
    return seconds


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an advisory lock (flock) on `path` for the block. Arms are run side by side as separate
    invocations on one work folder; the lock makes the shared steps (data, tower, reference evaluations) run
    once: the second invocation waits, then finds them done and skips them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def sf(*args: str) -> list[str]:
    return [sys.executable, "-m", "spatialforge.cli.main", *args]


def make_data(args: argparse.Namespace, work: Path, log: list[dict[str, Any]]) -> dict[str, Any]:
    size = ["--width", str(args.width), "--height", str(args.height)]
    workers = ["--workers", str(args.workers)]
    for name, count, seed in (("train", args.train_scenes, 1), ("heldout", args.bench_scenes, 2)):
        folder = work / f"synth_{name}"
        if not (folder / "scenes.jsonl").is_file() or not (folder / "report.json").is_file():
            run(
                sf("synth", "-o", str(folder), "-n", str(count), "--setting", "indoor", "--seed", str(seed))
                + size
                + workers,
                log,
            )
    if not (work / "qa_train" / "data.jsonl").is_file():
        run(
            sf("generate", "-s", str(work / "synth_train" / "scenes.jsonl"), "-o", str(work / "qa_train"))
            + ["--seed", "1"]
            + workers,
            log,
        )
    bench = work / "bench"
    if not (bench / "items.jsonl").is_file():
        run(
            sf("bench", "build", "-s", str(work / "synth_heldout" / "scenes.jsonl"), "-p", "hierarchy")
            + ["-o", str(bench), "--held-out", "--n-per-task", str(args.n_per_task), "--seed", "2"]
            + workers,
            log,
        )
    run(sf("bench", "pointmaps", str(bench)), log)
    # Exit 1 on any shared capture, scene or image: the held-out set must be unseen.
    run(sf("bench", "leakage", str(work / "qa_train"), str(bench), "-o", str(work / "leakage.json")), log)
    qa_lines = sum(1 for _ in open(work / "qa_train" / "data.jsonl", "rb"))
    items = sum(1 for _ in open(bench / "items.jsonl", "rb"))
    return {"train_scenes": args.train_scenes, "train_qa": qa_lines, "bench_items": items}


def sources(work: Path) -> list[dict[str, Any]]:
    spatial: dict[str, Any] = {
        "path": str(work / "qa_train"),
        "format": "engine",
        "scenes": str(work / "synth_train" / "scenes.jsonl"),
        "kind": "spatial",
        "name": "synthetic_qa",
    }
    general = {
        "path": str(work / "synth_train" / "scenes.jsonl"),
        "format": "general",
        "scenes": str(work / "synth_train" / "scenes.jsonl"),
        "kind": "general",
        "name": "synthetic_general",
    }
    return [spatial, general]


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """named_config options of the `small` model: its vision tower at --image-size (square, a multiple of the
    patch size; the point map follows the same size), its decoder at --text-width / --text-layers and the
    point-map tower's --geometry-norm. Empty at the config's own settings."""
    from spatialforge.models.config import named_config

    options: dict[str, Any] = {}
    if args.geometry_norm != "none":
        options["geometry"] = {"output_norm": args.geometry_norm}
    backbone = named_config("small").backbone
    vision, text = dict(backbone["vision"]), dict(backbone["text"])
    changed: dict[str, Any] = {}
    if args.image_size not in (None, vision["image_size"]):
        if args.image_size % vision["patch_size"]:
            raise SystemExit(
                f"--image-size {args.image_size} is not a multiple of the patch size {vision['patch_size']}"
            )
        changed["vision"] = {**vision, "image_size": args.image_size}
    # The decoder's size: on the H100 the `small` model used under 2 % of the device's FLOPs and the loader
    # bounded the run (docs/TRAINING.md), so a larger decoder should cost little time per sample there.
    sizes = {"width": args.text_width, "layers": args.text_layers}
    if any(value not in (None, text[key]) for key, value in sizes.items()):
        width = args.text_width or text["width"]
        if width % text["heads"]:
            raise SystemExit(f"--text-width {width} is not a multiple of the decoder's {text['heads']} heads")
        changed["text"] = {**text, **{key: value for key, value in sizes.items() if value is not None}}
    return {**options, "backbone": changed} if changed else options


def focus_tasks(args: argparse.Namespace) -> list[str]:
    """--tasks as a sorted list of single-view task names (empty: the full mix); unknown or multi-view names
    stop the script, since the benchmark holds the single-view tasks of levels 0-3 only."""
    from spatialforge.tasks.registry import TASKS

    names = sorted({t.strip() for t in (args.tasks or "").split(",") if t.strip()})
    wrong = [t for t in names if t not in TASKS or TASKS[t].scope != "view"]
    if wrong:
        single_view = ", ".join(n for n, spec in TASKS.items() if spec.scope == "view")
        raise SystemExit(f"--tasks: {', '.join(wrong)} not single-view tasks; choose from {single_view}")
    return names


def focus_key(args: argparse.Namespace) -> str:
    """The sub-folder of runs/, configs/ and evals/ for --tasks ("" for the full mix): readable and short."""
    names = focus_tasks(args)
    if not names:
        return ""
    digest = hashlib.sha1(",".join(names).encode()).hexdigest()[:8]
    return f"tasks-{len(names)}-{digest}"


def runs_root(args: argparse.Namespace, work: Path) -> Path:
    return work / "runs" / focus_key(args)


def evals_root(args: argparse.Namespace, work: Path) -> Path:
    return work / "evals" / focus_key(args)


def base_config(args: argparse.Namespace, work: Path, name: str) -> dict[str, Any]:
    """Shared by every arm: the small model, HiSpatial's task weights and 7:1 spatial:general mix, AdamW
    with a 1% warm-up and a constant rate (SPEC section 6), bf16 on CUDA; the lr is ours: HiSpatial's 2e-5
    fine-tunes a pretrained 3B model, a from-scratch 15M model needs a larger one."""
    tower = vision_pretrain_dir(args, work)
    model: dict[str, Any] = {"config": "small", "options": model_options(args)}
    if tower is not None:
        model["vision_weights"] = str(tower)
    if args.freeze_vision:
        model["freeze"] = ["vision"]
    focus = focus_tasks(args)
    task_weights: str | dict[str, float] = {f"task:{name}": 1.0 for name in focus} if focus else "hispatial"
    return {
        "name": name,
        "model": model,
        "data": {
            "sources": sources(work),
            "mixture": {
                "spatial_general_ratio": [7, 1],
                "task_weights": task_weights,
                "exclude_levels": [],
                "answer_balance": args.answer_balance,
            },
            "blank_inputs": False,
            "num_workers": args.loader_workers,
        },
        "optim": {
            "lr": args.lr,
            "weight_decay": 0.1,
            "warmup_fraction": 0.01,
            "schedule": args.schedule,
            # the parts that learn to see (from scratch) may need a larger rate than the decoder
            "lr_scale": dict.fromkeys(("vision", "geometry", "connector"), args.vision_lr_scale)
            if args.vision_lr_scale != 1.0
            else {},
        },
        "train": {
            "steps": args.steps,
            "global_batch": args.batch,
            "micro_batch": args.batch,
            "seed": 0,
            "precision": "auto",
        },
        "checkpoint": {"every": max(args.steps // 4, 1), "keep": 1},
        "log": {"every": max(args.steps // args.log_records, 1), "probe": args.probe},
    }


def arm_configs(args: argparse.Namespace, work: Path, arm: str) -> list[dict[str, Any]]:
    """The training runs of an arm, in order (two for the staged arms)."""
    config = base_config(args, work, arm)
    if arm == "blank":
        config["data"]["blank_inputs"] = True
    elif arm == "rgb":
        config["model"]["options"]["geometry"] = "none"
    elif arm == "relative_depth":  # keeps --geometry-norm
        options = config["model"]["options"]
        options["geometry"] = {**options.get("geometry", {}), "kind": "relative_depth"}
    elif arm == "no_l01":
        config["data"]["mixture"]["exclude_levels"] = [0, 1]
    elif arm in ("stage_3d_late", "stage_3d_early"):
        # Stage 1 (alignment) on general data (late) or general + level-1 probing data (early, SpatialLLM's
        # "3D-informed alignment"); a quarter of the steps. Stage 2 (instruction tuning): the same run as
        # `metric` but starting from stage 1's model. SpatialLLM freezes its pretrained language model in
        # stage 1; the `small` decoder starts random, and a frozen random decoder would leave stage 1 nothing
        # to align to, so here it trains in both stages and the arms differ only in stage 1's data.
        stage1 = base_config(args, work, f"{arm}_stage1")
        stage1["train"]["steps"] = max(args.steps // 4, 1)
        config["model"].pop("vision_weights", None)  # stage 2 starts from stage 1's model, tower included
        if arm == "stage_3d_late":
            stage1["data"]["mixture"]["spatial_general_ratio"] = [0, 1]
        else:
            # a task-weight dict draws only the tasks it names: the single-view level-1 (object probing) tasks
            from spatialforge.tasks.registry import TASKS

            probing = [name for name, spec in TASKS.items() if spec.level == 1 and spec.scope == "view"]
            stage1["data"]["mixture"]["task_weights"] = dict.fromkeys(probing, 1.0)
            stage1["data"]["mixture"]["spatial_general_ratio"] = [1, 1]
        stage1["checkpoint"]["every"] = stage1["train"]["steps"]
        config["model"]["config"] = str(runs_root(args, work) / f"{arm}_stage1" / "final")
        config["model"]["options"] = {}  # the saved stage-1 model fixes its own shape
        return [stage1, config]
    return [config]


def vision_pretrain_dir(args: argparse.Namespace, work: Path) -> Path | None:
    """The pretrained tower's folder for these settings (None without --vision-pretrain-steps)."""
    if not args.vision_pretrain_steps:
        return None
    size = f"_px{args.image_size}" if args.image_size else ""
    return work / f"vision_pretrain_{args.vision_pretrain_steps}x{args.vision_pretrain_batch}{size}"


def pretrain_tower(args: argparse.Namespace, work: Path, log: list[dict[str, Any]]) -> dict[str, Any] | None:
    """`pretrain-vision` on the training scenes (skipped when done); its summary, or None when off."""
    folder = vision_pretrain_dir(args, work)
    if folder is None:
        return None
    if not (folder / "pretrain.json").is_file():
        command = sf("pretrain-vision", "-s", str(work / "synth_train" / "scenes.jsonl"), "-o", str(folder))
        command += ["--steps", str(args.vision_pretrain_steps), "--batch", str(args.vision_pretrain_batch)]
        if args.image_size:
            command += ["--image-size", str(args.image_size)]
        run(command + ["--log-every", str(max(args.vision_pretrain_steps // 20, 1))], log)
    summary = json.loads((folder / "pretrain.json").read_text())
    kept = ("views", "skipped", "held_out_metrics", "wall_s")
    return {"folder": str(folder), **{k: summary[k] for k in kept}}


def train_arm(args: argparse.Namespace, work: Path, arm: str, log: list[dict[str, Any]]) -> dict[str, Any]:
    for config in arm_configs(args, work, arm):
        run_dir = runs_root(args, work) / config["name"]
        config_path = work / "configs" / focus_key(args) / f"{config['name']}.json"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(json.dumps(config, indent=2) + "\n")
        if not (run_dir / "final" / "config.json").is_file():
            run(sf("train", "--config", str(config_path), "--output", str(run_dir)), log)
    return arm_training(args, work, arm)


def arm_run_dirs(args: argparse.Namespace, work: Path, arm: str) -> list[Path]:
    """The output folders of an arm's training runs, in order (two for the staged arms)."""
    return [runs_root(args, work) / config["name"] for config in arm_configs(args, work, arm)]


def arm_training(args: argparse.Namespace, work: Path, arm: str) -> dict[str, Any]:
    """The training summary of an arm whose runs are finished in the work folder."""
    runs = arm_run_dirs(args, work, arm)
    summaries = [{"run": run_dir.name, **training_summary(run_dir / "log.jsonl")} for run_dir in runs]
    return {"runs": summaries, "model": str(runs_root(args, work) / arm / "final")}


# What pack_evals keeps of an evaluation folder: the model's replies, every item's score and the tables.
PACKED_EVAL_FILES = ("eval.json", "tables.json", "predictions.jsonl", "score/items.jsonl")


def pack_evals(evals: Path, names: list[str], archive: Path) -> list[str]:
    """One gzipped tar of the named evaluations' PACKED_EVAL_FILES (paths <name>/<file>), for a machine that
    hands back few files: per-item scores and replies, for paired and per-reply analysis elsewhere. Returns
    the members written."""
    members = []
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name in names:
            for relative in PACKED_EVAL_FILES:
                path = evals / name / relative
                if path.is_file():
                    tar.add(path, arcname=f"{name}/{relative}")
                    members.append(f"{name}/{relative}")
    return members


def sibling_arms(args: argparse.Namespace, work: Path, results: dict[str, Any]) -> list[str]:
    """Add to `results` the arms that other invocations finished in this work folder (trained and
    evaluated) and this one did not run; their names. Arms are run side by side as separate invocations, so
    the last to finish records the whole comparison, the paired one included, from the per-item scores on
    this machine."""
    adopted = []
    for arm in (arm for arm in ARMS if arm not in results):
        tables = evals_root(args, work) / arm / "tables.json"
        runs = arm_run_dirs(args, work, arm)
        if not tables.is_file() or not all((run / "final" / "config.json").is_file() for run in runs):
            continue
        results[arm] = {
            "training": arm_training(args, work, arm),
            "tables": json.loads(tables.read_text()),
            "from_work_folder": True,  # run by another invocation; its command is in that one's record
        }
        adopted.append(arm)
    return adopted


def training_summary(log_path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "loss" in r]
    if not rows:
        return {}
    tail = rows[len(rows) * 3 // 4 :]  # the last quarter: steady state, warm-up and compilation excluded

    def median(key: str) -> float | None:
        values = sorted(r[key] for r in tail if r.get(key) is not None)
        return values[len(values) // 2] if values else None

    return {
        "steps": rows[-1]["step"],
        "first_loss": rows[0]["loss"],
        "final_loss": rows[-1]["loss"],
        "median_tokens_per_s": median("tokens_per_s"),
        "median_samples_per_s": median("samples_per_s"),
        "median_mfu": median("mfu"),
        "loss_curve": [[r["step"], round(r["loss"], 4)] for r in rows[:: max(len(rows) // 25, 1)]],
        **probe_summary(rows),
    }


def probe_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The input probe's gain (train/probe.py) over the run, overall and per level: the first sign that an
    arm reads its images and point maps, long before the benchmark can tell it from the blank arm."""
    probed = [r for r in rows if "probe" in r]
    if not probed:
        return {}

    def gains(record: dict[str, Any]) -> dict[str, float]:
        probe = record["probe"]
        return {"all": round(probe["gain"], 4)} | {
            level: round(v["gain"], 4) for level, v in probe["by_level"].items()
        }

    return {
        "probe_examples": probed[-1]["probe"]["examples"],
        "final_input_gain": gains(probed[-1]),
        "input_gain_curve": [[r["step"], gains(r)] for r in probed[:: max(len(probed) // 25, 1)]],
    }


def evaluate(args: argparse.Namespace, work: Path, name: str, model: str, log: list[dict[str, Any]]) -> Path:
    out = evals_root(args, work) / name
    if not (out / "tables.json").is_file():
        only = [part for task in focus_tasks(args) for part in ("--task", task)]
        run(
            sf("eval", "-b", str(work / "bench"), "-m", model, "-o", str(out))
            + ["--prompt-style", "plain", "--max-new-tokens", "64", "--no-report", "--no-progress"]
            + only,
            log,
        )
    return out / "tables.json"


def model_spec(args: argparse.Namespace, work: Path, arm: str, device: str) -> str:
    final = runs_root(args, work) / arm / "final"
    extra = f",device={device},batch_size={args.eval_batch}"
    if arm == "blank":
        return f"spatialforge:{final},blank=true{extra}"
    if arm == "rgb":
        return f"spatialforge:{final}{extra}"
    return f"spatialforge:{final},pointmaps={work / 'bench' / 'pointmaps'}{extra}"


def level_rows(tables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"L{row['level']}": row for row in tables["levels"] if row["level"] is not None}


def compare(results: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """Per level: is a's 95% CI entirely above b's?"""
    if a not in results or b not in results:
        return {}
    la, lb = level_rows(results[a]["tables"]), level_rows(results[b]["tables"])
    out = {}
    for level in sorted(la):
        ca, cb = la[level]["ci"], lb[level]["ci"]
        out[level] = {
            a: la[level]["score"],
            b: lb[level]["score"],
            f"{a}_ci": ca,
            f"{b}_ci": cb,
            "non_overlapping_above": bool(ca[0] > cb[1]),
        }
    return out


def compare_tasks(results: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """Per task: a's and b's scores with CIs, whether a's CI lies above b's, the best reference row (chance
    or the blind text prior) - an arm ahead of b but not of that row has no skill on the task yet, only b's
    deficit - and each arm's replies the parser could not read as one answer (`unread`: ambiguous, such as a
    letter with another option's text, no answer, refusals), which score 0 and can put an arm below chance."""
    if a not in results or b not in results:
        return {}

    def by_task(name: str) -> dict[str, dict[str, Any]]:
        return {row["task"]: row for row in results[name]["tables"]["tasks"]} if name in results else {}

    ta, tb = by_task(a), by_task(b)
    references = {name: by_task(name) for name in ("chance", "blind")}
    out = {}
    for task in sorted(set(ta) & set(tb), key=lambda t: (ta[t]["level"], t)):
        ra, rb = ta[task], tb[task]
        shown = {name: rows[task]["score"] for name, rows in references.items() if task in rows}
        best = max(shown, key=shown.__getitem__) if shown else None
        out[task] = {
            "level": ra["level"],
            a: ra["score"],
            b: rb["score"],
            f"{a}_ci": ra["ci"],
            f"{b}_ci": rb["ci"],
            "non_overlapping_above": bool(ra["ci"][0] > rb["ci"][1]),
            "best_reference": best,
            "best_reference_score": shown[best] if best else None,
            f"{a}_unread": unread(ra),
            f"{b}_unread": unread(rb),
        }
    return out


def unread(row: dict[str, Any]) -> int:
    """Replies of a task row whose parse status is not "ok" (the harness's parse_status counts)."""
    return sum(n for status, n in (row.get("parse_status") or {}).items() if status != "ok")


def paired_levels(evals: Path, results: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """Per level: a - b over the items both arms answered, with the paired percentile-bootstrap 95% CI of
    the harness's comparison (evaluate.report.compare: items resampled with both arms' scores kept
    together). Pairing removes the spread of item difficulty that two separate CIs count twice, so it is the
    sharper test; the acceptance bar itself is the separate CIs (`compare`)."""
    from spatialforge.evaluate.report.compare import compare_runs

    folders = [evals / arm for arm in (b, a)]
    if a not in results or b not in results or not all((f / "eval.json").is_file() for f in folders):
        return {}  # an arm kept from an earlier invocation on another machine: no evaluation folder here
    pair = compare_runs(folders, labels=[b, a])["pairs"][0]
    return {
        f"L{row['level']}": {
            "n": row["n"],
            f"{a}_minus_{b}": row["diff"],
            "ci": row["ci"],
            "above_zero": bool(row["ci"] and row["ci"][0] > 0),
        }
        for row in pair["levels"]
        if row["level"] is not None
    }


def child_argv(argv: list[str], arm: str, out: Path) -> list[str]:
    """This invocation's arguments for one arm of --side-by-side: --arms ARM --out OUT, without
    --side-by-side and without --pack-evals (the parent packs once all arms are done; both "--name value" and
    "--name=value" forms are handled)."""
    replaced = {"--arms": arm, "--out": str(out)}
    dropped_with_value = {"--pack-evals"}
    kept: list[str] = []
    skip_value = False
    for token in argv:
        if skip_value:
            skip_value = False
            continue
        name = token.split("=", 1)[0]
        if name == "--side-by-side":
            continue
        if name in replaced or name in dropped_with_value:
            skip_value = "=" not in token
            continue
        kept.append(token)
    return kept + [item for pair in replaced.items() for item in pair]


def run_side_by_side(args: argparse.Namespace, arms: list[str], log: list[dict[str, Any]]) -> None:
    """Train and evaluate the arms at once, one child invocation each (the way runs B-D shared one GPU),
    each with its own record OUT.ARM.json and output log in the work folder; stop if any fails. Their
    commands join this record's log; their results are adopted from the work folder (sibling_arms)."""
    children = []
    for arm in arms:
        out = args.out.with_name(f"{args.out.stem}.{arm}.json")
        command = [sys.executable, str(Path(__file__).resolve()), *child_argv(sys.argv[1:], arm, out)]
        output = args.work / f"side_by_side_{arm}.log"
        print(f"$ {shlex.join(command)}  > {output}", flush=True)
        with open(output, "w") as handle:
            process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        children.append((arm, out, output, process))
    try:
        failed = [(arm, output) for arm, _, output, process in children if process.wait() != 0]
    finally:  # stopped here (Ctrl-C, a time limit): stop the arms too rather than leave them training
        for _, _, _, process in children:
            if process.poll() is None:
                process.terminate()
    for _, out, _, _ in children:
        if out.is_file():
            log.extend(json.loads(out.read_text()).get("commands", []))
    if failed:
        names = ", ".join(f"{arm} (output: {output})" for arm, output in failed)
        raise SystemExit(f"side-by-side arm(s) failed: {names}")


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["cpus"] = os.cpu_count()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True, help="Working folder (resumable).")
    parser.add_argument("--train-scenes", type=int, default=4000)
    parser.add_argument("--bench-scenes", type=int, default=400)
    parser.add_argument("--n-per-task", type=int, default=100)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=120)
    parser.add_argument("--image-size", type=int, default=None, help="Model input size (small: 96 px).")
    parser.add_argument(
        "--text-width", type=int, default=None, help="Decoder width (small: 256; a multiple of its 4 heads)."
    )
    parser.add_argument("--text-layers", type=int, default=None, help="Decoder layers (small: 4).")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--schedule", default="cosine", choices=("constant", "cosine"), help="After warm-up.")
    parser.add_argument(
        "--vision-lr-scale",
        type=float,
        default=1.0,
        help="lr multiplier of the vision tower, point-map tower and connector (optim.lr_scale).",
    )
    parser.add_argument(
        "--geometry-norm",
        default="none",
        choices=("none", "layernorm"),
        help="The point-map tower's output norm (model geometry.output_norm; none = HiSpatial's).",
    )
    parser.add_argument(
        "--answer-balance",
        type=float,
        default=0.0,
        help="Mixture answer_balance: categorical answer classes drawn with weight mass^(1 - b) per task and "
        "format (0: as generated; 1: every class equally; docs/TRAINING.md).",
    )
    parser.add_argument(
        "--probe",
        type=int,
        default=256,
        help="Examples of the input probe scored at every log step (log.probe; 0: off).",
    )
    parser.add_argument(
        "--vision-pretrain-steps",
        type=int,
        default=0,
        help="Pretrain the ViT on per-patch targets of the training scenes first (pretrain-vision; 0: off).",
    )
    parser.add_argument("--vision-pretrain-batch", type=int, default=128)
    parser.add_argument(
        "--freeze-vision", action="store_true", help="Keep the vision tower frozen while the arms train."
    )
    parser.add_argument(
        "--log-records", type=int, default=100, help="Log records (and probe evaluations) per training run."
    )
    parser.add_argument("--workers", type=int, default=2, help="Processes for synth / generate / build.")
    parser.add_argument("--loader-workers", type=int, default=2, help="Data-loader processes per run.")
    parser.add_argument("--device", default="auto", help="Evaluation device (auto: cuda when available).")
    parser.add_argument("--eval-batch", type=int, default=64)
    parser.add_argument(
        "--tasks",
        default="",
        help="Comma list of single-view tasks: train on these alone (equal weights, same general share) and "
        "score only them (runs/, evals/ sub-folder per list).",
    )
    parser.add_argument("--arms", default="metric,blank", help=f"Comma list of {', '.join(ARMS)}.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--pack-evals",
        type=Path,
        default=None,
        help="At the end, write every evaluation's replies, item scores and tables to this .tar.gz "
        "(one file to bring back from a remote machine).",
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="After the shared steps, run the arms at once, one process each (one GPU shared; set "
        "--loader-workers to about the cores / arms).",
    )
    args = parser.parse_args()
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    focus_tasks(args)  # stops on an unknown task before any work
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        parser.error(f"unknown arms {unknown}; choose from {', '.join(ARMS)}")
    device = args.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    log: list[dict[str, Any]] = []
    record: dict[str, Any] = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    if args.out.is_file():  # arms from earlier invocations (another machine call) are kept
        previous = json.loads(args.out.read_text())
        record["results"] = previous.get("results", {})
        record["earlier_commands"] = previous.get("earlier_commands", []) + previous.get("commands", [])
    results: dict[str, Any] = record.setdefault("results", {})
    earlier_commands = record.get("earlier_commands", [])

    def save() -> None:
        """Written after every step: a run stopped at a time limit keeps what it finished."""
        record["commands"] = log
        record["earlier_commands"] = earlier_commands
        record["metric_vs_blank"] = compare(results, "metric", "blank")
        record["metric_vs_blank_tasks"] = compare_tasks(results, "metric", "blank")
        record["metric_vs_rgb"] = compare(results, "metric", "rgb")
        record["metric_vs_blank_paired"] = paired_levels(evals_root(args, work), results, "metric", "blank")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n")

    # Reference rows: chance, the benchmark's answer distribution (an oracle) and a text-only prior fitted on
    # the training QA (what the question text and the training answers give without any learning).
    references = {
        "chance": "chance",
        "frequency": "frequency",
        "blind": f"blind:prior={work / 'qa_train' / 'data.jsonl'}",
    }
    with exclusive(work / ".shared_steps.lock"):
        record["data"] = make_data(args, work, log)
        record["vision_pretrain"] = pretrain_tower(args, work, log)
        for baseline, spec in references.items():
            tables = evaluate(args, work, baseline, spec, log)
            results[baseline] = {"tables": json.loads(tables.read_text())}
    save()
    if args.side_by_side and len(arms) > 1:
        run_side_by_side(args, arms, log)
        arms = []  # done by the children; adopted below
    for arm in arms:
        trained = train_arm(args, work, arm, log)
        tables = evaluate(args, work, arm, model_spec(args, work, arm, device), log)
        results[arm] = {"training": trained, "tables": json.loads(tables.read_text())}
        save()
    if sibling_arms(args, work, results):
        save()
    if args.pack_evals is not None:
        packed = pack_evals(evals_root(args, work), sorted(results), args.pack_evals)
        print(f"packed {len(packed)} files of {len(results)} evaluations into {args.pack_evals}")
    for name, result in results.items():
        levels = level_rows(result["tables"])
        cells = "  ".join(
            f"{k} {v['score'] * 100:5.1f} [{v['ci'][0] * 100:.1f}, {v['ci'][1] * 100:.1f}]"
            for k, v in sorted(levels.items())
        )
        print(f"{name:16s} {cells}")
    for task, row in record["metric_vs_blank_tasks"].items():
        scores = f"metric {row['metric'] * 100:5.1f}  blank {row['blank'] * 100:5.1f}"
        best = row["best_reference"]
        reference = f"  {best} {row['best_reference_score'] * 100:5.1f}" if best else ""
        unread_counts = f"  unread {row['metric_unread']} / {row['blank_unread']}"
        print(f"L{row['level']} {task:28s} {scores}{reference}{unread_counts}")
    print(json.dumps(record["metric_vs_blank"], indent=1))


if __name__ == "__main__":
    main()
