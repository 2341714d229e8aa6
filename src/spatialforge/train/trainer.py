"""The training loop: mixture-sampled micro-batches -> SpatialVLM next-token loss -> AdamW, with exact resume.

One function, `train(config, output)`, runs the same code on one CPU, one GPU, or N processes launched by
torchrun / accelerate (WORLD_SIZE > 1: DDP or FSDP2 per `distributed.strategy`, no code change). Everything a
run draws is a pure function of its global sample index, so resuming and re-sharding change nothing:

- Sample index of example j of micro-batch `micro` of step `step` on rank `rank`:
  g = ((step * accum + micro) * world + rank) * micro_batch + j, then MixtureSampler.draw(g).
  A step reads exactly g in [step * global_batch, (step + 1) * global_batch) whatever world and micro batch.
- Loss normalisation: the sum of token cross-entropies over the step's target tokens divided by the number of
  target tokens of the whole global batch (counted across micro-batches and ranks before the backward passes).
  Each micro-batch contributes sum_ce * world / N_global; DDP / FSDP average gradients over ranks, so the
  gradient is exactly that of one big batch - per-token mean, not a mean of per-micro-batch means (which would
  weight a short answer's tokens more when it shares a micro-batch with few others).
- Randomness (dropout in LoRA adapters, for instance) is reseeded at every step from (seed, step, rank), so a
  resumed run needs no RNG state to continue identically; the state file records the scheme.

Output folder: config.json (resolved), mixture.json (the sampler's effective probabilities), log.jsonl (one
record per log step), checkpoints/step-XXXXXXX/ {model.safetensors, optimizer.pt, trainer_state.json} written
to a temporary folder and renamed, and final/ (save_pretrained, LoRA merged).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from spatialforge.models.backbones.base import IGNORE_INDEX
from spatialforge.models.processing import Batch, Sample, collate
from spatialforge.models.vlm import SpatialVLM, build_model, next_token_loss
from spatialforge.train.config import TrainConfig, resume_differences
from spatialforge.train.probe import build_input_probe, probe_losses

CHECKPOINTS = "checkpoints"
WEIGHTS = "model.safetensors"
OPTIMIZER = "optimizer.pt"
STATE = "trainer_state.json"
STATE_VERSION = 1
# Peak dense bf16 FLOP/s per device, by a substring of torch.cuda.get_device_name() (SXM parts; first match).
PEAK_BF16_FLOPS = (("H200", 989e12), ("H100", 989e12), ("A100", 312e12))


@dataclass(frozen=True)
class TrainResult:
    """steps: the step count reached; resumed_from: the checkpoint step the run continued from (None: fresh);
    final_loss: the loss of the last step this call trained (None when it trained none)."""

    steps: int
    output: Path
    final_model_dir: Path | None
    log_path: Path
    last_checkpoint: Path | None
    resumed_from: int | None
    final_loss: float | None


# -- distributed ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dist:
    rank: int
    world: int
    local_rank: int
    device: torch.device
    owns_group: bool  # we initialised the process group, so we tear it down

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, value: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            import torch.distributed as dist

            dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()


def _setup_distributed(device_setting: str) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_setting == "auto":
        device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(device_setting)
        if device.type == "cuda" and device.index is None:
            device = torch.device(f"cuda:{local_rank}")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    owns = False
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
            owns = True
    return _Dist(rank, world, local_rank, device, owns)


# -- model --------------------------------------------------------------------------------------------------


def component_parameters(model: SpatialVLM) -> dict[str, list[nn.Parameter]]:
    """The model's parameters by component: vision (primary + extra encoders), geometry (point-map tower),
    connector, language (the backbone's parameters outside its vision encoder: embeddings, decoder, head)."""
    vision = list(model.backbone.vision_parameters())
    for encoder in model.extra_encoders.values():
        vision.extend(encoder.parameters())
    vision_ids = {id(p) for p in vision}
    return {
        "vision": vision,
        "geometry": list(model.geometry.parameters()) if model.geometry is not None else [],
        "connector": list(model.connector.parameters()),
        "language": [p for p in model.backbone.parameters() if id(p) not in vision_ids],
    }


def apply_freeze(model: SpatialVLM, frozen: Sequence[str] | None) -> None:
    """Frozen components get requires_grad False and the rest True; None keeps the model config's choice."""
    if frozen is None:
        return
    for name, params in component_parameters(model).items():
        for parameter in params:
            parameter.requires_grad_(name not in frozen)


def build_training_model(config: TrainConfig) -> SpatialVLM:
    """The model as it trains: named config or saved folder (the previous stage), a pretrained vision tower
    (model.vision_weights), freezing, LoRA adapters."""
    source = Path(config.model.config)
    if (source / "config.json").is_file():
        if config.model.options:
            raise ValueError(
                f"model.options: {sorted(config.model.options)} cannot change the saved model {source} "
                "(its weights fix its structure); drop the options or start from a named config"
            )
        model = SpatialVLM.from_pretrained(source)
    else:
        from spatialforge.models.config import named_config

        try:
            model_config = named_config(config.model.config, **config.model.options)
        except ValueError as error:
            raise ValueError(f"model.config: {error} (nor is it a saved model folder)") from None
        model = build_model(model_config)
    if config.model.vision_weights is not None:
        from spatialforge.train.vision_pretrain import load_vision_tower

        load_vision_tower(model, config.model.vision_weights)
    model.train()
    apply_freeze(model, config.model.freeze)
    if config.lora is not None:
        from spatialforge.train.lora import apply_lora

        model = apply_lora(model, config.lora)
    return model


def _tied_duplicates(model: nn.Module) -> set[str]:
    """Names of parameters that are another name's tensor (a tied head): safetensors stores one copy."""
    seen: dict[int, str] = {}
    duplicates = set()
    for name, parameter in model.named_parameters(remove_duplicate=False):
        if id(parameter) in seen:
            duplicates.add(name)
        else:
            seen[id(parameter)] = name
    return duplicates


def non_embedding_parameters(model: nn.Module) -> int:
    """Parameter count without embedding tables (the N of the 6 N FLOPs-per-token estimate)."""
    embedding_ids = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    return sum(p.numel() for p in model.parameters() if id(p) not in embedding_ids)


# -- data ---------------------------------------------------------------------------------------------------


class _Collator:
    """What processing.collate reads from a model (tokenizer, transforms, whether it has a geometry tower),
    without the wrapper a DDP / FSDP model becomes."""

    def __init__(self, model: SpatialVLM) -> None:
        self.backbone = model.backbone
        self._transforms = model.image_transforms()
        self.geometry = True if model.geometry is not None else None

    def image_transforms(self) -> dict[str, Any]:
        return self._transforms

    def __call__(self, samples: Sequence[Sample]) -> Batch:
        return collate(self, samples, with_labels=True)


def sample_index(step: int, micro: int, rank: int, j: int, accum: int, world: int, micro_batch: int) -> int:
    """The global sample index g of example j of a micro-batch (module docstring)."""
    return ((step * accum + micro) * world + rank) * micro_batch + j


class MicroBatches(IterableDataset):
    """Collated micro-batches (step, micro, Batch) of one rank for steps [start, end), in order.

    With DataLoader workers, item k (k = (step - start) * accum + micro) is made by worker k % num_workers;
    the DataLoader reads workers round-robin, so the order and content are the same for any num_workers.
    """

    def __init__(
        self,
        datasets: Sequence[Any],
        sampler: Any,
        collator: Callable[[Sequence[Sample]], Batch],
        *,
        start: int,
        end: int,
        accum: int,
        world: int,
        rank: int,
        micro_batch: int,
        blank: bool,
    ) -> None:
        self.datasets, self.sampler, self.collator = datasets, sampler, collator
        self.start, self.end, self.accum = start, end, accum
        self.world, self.rank, self.micro_batch, self.blank = world, rank, micro_batch, blank

    def samples(self, step: int, micro: int) -> list[Sample]:
        out = []
        for j in range(self.micro_batch):
            g = sample_index(step, micro, self.rank, j, self.accum, self.world, self.micro_batch)
            dataset, example = self.sampler.draw(g)
            out.append(self.datasets[dataset].sample(example, blank=self.blank))
        return out

    def __iter__(self) -> Iterator[tuple[int, int, Batch]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        k = 0
        for step in range(self.start, self.end):
            for micro in range(self.accum):
                if k % workers == worker:
                    yield step, micro, self.collator(self.samples(step, micro))
                k += 1


def _loader(dataset: MicroBatches, num_workers: int, pin_memory: bool) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=None,
        num_workers=num_workers,
        # fork: workers inherit the opened datasets and tokenizer instead of pickling them.
        multiprocessing_context="fork" if num_workers > 0 else None,
        # page-locked batches (Batch.pin_memory) let the host queue the copy and go on launching kernels
        pin_memory=pin_memory,
    )


# -- optimisation -------------------------------------------------------------------------------------------


def make_optimizer(
    model: nn.Module, config: TrainConfig, components: dict[str, list[nn.Parameter]] | None = None
) -> torch.optim.AdamW:
    """AdamW; weight decay on parameters with >= 2 dimensions (matrices, convolution kernels, embeddings),
    none on biases and norm gains (nanoGPT's rule: decay where a weight scales its input).

    With optim.lr_scale, the groups are split further by component (`components`: component_parameters of
    the model as it trains, wrapped or not) and each carries its `lr_scale`; without it there are the two
    decay groups only, so optimizer states saved before lr_scale existed still load."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model.freeze / lora: nothing is trainable")
    scales = config.optim.lr_scale
    if scales and components is None:
        raise ValueError("optim.lr_scale needs the model's components")
    by_scale: dict[float, list[nn.Parameter]] = {}
    owner = {id(p): name for name, ps in (components or {}).items() for p in ps}
    for p in params:
        by_scale.setdefault(scales.get(owner.get(id(p), ""), 1.0), []).append(p)
    groups = [
        {"params": [p for p in members if (p.ndim >= 2) == decays], "weight_decay": decay, "lr_scale": scale}
        for scale, members in by_scale.items()
        for decays, decay in ((True, config.optim.weight_decay), (False, 0.0))
    ]
    return torch.optim.AdamW(
        [g for g in groups if g["params"]], lr=config.optim.lr, betas=config.optim.betas, eps=config.optim.eps
    )


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The scheduled lr, times each group's lr_scale (1 unless optim.lr_scale names its component)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def scheduled_lr(step: int, *, lr: float, steps: int, warmup: int, cosine: bool) -> float:
    """Linear warm-up over `warmup` steps (reaching lr at the last warm-up step; step counts from 0), then
    constant, or cosine from lr to 0 over the remaining steps."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if not cosine:
        return lr
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def learning_rate(step: int, config: TrainConfig) -> float:
    """The run's schedule (scheduled_lr): warm-up over ceil(warmup_fraction * steps) steps, then
    optim.schedule."""
    optim, steps = config.optim, config.train.steps
    warmup = math.ceil(optim.warmup_fraction * steps)
    return scheduled_lr(step, lr=optim.lr, steps=steps, warmup=warmup, cosine=optim.schedule == "cosine")


def target_count(labels: torch.Tensor) -> int:
    """Positions that carry loss after the next-token shift."""
    return int((labels[:, 1:] != IGNORE_INDEX).sum())


def _step_seed(seed: int, step: int, rank: int) -> int:
    digest = hashlib.sha256(f"{seed}/{step}/{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def peak_flops(device: torch.device, configured: float | None) -> float | None:
    """Peak bf16 FLOP/s of one device: the table by GPU name, else train.peak_flops, else None (no MFU)."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_BF16_FLOPS:
        if key in name:
            return value
    return configured


# -- checkpoints --------------------------------------------------------------------------------------------


def checkpoint_dirs(output: Path) -> list[Path]:
    """Complete checkpoints, oldest first (a folder is complete once renamed from its temporary name)."""
    folder = output / CHECKPOINTS
    if not folder.is_dir():
        return []
    done = [p for p in folder.glob("step-*") if (p / STATE).is_file()]
    return sorted(done, key=lambda p: int(p.name.removeprefix("step-")))


def _save_checkpoint(
    output: Path,
    step: int,
    plain: nn.Module,
    wrapped: nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    dist: _Dist,
    keep: int,
) -> Path:
    from safetensors.torch import save_file
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        get_optimizer_state_dict,
    )

    # Full (unsharded) state on rank 0: collective under FSDP, so every rank calls these.
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    weights = get_model_state_dict(wrapped, options=options)
    optim_state = get_optimizer_state_dict(wrapped, optimizer, options=options)
    final = output / CHECKPOINTS / f"step-{step:07d}"
    if dist.main:
        temporary = output / CHECKPOINTS / f".tmp-step-{step:07d}"
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        tied = _tied_duplicates(plain)
        tensors = {k: v.detach().cpu().contiguous() for k, v in weights.items() if k not in tied}
        save_file(tensors, str(temporary / WEIGHTS))
        torch.save(optim_state, temporary / OPTIMIZER)
        (temporary / STATE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(temporary, final)
        for old in checkpoint_dirs(output)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return final


def load_checkpoint_weights(model: nn.Module, folder: Path) -> None:
    """Strictly load a checkpoint's model.safetensors into an unwrapped model (tied names are stored once)."""
    from safetensors.torch import load_file

    path = folder / WEIGHTS
    weights = load_file(str(path))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if k not in _tied_duplicates(model)]
    if missing or unexpected:
        raise ValueError(
            f"{path}: checkpoint does not match the model built from the config "
            f"(missing {missing[:5]}, unexpected {list(unexpected)[:5]})"
        )


def _load_optimizer(wrapped: nn.Module, optimizer: torch.optim.Optimizer, folder: Path) -> None:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    state = torch.load(folder / OPTIMIZER, map_location="cpu", weights_only=True)
    set_optimizer_state_dict(
        wrapped, optimizer, optim_state_dict=state, options=StateDictOptions(full_state_dict=True)
    )


def _write_final(config: TrainConfig, checkpoint: Path, output: Path) -> Path:
    """final/ = the last checkpoint's weights in a plain SpatialVLM with LoRA merged (built afresh on the CPU,
    so the same code serves DDP, FSDP and one process)."""
    model = build_training_model(config)
    load_checkpoint_weights(model, checkpoint)
    if config.lora is not None:
        from spatialforge.train.lora import merge_lora

        model = merge_lora(model)
    final = output / "final"
    temporary = output / ".tmp-final"
    shutil.rmtree(temporary, ignore_errors=True)
    model.save_pretrained(temporary)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)
    return final


# -- the loop -----------------------------------------------------------------------------------------------


def _wrap(model: nn.Module, config: TrainConfig, dist: _Dist) -> nn.Module:
    if dist.world == 1:
        return model
    if config.distributed.strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        # device_ids None: the batch is already on the device (DDP would not know how to move a Batch).
        return DistributedDataParallel(model, device_ids=None)
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh(dist.device.type, (dist.world,))
    # Every element of a ModuleList (transformer blocks, in any family) is its own unit, so only one block's
    # full weights exist at a time; the root unit holds the rest (embeddings, tied head, towers, connector).
    for module in list(model.modules()):
        if isinstance(module, nn.ModuleList):
            for child in module:
                fully_shard(child, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def _no_sync(wrapped: nn.Module, sync: bool) -> contextlib.AbstractContextManager:
    """Skip the gradient all-reduce on non-final micro-batches (DDP no_sync; FSDP2 requires_gradient_sync)."""
    if hasattr(wrapped, "no_sync") and not sync:
        return wrapped.no_sync()
    if hasattr(wrapped, "set_requires_gradient_sync"):
        wrapped.set_requires_gradient_sync(sync)
    return contextlib.nullcontext()


def _open_datasets(config: TrainConfig) -> list[Any]:
    from spatialforge.train.data import open_sources

    if not config.data.sources:
        raise ValueError("data.sources: no training data (set --set data.sources=[{...}] or a config file)")
    return open_sources(config.data.sources)


def _prepare_output(
    config: TrainConfig, output: Path, resume: bool, allow_config_change: bool, dist: _Dist
) -> Path | None:
    """The checkpoint to resume from (None: fresh), after checking the saved config against this one."""
    checkpoints = checkpoint_dirs(output)
    if not resume or not checkpoints:
        if dist.main and checkpoints:  # --no-resume: a fresh run must not be resumed from the old one later
            shutil.rmtree(output / CHECKPOINTS)
        return None
    saved_path = output / "config.json"
    if saved_path.is_file():
        saved = json.loads(saved_path.read_text())
        differences = resume_differences(saved, config.to_dict())
        if differences and not allow_config_change:
            raise ValueError(
                f"{saved_path}: cannot resume with a different config; differing keys: "
                f"{', '.join(differences)}; "
                "(use a new output folder, --no-resume, or --allow-config-change to continue anyway)"
            )
    return checkpoints[-1]


def train(
    config: TrainConfig,
    output: Path,
    *,
    resume: bool = True,
    allow_config_change: bool = False,
    datasets: Sequence[Any] | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train per `config` into `output`, resuming from its latest checkpoint unless resume is False.

    datasets: TrainDataset objects to use instead of opening config.data.sources (programmatic use).
    on_log: called with each log record on rank 0 (the CLI prints them; the library itself prints nothing).
    """
    from spatialforge.train.mixture import MixtureSampler

    output = Path(output)
    dist = _setup_distributed(config.train.device)
    try:
        per_step = config.train.micro_batch * dist.world
        if config.train.global_batch % per_step:
            raise ValueError(
                f"train.global_batch {config.train.global_batch} is not a multiple of train.micro_batch "
                f"{config.train.micro_batch} x world size {dist.world}"
            )
        accum = config.train.global_batch // per_step
        if dist.main:
            output.mkdir(parents=True, exist_ok=True)
        dist.barrier()
        checkpoint = _prepare_output(config, output, resume, allow_config_change, dist)
        dist.barrier()

        data = list(datasets) if datasets is not None else _open_datasets(config)
        weights = [s.weight for s in config.data.sources] if datasets is None else None
        sampler = MixtureSampler(data, config.data.mixture, seed=config.train.seed, weights=weights)
        torch.manual_seed(config.train.seed)  # same initial weights on every rank and in every run
        model = build_training_model(config)
        start, state = 0, {"samples": 0, "tokens": 0, "target_tokens": 0}
        if checkpoint is not None:
            load_checkpoint_weights(model, checkpoint)
            saved_state = json.loads((checkpoint / STATE).read_text())
            start = int(saved_state["step"])
            state = {k: int(saved_state.get(k, 0)) for k in state}
        collator = _Collator(model)
        non_embedding = non_embedding_parameters(model)
        model.to(dist.device)
        wrapped = _wrap(model, config, dist)
        # components looked up after wrapping: FSDP2 replaces parameters in place with sharded ones
        optimizer = make_optimizer(wrapped, config, component_parameters(model))
        if checkpoint is not None:
            _load_optimizer(wrapped, optimizer, checkpoint)

        log_path = output / "log.jsonl"
        if dist.main:
            (output / "config.json").write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
            (output / "mixture.json").write_text(
                json.dumps(sampler.describe(), indent=2, sort_keys=True) + "\n"
            )
            kept = []
            if checkpoint is not None and log_path.is_file():  # drop records of steps after the checkpoint
                kept = [
                    line for line in log_path.read_text().splitlines() if json.loads(line)["step"] <= start
                ]
            log_path.write_text("".join(line + "\n" for line in kept))

        use_bf16 = config.train.precision == "bf16" or (
            config.train.precision == "auto" and dist.device.type == "cuda"
        )
        peak = peak_flops(dist.device, config.train.peak_flops)
        params = [p for p in wrapped.parameters() if p.requires_grad]
        steps = config.train.steps
        stream = MicroBatches(
            data,
            sampler,
            collator,
            start=start,
            end=steps,
            accum=accum,
            world=dist.world,
            rank=dist.rank,
            micro_batch=config.train.micro_batch,
            blank=config.data.blank_inputs,
        )
        on_cuda = dist.device.type == "cuda"
        probe = None
        if config.log.probe:  # draws past the run's last training index (train/probe.py)
            probe = build_input_probe(
                data,
                sampler,
                collator,
                first_index=steps * config.train.global_batch,
                size=config.log.probe,
                chunk=config.train.micro_batch,
                blank=config.data.blank_inputs,
            )
        batches = iter(_loader(stream, config.data.num_workers, pin_memory=on_cuda))
        last_checkpoint = checkpoint
        # No host-device synchronisation inside a step: the window's loss stays a device tensor until a log
        # record reads it, so the host queues step k+1 while the device still runs step k (a small model's
        # step is mostly kernel launches). One process reads its counts from the host batch directly.
        window: dict[str, Any] = {"loss": 0.0, "steps": 0, "samples": 0, "tokens": 0}
        window_start = time.perf_counter()
        step_loss: torch.Tensor | None = None
        for step in range(start, steps):
            torch.manual_seed(_step_seed(config.train.seed, step, dist.rank))
            micro_batches = [next(batches)[2] for _ in range(accum)]
            n_targets = sum(target_count(b.labels) for b in micro_batches)
            n_tokens = sum(int(b.attention_mask.sum()) for b in micro_batches)
            if dist.world > 1:
                counts = torch.tensor([n_targets, n_tokens], dtype=torch.float64, device=dist.device)
                n_targets, n_tokens = (int(v) for v in dist.all_sum(counts).tolist())
            lr = learning_rate(step, config)
            set_learning_rate(optimizer, lr)
            loss_sum = torch.zeros((), dtype=torch.float64, device=dist.device)
            for micro, batch in enumerate(micro_batches):
                batch = batch.to(dist.device, non_blocking=on_cuda)
                labels = batch.labels
                with (
                    _no_sync(wrapped, micro == accum - 1),
                    torch.autocast(dist.device.type, dtype=torch.bfloat16, enabled=use_bf16),
                ):
                    logits = wrapped(replace(batch, labels=None)).logits
                    micro_loss = next_token_loss(logits, labels, reduction="sum")
                    (micro_loss * (dist.world / max(1, n_targets))).backward()
                loss_sum += micro_loss.detach().double()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, config.optim.clip or math.inf)
            if hasattr(grad_norm, "full_tensor"):  # FSDP2: a DTensor
                grad_norm = grad_norm.full_tensor()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step_loss = dist.all_sum(loss_sum) / max(1, n_targets)  # float64 on the device
            state["samples"] += config.train.global_batch
            state["tokens"] += n_tokens
            state["target_tokens"] += n_targets
            window["loss"] += step_loss
            window["steps"] += 1
            window["samples"] += config.train.global_batch
            window["tokens"] += n_tokens
            done = step + 1
            if done % config.log.every == 0 or done == steps:
                seconds = time.perf_counter() - window_start
                record = _log_record(
                    done, window, lr, float(grad_norm), state, seconds, non_embedding, peak, dist
                )
                if probe is not None:  # every rank: the forward passes of a wrapped model are collective
                    record["probe"] = probe_losses(wrapped, probe, dist.device, use_bf16)
                if dist.main:
                    with log_path.open("a") as handle:
                        handle.write(json.dumps(record) + "\n")
                    if on_log is not None:
                        on_log(record)
                window = {"loss": 0.0, "steps": 0, "samples": 0, "tokens": 0}
                window_start = time.perf_counter()
            if done % config.checkpoint.every == 0 or done == steps:
                trainer_state = {
                    "version": STATE_VERSION,
                    "step": done,
                    "config_hash": config.hash(),
                    "world_size": dist.world,
                    "rng": "reseeded every step from sha256(seed/step/rank); nothing to restore",
                    **state,
                }
                last_checkpoint = _save_checkpoint(
                    output, done, model, wrapped, optimizer, trainer_state, dist, config.checkpoint.keep
                )
        final_dir = None
        if last_checkpoint is not None:
            if dist.main:
                _write_final(config, last_checkpoint, output)
            final_dir = output / "final"
        dist.barrier()
        return TrainResult(
            steps=max(start, steps),
            output=output,
            final_model_dir=final_dir,
            log_path=log_path,
            last_checkpoint=last_checkpoint,
            resumed_from=start if checkpoint is not None else None,
            final_loss=None if step_loss is None else float(step_loss),
        )
    finally:
        if dist.owns_group:
            import torch.distributed as torch_dist

            torch_dist.destroy_process_group()


def _log_record(
    step: int,
    window: dict[str, float],
    lr: float,
    grad_norm: float,
    state: dict[str, int],
    seconds: float,
    non_embedding: int,
    peak: float | None,
    dist: _Dist,
) -> dict[str, Any]:
    """One log.jsonl record: loss averaged over the steps since the last record; samples, tokens (all real
    input tokens) and target_tokens cumulative over the run; rates over the window; mfu (CUDA with a known
    peak) = 6 * non-embedding params * tokens/s / (peak bf16 FLOP/s per device * world size)."""
    samples_per_s = window["samples"] / seconds if seconds > 0 else None
    tokens_per_s = window["tokens"] / seconds if seconds > 0 else None
    mfu = None
    if peak is not None and tokens_per_s is not None:
        mfu = 6.0 * non_embedding * tokens_per_s / (peak * dist.world)
    return {
        "step": step,
        "loss": float(window["loss"]) / max(1, window["steps"]),
        "lr": lr,
        "grad_norm": grad_norm,
        "samples": state["samples"],
        "tokens": state["tokens"],
        "target_tokens": state["target_tokens"],
        "seconds": seconds,
        "samples_per_s": samples_per_s,
        "tokens_per_s": tokens_per_s,
        "mfu": mfu,
    }
