"""The demo: ingest the shipped fixture datasets end to end, check them against their own 2D boxes, draw them.

The fixtures (demo/fixtures/<format>/) hold real annotation and calibration text in each dataset's published
layout, with uniform grey placeholders of the real image sizes instead of the photos (those cannot be
redistributed). The demo ingests a copy of each fixture with every check on — the same path a user's real
dataset takes — and then paints a stand-in image over each placeholder from the view's 3D content
(inspect.sketch), so the inspector's drawings show boxes where the projected edges land.
"""

from __future__ import annotations

import json
import shutil
import statistics
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from rich.progress import Progress

from spatialforge.scene.checks import projection_ious
from spatialforge.scene.io import read_scenes
from spatialforge.sources.ingest import ingest


@dataclass(frozen=True)
class DemoSource:
    name: str  # shown in the summary
    format: str  # registered source adapter
    fixture: str  # folder under demo/fixtures
    input: str  # input path relative to the copied fixture folder


DEMO_SOURCES = (
    DemoSource("kitti", "kitti", "kitti", "training"),
    DemoSource("sunrgbd", "sunrgbd", "sunrgbd", "."),
    DemoSource("omni3d/KITTI", "omni3d", "omni3d", "datasets/Omni3D/KITTI_train.json"),
)


@dataclass
class DemoRow:
    source: str
    scenes: int
    objects: int
    skipped: int
    iou_count: int
    iou_mean: float
    iou_min: float


@dataclass
class DemoSummary:
    rows: list[DemoRow] = field(default_factory=list)
    scenes_dir: Path = Path()
    inspect_dir: Path = Path()
    report: Path = Path()
    qa_dir: Path = Path()
    qa_records: int = 0
    qa_per_task: dict[str, int] = field(default_factory=dict)
    qa_rejected: int = 0


def fixtures_root() -> Path:
    return Path(str(resources.files("spatialforge.demo") / "fixtures"))


def _paint_images(scenes_path: Path) -> None:
    """Overwrite every view's placeholder image (in the demo's own copy) with a sketch of its 3D content."""
    from spatialforge.inspect.sketch import sketch_image

    for scene in read_scenes(scenes_path):
        for view in scene.views:
            sketch_image(scene, view).save(scene.resolve(view.image_path))


def run_demo(output: Path, progress: Progress | None = None) -> DemoSummary:
    output = Path(output)
    data_dir, scenes_dir, inspect_dir = output / "datasets", output / "scenes", output / "inspect"
    qa_dir = output / "qa"
    for d in (data_dir, scenes_dir, inspect_dir, qa_dir):
        if d.exists():
            shutil.rmtree(d)
    for d in (data_dir, scenes_dir, inspect_dir):
        d.mkdir(parents=True)
    summary = DemoSummary(
        scenes_dir=scenes_dir, inspect_dir=inspect_dir, report=output / "demo_report.json", qa_dir=qa_dir
    )
    task = progress.add_task("demo", total=len(DEMO_SOURCES) + 1, note="") if progress else None

    from spatialforge.inspect import render_scene

    for src in DEMO_SOURCES:
        if progress is not None and task is not None:
            progress.update(task, note=src.name)
        copy = data_dir / src.fixture
        if not copy.exists():  # several demo inputs may share one fixture folder
            shutil.copytree(fixtures_root() / src.fixture, copy)
        out = scenes_dir / f"{src.name.replace('/', '_')}.jsonl"
        report = ingest(src.format, copy / src.input, out, skip_invalid=True, check_files=True)
        _paint_images(out)
        ious = []
        for scene in read_scenes(out):
            ious += [iou for _, _, iou in projection_ious(scene)]
            render_scene(scene, inspect_dir)
        summary.rows.append(
            DemoRow(
                source=src.name,
                scenes=report.written,
                objects=report.objects,
                skipped=sum(report.skipped.values()),
                iou_count=len(ious),
                iou_mean=statistics.fmean(ious) if ious else 0.0,
                iou_min=min(ious) if ious else 0.0,
            )
        )
        if progress is not None and task is not None:
            progress.advance(task)
    _generate_qa(summary, progress, task)
    summary.report.write_text(json.dumps([asdict(r) for r in summary.rows], indent=2) + "\n")
    return summary


def _generate_qa(summary: DemoSummary, progress: Progress | None, task) -> None:  # noqa: ANN001
    """All ingested scenes -> spatial QA with the default task mix (demo_out/qa/data.jsonl)."""
    from spatialforge.engine.generate import GenerateConfig, run_generate

    if progress is not None and task is not None:
        progress.update(task, note="generate QA")
    all_scenes = summary.scenes_dir / "all_scenes.jsonl"
    with open(all_scenes, "w", encoding="utf-8") as dst:
        for row in summary.rows:
            part = summary.scenes_dir / f"{row.source.replace('/', '_')}.jsonl"
            dst.write(part.read_text(encoding="utf-8"))
    # Few scenes: a handful of buckets keeps the output folder small; the data does not depend on it.
    report = run_generate(all_scenes, summary.qa_dir, GenerateConfig(), n_buckets=4)
    summary.qa_records = report.records
    summary.qa_per_task = report.counts.get("task", {})
    summary.qa_rejected = sum(report.rejected.values())
    if progress is not None and task is not None:
        progress.advance(task)
