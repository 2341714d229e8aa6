"""Model configs are data (models/config.py): every named config loads, options override without a fork,
bad files are refused naming the file, and save -> load is the identity."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from spatialforge.errors import RecordError
from spatialforge.models import config as config_module
from spatialforge.models.config import (
    CONFIG_VERSION,
    ConnectorConfig,
    EncoderConfig,
    GeometryConfig,
    ModelConfig,
    config_names,
    named_config,
)


def config_folder() -> Path:
    return Path(str(resources.files("spatialforge.models") / "configs"))


def sample_dict(**changes: object) -> dict:
    data = {
        "name": "sample",
        "family": "small",
        "backbone": {"layers": 2, "width": 32, "image_size": 32},
        "geometry": {
            "kind": "metric_xyz",
            "max_range_m": 250.0,
            "frequencies": 32,
            "base": 10000.0,
            "output_norm": "none",
        },
        "connector": {"kind": "mlp2x_gelu", "hidden": 16},
        "extra_encoders": [{"name": "dino", "kind": "vit", "settings": {"image_size": 28, "patch": 7}}],
        "freeze_vision": False,
        "version": CONFIG_VERSION,
    }
    data.update(changes)
    return data


def test_every_named_config_loads_and_is_named_by_its_file():
    names = config_names()
    assert names == sorted(p.stem for p in config_folder().glob("*.json"))
    for name in names:
        config = named_config(name)
        assert config.name == name
        assert ModelConfig.load(config_folder() / f"{name}.json") == config
        assert ModelConfig.from_dict(config.to_dict()) == config  # the file's data is complete


def test_save_load_round_trip(tmp_path: Path):
    config = ModelConfig.from_dict(sample_dict())
    assert config.extra_encoders == (EncoderConfig("dino", "vit", {"image_size": 28, "patch": 7}),)
    assert config.connector == ConnectorConfig("mlp2x_gelu", 16)
    config.save(tmp_path / "config.json")
    again = ModelConfig.load(tmp_path / "config.json")
    assert again == config
    assert json.loads((tmp_path / "config.json").read_text()) == sample_dict()  # plain JSON, nothing lost


def test_defaults_fill_optional_fields():
    config = ModelConfig.from_dict({"name": "x", "family": "small", "backbone": {}})
    assert config.geometry == GeometryConfig("metric_xyz", 250.0, 32, 10000.0)
    assert config.connector == ConnectorConfig("linear", None)
    assert config.extra_encoders == () and config.freeze_vision and config.version == CONFIG_VERSION


def test_with_options():
    config = ModelConfig.from_dict(sample_dict(geometry={"kind": "metric_xyz", "max_range_m": 100.0}))
    relative = config.with_options(geometry="relative_depth", backbone={"width": 64, "heads": 4}, name="r")
    assert relative.geometry == GeometryConfig("relative_depth", 100.0)  # other geometry fields kept
    assert relative.backbone == {"layers": 2, "width": 64, "image_size": 32, "heads": 4}  # merged by key
    assert relative.name == "r" and config.backbone["width"] == 32  # the original is untouched
    assert config.with_options(connector="linear").connector == ConnectorConfig("linear", 16)
    assert not config.with_options(geometry="none").geometry.enabled
    assert config.with_options(freeze_vision=True).freeze_vision
    with pytest.raises(ValueError, match="unknown option 'layers'"):
        config.with_options(layers=3)
    with pytest.raises(ValueError, match="geometry 'depth'"):
        config.with_options(geometry="depth")
    # geometry fields as a dict are merged like backbone entries; a wrong field or value is named
    normed = config.with_options(geometry={"output_norm": "layernorm"})
    assert normed.geometry == GeometryConfig("metric_xyz", 100.0, output_norm="layernorm")
    assert normed.with_options(geometry="relative_depth").geometry.output_norm == "layernorm"
    with pytest.raises(ValueError, match=r"unknown geometry field\(s\) \['norm'\]"):
        config.with_options(geometry={"norm": "layernorm"})
    with pytest.raises(ValueError, match="output_norm 'batchnorm'"):
        config.with_options(geometry={"output_norm": "batchnorm"})
    # connector fields as a dict are merged the same way
    wide = config.with_options(connector={"hidden": 48})
    assert wide.connector == ConnectorConfig(config.connector.kind, 48)
    assert config.with_options(connector={"kind": "linear"}).connector.hidden == config.connector.hidden
    with pytest.raises(ValueError, match=r"unknown connector field\(s\) \['width'\]"):
        config.with_options(connector={"width": 48})
    with pytest.raises(ValueError, match="connector 'conv'"):
        config.with_options(connector={"kind": "conv"})


def test_geometry_output_norm_round_trips_and_bad_values_name_the_file(tmp_path: Path):
    config = ModelConfig.from_dict(sample_dict(geometry={"kind": "metric_xyz", "output_norm": "layernorm"}))
    config.save(tmp_path / "config.json")
    assert ModelConfig.load(tmp_path / "config.json").geometry.output_norm == "layernorm"
    with pytest.raises(RecordError, match="output_norm"):
        ModelConfig.from_dict(sample_dict(geometry={"output_norm": "rms"}), source="x.json")


def test_named_config_options_and_unknown_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "sample.json").write_text(json.dumps(sample_dict()))
    (tmp_path / "alias.json").write_text(json.dumps(sample_dict(name="other")))
    monkeypatch.setattr(config_module, "_config_files", lambda: {p.stem: p for p in tmp_path.glob("*.json")})
    assert named_config("sample", geometry="none").geometry.kind == "none"
    with pytest.raises(ValueError, match="unknown model config 'nope'; known: alias, sample"):
        named_config("nope")
    with pytest.raises(ValueError, match="alias.json names itself 'other'"):
        named_config("alias")


@pytest.mark.parametrize(
    ("data", "reason", "field", "words"),
    [
        (sample_dict(family="gpt"), "bad_value", None, "family 'gpt'"),
        (sample_dict(geometry={"kind": "depth"}), "bad_value", None, "geometry 'depth'"),
        (sample_dict(geometry={"kind": "metric_xyz", "colour": 1}), "bad_value", None, "colour"),
        (sample_dict(connector={"kind": "qformer"}), "bad_value", None, "qformer"),
        (
            {k: v for k, v in sample_dict().items() if k != "backbone"},
            "missing_field",
            "backbone",
            "backbone",
        ),
        ({k: v for k, v in sample_dict().items() if k != "name"}, "missing_field", "name", "name"),
        (sample_dict(version=CONFIG_VERSION + 1), "unsupported_version", "version", "version 2"),
        ([1, 2], "wrong_type", None, "JSON object"),
        (
            sample_dict(extra_encoders=[{"name": "rgb", "kind": "vit"}]),
            "bad_value",
            None,
            "must be unique, not rgb/pointmap",
        ),
    ],
)
def test_bad_config_files_name_the_file(
    tmp_path: Path, data: object, reason: str, field: str | None, words: str
):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match=words) as error:
        ModelConfig.load(path)
    assert (error.value.reason, error.value.field, error.value.file) == (reason, field, str(path))
    assert str(path) in str(error.value)


def test_unreadable_config_files(tmp_path: Path):
    (tmp_path / "broken.json").write_text('{"name": ')
    for path in (tmp_path / "broken.json", tmp_path / "absent.json"):
        with pytest.raises(RecordError, match=path.name) as error:
            ModelConfig.load(path)
        assert error.value.reason == "unreadable"
