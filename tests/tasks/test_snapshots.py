"""Snapshot of the rendered text: one record per (task, format) on one fixed scene and seed.

The snapshot (tests/tasks/data/snapshots.txt) is what a reviewer reads to see every task's wording; a change
to a template bank, the renderer or the engine's draws shows up here as a diff. After an intended change,
regenerate it and review the diff:

    SPATIALFORGE_UPDATE_SNAPSHOTS=1 python -m pytest -q tests/tasks/test_snapshots.py
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from pathlib import Path

from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.scene.records import Scene
from spatialforge.tasks.registry import TASKS
from tests.tasks.multiview_scenes import walkthroughs

SNAPSHOT = Path(__file__).parent / "data" / "snapshots.txt"
UPDATE_ENV = "SPATIALFORGE_UPDATE_SNAPSHOTS"
SEED = 0
# Scene synthetic_boxes/000000 of random_box_scenes(seed=0): two chairs, two tvs and a cabinet (fronts),
# a bed, a plant and a box; every task renders in every format it declares.
(SCENE,) = random_box_scenes(1, seed=0)
# Multi-view tasks render on the test walkthroughs (tests/tasks/multiview_scenes.py; the second repeats three
# categories, so counting has something to count), whose floor point cloud lives in a temporary folder.
MULTI_VIEW_SCENES = tuple(walkthroughs(Path(tempfile.mkdtemp(prefix="sf_snapshots_")), count=2))
HEADER = (
    "# Rendered text per (task, format): the first record `spatialforge generate` makes for the task in\n"
    f"# that format on scene {SCENE.scene_id} (demo.box_scenes.random_box_scenes(1, seed=0)), seed {SEED};\n"
    "# multi-view tasks on the first of tests/tasks/multiview_scenes.walkthroughs(count=2) rendering one.\n"
    f"# Regenerate: {UPDATE_ENV}=1 python -m pytest -q tests/tasks/test_snapshots.py\n"
)
BLOCK_RE = re.compile(r"^=== (\w+) / (\w+) ===$", re.MULTILINE)
# SPAR's select layout (format profile "spar": options on one line, a bare-letter answer) for a few tasks.
SPAR_SELECT_TASKS = ("relative_direction", "relative_distance", "spatial_counting")
SPAR_BLOCK_RE = re.compile(r"^=== (\w+) / mcq, spar profile ===$", re.MULTILINE)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


def _block(title: str, config: GenerateConfig, scenes: tuple[Scene, ...] = (SCENE,)) -> str:
    """The first record of the first scene of `scenes` that renders one."""
    records = next((rs for rs in (generate_scene(s, config).records for s in scenes) if rs), [])
    assert records, f"{title}: nothing rendered on {[s.scene_id for s in scenes]}"
    r = records[0]
    return (
        f"=== {title} ===\n"
        f"template: {r['template_id']}\n"
        f"question:\n{_indent(r['question'])}\n"
        f"answer:\n{_indent(r['answer'])}\n"
    )


def render_snapshot() -> str:
    blocks = [HEADER]
    for name, spec in TASKS.items():
        for fmt in spec.formats:
            config = GenerateConfig(
                seed=SEED, tasks=(name,), formats=(fmt,), format_weights=((fmt, 1.0),), max_qa_per_scene=2
            )
            scenes = MULTI_VIEW_SCENES if "multi_view" in spec.requires else (SCENE,)
            blocks.append(_block(f"{name} / {fmt}", config, scenes))
    for name in SPAR_SELECT_TASKS:
        config = GenerateConfig(
            seed=SEED, tasks=(name,), formats=("mcq",), format_profile="spar", max_qa_per_scene=2
        )
        blocks.append(_block(f"{name} / mcq, spar profile", config))
    return "\n".join(blocks)


def test_snapshot_matches() -> None:
    text = render_snapshot()
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot yet: run with {UPDATE_ENV}=1"
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                "snapshots.txt (saved)",
                "snapshots.txt (rendered now)",
            )
        )
        raise AssertionError(f"rendered text changed; if intended, rerun with {UPDATE_ENV}=1\n{diff}")


def test_snapshot_covers_every_task_and_format() -> None:
    text = SNAPSHOT.read_text(encoding="utf-8")
    assert BLOCK_RE.findall(text) == [(name, fmt) for name, spec in TASKS.items() for fmt in spec.formats]
    assert tuple(SPAR_BLOCK_RE.findall(text)) == SPAR_SELECT_TASKS
