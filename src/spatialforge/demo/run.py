"""The demo, the first README command: make a synthetic dataset end to end, and check the real-data adapters.

1. Synthetic world (synth/): procedural indoor rooms (two-view trajectories), table tops and streets are laid
   out, rendered (RGB, metric depth, instance masks) and written as Scene records (demo_out/synth/).
2. The QA engine (engine.generate) turns those scenes into spatial QA at the default task mix
   (demo_out/qa/data.jsonl), and a gallery shows a sample of it: each question on its image with its markers
   and the objects it names (demo_out/gallery/index.html).
3. The export (export/run.py) writes that QA as training-ready files (demo_out/export/): LLaVA JSON, chat
   messages, SPAR JSONL and WebDataset tars (Parquet too when pyarrow is installed: the [export] extra),
   with the datasheet.
4. The shipped fixture datasets (demo/fixtures/<format>/: real annotation and calibration text in each
   dataset's published layout, with uniform grey placeholders of the real image sizes instead of the photos,
   which cannot be redistributed) are ingested with every check on -- the path a user's real dataset takes --
   checked against their own 2D boxes, and drawn by the inspector (demo_out/inspect/) over a stand-in image
   painted from each view's 3D content (inspect.sketch).
Sizes are DEMO_SYNTH; the whole demo runs in well under two minutes on two cores and never imports torch.
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


@dataclass(frozen=True)
class DemoSynth:
    setting: str
    count: int
    views: int


# The synthetic part of the demo: 28 scenes, 40 rendered 640 x 480 views.
DEMO_SYNTH = (DemoSynth("indoor", 12, 2), DemoSynth("tabletop", 8, 1), DemoSynth("street", 8, 1))
GALLERY_SIZE = 24


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
class SynthRow:
    setting: str
    scenes: int
    views: int
    objects: int
    objects_visible: int


@dataclass
class DemoSummary:
    rows: list[DemoRow] = field(default_factory=list)
    synth_rows: list[SynthRow] = field(default_factory=list)
    synth_dir: Path = Path()
    scenes_dir: Path = Path()
    inspect_dir: Path = Path()
    report: Path = Path()
    qa_dir: Path = Path()
    gallery: Path = Path()
    qa_records: int = 0
    qa_per_task: dict[str, int] = field(default_factory=dict)
    qa_rejected: int = 0
    export_dir: Path = Path()
    export_writers: dict[str, int] = field(default_factory=dict)


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
    synth_dir, qa_dir, gallery_dir = output / "synth", output / "qa", output / "gallery"
    export_dir = output / "export"
    for d in (data_dir, scenes_dir, inspect_dir, synth_dir, qa_dir, gallery_dir, export_dir):
        if d.exists():
            shutil.rmtree(d)
    for d in (data_dir, scenes_dir, inspect_dir):
        d.mkdir(parents=True)
    summary = DemoSummary(
        synth_dir=synth_dir,
        scenes_dir=scenes_dir,
        inspect_dir=inspect_dir,
        report=output / "demo_report.json",
        qa_dir=qa_dir,
        gallery=gallery_dir / "index.html",
        export_dir=export_dir,
    )
    steps = len(DEMO_SYNTH) + 3 + len(DEMO_SOURCES)
    task = progress.add_task("demo", total=steps, note="") if progress else None

    def step(note: str | None = None) -> None:
        if progress is not None and task is not None:
            if note is None:
                progress.advance(task)
            else:
                progress.update(task, note=note)

    synth_scenes = _make_synthetic(summary, step)
    _generate_qa(summary, synth_scenes, step)
    _export(summary, step)
    _check_fixtures(summary, step)
    summary.report.write_text(
        json.dumps(
            {
                "synthetic": [asdict(r) for r in summary.synth_rows],
                "fixtures": [asdict(r) for r in summary.rows],
                "export": summary.export_writers,
            },
            indent=2,
        )
        + "\n"
    )
    return summary


def _make_synthetic(summary: DemoSummary, step) -> Path:  # noqa: ANN001
    """DEMO_SYNTH scenes, one folder per setting; returns the file with all their Scene records."""
    from spatialforge.synth.run import SCENES_NAME, run_synth
    from spatialforge.synth.world import SynthConfig

    all_scenes = summary.synth_dir / SCENES_NAME
    parts = []
    for spec in DEMO_SYNTH:
        step(f"synthesise {spec.setting}")
        out = summary.synth_dir / spec.setting
        report = run_synth(out, spec.count, SynthConfig(setting=spec.setting, views=spec.views), n_buckets=2)
        visible = report.tallies.get("objects_visible", {})
        summary.synth_rows.append(
            SynthRow(
                setting=spec.setting,
                scenes=report.scenes,
                views=report.tallies.get("views", {}).get("rendered", 0),
                objects=sum(report.tallies.get("objects_per_category", {}).values()),
                objects_visible=visible.get("visible in a view", 0),
            )
        )
        parts.append(out / SCENES_NAME)
        step()
    with open(all_scenes, "w", encoding="utf-8") as dst:
        for part in parts:
            dst.write(part.read_text(encoding="utf-8"))
    return all_scenes


def _generate_qa(summary: DemoSummary, scenes: Path, step) -> None:  # noqa: ANN001
    """Synthetic scenes -> spatial QA at the default task mix (demo_out/qa/data.jsonl), and its gallery."""
    from spatialforge.engine.generate import GenerateConfig, run_generate
    from spatialforge.inspect.gallery import build_gallery

    step("generate QA")
    # Few scenes: a handful of buckets keeps the output folder small; the data does not depend on it.
    report = run_generate(scenes, summary.qa_dir, GenerateConfig(), n_buckets=4)
    summary.qa_records = report.records
    summary.qa_per_task = report.counts.get("task", {})
    summary.qa_rejected = sum(report.rejected.values())
    step()
    step("gallery")
    gallery = build_gallery(summary.qa_dir / "data.jsonl", scenes, summary.gallery.parent, count=GALLERY_SIZE)
    summary.gallery = gallery.index_html
    step()


def _export(summary: DemoSummary, step) -> None:  # noqa: ANN001
    """The demo's QA as training-ready files (demo_out/export/), with the writers this install can run."""
    import importlib.util

    from spatialforge.export.base import ExportOptions
    from spatialforge.export.run import run_export

    step("export")
    writers = ("llava", "chat", "spar", "webdataset")
    if importlib.util.find_spec("pyarrow") is not None:
        writers += ("parquet",)
    report = run_export(summary.qa_dir, summary.export_dir, ExportOptions(writers=writers))
    summary.export_writers = {name: w["samples"] for name, w in report.writers.items()}
    step()


def _check_fixtures(summary: DemoSummary, step) -> None:  # noqa: ANN001
    """Ingest each shipped fixture dataset, compare its projected 3D boxes with its 2D boxes, draw it."""
    from spatialforge.inspect import render_scene

    data_dir = summary.scenes_dir.parent / "datasets"
    for src in DEMO_SOURCES:
        step(src.name)
        copy = data_dir / src.fixture
        if not copy.exists():  # several demo inputs may share one fixture folder
            shutil.copytree(fixtures_root() / src.fixture, copy)
        out = summary.scenes_dir / f"{src.name.replace('/', '_')}.jsonl"
        report = ingest(src.format, copy / src.input, out, skip_invalid=True, check_files=True)
        _paint_images(out)
        ious = []
        for scene in read_scenes(out):
            ious += [iou for _, _, iou in projection_ious(scene)]
            render_scene(scene, summary.inspect_dir)
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
        step()
