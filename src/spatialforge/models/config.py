"""Model configs are data: one frozen record per model, saved beside every checkpoint as config.json.

A `ModelConfig` names
- the **family** (`small` from-scratch, `paligemma`, `llava`): which backbone class builds the vision tower,
  prompt layout and language model (models/backbones, one registry);
- `backbone`: the family's own settings, a plain JSON dict (sizes for `small`; for HF families either
  `pretrained` - a folder or hub id loaded with `from_pretrained` - or `hf_config`, a config dict built from
  scratch, plus the tokenizer folder);
- `extra_encoders`: further vision encoders whose patch features are resampled to the primary grid and
  concatenated before the connector (SpatialLLM's mixed encoders, CLIP + DINOv2);
- `geometry`: the point-map branch (`none` = RGB only, `relative_depth`, `metric_xyz` = HiSpatial);
- `connector`: `linear` (PaliGemma) or `mlp2x_gelu` (LLaVA-1.5).

Named configs live as JSON files in models/configs/ (`named_config(name)`); `test-*` entries are the tiny
ones the tests sweep, like timm's test models. Options override a named config without a fork:
`named_config("small", geometry="relative_depth")`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from spatialforge.errors import RecordError

CONFIG_VERSION = 1
GEOMETRY_KINDS = ("none", "relative_depth", "metric_xyz")
GEOMETRY_OUTPUT_NORMS = ("none", "layernorm")
CONNECTOR_KINDS = ("linear", "mlp2x_gelu")
FAMILIES = ("small", "paligemma", "llava")


@dataclass(frozen=True)
class GeometryConfig:
    """The point-map branch (HiSpatial section 3.3; SPEC section 6).

    kind: none | relative_depth | metric_xyz. max_range_m: invalid, non-finite and farther values become this
    (250 m in the released code); frequencies: sin-cos frequencies per coordinate (32 -> 64 channels, so
    3 x 64 + 1 mask = 193 input channels); base: the frequency base (omega_k = 1 / base^(k / frequencies)).
    output_norm: "none" (HiSpatial: the patchify output goes to the connector as it is) or "layernorm" (a
    LayerNorm over each patch feature, as a ViT's final norm does for the RGB features beside it). Ours, for
    models whose tower trains from scratch: the sin-cos channels of the low frequencies are nearly constant
    over a scene, so most of a raw patch feature is the same for every patch and image, and the part that
    carries the geometry is small beside it (toy check and its figures: docs/MODELS.md).
    """

    kind: str = "metric_xyz"
    max_range_m: float = 250.0
    frequencies: int = 32
    base: float = 10000.0
    output_norm: str = "none"

    def __post_init__(self) -> None:
        if self.output_norm not in GEOMETRY_OUTPUT_NORMS:
            raise ValueError(
                f"geometry.output_norm {self.output_norm!r} is not one of {GEOMETRY_OUTPUT_NORMS}"
            )

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    @property
    def in_channels(self) -> int:
        return 3 * 2 * self.frequencies + 1


@dataclass(frozen=True)
class EncoderConfig:
    """One extra vision encoder mixed into the primary grid. kind: a vision-encoder registry key
    (`hf_dinov2`, `hf_clip`, `hf_siglip`, `vit`); settings: the encoder's own JSON settings (pretrained
    folder or hf_config, image size, normalisation)."""

    name: str
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectorConfig:
    kind: str = "linear"
    hidden: int | None = None  # mlp2x_gelu's hidden width (default: the text width)


@dataclass(frozen=True)
class ModelConfig:
    name: str
    family: str
    backbone: dict[str, Any]
    geometry: GeometryConfig = GeometryConfig()
    connector: ConnectorConfig = ConnectorConfig()
    extra_encoders: tuple[EncoderConfig, ...] = ()
    freeze_vision: bool = True
    version: int = CONFIG_VERSION

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"model config {self.name!r}: family {self.family!r} is not one of {FAMILIES}")
        if self.geometry.kind not in GEOMETRY_KINDS:
            raise ValueError(
                f"model config {self.name!r}: geometry {self.geometry.kind!r} is not one of {GEOMETRY_KINDS}"
            )
        if self.connector.kind not in CONNECTOR_KINDS:
            raise ValueError(
                f"model config {self.name!r}: connector {self.connector.kind!r} not in {CONNECTOR_KINDS}"
            )
        names = [e.name for e in self.extra_encoders]
        if len(set(names)) != len(names) or {"rgb", "pointmap"} & set(names):
            raise ValueError(
                f"model config {self.name!r}: extra encoder names {names} must be unique, not rgb/pointmap"
            )

    def with_options(self, **options: Any) -> ModelConfig:
        """A copy with top-level options changed: geometry="relative_depth", freeze_vision=False, name=...;
        `backbone` entries are merged key by key (backbone={"layers": 2}), and so are the fields of
        `geometry` and `connector` given as a dict (geometry={"output_norm": "layernorm"},
        connector={"hidden": 512}; a string sets the kind alone)."""
        changes: dict[str, Any] = {}
        for key, value in options.items():
            if key in {"geometry", "connector"}:
                current = getattr(self, key)
                if isinstance(value, str):  # the kind alone
                    value = replace(current, kind=value)
                elif isinstance(value, dict):  # some fields: {"output_norm": "layernorm"}
                    unknown = sorted(set(value) - {f.name for f in fields(current)})
                    if unknown:
                        raise ValueError(f"model config {self.name!r}: unknown {key} field(s) {unknown}")
                    value = replace(current, **value)
                changes[key] = value
            elif key == "backbone":
                changes[key] = {**self.backbone, **value}
            elif key in {"name", "freeze_vision", "extra_encoders"}:
                changes[key] = value
            else:
                raise ValueError(f"model config {self.name!r}: unknown option {key!r}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>") -> ModelConfig:
        """Build from JSON data; RecordError naming the source and field of what is missing or wrong."""
        if not isinstance(data, dict):
            raise RecordError("wrong_type", "model config must be a JSON object", file=source)
        for key in ("name", "family", "backbone"):
            if key not in data:
                raise RecordError("missing_field", f"model config has no {key!r}", file=source, field=key)
        version = data.get("version", CONFIG_VERSION)
        if version != CONFIG_VERSION:
            raise RecordError(
                "unsupported_version",
                f"model config version {version}, expected {CONFIG_VERSION}",
                file=source,
                field="version",
            )
        try:
            return cls(
                name=str(data["name"]),
                family=str(data["family"]),
                backbone=dict(data["backbone"]),
                geometry=GeometryConfig(**data.get("geometry", {})),
                connector=ConnectorConfig(**data.get("connector", {})),
                extra_encoders=tuple(EncoderConfig(**e) for e in data.get("extra_encoders", ())),
                freeze_vision=bool(data.get("freeze_vision", True)),
            )
        except (TypeError, ValueError) as error:
            raise RecordError("bad_value", str(error), file=source) from None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise RecordError("unreadable", f"cannot read model config: {error}", file=str(path)) from None
        return cls.from_dict(data, source=str(path))


def _config_files() -> dict[str, Any]:
    folder = resources.files("spatialforge.models") / "configs"
    return {
        entry.name.removesuffix(".json"): entry for entry in folder.iterdir() if entry.name.endswith(".json")
    }


def config_names() -> list[str]:
    """Every named config, sorted (test-* entries included)."""
    return sorted(_config_files())


def named_config(name: str, **options: Any) -> ModelConfig:
    """The named config from models/configs/<name>.json, with `options` applied (ModelConfig.with_options)."""
    files = _config_files()
    if name not in files:
        raise ValueError(f"unknown model config {name!r}; known: {', '.join(sorted(files))}")
    config = ModelConfig.from_dict(json.loads(files[name].read_text()), source=f"models/configs/{name}.json")
    if config.name != name:
        raise ValueError(f"models/configs/{name}.json names itself {config.name!r}")
    return config.with_options(**options) if options else config
