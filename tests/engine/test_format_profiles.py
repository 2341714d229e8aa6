"""Format profiles: HiSpatial's mix (default) and SPAR's (sentence 1.0, fill / select / judge 0.1 each,
options on one line, judge for object relations only), resolved into the saved config and honoured per
record."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import (
    FORMAT_PROFILES,
    HISPATIAL_FORMAT_WEIGHTS,
    SPAR_FORMAT_WEIGHTS,
    GenerateConfig,
    generate_scene,
)
from spatialforge.qa.records import qa_from_dict, qa_to_dict
from spatialforge.scene.io import write_scenes
from spatialforge.tasks.registry import TASKS

SCENES = list(random_box_scenes(12, seed=3))
INLINE_OPTIONS_RE = re.compile(r"^(?:[A-Z]\. [^;]+; )*[A-Z]\. [^;]+\.$")


def _records(config: GenerateConfig) -> list[dict]:
    return [r for scene in SCENES for r in generate_scene(scene, config).records]


def test_profiles_resolve_their_weights_into_the_config() -> None:
    assert GenerateConfig().format_weights == HISPATIAL_FORMAT_WEIGHTS
    assert GenerateConfig(format_profile="spar").format_weights == SPAR_FORMAT_WEIGHTS
    # SPAR's released index: sentence 1.0, select (mcq), fill and judge (tf) 0.1 each.
    assert dict(SPAR_FORMAT_WEIGHTS) == {"sentence": 1.0, "fill": 0.1, "mcq": 0.1, "tf": 0.1}
    own = GenerateConfig(format_profile="spar", format_weights=(("fill", 2),))
    assert own.format_weights == (("fill", 2.0),)


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"format_profile": "llava"}, "format_profile must be one of ['hispatial', 'spar']"),
        ({"format_weights": (("essay", 1.0),)}, "unknown formats ['essay']"),
        ({"formats": ("essay",)}, "formats must be a non-empty subset"),
    ],
)
def test_bad_profile_settings_are_refused(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        GenerateConfig(**kwargs)


def test_a_format_the_mix_does_not_weight_is_refused_with_the_profile_named() -> None:
    with pytest.raises(ValueError, match=r"format profile 'hispatial'; set format weights"):
        generate_scene(SCENES[0], GenerateConfig(formats=("fill",)))


def test_hispatial_profile_makes_no_spar_formats() -> None:
    records = _records(GenerateConfig())
    assert {r["format"] for r in records} == {"free", "mcq", "tf"}
    # Objects are named by text where a unique one exists: most records carry no box marker.
    with_text = sum(not any(m["kind"] == "box" for m in r["markers"]) for r in records if r["objects"])
    assert with_text > 0.5 * sum(1 for r in records if r["objects"])


def test_spar_profile_mix_layout_and_judge_tasks() -> None:
    records = _records(GenerateConfig(format_profile="spar"))
    formats = Counter(r["format"] for r in records)
    assert set(formats) == {"sentence", "fill", "mcq", "tf"}
    # sentence dominates (weight 1.0 against 0.1 each); tf pairs count twice.
    assert formats["sentence"] > 4 * max(formats["fill"], formats["mcq"], formats["tf"]), formats
    judge_families = FORMAT_PROFILES["spar"].tf_families
    assert judge_families == ("relative_direction",)
    for r in records:
        assert qa_to_dict(qa_from_dict(r)) == r
        # SPAR names every object by a marker: one box marker per object, its colour in the question.
        boxes = [m for m in r["markers"] if m["kind"] == "box"]
        assert len(boxes) == len(r["objects"]), r["question"]
        for m in boxes:
            assert f"highlighted by the {m['colour']} box" in r["question"]
            assert all(0 <= v <= 1000 for v in m["geometry_norm"])
        if r["format"] == "tf":  # judge: object relations only
            assert TASKS[r["task"]].family in judge_families, r["task"]
        if r["format"] == "mcq":  # select: options on one line, the answer a bare letter
            stem, options, instruction = r["question"].rsplit("\n", 2)
            assert INLINE_OPTIONS_RE.match(options), options
            letters = [c["label"] for c in r["choices"]]
            assert [part.split(".")[0] for part in options.split("; ")] == letters
            assert all(f"{c['label']}. {c['text']}" in options for c in r["choices"])
            assert r["answer"] == r["answer_value"] and r["answer"] in letters
            assert f"{letters[-2]} or {letters[-1]}" in instruction


def test_spar_select_answer_letters_are_uniform() -> None:
    records = _records(GenerateConfig(format_profile="spar", format_weights=(("mcq", 1.0),)))
    four = Counter(r["answer_value"] for r in records if len(r["choices"]) == 4)
    assert sum(four.values()) >= 200
    for letter in "ABCD":
        assert abs(four[letter] / sum(four.values()) - 0.25) < 0.08, four


def test_cli_format_profile(tmp_path: Path) -> None:
    scenes = tmp_path / "scenes.jsonl"
    write_scenes(scenes, SCENES[:4])
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["generate", "--scenes", str(scenes), "--output", str(out), "--format-profile", "spar"]
    )
    assert result.exit_code == 0, result.output
    assert "sentence" in result.output and "fill" in result.output
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["params"]["format_profile"] == "spar"
    assert [tuple(w) for w in config["params"]["format_weights"]] == list(SPAR_FORMAT_WEIGHTS)
    bad = CliRunner().invoke(
        app, ["generate", "--scenes", str(scenes), "--output", str(tmp_path / "x"), "--format-profile", "x"]
    )
    assert bad.exit_code != 0 and "format_profile must be one of" in bad.output
