"""A small generate run shared by the export tests: synthetic indoor rooms (two views) and table tops, at
160 x 120, QA from the default mix. Session-scoped: made once, read by many tests (never written to)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatialforge.engine.generate import GenerateConfig, run_generate
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig


def _scenes(root: Path) -> Path:
    a = run_synth(
        root / "indoor", 3, SynthConfig(setting="indoor", views=2, width=160, height=120), n_buckets=1
    )
    b = run_synth(root / "tabletop", 2, SynthConfig(setting="tabletop", width=160, height=120), n_buckets=1)
    merged = root / "scenes.jsonl"
    with open(merged, "w", encoding="utf-8") as out:
        for report in (a, b):
            out.write((Path(report.output_dir) / "scenes.jsonl").read_text(encoding="utf-8"))
    return merged


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished generate run directory (4 buckets) over 5 synthetic scenes."""
    root = tmp_path_factory.mktemp("export_run")
    scenes = _scenes(root)
    run_generate(scenes, root / "run", GenerateConfig(seed=7, max_qa_per_scene=24), n_buckets=4)
    return root / "run"


@pytest.fixture(scope="session")
def small_run_spar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same scenes with SPAR's format profile (every object named by a box marker)."""
    root = tmp_path_factory.mktemp("export_run_spar")
    scenes = _scenes(root)
    config = GenerateConfig(seed=7, max_qa_per_scene=24, format_profile="spar")
    run_generate(scenes, root / "run", config, n_buckets=4)
    return root / "run"


def run_records(run_dir: Path) -> list[dict]:
    """Every QA record of a run, in data.jsonl order."""
    return [json.loads(line) for line in (run_dir / "data.jsonl").read_text(encoding="utf-8").splitlines()]
