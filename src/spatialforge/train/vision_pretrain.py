"""Dense 3D-informed pretraining of the `small` family's vision tower (`spatialforge pretrain-vision`).

Why: the papers build on pretrained encoders (HiSpatial: SigLIP, frozen; SpatialLLM: CLIP / DINOv2), whose
patch features already say what is where. The `small` model trains its ViT from scratch, and a tower that
learns only from answer tokens learns to see slowly: in the proof runs (docs/TRAINING.md) the metric and
blank arms tied, the image barely lowering the loss. This step gives the tower what a pretrained encoder
brings, from scenes that have it exactly: per patch, the category of the object there, its log depth and
the way it faces (train/dense_targets.py; SpatialLLM s3.3 stage 0 injects the same object depth and 3D
viewpoint into the encoder, with next-token prediction instead of dense heads).

What it does: views of the given scenes (with instance masks: synthetic scenes) are resized once through the
tower's own ImageTransform and turned into patch targets (cached in OUTPUT/targets.npz); a fresh ViT (seeded)
and three linear heads train with AdamW (warm-up, cosine) on cross-entropy (category) + smooth-L1 (log
depth) + squared error (unit facing), masked where a target is undefined. A fixed share of scenes (chosen by
a hash of the scene id) is held out and scored at the end: patch accuracy, accuracy on object patches, depth
AbsRel and the median facing error.

Outputs (OUTPUT/): vision.safetensors (the tower's state dict; its settings in the file's metadata),
heads.safetensors, pretrain.json (config, category vocabulary, counts, skips by reason, held-out metrics,
machine), log.jsonl. The trainer loads the tower with model.vision_weights (train/config.py); a model built
from the same named config otherwise keeps its own seeded weights. A rerun with the same config and a
complete OUTPUT does nothing; the job is minutes long, so it has no checkpoints of its own.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from spatialforge.errors import RecordError
from spatialforge.models.image_transform import ImageTransform
from spatialforge.scene.depth import load_depth
from spatialforge.scene.io import iter_scene_lines
from spatialforge.scene.records import Scene
from spatialforge.train.data import open_image
from spatialforge.train.dense_targets import (
    category_vocabulary,
    instance_table,
    patch_targets,
    read_instance_mask,
    resolve_asset,
)
from spatialforge.train.trainer import scheduled_lr

VISION_FILE = "vision.safetensors"
HEADS_FILE = "heads.safetensors"
SUMMARY_FILE = "pretrain.json"
TARGETS_FILE = "targets.npz"
LOG_FILE = "log.jsonl"
WEIGHTS_FORMAT = "spatialforge.vision_tower/1"
# ViT settings that fix the shapes of its weights: a file saved with other values cannot load.
SHAPE_SETTINGS = ("image_size", "patch_size", "width", "layers", "heads", "mlp_ratio")


@dataclass(frozen=True)
class PretrainConfig:
    """scenes: scenes.jsonl files; model / options: the named model config whose vision tower trains (and
    named_config overrides, e.g. {"backbone": {"vision": {..., "image_size": 128}}}); loss_weights: category,
    depth, facing; holdout_fraction: share of scenes held out for the final metrics."""

    scenes: tuple[str, ...]
    model: str = "small"
    options: dict[str, Any] = field(default_factory=dict)
    steps: int = 2000
    batch: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_fraction: float = 0.02
    loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    holdout_fraction: float = 0.05
    seed: int = 0
    device: str = "auto"
    log_every: int = 50

    def __post_init__(self) -> None:
        object.__setattr__(self, "scenes", tuple(str(s) for s in self.scenes))
        object.__setattr__(self, "loss_weights", tuple(float(w) for w in self.loss_weights))
        if not self.scenes:
            raise ValueError("scenes: give at least one scenes.jsonl")
        for name in ("steps", "batch", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise ValueError(f"holdout_fraction must be in [0, 1), got {self.holdout_fraction}")
        if len(self.loss_weights) != 3 or min(self.loss_weights) < 0 or sum(self.loss_weights) == 0:
            raise ValueError(f"loss_weights must be 3 non-negative numbers, not all 0: {self.loss_weights}")
        if not (self.lr > 0 and self.weight_decay >= 0 and 0 <= self.warmup_fraction < 1):
            raise ValueError("lr must be > 0, weight_decay >= 0 and warmup_fraction in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


@dataclass
class ViewTargets:
    """N views: pixels (N, S, S, 3) uint8; category (N, G, G) int64; log_depth (N, G, G) float32 (NaN: none);
    facing (N, G, G, 2) float32 (NaN: none); held_out (N,) bool; vocabulary; skipped: reason -> views."""

    pixels: np.ndarray
    category: np.ndarray
    log_depth: np.ndarray
    facing: np.ndarray
    held_out: np.ndarray
    vocabulary: tuple[str, ...]
    skipped: dict[str, int]


def shape_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The ViT settings that fix its weights' shapes (mlp_ratio at ViTEncoder's default when unset)."""
    return {key: settings.get(key, 4.0 if key == "mlp_ratio" else None) for key in SHAPE_SETTINGS}


def vision_tower(model: str, options: dict[str, Any]) -> nn.Module:
    """A fresh ViTEncoder of the named config's vision settings (call after seeding torch)."""
    from spatialforge.models.backbones.small import ViTEncoder
    from spatialforge.models.config import named_config

    config = named_config(model, **options)
    if config.family != "small":
        raise ValueError(
            f"model {model!r} is of the {config.family!r} family; pretrain-vision trains the small family's "
            "from-scratch ViT (other families come with a pretrained vision tower)"
        )
    return ViTEncoder(dict(config.backbone["vision"]))


def held_out_scene(scene_id: str, fraction: float) -> bool:
    """Whether a scene is in the held-out share: a hash of its id, so the split does not depend on order."""
    digest = hashlib.sha256(scene_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _iter_scenes(paths: Sequence[str], skipped: Counter) -> list[Scene]:
    scenes = []
    for path in paths:
        for item in iter_scene_lines(path):
            if isinstance(item, RecordError):
                skipped[f"scene_{item.reason}"] += 1
            else:
                scenes.append(item)
    return scenes


def build_targets(config: PretrainConfig, transform: ImageTransform, grid: tuple[int, int]) -> ViewTargets:
    """Every view of the config's scenes as pixels and patch targets; a view that cannot give them is
    skipped and counted by reason (no instance mask, unreadable files, wrong sizes)."""
    skipped: Counter = Counter()
    scenes = _iter_scenes(config.scenes, skipped)
    vocabulary = category_vocabulary([obj.category for scene in scenes for obj in scene.objects])
    index = {name: i for i, name in enumerate(vocabulary)}
    pixels, categories, depths, facings, held = [], [], [], [], []
    for scene in scenes:
        out = held_out_scene(scene.scene_id, config.holdout_fraction)
        for view in scene.views:
            try:
                mask = read_instance_mask(scene, view)
                field = f"views[{view.view_id}].image_path"
                path = resolve_asset(scene, view.image_path, field)
                image = open_image(path, record=scene.scene_id, field=field)
                depth = load_depth(scene, view) if view.depth is not None else None
                sizes = {image.size[::-1], mask.shape, *(() if depth is None else (depth.shape,))}
                if len(sizes) > 1:  # (H, W) of the image, the mask and the depth
                    raise RecordError(
                        "wrong_shape", f"image, mask and depth sizes differ: {sizes}", file=str(path)
                    )
                by_instance, facing_by_instance = instance_table(scene, view, index)
                targets = patch_targets(mask, depth, by_instance, facing_by_instance, transform, grid)
            except RecordError as error:
                skipped[error.reason] += 1
                continue
            pixels.append(transform.resized(image))
            categories.append(targets.category)
            depths.append(targets.log_depth)
            facings.append(targets.facing)
            held.append(out)
    if not pixels:
        raise ValueError(
            f"no view of {', '.join(config.scenes)} gives pretraining targets; skipped: {dict(skipped)} "
            "(pretrain-vision needs instance masks: scenes from `spatialforge synth`)"
        )
    size = transform.size
    return ViewTargets(
        pixels=np.stack(pixels).reshape(-1, size, size, 3),
        category=np.stack(categories),
        log_depth=np.stack(depths),
        facing=np.stack(facings),
        held_out=np.asarray(held, dtype=bool),
        vocabulary=vocabulary,
        skipped=dict(sorted(skipped.items())),
    )


def save_targets(path: Path, targets: ViewTargets, key: str) -> None:
    """The targets as an .npz (arrays only: read back with allow_pickle=False) plus their config key."""
    meta = json.dumps({"key": key, "vocabulary": targets.vocabulary, "skipped": targets.skipped})
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        pixels=targets.pixels,
        category=targets.category,
        log_depth=targets.log_depth,
        facing=targets.facing,
        held_out=targets.held_out,
        meta=np.frombuffer(meta.encode(), dtype=np.uint8),
    )
    tmp.replace(path)


def load_targets(path: Path, key: str) -> ViewTargets | None:
    """The cached targets when they were built for `key`, else None."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        if meta.get("key") != key:
            return None
        return ViewTargets(
            pixels=data["pixels"],
            category=data["category"],
            log_depth=data["log_depth"],
            facing=data["facing"],
            held_out=data["held_out"],
            vocabulary=tuple(meta["vocabulary"]),
            skipped=dict(meta["skipped"]),
        )


class DenseHeads(nn.Module):
    """Linear read-outs of the (M, T, C) patch features: category logits (M, T, V), log depth (M, T), unit
    facing (M, T, 2)."""

    def __init__(self, width: int, categories: int) -> None:
        super().__init__()
        self.category = nn.Linear(width, categories)
        self.depth = nn.Linear(width, 1)
        self.facing = nn.Linear(width, 2)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.category(features), self.depth(features).squeeze(-1), self.facing(features)


def dense_losses(
    outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    category: torch.Tensor,
    log_depth: torch.Tensor,
    facing: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-target mean losses over defined targets (0 when none is defined): category (M, T) int64,
    log_depth (M, T) and facing (M, T, 2) with NaN where undefined."""
    logits, depth_pred, facing_pred = (o.float() for o in outputs)
    category_loss = functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), category.reshape(-1))
    # masked means without a host sync: undefined targets are zeroed and weigh 0
    has_depth = torch.isfinite(log_depth)
    depth_error = functional.smooth_l1_loss(
        depth_pred, torch.nan_to_num(log_depth), reduction="none"
    )  # (M, T)
    depth_loss = (depth_error * has_depth).sum() / has_depth.sum().clamp(min=1)
    has_facing = torch.isfinite(facing[..., 0])
    facing_error = ((facing_pred - torch.nan_to_num(facing)) ** 2).mean(-1)  # (M, T)
    facing_loss = (facing_error * has_facing).sum() / has_facing.sum().clamp(min=1)
    return category_loss, depth_loss, facing_loss


def _lr(step: int, config: PretrainConfig) -> float:
    """Linear warm-up over at least one step, then cosine to 0 (the trainer's scheduled_lr)."""
    warmup = max(int(config.warmup_fraction * config.steps), 1)
    return scheduled_lr(step, lr=config.lr, steps=config.steps, warmup=warmup, cosine=True)


def _batch(
    targets: ViewTargets, rows: np.ndarray, transform: ImageTransform, device: torch.device
) -> tuple[torch.Tensor, ...]:
    size = transform.size
    pixels = np.empty((len(rows), 3, size, size), dtype=np.float32)
    for slot, row in enumerate(rows):
        transform.normalise_into(targets.pixels[row], pixels[slot])
    flat = len(rows), -1
    return (
        torch.from_numpy(pixels).to(device),
        torch.from_numpy(targets.category[rows].reshape(flat)).to(device),
        torch.from_numpy(targets.log_depth[rows].reshape(flat)).to(device),
        torch.from_numpy(targets.facing[rows].reshape(len(rows), -1, 2)).to(device),
    )


@torch.no_grad()
def evaluate(
    tower: nn.Module,
    heads: DenseHeads,
    targets: ViewTargets,
    rows: np.ndarray,
    transform: ImageTransform,
    device: torch.device,
    batch: int = 256,
) -> dict[str, Any]:
    """Held-out metrics over `rows`: patch_accuracy, object_patch_accuracy (patches whose target is an
    object), depth_abs_rel (mean |d - d*| / d* over patches with depth), facing_median_error_deg."""
    if len(rows) == 0:
        return {"views": 0}
    was_training = tower.training
    tower.eval()
    heads.eval()
    correct = total = object_correct = object_total = 0
    abs_rel: list[torch.Tensor] = []
    angles: list[torch.Tensor] = []
    for start in range(0, len(rows), batch):
        pixels, category, log_depth, facing = _batch(targets, rows[start : start + batch], transform, device)
        logits, depth_pred, facing_pred = (o.float() for o in heads(tower(pixels)))
        predicted = logits.argmax(-1)
        correct += int((predicted == category).sum())
        total += category.numel()
        on_object = category != 0
        object_correct += int((predicted[on_object] == category[on_object]).sum())
        object_total += int(on_object.sum())
        has_depth = torch.isfinite(log_depth)
        truth = log_depth[has_depth].exp()
        abs_rel.append(((depth_pred[has_depth].exp() - truth).abs() / truth).cpu())
        has_facing = torch.isfinite(facing[..., 0])
        a, b = facing_pred[has_facing], facing[has_facing]
        angles.append(torch.rad2deg(torch.atan2(a[:, 1], a[:, 0]) - torch.atan2(b[:, 1], b[:, 0])).cpu())
    tower.train(was_training)
    heads.train(was_training)
    depth_errors = torch.cat(abs_rel)
    wrapped = (torch.cat(angles) + 180.0) % 360.0 - 180.0  # signed error in (-180, 180]
    return {
        "views": len(rows),
        "patch_accuracy": correct / total,
        "object_patch_accuracy": object_correct / object_total if object_total else None,
        "depth_abs_rel": float(depth_errors.mean()) if depth_errors.numel() else None,
        "facing_median_error_deg": float(wrapped.abs().median()) if wrapped.numel() else None,
    }


def _state_dict_cpu(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}


def save_vision_tower(tower: nn.Module, path: Path, extra: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    metadata = {"format": WEIGHTS_FORMAT, "settings": json.dumps(shape_settings(tower.settings)), **extra}
    tmp = path.with_suffix(".tmp")
    save_file(_state_dict_cpu(tower), str(tmp), metadata=metadata)
    tmp.replace(path)


def load_vision_tower(model: nn.Module, path: str | Path) -> None:
    """Load a `pretrain-vision` tower (vision.safetensors, or its folder) into `model`'s vision tower:
    a SpatialVLM of the small family with the same vision shape settings. ValueError naming the file and the
    differing setting otherwise."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if path.is_dir():
        path = path / VISION_FILE
    if not path.is_file():
        raise ValueError(f"model.vision_weights: no file {path}")
    tower = getattr(getattr(model, "backbone", None), "vision", None)
    settings = getattr(tower, "settings", None)
    if tower is None or settings is None:
        raise ValueError(
            f"model.vision_weights: {path} is a small-family ViT; this model's backbone has no such tower"
        )
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        saved = json.loads(metadata.get("settings", "{}"))
    except (OSError, ValueError, SafetensorError) as error:  # JSONDecodeError is a ValueError
        raise ValueError(f"model.vision_weights: cannot read {path}: {error}") from None
    if metadata.get("format") != WEIGHTS_FORMAT:
        raise ValueError(
            f"model.vision_weights: {path} is not a pretrain-vision tower (format {WEIGHTS_FORMAT})"
        )
    model_shape = shape_settings(settings)
    for key, value in saved.items():
        if model_shape.get(key) != value:
            raise ValueError(
                f"model.vision_weights: {path} has vision.{key} = {value!r}, the model has "
                f"{model_shape.get(key)!r}"
            )
    state = load_file(str(path))
    try:
        tower.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(f"model.vision_weights: {path} does not fit the vision tower: {error}") from None


def _machine(device: torch.device) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "threads": torch.get_num_threads(),
    }


def pretrain_vision(
    config: PretrainConfig, output: Path, on_log: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Run the pretraining (see the module docstring); returns the summary written to pretrain.json."""
    output.mkdir(parents=True, exist_ok=True)
    settings = config.to_dict()
    summary_path = output / SUMMARY_FILE
    if summary_path.is_file() and (output / VISION_FILE).is_file():
        done = json.loads(summary_path.read_text())
        if done.get("config") == settings:
            return done
    torch.manual_seed(config.seed)
    tower = vision_tower(config.model, config.options)
    transform: ImageTransform = tower.image_transform
    grid = tuple(tower.grid)
    # the targets depend on the views, the tower's input plan and the split, not on the optimisation
    key_source = {k: settings[k] for k in ("scenes", "model", "options", "holdout_fraction")}
    key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()
    started = time.perf_counter()
    targets = load_targets(output / TARGETS_FILE, key)
    if targets is None:
        targets = build_targets(config, transform, grid)
        save_targets(output / TARGETS_FILE, targets, key)
    prepare_s = time.perf_counter() - started
    train_rows = np.flatnonzero(~targets.held_out)
    held_rows = np.flatnonzero(targets.held_out)
    if len(train_rows) == 0:
        raise ValueError("every view is held out: lower holdout_fraction or give more scenes")

    from spatialforge.evaluate.models.hf import choose_device  # torch.device; a clear error for a bad one

    device = choose_device(None if config.device == "auto" else config.device)
    heads = DenseHeads(tower.width, len(targets.vocabulary))
    tower.to(device).train()
    heads.to(device).train()
    parameters = [*tower.parameters(), *heads.parameters()]
    decay = [p for p in parameters if p.ndim >= 2]
    no_decay = [p for p in parameters if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
    )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else None
    generator = np.random.default_rng(config.seed)
    order = generator.permutation(train_rows)
    cursor = 0
    weights = config.loss_weights
    log_path = output / LOG_FILE
    log_path.write_text("")
    window: list[torch.Tensor] = []
    window_start = time.perf_counter()
    for step in range(config.steps):
        if cursor + config.batch > len(order):  # a fresh permutation per epoch (the tail is dropped)
            order = generator.permutation(train_rows)
            cursor = 0
        rows = order[cursor : cursor + config.batch]
        cursor += len(rows)
        pixels, category, log_depth, facing = _batch(targets, rows, transform, device)
        for group in optimizer.param_groups:
            group["lr"] = _lr(step, config)
        if autocast is not None:
            with autocast:
                outputs = heads(tower(pixels))
        else:
            outputs = heads(tower(pixels))
        parts = dense_losses(outputs, category, log_depth, facing)
        loss = sum(w * part for w, part in zip(weights, parts, strict=True))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        window.append(torch.stack([loss.detach(), *(p.detach() for p in parts)]))
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            elapsed = time.perf_counter() - window_start
            means = torch.stack(window).mean(0).tolist()  # one host sync per log record
            record = {
                "step": step + 1,
                "loss": float(means[0]),
                "category_loss": float(means[1]),
                "depth_loss": float(means[2]),
                "facing_loss": float(means[3]),
                "lr": _lr(step, config),
                "samples_per_s": len(window) * config.batch / elapsed if elapsed > 0 else None,
            }
            with log_path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            if on_log is not None:
                on_log(record)
            window = []
            window_start = time.perf_counter()

    metrics = evaluate(tower, heads, targets, held_rows, transform, device)
    summary = {
        "config": settings,
        "vision_settings": shape_settings(tower.settings),
        "vocabulary": list(targets.vocabulary),
        "views": {"train": int(len(train_rows)), "held_out": int(len(held_rows))},
        "skipped": targets.skipped,
        "held_out_metrics": metrics,
        "prepare_s": round(prepare_s, 2),
        "wall_s": round(time.perf_counter() - started, 2),
        "machine": _machine(device),
    }
    save_vision_tower(tower, output / VISION_FILE, {"vocabulary": json.dumps(list(targets.vocabulary))})
    from safetensors.torch import save_file

    save_file(_state_dict_cpu(heads), str(output / HEADS_FILE))
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    return summary
