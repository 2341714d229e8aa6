"""LoRA adapters (peft) on a SpatialVLM's primary vision encoder, its language model, or both.

SpatialLLM's stage 0 trains LoRA on the vision encoder (paper 001 section 3.3); the usual LLM recipe trains
LoRA on the language model. `apply_lora(model, LoraConfig(target=...))` puts peft LoRA layers on the target's
Linear layers in place, so SpatialVLM keeps its own forward, generate and collate; inside the target
component only the adapter weights are trainable, everything else in the model keeps the requires_grad it
had. `merge_lora(model)` folds the adapters into their Linear weights and puts the plain Linear layers back:
the result is an ordinary SpatialVLM whose state dict has a fresh model's keys (save_pretrained /
from_pretrained work unchanged).

Components (what `target` names):
- vision: the primary vision encoder (small family: backbone.vision; HF families: the vision tower);
  extra encoders of a mixed model are not included (they stay frozen, as the config has them);
- language: the decoder (small: backbone.decoder, whose head is tied to its embedding; HF: the language
  model plus lm_head, frozen; adapters on the decoder's Linear layers by default, lm_head only when
  `modules` names it);
- all: both.

Adapters are injected with `peft.inject_adapter_in_model` on the backbone rather than `get_peft_model`: the
latter wraps the model in a PeftModel whose forward expects HF keyword inputs, SpatialVLM's does not.
B starts at zero (peft's default), so a freshly adapted model gives exactly the base model's outputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torch import nn

from spatialforge.errors import RecordError, refuse_unknown_keys

if TYPE_CHECKING:
    from spatialforge.models.vlm import SpatialVLM

TARGETS = ("vision", "language", "all")
ADAPTER = "default"  # peft's adapter name; one adapter per layer
WHERE = "lora config"
INSTALL_HINT = "LoRA needs peft: pip install 'spatialforge[train]'"


@dataclass(frozen=True)
class LoraConfig:
    """target: vision | language | all; r: rank; alpha: scaling numerator (the update is alpha / r * B A);
    dropout: on the adapter's input during training; modules: module-name suffixes to adapt (each must
    match at least one Linear layer of the target), default every Linear layer of the target's body."""

    target: str
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    modules: list[str] | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise _error("target", f"{self.target!r} is not one of {TARGETS}")
        if isinstance(self.r, bool) or not isinstance(self.r, int) or self.r < 1:
            raise _error("r", f"must be a positive integer, got {self.r!r}")
        alpha = self.alpha
        if (
            isinstance(alpha, bool)
            or not isinstance(alpha, int | float)
            or not math.isfinite(alpha)
            or alpha <= 0
        ):
            raise _error("alpha", f"must be a positive number, got {alpha!r}")
        dropout = self.dropout
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
            raise _error("dropout", f"must be in [0, 1), got {dropout!r}")
        if self.modules is not None:
            modules = self.modules
            if isinstance(modules, str) or not isinstance(modules, Sequence) or not modules:
                raise _error("modules", f"must be a non-empty list of module-name suffixes, got {modules!r}")
            if not all(isinstance(m, str) and m.strip(".") for m in modules):
                raise _error("modules", f"every entry must be a non-empty name, got {modules!r}")
            object.__setattr__(self, "modules", [m.strip(".") for m in modules])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = WHERE) -> LoraConfig:
        if not isinstance(data, Mapping):
            raise RecordError("wrong_type", "the lora config must be an object", file=source)
        refuse_unknown_keys(data, {"target", "r", "alpha", "dropout", "modules"}, file=source)
        if "target" not in data:
            raise RecordError("missing_field", "the lora config needs a target", file=source, field="target")
        try:
            return cls(**dict(data))
        except RecordError as error:
            raise RecordError(error.reason, error.detail, file=source, field=error.field) from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "r": self.r,
            "alpha": self.alpha,
            "dropout": self.dropout,
            "modules": list(self.modules) if self.modules is not None else None,
        }


def _error(field_name: str, message: str) -> RecordError:
    return RecordError("bad_value", message, file=WHERE, field=field_name)


def _peft() -> Any:
    try:
        import peft
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return peft


# -- components -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Component:
    """Modules of one target, by name relative to model.backbone: `body` holds the default adapter
    targets; `extra` are further modules of the component (an HF lm_head) that `modules` may name."""

    body: tuple[str, ...]
    extra: tuple[str, ...] = ()


def _components(model: SpatialVLM) -> dict[str, _Component]:
    backbone = model.backbone
    hf: Any = getattr(backbone, "hf", None)
    if hf is not None:  # HF families: ...ForConditionalGeneration with .model and .lm_head
        inner = hf.model
        if not (hasattr(inner, "vision_tower") and hasattr(inner, "language_model")):
            raise ValueError(f"family {backbone.family}: no vision_tower / language_model to put LoRA on")
        return {
            "vision": _Component(("hf.model.vision_tower",)),
            "language": _Component(("hf.model.language_model",), ("hf.lm_head",)),
        }
    if hasattr(backbone, "vision") and hasattr(backbone, "decoder"):  # the small family
        return {"vision": _Component(("vision",)), "language": _Component(("decoder",))}
    raise ValueError(f"family {backbone.family}: LoRA does not know its vision and language modules")


def _selected(model: SpatialVLM, config: LoraConfig) -> list[_Component]:
    components = _components(model)
    return list(components.values()) if config.target == "all" else [components[config.target]]


def _linear_layers(backbone: nn.Module, prefixes: Sequence[str]) -> list[str]:
    """Names (relative to the backbone) of the Linear layers under the given module prefixes."""
    names = []
    for prefix in prefixes:
        module = backbone.get_submodule(prefix)
        names += [
            f"{prefix}.{name}" if name else prefix
            for name, sub in module.named_modules()
            if isinstance(sub, nn.Linear)
        ]
    return names


def lora_targets(model: SpatialVLM, config: LoraConfig) -> list[str]:
    """The backbone-relative names of the Linear layers `config` puts adapters on (ValueError naming
    LoraConfig.modules when a suffix matches none)."""
    body, extra = [], []
    for component in _selected(model, config):
        body += _linear_layers(model.backbone, component.body)
        extra += _linear_layers(model.backbone, component.extra)
    if config.modules is None:
        return body
    candidates = body + extra
    chosen: list[str] = []
    for suffix in config.modules:
        matched = [n for n in candidates if n == suffix or n.endswith(f".{suffix}")]
        if not matched:
            raise _error(
                "modules",
                f"{suffix!r} names no Linear layer of the {config.target} target (e.g. {candidates[:3]})",
            )
        chosen += [n for n in matched if n not in chosen]
    return chosen


def has_lora(model: nn.Module) -> bool:
    """Whether any peft LoRA layer sits in the model."""
    try:
        from peft.tuners.tuners_utils import BaseTunerLayer
    except ImportError:
        return False
    return any(isinstance(m, BaseTunerLayer) for m in model.modules())


# -- apply / merge -----------------------------------------------------------------------------------------


def apply_lora(model: SpatialVLM, config: LoraConfig) -> SpatialVLM:
    """Put LoRA adapters on the target's Linear layers (in place; the same model is returned). In the target
    component only adapter weights are trainable; every other parameter keeps its requires_grad."""
    peft = _peft()
    components = _selected(model, config)
    backbone = model.backbone
    component_params = {
        id(p)
        for c in components
        for prefix in (*c.body, *c.extra)
        for p in backbone.get_submodule(prefix).parameters()
    }
    for c in components:
        for prefix in (*c.body, *c.extra):
            if has_lora(backbone.get_submodule(prefix)):
                raise ValueError(f"backbone.{prefix} already has LoRA adapters: merge_lora first")
    targets = lora_targets(model, config)
    before = {id(p): p.requires_grad for p in model.parameters()}
    peft_config = peft.LoraConfig(
        r=config.r,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=targets,  # exact backbone-relative names (peft matches name or ".name" suffix)
        bias="none",
        init_lora_weights=True,  # B = 0: the adapted model starts exactly at the base model
    )
    peft.inject_adapter_in_model(peft_config, backbone, adapter_name=ADAPTER)
    # peft froze every non-adapter parameter of the backbone; restore what lies outside the component.
    for parameter in model.parameters():
        if id(parameter) not in before:  # new: an adapter weight
            parameter.requires_grad_(True)
        elif id(parameter) in component_params:
            parameter.requires_grad_(False)
        else:
            parameter.requires_grad_(before[id(parameter)])
    return model


def merge_lora(model: SpatialVLM) -> SpatialVLM:
    """Fold every LoRA adapter into its Linear weight and put the plain Linear back (in place; returned).

    The merged weights keep the requires_grad they had under LoRA (frozen); the next stage sets what it
    trains. A model without adapters is returned unchanged."""
    try:
        from peft.tuners.tuners_utils import BaseTunerLayer
    except ImportError:
        return model  # no peft: nothing can have been applied
    replaced = [(name, m) for name, m in model.named_modules() if isinstance(m, BaseTunerLayer)]
    for name, layer in replaced:
        layer.merge(safe_merge=True)  # safe: refuses a merge that produces NaN / inf
        base = layer.get_base_layer()
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, base)
    return model
