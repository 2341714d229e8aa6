"""`spatialforge train`: train a spatial VLM from a recipe or config file (spatialforge.train.trainer).

Launch with torchrun / accelerate for several processes; the command is the same:
`torchrun --nproc_per_node 8 -m spatialforge.cli.main train --config hispatial --output runs/h ...`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from spatialforge.cli.shared import console, fail
from spatialforge.errors import RecordError


def train_command(
    config: str = typer.Option(
        ..., "--config", "-c", help="A recipe name (hispatial, spatialllm_stage0/1/2) or a JSON config file."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Run folder: logs, checkpoints, final/."),
    set_: list[str] = typer.Option(
        None,
        "--set",
        help="Dotted override, JSON value: train.steps=100, data.sources='[{...}]'; repeatable.",
    ),
    no_resume: bool = typer.Option(
        False, "--no-resume", help="Start afresh even if OUTPUT has checkpoints (they are deleted)."
    ),
    allow_config_change: bool = typer.Option(
        False, "--allow-config-change", help="Resume even though the config differs from the saved one."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-step progress lines."),
) -> None:
    """Train a spatial VLM on engine output: task-mixture sampling, frozen components, LoRA, checkpoints with
    exact resume, DDP / FSDP under torchrun."""
    import os

    from spatialforge.train.config import load_config
    from spatialforge.train.trainer import train

    main_rank = os.environ.get("RANK", "0") == "0"

    def show(record: dict[str, Any]) -> None:
        rate = record["samples_per_s"]
        mfu = f" mfu {record['mfu']:.1%}" if record.get("mfu") is not None else ""
        # the input probe's gain (train/probe.py): > 0 once answers depend on the images and point maps
        probe = f"  input gain {record['probe']['gain']:+.4f}" if "probe" in record else ""
        console.print(
            f"step {record['step']}  loss {record['loss']:.4f}  lr {record['lr']:.2e}  "
            f"grad {record['grad_norm']:.3f}  {rate:.1f} samples/s{mfu}{probe}"
            if rate is not None
            else f"step {record['step']}  loss {record['loss']:.4f}",
            highlight=False,
        )

    try:
        resolved = load_config(config, overrides=set_ or [])
        result = train(
            resolved,
            output,
            resume=not no_resume,
            allow_config_change=allow_config_change,
            on_log=None if quiet or not main_rank else show,
        )
    except (RecordError, ValueError, OSError) as error:
        fail(error)
    if main_rank:
        if result.resumed_from is not None:
            console.print(f"resumed from step {result.resumed_from}")
        console.print(
            f"trained to step {result.steps}; log {result.log_path}; model {result.final_model_dir}"
        )


def pretrain_vision_command(
    scenes: list[Path] = typer.Option(
        ..., "--scenes", "-s", help="scenes.jsonl with instance masks (spatialforge synth); repeatable."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder: vision.safetensors, pretrain.json, log."
    ),
    model: str = typer.Option("small", "--model", help="Named model config whose vision tower trains."),
    image_size: int = typer.Option(None, "--image-size", help="Tower input size (default: the config's)."),
    steps: int = typer.Option(2000, "--steps"),
    batch: int = typer.Option(128, "--batch"),
    lr: float = typer.Option(1e-3, "--lr"),
    holdout: float = typer.Option(0.05, "--holdout", help="Share of scenes held out for the final metrics."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto (cuda when available), cpu, cuda:N."),
    log_every: int = typer.Option(50, "--log-every", help="Steps per log record."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
) -> None:
    """Pretrain the small model's vision tower on per-patch targets (object category, log depth, facing)
    from synthetic scenes; load it for training with --set model.vision_weights=OUTPUT."""
    from spatialforge.models.config import named_config
    from spatialforge.train.vision_pretrain import PretrainConfig, pretrain_vision

    def show(record: dict[str, Any]) -> None:
        rate = record["samples_per_s"]
        console.print(
            f"step {record['step']}  loss {record['loss']:.4f}  (category {record['category_loss']:.3f}  "
            f"depth {record['depth_loss']:.3f}  facing {record['facing_loss']:.3f})  lr {record['lr']:.2e}"
            + (f"  {rate:.0f} views/s" if rate else ""),
            highlight=False,
        )

    try:
        options: dict[str, Any] = {}
        if image_size is not None:
            vision = dict(named_config(model).backbone.get("vision", {}))
            options = {"backbone": {"vision": {**vision, "image_size": image_size}}}
        config = PretrainConfig(
            scenes=tuple(str(s) for s in scenes),
            model=model,
            options=options,
            steps=steps,
            batch=batch,
            lr=lr,
            holdout_fraction=holdout,
            seed=seed,
            device=device,
            log_every=log_every,
        )
        summary = pretrain_vision(config, output, on_log=None if quiet else show)
    except (RecordError, ValueError, OSError) as error:
        fail(error)
    metrics = summary["held_out_metrics"]
    console.print(
        f"views {summary['views']['train']} train / {summary['views']['held_out']} held out; "
        f"skipped {summary['skipped'] or 'none'}; held-out {json.dumps(metrics)}; "
        f"tower {output / 'vision.safetensors'}",
        highlight=False,
        soft_wrap=True,
    )
