"""TrainConfig: everything one training run needs, as frozen dataclasses that travel with the run.

A config is JSON data in sections (model, data, lora, optim, train, checkpoint, log, distributed). It comes
from a recipe shipped in train/recipes/ (`load_config("hispatial")`), a JSON file, or a dict; a file may
`"extends": "<recipe name or path>"` another and is deep-merged over it (dicts merge key by key, anything
else - lists included - replaces). Dotted overrides (`train.steps=100`, `data.sources=[...]`) apply last;
their values are read as JSON when they parse, as strings otherwise. Unknown keys are errors that name the
key, so a typo never silently trains with a default.

The resolved config is written beside the run (output/config.json); resuming compares it with the new one
(`resume_differences`) and refuses a change that would alter the training trajectory.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from spatialforge.errors import RecordError

COMPONENTS = ("vision", "geometry", "connector", "language")
SCHEDULES = ("constant", "cosine")
PRECISIONS = ("auto", "bf16", "fp32")
STRATEGIES = ("ddp", "fsdp")
# Keys that may change between a run and its resume without changing the trajectory: how often to log and
# checkpoint, the log's input probe (forward passes only), how many loader workers (data are a pure function
# of the sample index), the micro-batch size, the device and the distributed strategy (a step reads the same
# samples whatever world and micro batch are).
# train.steps is not free: warm-up length and the cosine schedule depend on it.
RESUME_FREE_KEYS = (
    "checkpoint.every",
    "checkpoint.keep",
    "log.every",
    "log.probe",
    "data.num_workers",
    "train.micro_batch",
    "train.device",
    "train.peak_flops",
    "distributed.strategy",
)


def _where(source: str, key: str) -> dict[str, str]:
    return {"file": source, "field": key}


def _check_keys(data: Any, allowed: set[str], section: str, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RecordError("wrong_type", f"{section} must be a JSON object", **_where(source, section))
    for key in data:
        if key not in allowed:
            name = f"{section}.{key}" if section else key
            raise RecordError(
                "unknown_key",
                f"unknown config key {name!r}; known: {sorted(allowed)}",
                **_where(source, name),
            )
    return data


def _build(cls: type, data: dict[str, Any], section: str, source: str) -> Any:
    """cls(**data) with unknown keys and bad values reported by section.key."""
    names = {f.name for f in fields(cls)}
    _check_keys(data, names, section, source)
    try:
        return cls(**data)
    except (TypeError, ValueError) as error:
        raise RecordError("bad_value", f"{section}: {error}", **_where(source, section)) from None


@dataclass(frozen=True)
class ModelSection:
    """config: a named model config (models/configs) or a saved model folder (SpatialVLM.from_pretrained: the
    previous stage); options: named_config overrides (geometry, backbone, ...); freeze: the components kept
    frozen (vision, geometry, connector, language) - None keeps the model config's own (freeze_vision);
    vision_weights: a `spatialforge pretrain-vision` tower (its vision.safetensors or folder) loaded over the
    built model's vision tower (small family), before freezing and LoRA."""

    config: str = "test-small"
    options: dict[str, Any] = field(default_factory=dict)
    freeze: tuple[str, ...] | None = None
    vision_weights: str | None = None

    def __post_init__(self) -> None:
        if self.freeze is not None:
            object.__setattr__(self, "freeze", tuple(self.freeze))
            unknown = [c for c in self.freeze if c not in COMPONENTS]
            if unknown:
                raise ValueError(f"freeze: unknown components {unknown}; known: {list(COMPONENTS)}")


@dataclass(frozen=True)
class DataSection:
    """sources: data.SourceConfig records; mixture: a mixture.MixtureConfig; blank_inputs: every image
    replaced by mid-grey and no point maps (the blank-input baseline); num_workers: DataLoader worker
    processes (the data are the same whatever the number)."""

    sources: tuple[Any, ...] = ()
    mixture: Any = None
    blank_inputs: bool = False
    num_workers: int = 0

    def __post_init__(self) -> None:
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {self.num_workers}")


@dataclass(frozen=True)
class OptimSection:
    """AdamW and the learning-rate schedule: linear warm-up over ceil(warmup_fraction * steps) steps, then
    constant or cosine to zero. clip: max global gradient norm (None or 0: no clipping). lr_scale: a
    multiplier of the scheduled lr per component (vision, geometry, connector, language; absent = 1), e.g. a
    from-scratch vision tower and connector learning faster than the decoder."""

    lr: float = 2e-5
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_fraction: float = 0.01
    schedule: str = "constant"
    clip: float | None = 1.0
    lr_scale: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        if not isinstance(self.lr_scale, dict):
            raise ValueError(f"lr_scale must be an object of component: multiplier, got {self.lr_scale!r}")
        for component, scale in self.lr_scale.items():
            if component not in COMPONENTS:
                raise ValueError(f"lr_scale: {component!r} is not one of {COMPONENTS}")
            if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
                raise ValueError(f"lr_scale.{component} must be a positive number, got {scale!r}")
        object.__setattr__(self, "lr_scale", {k: float(v) for k, v in self.lr_scale.items()})
        if len(self.betas) != 2:
            raise ValueError(f"betas must have two values, got {list(self.betas)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule {self.schedule!r} is not one of {SCHEDULES}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


@dataclass(frozen=True)
class TrainSection:
    """steps: optimiser steps; global_batch = micro_batch x accumulation x world size (accumulation is
    derived); precision auto: bf16 autocast on CUDA, fp32 on CPU; device auto: cuda:LOCAL_RANK when
    available, else cpu; peak_flops: per-device peak FLOP/s for MFU when the GPU is not in the trainer's
    table."""

    steps: int = 1000
    global_batch: int = 256
    micro_batch: int = 8
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"
    peak_flops: float | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not one of {PRECISIONS}")
        for name in ("steps", "global_batch", "micro_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class CheckpointSection:
    """every: steps between checkpoints (one is always written at the end); keep: how many to keep."""

    every: int = 1000
    keep: int = 2

    def __post_init__(self) -> None:
        if self.every < 1 or self.keep < 1:
            raise ValueError(f"every and keep must be >= 1, got {self.every}, {self.keep}")


@dataclass(frozen=True)
class LogSection:
    """every: steps per log record; probe: examples of the input-reliance probe scored at every log record
    (train/probe.py: the answer loss with each example's own inputs and with another's; 0 = off)."""

    every: int = 10
    probe: int = 0

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {self.every}")
        if isinstance(self.probe, bool) or not isinstance(self.probe, int) or self.probe < 0:
            raise ValueError(f"probe must be an integer >= 0, got {self.probe!r}")


@dataclass(frozen=True)
class DistributedSection:
    """strategy: ddp (replicated weights) or fsdp (FSDP2 fully_shard); used when WORLD_SIZE > 1."""

    strategy: str = "ddp"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r} is not one of {STRATEGIES}")


_SECTIONS: dict[str, type] = {
    "model": ModelSection,
    "data": DataSection,
    "optim": OptimSection,
    "train": TrainSection,
    "checkpoint": CheckpointSection,
    "log": LogSection,
    "distributed": DistributedSection,
}
_TOP_KEYS = {*_SECTIONS, "lora", "name", "description"}


@dataclass(frozen=True)
class TrainConfig:
    name: str = "custom"
    description: str = ""
    model: ModelSection = ModelSection()
    data: DataSection = DataSection()
    lora: Any = None  # lora.LoraConfig or None
    optim: OptimSection = OptimSection()
    train: TrainSection = TrainSection()
    checkpoint: CheckpointSection = CheckpointSection()
    log: LogSection = LogSection()
    distributed: DistributedSection = DistributedSection()

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>") -> TrainConfig:
        """Build from JSON data (no `extends`: resolve it with load_config); RecordError naming the key."""
        _check_keys(data, _TOP_KEYS, "", source)
        sections: dict[str, Any] = {}
        for name, section_cls in _SECTIONS.items():
            raw = dict(_check_keys(data.get(name, {}), {f.name for f in fields(section_cls)}, name, source))
            if name == "data":
                raw["sources"] = tuple(
                    _source(s, f"data.sources[{i}]", source) for i, s in enumerate(raw.get("sources", []))
                )
                raw["mixture"] = _mixture(raw.get("mixture") or {}, source)
            sections[name] = _build(section_cls, raw, name, source)
        lora = data.get("lora")
        if lora is not None:
            from spatialforge.train.lora import LoraConfig

            if not isinstance(lora, dict):
                raise RecordError(
                    "wrong_type", "lora must be a JSON object or null", **_where(source, "lora")
                )
            try:
                lora = LoraConfig.from_dict(lora, source=source)
            except RecordError as error:
                raise RecordError(
                    error.reason, error.detail, file=source, field=f"lora.{error.field}"
                ) from None
        return cls(
            name=str(data.get("name", "custom")),
            description=str(data.get("description", "")),
            lora=lora,
            **sections,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (round-trips through from_dict)."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        for name in _SECTIONS:
            section = getattr(self, name)
            values = {f.name: getattr(section, f.name) for f in fields(section)}
            if name == "data":
                values["sources"] = [s.to_dict() for s in section.sources]
                values["mixture"] = section.mixture.to_dict()
            out[name] = _jsonable(values)
        out["lora"] = None if self.lora is None else _jsonable(self.lora.to_dict())
        return out

    def hash(self) -> str:
        """sha256 of the trajectory-defining part of the config (RESUME_FREE_KEYS removed)."""
        flat = {k: v for k, v in flatten(self.to_dict()).items() if k not in _IGNORED_IN_HASH}
        return hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()


_IGNORED_IN_HASH = {*RESUME_FREE_KEYS, "name", "description"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _source(data: Any, key: str, source: str) -> Any:
    from spatialforge.train.data import SourceConfig

    if not isinstance(data, dict):
        raise RecordError("wrong_type", f"{key} must be a JSON object", **_where(source, key))
    try:
        return SourceConfig.from_dict(data, where=key)
    except RecordError as error:
        raise error.located(file=source) from None
    except (TypeError, ValueError, KeyError) as error:
        raise RecordError("bad_value", f"{key}: {error}", **_where(source, key)) from None


def _mixture(data: Any, source: str) -> Any:
    from spatialforge.train.mixture import MixtureConfig

    if not isinstance(data, dict):
        raise RecordError(
            "wrong_type", "data.mixture must be a JSON object", **_where(source, "data.mixture")
        )
    try:
        return MixtureConfig.from_dict(data, source=source)
    except RecordError as error:
        raise error.located(file=source) from None
    except (TypeError, ValueError, KeyError) as error:
        raise RecordError("bad_value", f"data.mixture: {error}", **_where(source, "data.mixture")) from None


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and name != "model.options":
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def resume_differences(saved: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two config dicts, ignoring RESUME_FREE_KEYS."""
    a, b = flatten(saved), flatten(new)
    keys = sorted(set(a) | set(b))
    return [k for k in keys if k not in _IGNORED_IN_HASH and a.get(k) != b.get(k)]


# -- loading ----------------------------------------------------------------------------------------------


def recipe_names() -> list[str]:
    """The recipes shipped in train/recipes/, sorted."""
    folder = resources.files("spatialforge.train") / "recipes"
    return sorted(e.name.removesuffix(".json") for e in folder.iterdir() if e.name.endswith(".json"))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: dicts merge key by key, any other value (lists too) replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_json(path: Path | Any, source: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RecordError("unreadable", f"cannot read train config: {error}", file=source) from None
    if not isinstance(data, dict):
        raise RecordError("wrong_type", "train config must be a JSON object", file=source)
    return data


def _absolute_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative file paths in a config file (data.sources' path and scenes, model.vision_weights) are relative
    to the file's folder, not the working directory."""
    model = data.get("model")
    if isinstance(model, dict) and isinstance(model.get("vision_weights"), str):
        if not Path(model["vision_weights"]).is_absolute():
            data = {**data, "model": {**model, "vision_weights": str(folder / model["vision_weights"])}}
    sources = data.get("data", {}).get("sources") if isinstance(data.get("data"), dict) else None
    if not isinstance(sources, list):
        return data
    fixed = []
    for entry in sources:
        if isinstance(entry, dict):
            entry = dict(entry)
            for key in ("path", "scenes"):
                if isinstance(entry.get(key), str) and not Path(entry[key]).is_absolute():
                    entry[key] = str(folder / entry[key])
        fixed.append(entry)
    return {**data, "data": {**data["data"], "sources": fixed}}


def resolve_raw(name_or_path: str | Path, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The raw dict of a recipe name or JSON file with its `extends` chain merged in."""
    key = str(name_or_path)
    if key in _seen:
        raise RecordError("extends_cycle", f"extends cycle: {' -> '.join((*_seen, key))}", file=key)
    path = Path(key)
    if path.suffix == ".json" or path.is_file():
        data = _absolute_paths(_read_json(path, key), path.resolve().parent)
    elif key in recipe_names():
        entry = resources.files("spatialforge.train") / "recipes" / f"{key}.json"
        data = _read_json(entry, f"recipes/{key}.json")
    else:
        raise RecordError(
            "unknown_config",
            f"{key!r} is neither a JSON file nor a recipe; recipes: {', '.join(recipe_names())}",
            file=key,
        )
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise RecordError("wrong_type", "extends must be a recipe name or path", file=key, field="extends")
    if not Path(parent).is_absolute() and (path.parent / parent).is_file():
        parent = str(path.parent / parent)
    return deep_merge(resolve_raw(parent, (*_seen, key)), data)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'train.steps=100' -> (['train', 'steps'], 100); the value is JSON when it parses, else a string."""
    if "=" not in text:
        raise RecordError("bad_override", f"override {text!r} is not key=value", field=text)
    key, value = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise RecordError("bad_override", f"override {text!r} has no key", field=text)
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return parts, parsed


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Dotted overrides on a raw config dict (a copy); intermediate sections are created as needed."""
    out = json.loads(json.dumps(data))
    for text in overrides:
        parts, value = parse_override(text)
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise RecordError("bad_override", f"{'.'.join(parts)}: {part!r} is not a section", field=text)
            node = child
        node[parts[-1]] = value
    return out


def load_config(
    name_or_path: str | Path | dict[str, Any], overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """A TrainConfig from a recipe name, a JSON file or a raw dict (`extends` resolved), overrides last."""
    if isinstance(name_or_path, dict):
        data = dict(name_or_path)
        parent = data.pop("extends", None)
        if parent is not None:
            data = deep_merge(resolve_raw(parent), data)
        source = "<dict>"
    else:
        data = resolve_raw(name_or_path)
        source = str(name_or_path)
    return TrainConfig.from_dict(apply_overrides(data, overrides), source=source)
