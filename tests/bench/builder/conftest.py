"""Scenes for the benchmark-building tests.

`synth_scenes`: tiny synthetic scenes (160 x 120; indoor rooms with two views and table tops), rewritten so
that every two consecutive scenes of a setting share one capture id - the split unit - as the rescans of one
room or the frames of one drive do. `bench_builds`: one benchmark per preset built from them by capture split
(session-scoped: built once, only read by the tests). `hand_scene` / `write_scenes`: hand-made scenes (the
task tests' builder) with the ids, source, split and image paths a test needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from spatialforge.bench.builder.pipeline import BuildConfig, build_benchmark
from spatialforge.bench.builder.presets import PRESETS
from spatialforge.bench.builder.split import SplitConfig
from spatialforge.scene.io import write_scenes
from spatialforge.scene.records import Scene
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig
from tests.tasks.scenes import Obj, make_scene

SCENES_PER_CAPTURE = 2
# With the default salt this fraction sends 4 of the 6 captures (8 scenes) to the benchmark, 2 to train.
BUILD_FRACTION = 0.6
BUILD_N_PER_TASK = 4

_BASE = make_scene([Obj("0", "chair", (0.0, 3.0, -0.5), (0.6, 0.6, 1.0))])


def hand_scene(
    scene_id: str,
    capture_id: str | None = None,
    *,
    source: str = "test",
    split: str | None = "train",
    image_path: str = "images/v0.jpg",
    asset_root: str = ".",
) -> Scene:
    """A one-view, one-object scene with the given identities (geometry irrelevant to the split)."""
    view = replace(_BASE.views[0], image_path=image_path)
    return replace(
        _BASE,
        scene_id=scene_id,
        capture_id=capture_id or scene_id,
        source=source,
        split=split,
        views=(view,),
        asset_root=asset_root,
    )


def write_hand_scenes(path: Path, scenes: Iterable[Scene]) -> Path:
    write_scenes(path, list(scenes))
    return path


def _shared_captures(lines: list[str]) -> list[str]:
    out = []
    for i, line in enumerate(lines):
        record = json.loads(line)
        record["capture_id"] = f"{record['source']}/cap{i // SCENES_PER_CAPTURE}"
        out.append(json.dumps(record))
    return out


@pytest.fixture(scope="session")
def synth_scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 synthetic scenes in 6 captures (2 scenes each), as one scene JSONL."""
    root = tmp_path_factory.mktemp("bench_synth")
    indoor = run_synth(
        root / "indoor", 6, SynthConfig(setting="indoor", views=2, width=160, height=120), n_buckets=1
    )
    table = run_synth(
        root / "tabletop", 6, SynthConfig(setting="tabletop", width=160, height=120), n_buckets=1
    )
    lines: list[str] = []
    for report in (indoor, table):
        text = (Path(report.output_dir) / "scenes.jsonl").read_text(encoding="utf-8")
        lines += _shared_captures(text.splitlines())
    merged = root / "scenes.jsonl"
    merged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return merged


def build(scenes: Path, output: Path, preset: str, **kw) -> Path:
    cfg = BuildConfig(
        scenes=str(scenes),
        output=str(output),
        preset=preset,
        n_per_task=kw.pop("n_per_task", BUILD_N_PER_TASK),
        split=kw.pop("split", SplitConfig(BUILD_FRACTION)),
        **kw,
    )
    build_benchmark(cfg, [])
    return output


@pytest.fixture(scope="session")
def bench_builds(synth_scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """preset name -> a benchmark folder built from `synth_scenes` by capture split."""
    root = tmp_path_factory.mktemp("bench_builds")
    return {name: build(synth_scenes, root / name, name) for name in PRESETS}
