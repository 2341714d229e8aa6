"""The `spatialforge` command line. Commands are thin: they parse options and call the library."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from spatialforge.cli.ask import ask_command
from spatialforge.cli.evaluate import bench_app, eval_command, eval_compare_command, eval_report_command
from spatialforge.cli.shared import console
from spatialforge.cli.shared import fail as _fail
from spatialforge.cli.train import pretrain_vision_command, train_command
from spatialforge.errors import RecordError

app = typer.Typer(help="spatialforge: 3D spatial QA data engine.", no_args_is_help=True, add_completion=False)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


# Where the sharded commands (synth, generate, export) run their buckets: engine/backends.py.
BACKEND_OPTION = typer.Option(
    "local", "--backend", help="local (process pool) or ray (Ray Data; pip install 'spatialforge\\[ray]')."
)
RAY_ADDRESS_OPTION = typer.Option(
    None, "--ray-address", help="Join this Ray cluster (default: RAY_ADDRESS, else a local Ray)."
)
RAY_CPUS_OPTION = typer.Option(
    0.5,  # engine.backends.DEFAULT_RAY_CPUS_PER_TASK; not imported here, to keep the CLI's start-up light
    "--ray-cpus-per-task",
    help="CPUs Ray reserves per bucket task (fractional works on small machines).",
)


@app.command()
def sources() -> None:
    """List the input formats `ingest` understands."""
    from spatialforge.sources.registry import available_sources

    table = Table("format", "source", "expects")
    for name, cls in available_sources().items():
        table.add_row(name, cls.description, cls.input_layout)
    Console().print(table)


@app.command()
def ingest(
    format: str = typer.Option(..., "--format", "-f", help="Input format (see `spatialforge sources`)."),
    input: Path = typer.Option(..., "--input", "-i", help="Dataset folder or file in the published layout."),
    output: Path = typer.Option(..., "--output", "-o", help="scenes.jsonl to write."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Skip bad records, count them by reason."
    ),
    check_files: bool = typer.Option(
        True, "--check-files/--no-check-files", help="Require image files to exist."
    ),
    option: list[str] = typer.Option(
        None,
        "--option",
        help="Source option key=value (repeatable; `spatialforge sources` lists each source's options), "
        "e.g. --option keyframe_translation_m=0.2 --option assets=out/ca1m_frames.",
    ),
) -> None:
    """Convert a dataset into validated Scene records (JSONL), streaming record by record."""
    from spatialforge.sources.base import parse_option_pairs
    from spatialforge.sources.ingest import ingest as run_ingest

    try:
        options = parse_option_pairs(option or [])
    except RecordError as e:
        _fail(e)
    with _progress() as progress:
        task = progress.add_task(f"ingest {format}", total=None, note="")

        def tick(report):  # noqa: ANN001 - IngestReport
            skipped = sum(report.skipped.values())
            progress.update(task, completed=report.written + skipped, note=f"skipped {skipped}")

        try:
            report = run_ingest(
                format,
                input,
                output,
                skip_invalid=skip_invalid,
                check_files=check_files,
                on_item=tick,
                options=options,
            )
        except (RecordError, KeyError) as e:
            progress.stop()
            _fail(e)
    _print_ingest_report(report)
    stats = report.source_stats
    if "frames_posed" in stats:
        console.print(
            f"keyframes: {stats.get('frames_kept', 0)} of {stats['frames_posed']} posed frames, "
            f"{stats.get('views', 0)} views, {stats.get('observations', 0)} object observations"
        )
    if report.fatal:
        console.print(f"[yellow]input ended early:[/yellow] {escape(report.fatal)}", soft_wrap=True)
        raise typer.Exit(code=1)


def _print_ingest_report(report) -> None:  # noqa: ANN001 - IngestReport
    console.print(
        f"wrote [bold]{report.written}[/bold] scenes ({report.objects} objects) to {report.output} "
        f"in {report.seconds:.2f} s"
    )
    if report.skipped:
        table = Table("skip reason", "count", "first example", title="skipped records")
        for reason, count in sorted(report.skipped.items()):
            table.add_row(reason, str(count), escape(report.first_error.get(reason, "")))
        console.print(table)


@app.command()
def keyframes(
    input: Path = typer.Option(..., "--input", "-i", help="scenes.jsonl (e.g. synthetic trajectories)."),
    output: Path = typer.Option(..., "--output", "-o", help="scenes.jsonl to write (keyframe views only)."),
    translation_m: float = typer.Option(
        None, "--translation-m", help="Drop a frame within this distance (m) of a kept frame ..."
    ),
    rotation_deg: float = typer.Option(
        None, "--rotation-deg", help="... AND within this rotation (degrees) of it (SPAR appendix 7.3)."
    ),
) -> None:
    """Subsample every multi-view scene to its pose keyframes; report frames kept (<output>.report.json)."""
    import json

    from spatialforge.scene.io import SceneWriter, iter_scene_lines
    from spatialforge.scene.keyframes import (
        DEFAULT_ROTATION_DEG,
        DEFAULT_TRANSLATION_M,
        check_thresholds,
        subsample_scene,
    )

    t_m = DEFAULT_TRANSLATION_M if translation_m is None else translation_m
    r_deg = DEFAULT_ROTATION_DEG if rotation_deg is None else rotation_deg
    try:
        check_thresholds(t_m, r_deg)
    except ValueError as e:
        _fail(e)
    per_scene: list[dict] = []
    single_view = frames_in = frames_kept = 0
    try:
        with SceneWriter(output) as writer:
            for item in iter_scene_lines(input):
                if isinstance(item, RecordError):
                    raise item
                if len(item.views) < 2:
                    single_view += 1
                    writer.write(item)
                    continue
                scene, kf = subsample_scene(item, t_m, r_deg)
                writer.write(scene)
                frames_in += kf.frames_in
                frames_kept += kf.frames_kept
                per_scene.append(
                    {"scene_id": scene.scene_id, **kf.as_dict(), "kept_view_ids": list(kf.kept_view_ids)}
                )
    except (RecordError, OSError) as e:
        _fail(e)
    report = {
        "input": str(input),
        "output": str(output),
        "translation_m": t_m,
        "rotation_deg": r_deg,
        "multi_view_scenes": len(per_scene),
        "single_view_scenes": single_view,
        "frames_in": frames_in,
        "frames_kept": frames_kept,
        "scenes": per_scene,
    }
    Path(str(output) + ".report.json").write_text(json.dumps(report, indent=2) + "\n")
    share = f" ({100.0 * frames_kept / frames_in:.1f} %)" if frames_in else ""
    console.print(
        f"kept {frames_kept} of {frames_in} frames{share} in {len(per_scene)} multi-view scenes "
        f"(translation {t_m} m, rotation {r_deg} deg); {single_view} single-view scenes copied\n"
        f"scenes: {output}\nreport: {output}.report.json",
        soft_wrap=True,
    )


@app.command()
def validate(
    scenes: Path = typer.Argument(..., help="scenes.jsonl"),
    check_files: bool = typer.Option(True, "--check-files/--no-check-files"),
) -> None:
    """Check every scene's invariants; list each problem with its reason and field. Exit 1 if any."""
    from spatialforge.scene.io import iter_scene_lines
    from spatialforge.scene.validate import scene_problems

    bad = 0
    total = 0
    for item in iter_scene_lines(scenes):
        total += 1
        if isinstance(item, RecordError):
            bad += 1
            console.print(f"[red]{item.reason}[/red] {escape(str(item))}", soft_wrap=True)
            continue
        for p in scene_problems(item, check_files=check_files):
            bad += 1
            console.print(
                f"[red]{p.reason}[/red] " + escape(f"record {item.scene_id}, field {p.field}: {p.message}"),
                soft_wrap=True,
            )
    console.print(f"{total} scenes, {bad} problems")
    if bad:
        raise typer.Exit(code=1)


@app.command()
def inspect(
    scenes: Path = typer.Argument(..., help="scenes.jsonl"),
    output: Path = typer.Option(Path("inspect"), "--output", "-o", help="Folder for the PNGs."),
    scene_id: list[str] = typer.Option(None, "--scene-id", help="Only these scenes (repeatable)."),
    limit: int = typer.Option(20, "--limit", help="At most this many scenes."),
) -> None:
    """Draw scenes: projected 3D boxes, front arrows and labels on the image, plus a top-down view (PNG)."""
    from spatialforge.inspect import render_scene
    from spatialforge.scene.io import read_scenes

    wanted = set(scene_id or [])
    written: list[Path] = []
    try:
        selected = [s for s in read_scenes(scenes) if not wanted or s.scene_id in wanted][:limit]
    except RecordError as e:
        _fail(e)
    if wanted and not selected:
        _fail(ValueError(f"none of the scene ids {sorted(wanted)} are in {scenes}"))
    with _progress() as progress:
        task = progress.add_task("inspect", total=len(selected), note="")
        for scene in selected:
            written += render_scene(scene, output)
            progress.advance(task)
    for p in written:
        if p.name.endswith("__inspect.png"):
            console.print(str(p))


@app.command()
def demo(
    output: Path = typer.Option(
        Path("demo_out"), "--output", "-o", help="Folder for everything the demo writes."
    ),
) -> None:
    """Run the main job on built-in data: synthesise and render scenes, generate spatial QA, draw a gallery,
    export training-ready files; then ingest and check the shipped fixture datasets."""
    from spatialforge.demo.run import run_demo

    with _progress() as progress:
        summary = run_demo(output, progress=progress)
    synth_table = Table("setting", "scenes", "views", "objects", "seen in a view", title="synthetic scenes")
    for srow in summary.synth_rows:
        synth_table.add_row(
            srow.setting, str(srow.scenes), str(srow.views), str(srow.objects), str(srow.objects_visible)
        )
    Console().print(synth_table)
    qa = Table("task", "QA", title=f"spatial QA: {summary.qa_records} records")
    for name, n in summary.qa_per_task.items():
        qa.add_row(name, str(n))
    Console().print(qa)
    _print_samples(summary.qa_dir / "data.jsonl")
    console.print(
        "exported: "
        + ", ".join(f"{name} {n} samples" for name, n in summary.export_writers.items())
        + f" ({summary.export_dir}, datasheet: {summary.export_dir / 'datasheet.md'})",
        soft_wrap=True,
    )
    table = Table(
        "input",
        "scenes",
        "objects",
        "skipped",
        "3D→2D box IoU mean / min",
        title="fixture datasets (adapters)",
    )
    for row in summary.rows:
        table.add_row(
            row.source,
            str(row.scenes),
            str(row.objects),
            str(row.skipped),
            f"{row.iou_mean:.3f} / {row.iou_min:.3f}" if row.iou_count else "n/a",
        )
    Console().print(table)
    console.print(
        f"gallery (open in a browser): {summary.gallery}"
        f"\nQA: {summary.qa_dir / 'data.jsonl'} (report: {summary.qa_dir / 'report.json'})"
        f"\nsynthetic scenes: {summary.synth_dir / 'scenes.jsonl'} (images, depth, masks beside it)"
        f"\nfixture scenes: {summary.scenes_dir}\ninspector PNGs: {summary.inspect_dir}"
        f"\nreport: {summary.report}",
        soft_wrap=True,
    )


def _print_samples(data: Path, per_format: int = 2) -> None:
    """A few generated questions per format, to read aloud."""
    import json

    shown: dict[str, int] = {}
    with open(data, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if shown.get(rec["format"], 0) >= per_format:
                continue
            shown[rec["format"]] = shown.get(rec["format"], 0) + 1
            Console().print(
                f"[bold]{rec['task']}[/bold] ({rec['format']})\n  Q: {escape(rec['question'])}\n"
                f"  A: {escape(rec['answer'])}",
                highlight=False,
            )


@app.command()
def score(
    benchmark: str = typer.Option(
        ...,
        "--benchmark",
        "-b",
        help="Scoring spec: generic, vsibench, sparbench, cvbench, blink, 3dsrbench, qspatial, spatialrgpt, "
        "embspatial or robospatial.",
    ),
    predictions: Path = typer.Option(
        ..., "--predictions", "-p", help="JSONL: item id + raw model reply (+ gold)."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder for items.jsonl, tasks.csv/md, summary.json."
    ),
    reader: str = typer.Option("jsonl", "--format", help="Predictions format: jsonl, lmms-eval or blink."),
    reply_field: str = typer.Option(
        None, "--reply-field", help="Key holding the model reply, if not the default."
    ),
    gold: Path = typer.Option(
        None, "--gold", help="JSONL of gold answers by id, when predictions lack them."
    ),
    variant: str = typer.Option(None, "--variant", help="Named scoring variant, e.g. sparbench corrected."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Skip malformed records, count them by reason."
    ),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for confidence intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    workers: int = typer.Option(1, "--workers", help="Processes scoring in parallel (same output as 1)."),
) -> None:
    """Re-score predictions made elsewhere with our parsers and the benchmark's official aggregation."""
    from spatialforge.bench.score import ScoreConfig, run_score

    cfg = ScoreConfig(
        benchmark=benchmark,
        predictions=str(predictions),
        output=str(output),
        reader=reader,
        reply_field=reply_field,
        gold=None if gold is None else str(gold),
        variant=variant,
        skip_invalid=skip_invalid,
        bootstrap=bootstrap,
        seed=seed,
        workers=workers,
    )
    try:
        with console.status(f"scoring {predictions}"):
            report = run_score(cfg)
    except (RecordError, KeyError, ValueError, OSError) as e:
        _fail(e)
    table = Table("total", "value", title=f"{benchmark} (parser {report.parser_version})")
    for k, v in report.totals.items():
        table.add_row(k, f"{100 * v:.2f}")
    Console().print(table)
    if report.totals_error:
        console.print(f"[yellow]no official total:[/yellow] {escape(report.totals_error)}", soft_wrap=True)
    console.print(
        f"{report.n_items} items scored in {report.seconds:.2f} s; parse status {dict(report.parse_status)}"
        + (f"; skipped {dict(report.skipped)}" if report.skipped else "")
        + f"\nper-item decisions and per-task tables in {output}",
        soft_wrap=True,
    )


@app.command()
def tasks() -> None:
    """List the registered QA tasks: level, family, formats, metric, variants and default weight."""
    from spatialforge.tasks.registry import TASKS, task_weights

    weights = task_weights()
    table = Table("task", "level", "family", "formats", "metric", "variants", "weight", title="tasks")
    for spec in TASKS.values():
        table.add_row(
            spec.name,
            str(spec.level),
            spec.family,
            " ".join(spec.formats),
            spec.metric,
            " ".join(v for v in spec.variants if v) or "-",
            f"{100 * weights[spec.name]:.1f}%",
        )
    Console().print(table)


@app.command()
def generate(
    scenes: Path = typer.Option(..., "--scenes", "-s", help="scenes.jsonl (from `spatialforge ingest`)."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder for data.jsonl, report.json, config.json."
    ),
    tasks: list[str] = typer.Option(
        None, "--tasks", "-t", help="Only these tasks (repeatable or comma list)."
    ),
    formats: list[str] = typer.Option(
        None,
        "--formats",
        help="Only these formats: free, mcq, tf, fill, sentence (weighted by the profile).",
    ),
    format_profile: str = typer.Option(
        "hispatial",
        "--format-profile",
        help="Format mix and layout: hispatial (free 0.3, mcq 0.4, tf 0.3) or spar (sentence 1.0, fill, "
        "select and judge 0.1 each; options on one line; judge for object relations only).",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Global seed; with the scene id and task it keys all randomness."
    ),
    workers: int = typer.Option(
        1, "--workers", "-w", help="Processes (the output is identical for any number)."
    ),
    max_qa_per_scene: int = typer.Option(
        None, "--max-qa-per-scene", help="Per-scene cap (tf pairs count twice); default 48."
    ),
    buckets: int = typer.Option(None, "--buckets", help="Scene-hash buckets (resumable units); default 64."),
    weights: list[str] = typer.Option(
        None,
        "--weight",
        help="task=weight overriding a task's share of the mix (same scale as HiSpatial's Table 7 percents; "
        "repeatable), e.g. --weight relative_direction=30 --weight object_size=5.",
    ),
    backend: str = BACKEND_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
    ray_cpus_per_task: float = RAY_CPUS_OPTION,
) -> None:
    """Generate spatial QA from scene records; resumable: run the same command again after a kill."""
    from spatialforge.engine.generate import (
        DEFAULT_MAX_QA_PER_SCENE,
        GENERATE_FORMATS,
        GenerateConfig,
        run_generate,
    )
    from spatialforge.engine.runner import ConfigMismatchError

    def _split(values: list[str] | None) -> tuple[str, ...]:
        return tuple(v.strip() for item in values or [] for v in item.split(",") if v.strip())

    try:
        cfg = GenerateConfig(
            seed=seed,
            tasks=_split(tasks),
            formats=_split(formats) or GENERATE_FORMATS,
            format_profile=format_profile,
            max_qa_per_scene=max_qa_per_scene or DEFAULT_MAX_QA_PER_SCENE,
            task_weights=_parse_weights(_split(weights)),
        )
        with console.status(f"generating QA from {scenes}"):
            report = run_generate(
                scenes,
                output,
                cfg,
                n_buckets=buckets,
                backend=_backend(backend, workers, ray_address, ray_cpus_per_task),
            )
    except (ConfigMismatchError, RecordError, KeyError, ValueError, OSError, RuntimeError) as e:
        _fail(e)
    _print_generate_report(report)
    console.print(
        f"{report.records} QA from {report.scenes} scenes in {report.seconds:.2f} s"
        + (
            f" ({report.buckets_resumed} of {report.buckets} buckets resumed)"
            if report.buckets_resumed
            else ""
        )
        + f"\ndata: {output / 'data.jsonl'}\nreport: {output / 'report.json'}"
        + f"\ndatasheet: {output / 'datasheet.md'}",
        soft_wrap=True,
    )


@app.command()
def synth(
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder for scenes.jsonl, images/, depth/, masks/."
    ),
    count: int = typer.Option(..., "--count", "-n", help="How many scenes to make."),
    setting: str = typer.Option("indoor", "--setting", help="indoor, tabletop or street."),
    views: int = typer.Option(1, "--views", help="Views per scene (a camera trajectory when > 1)."),
    width: int = typer.Option(640, "--width", help="Image width in pixels."),
    height: int = typer.Option(480, "--height", help="Image height in pixels."),
    seed: int = typer.Option(
        0, "--seed", help="Global seed; with the setting and scene index it keys a scene."
    ),
    renderer: str = typer.Option(
        "numpy",
        "--renderer",
        help="numpy (default, no system GL) or gl (EGL: pip install 'spatialforge\\[render]').",
    ),
    workers: int = typer.Option(
        1, "--workers", "-w", help="Processes (the output is identical for any number)."
    ),
    buckets: int = typer.Option(None, "--buckets", help="Scene-hash buckets (resumable units)."),
    backend: str = BACKEND_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
    ray_cpus_per_task: float = RAY_CPUS_OPTION,
) -> None:
    """Make procedural 3D scenes and render them (RGB, metric depth, instance masks) with exact Scene records;
    resumable: run the same command again after a kill."""
    from spatialforge.engine.runner import ConfigMismatchError
    from spatialforge.synth.run import SCENES_NAME, run_synth
    from spatialforge.synth.world import SynthConfig

    try:
        config = SynthConfig(
            setting=setting, views=views, width=width, height=height, seed=seed, renderer=renderer
        )
        with console.status(f"making {count} {setting} scenes"):
            report = run_synth(
                output,
                count,
                config,
                n_buckets=buckets,
                backend=_backend(backend, workers, ray_address, ray_cpus_per_task),
            )
    except (ConfigMismatchError, ValueError, OSError, RuntimeError) as e:
        _fail(e)
    table = Table("reason", "count", title="placements and views not made")
    for reason, n in report.rejected.items():
        table.add_row(reason, str(n))
    if report.rejected:
        Console().print(table)
    objects = report.tallies.get("objects_per_category", {})
    console.print(
        f"{report.scenes} scenes, {sum(objects.values())} objects in {report.seconds:.2f} s"
        + (
            f" ({report.buckets_resumed} of {report.buckets} buckets resumed)"
            if report.buckets_resumed
            else ""
        )
        + f"\nscenes: {output / SCENES_NAME}\nreport: {output / 'report.json'}",
        soft_wrap=True,
    )


@app.command()
def gallery(
    qa: Path = typer.Option(
        ..., "--qa", "-q", help="QA JSONL (e.g. data.jsonl from `spatialforge generate`)."
    ),
    scenes: Path = typer.Option(..., "--scenes", "-s", help="The scenes.jsonl the QA was generated from."),
    output: Path = typer.Option(
        Path("gallery"), "--output", "-o", help="Folder for index.html and the PNGs (replaced on a rerun)."
    ),
    count: int = typer.Option(24, "--count", "-n", help="Records to show, spread over tasks."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample (same seed and file: same gallery)."),
) -> None:
    """A QA gallery to browse: each sampled record's image(s) with markers and objects drawn, question and
    answer under it (PNG), and index.html listing them."""
    from spatialforge.inspect.gallery import build_gallery

    try:
        with console.status(f"building a gallery of {qa}"):
            report = build_gallery(qa, scenes, output, count=count, seed=seed)
    except (RecordError, ValueError, OSError) as e:
        _fail(e)
    if report.skipped:
        table = Table("skip reason", "records", "first example", title="records not shown")
        for reason, n in report.skipped.items():
            table.add_row(reason, str(n), escape(report.skip_examples.get(reason, "")))
        Console().print(table)
    console.print(
        f"{len(report.pngs)} records shown of {report.records_seen} lines read\nopen: {report.index_html}",
        soft_wrap=True,
    )


@app.command("draw-markers")
def draw_markers_command(
    qa: Path = typer.Option(
        ..., "--qa", "-q", help="QA JSONL (e.g. data.jsonl from `spatialforge generate`)."
    ),
    scenes: Path = typer.Option(..., "--scenes", "-s", help="The scenes.jsonl the QA was generated from."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder for data_marked.jsonl, images/ and draw_report.json."
    ),
    image_format: str = typer.Option("png", "--image-format", help="png (lossless) or jpg (quality 95)."),
    workers: int = typer.Option(1, "--workers", "-w", help="Processes drawing copies in parallel."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Leave out malformed QA lines, count them by reason."
    ),
) -> None:
    """Draw each record's markers (boxes, points) on copies of its images; resumable, copies shared."""
    from spatialforge.qa.marked_copies import MARKED_QA_NAME, REPORT_NAME, run_draw_markers

    try:
        with console.status(f"drawing markers for {qa}"):
            report = run_draw_markers(
                qa, scenes, output, image_format=image_format, workers=workers, skip_invalid=skip_invalid
            )
    except (RecordError, ValueError, OSError) as e:
        _fail(e)
    table = Table("skip reason", "records", "first example", title="records not marked")
    for reason, count in report.skipped.items():
        table.add_row(reason, str(count), escape(report.first_skip.get(reason, "")))
    if report.skipped:
        Console().print(table)
    console.print(
        f"{report.records_marked} of {report.records_with_markers} records with markers marked "
        f"({report.records} records); copies: {report.copies_drawn} drawn, {report.copies_reused} reused, "
        f"{report.copies_skipped} skipped"
        + (f"; invalid lines left out {report.invalid_lines}" if report.invalid_lines else "")
        + f"; {report.seconds:.2f} s\ndata: {output / MARKED_QA_NAME}\nreport: {output / REPORT_NAME}",
        soft_wrap=True,
    )


@app.command("export")
def export_command(
    run: Path = typer.Option(..., "--run", "-r", help="A finished `spatialforge generate` output folder."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the exported files."),
    to: list[str] = typer.Option(
        None,
        "--to",
        help="Writers (repeatable or comma list): llava, chat, spar, parquet, webdataset; default all.",
    ),
    formats: list[str] = typer.Option(
        None, "--formats", help="Only records of these QA formats (free, mcq, tf, fill, sentence)."
    ),
    max_side: int = typer.Option(
        640,
        "--max-side",
        help="Longer side of written images (WebDataset, Parquet, marked copies); 0 keeps it.",
    ),
    jpeg_quality: int = typer.Option(90, "--jpeg-quality", help="JPEG quality of written images."),
    geometry: str = typer.Option(
        "depth",
        "--geometry",
        help="WebDataset geometry: depth (16-bit log PNG), points (float16 .npy) or both.",
    ),
    parquet_images: bool = typer.Option(
        False, "--parquet-images", help="Embed the (marked) image bytes in the Parquet rows."
    ),
    image_root: Path = typer.Option(
        None, "--image-root", help="Write image paths relative to this folder (default: absolute paths)."
    ),
    samples_per_tar: int = typer.Option(
        1000, "--samples-per-tar", help="Most samples in one WebDataset tar."
    ),
    workers: int = typer.Option(
        1, "--workers", "-w", help="Processes (the output is identical for any number)."
    ),
    backend: str = BACKEND_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
    ray_cpus_per_task: float = RAY_CPUS_OPTION,
) -> None:
    """Write a generate run as training-ready files (LLaVA JSON, chat JSONL, SPAR JSONL, Parquet for HF
    datasets, WebDataset tars) with a datasheet; resumable: run the same command again after a kill."""
    from spatialforge.engine.runner import ConfigMismatchError
    from spatialforge.export.base import WRITERS, ExportOptions
    from spatialforge.export.run import run_export
    from spatialforge.qa.records import FORMATS

    def _split(values: list[str] | None) -> tuple[str, ...]:
        return tuple(v.strip() for item in values or [] for v in item.split(",") if v.strip())

    try:
        options = ExportOptions(
            writers=_split(to) or tuple(WRITERS),
            formats=_split(formats) or FORMATS,
            max_side=max_side or None,
            jpeg_quality=jpeg_quality,
            geometry=geometry,
            parquet_images=parquet_images,
            image_root=str(image_root) if image_root is not None else None,
            samples_per_tar=samples_per_tar,
        )
        with console.status(f"exporting {run} as {', '.join(options.writers)}"):
            report = run_export(
                run, output, options, backend=_backend(backend, workers, ray_address, ray_cpus_per_task)
            )
    except (ConfigMismatchError, RecordError, KeyError, ValueError, OSError, RuntimeError) as e:
        _fail(e)
    table = Table("writer", "samples", "records", "files", "MB", "skipped", title="exported")
    for name, w in report.writers.items():
        skipped = ", ".join(f"{k} {n}" for k, n in w["skipped"].items()) or "-"
        table.add_row(
            name,
            str(w["samples"]),
            str(w["records"]),
            str(len(w["files"])),
            f"{w['bytes'] / 1e6:.1f}",
            skipped,
        )
    Console().print(table)
    if report.skipped:
        console.print("scenes left out: " + ", ".join(f"{k} {n}" for k, n in report.skipped.items()))
    console.print(
        f"{report.records} QA records of {report.scenes} scenes in {report.seconds:.2f} s"
        + (f" ({report.shards_resumed} of {report.shards} shards resumed)" if report.shards_resumed else "")
        + f"\nmanifest: {output / 'manifest.json'}\ndatasheet: {output / 'datasheet.md'}",
        soft_wrap=True,
    )


@app.command()
def conversations(
    qa: Path = typer.Option(..., "--qa", "-q", help="QA JSONL (data.jsonl from `spatialforge generate`)."),
    output: Path = typer.Option(..., "--output", "-o", help="Conversations JSONL to write."),
    seed: int = typer.Option(0, "--seed", help="Seed of the draws (which records go together)."),
    min_turns: int = typer.Option(2, "--min-turns", help="Fewest turns in a conversation."),
    max_turns: int = typer.Option(6, "--max-turns", help="Most turns in a conversation."),
) -> None:
    """Chain the free-form and true/false QA of each image into multi-turn conversations (SpatialLLM)."""
    from spatialforge.qa.conversations import write_conversations

    try:
        report = write_conversations(qa, output, seed=seed, min_turns=min_turns, max_turns=max_turns)
    except (RecordError, ValueError, OSError) as e:
        _fail(e)
    turns = ", ".join(f"{k} turns: {v}" for k, v in sorted(report.turns.items()))
    left = ", ".join(f"{k} {v}" for k, v in sorted(report.left_out.items())) or "none"
    console.print(
        f"{report.conversations} conversations from {report.records_read} records ({turns}); "
        f"left out: {left}\ndata: {output}",
        soft_wrap=True,
    )


def _backend(name: str, workers: int, ray_address: str | None, cpus_per_task: float):  # noqa: ANN202
    from spatialforge.engine.backends import Backend

    return Backend(name, workers, ray_address, cpus_per_task)


def _parse_weights(items: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """("relative_direction=30", ...) -> (("relative_direction", 30.0), ...); ValueError names a bad item."""
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out.append((name.strip(), float(value)))
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--weight expects task=number, got {item!r}")
    return tuple(out)


def _print_generate_report(report) -> None:  # noqa: ANN001 - RunReport
    from spatialforge.qa.records import FORMATS

    per_task = report.counts.get("task", {})
    formats = report.tallies.get("task_format", {})
    shown = [f for f in FORMATS if any(key.endswith(f"/{f}") for key in formats)]
    table = Table("task", "QA", *shown, "rejected", title="generated QA")
    for task, n in per_task.items():
        rejected = sum(v for k, v in report.rejected.items() if k.startswith(f"{task}/"))
        table.add_row(task, str(n), *(str(formats.get(f"{task}/{f}", 0)) for f in shown), str(rejected))
    Console().print(table)


app.add_typer(bench_app, name="bench")
app.command("eval")(eval_command)
app.command("eval-report")(eval_report_command)
app.command("eval-compare")(eval_compare_command)
app.command("train")(train_command)
app.command("pretrain-vision")(pretrain_vision_command)
app.command("ask")(ask_command)

if __name__ == "__main__":
    app()
