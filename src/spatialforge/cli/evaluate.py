"""Commands for benchmarks and evaluation: `bench presets|exclusions|split|build|leakage`, the published
benchmarks' `bench published|import|gold`, `bench export-lmms`, `eval`, `eval-compare`. Thin: they parse
options and call bench/builder, bench/published, bench/lmms_export and evaluate/."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from spatialforge.cli.shared import console, fail
from spatialforge.errors import RecordError

bench_app = typer.Typer(
    help="Build leakage-safe benchmarks from held-out scenes; split by capture; check leakage; import "
    "published benchmarks from their released files.",
    no_args_is_help=True,
)

EXCLUDE_OPTION = typer.Option(
    [], "--exclude", help="Built-in exclusion list (repeatable; 'all' for every one): see `bench exclusions`."
)
EXCLUDE_LIST_OPTION = typer.Option(
    [],
    "--exclude-list",
    help="Exclusion list file (JSON or text; repeatable), e.g. a benchmark's captures.json.",
)
BAD = (RecordError, KeyError, ValueError, OSError)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


@bench_app.command("presets")
def presets_command() -> None:
    """List the benchmark presets: tasks, formats, quotas and where their structure comes from."""
    from spatialforge.bench.builder.presets import PRESETS

    for preset in PRESETS.values():
        table = Table(
            "task", "our task", "group", "formats", "items", title=f"{preset.name}: {preset.source}"
        )
        for t in preset.tasks:
            table.add_row(t.name, t.source_task, t.group or "", ", ".join(t.formats), str(t.n))
        Console().print(table)
        Console().print(f"  {preset.description}; totals: {preset.totals_rule}", soft_wrap=True)


@bench_app.command("exclusions")
def exclusions_command() -> None:
    """List the built-in exclusion lists of the leakage guard and what each excludes."""
    from spatialforge.bench.builder.exclusions import BUILTIN_EXCLUSIONS

    table = Table("list", "excludes", "source", title="built-in exclusion lists")
    for lst in BUILTIN_EXCLUSIONS.values():
        rules = "; ".join(f"{r.source} {'/'.join(r.splits) or 'all'}" for r in lst.rules)
        table.add_row(lst.name, rules, escape(lst.note))
    Console().print(table)


@bench_app.command("split")
def split_command(
    scenes: Path = typer.Option(..., "--scenes", "-s", help="Scene JSONL to split."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for train/benchmark scene files."),
    fraction: float = typer.Option(0.1, "--fraction", help="Share of captures that go to the benchmark."),
    salt: str = typer.Option(None, "--salt", help="Salt of the capture hash (default: fixed, versioned)."),
    benchmark_splits: str = typer.Option(
        None, "--benchmark-splits", help="Use the sources' own splits instead, e.g. 'test,val'."
    ),
    exclude: list[str] = EXCLUDE_OPTION,
    exclude_list: list[Path] = EXCLUDE_LIST_OPTION,
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Count bad scene lines instead of stopping."
    ),
) -> None:
    """Split scenes into train and benchmark by capture (never by image), leaving out excluded scenes."""
    from spatialforge.bench.builder.exclusions import resolve_exclusions
    from spatialforge.bench.builder.split import DEFAULT_SALT, SplitConfig, split_scenes

    try:
        cfg = SplitConfig(
            fraction, salt or DEFAULT_SALT, tuple(filter(None, (benchmark_splits or "").split(",")))
        )
        lists = resolve_exclusions(exclude, exclude_list)
        report = split_scenes(scenes, output, cfg, lists, skip_invalid=skip_invalid)
    except BAD as e:
        fail(e)
    summary = report.as_dict()
    console.print(
        f"scenes {summary['scenes']}, captures {summary['captures']}; "
        f"excluded {summary['excluded_scenes'] or 0}"
        + (f"; skipped {summary['skipped_lines']}" if summary["skipped_lines"] else "")
        + f"\n{output}/train.scenes.jsonl, benchmark.scenes.jsonl, split.json",
        soft_wrap=True,
    )


@bench_app.command("build")
def build_command(
    scenes: Path = typer.Option(
        ..., "--scenes", "-s", help="Scene JSONL (split by capture unless --held-out)."
    ),
    preset: str = typer.Option(
        ..., "--preset", "-p", help="spatialvqa, hispatial, sparbench_single or sparbench."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Benchmark folder to write."),
    held_out: bool = typer.Option(
        False, "--held-out", help="Every input scene is held out already: no split."
    ),
    fraction: float = typer.Option(0.1, "--fraction", help="Share of captures held out for the benchmark."),
    benchmark_splits: str = typer.Option(
        None, "--benchmark-splits", help="Hold out the sources' own splits instead, e.g. 'test,val'."
    ),
    scale: float = typer.Option(
        1.0, "--scale", help="Multiply every task's quota (e.g. 0.1 for a small build)."
    ),
    n_per_task: int = typer.Option(
        None, "--n-per-task", help="Items per task, replacing the preset's counts."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of generation and selection."),
    exclude: list[str] = EXCLUDE_OPTION,
    exclude_list: list[Path] = EXCLUDE_LIST_OPTION,
    workers: int = typer.Option(1, "--workers", help="Processes generating QA."),
    name: str = typer.Option(None, "--name", help="Benchmark name (default: the preset's)."),
) -> None:
    """Build a benchmark from held-out scenes: split by capture, generate, filter, balance, datasheet."""
    from spatialforge.bench.builder.exclusions import resolve_exclusions
    from spatialforge.bench.builder.pipeline import BuildConfig, build_benchmark
    from spatialforge.bench.builder.split import SplitConfig

    try:
        split = SplitConfig(
            fraction, benchmark_splits=tuple(filter(None, (benchmark_splits or "").split(",")))
        )
        cfg = BuildConfig(
            scenes=str(scenes),
            output=str(output),
            preset=preset,
            seed=seed,
            scale=scale,
            n_per_task=n_per_task,
            split=split,
            held_out=held_out,
            exclusions=tuple(exclude),
            exclusion_files=tuple(str(p) for p in exclude_list),
            workers=workers,
            name=name,
        )
        lists = resolve_exclusions(exclude, exclude_list)
        with console.status(f"building {preset} from {scenes}"):
            report = build_benchmark(cfg, lists)
    except BAD as e:
        fail(e)
    table = Table("task", "items", "shortfall", title=f"benchmark {name or preset}: {report.items} items")
    for task, n in report.per_task.items():
        table.add_row(task, str(n), str(report.shortfall.get(task, "")))
    Console().print(table)
    console.print(
        f"left out {dict(sorted(report.rejected.items()))}\n"
        f"{output}/items.jsonl, benchmark.json, datasheet.md",
        soft_wrap=True,
    )


@bench_app.command("leakage")
def leakage_command(
    a: Path = typer.Argument(
        ..., help="Dataset A: scenes JSONL, QA JSONL / generate run, benchmark folder, list."
    ),
    b: Path = typer.Argument(..., help="Dataset B, the same kinds."),
    hash_images: bool = typer.Option(False, "--hash-images", help="Also compare image bytes (sha256)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the report as JSON here."),
) -> None:
    """Report what two datasets share: captures, scenes, images (by path and content); exit 1 on overlap."""
    from spatialforge.bench.builder.leakage import leakage_report, read_dataset_ids

    try:
        report = leakage_report(
            read_dataset_ids(a, hash_images=hash_images), read_dataset_ids(b, hash_images=hash_images)
        )
    except BAD as e:
        fail(e)
    table = Table("shared", "A", "B", "overlap", "examples", title=f"leakage: {a} vs {b}")
    for kind, o in report["overlaps"].items():
        table.add_row(kind, str(o["a"]), str(o["b"]), str(o["shared"]), escape(", ".join(o["examples"][:3])))
    Console().print(table)
    if output is not None:
        output.write_text(json.dumps(report, indent=2) + "\n")
    if report["leaked"]:
        console.print("[red]leakage:[/red] the datasets share the items above")
        raise typer.Exit(code=1)
    console.print("no overlap")


def eval_command(
    benchmark: str = typer.Option(
        ...,
        "--benchmark",
        "-b",
        help="Benchmark folder (from `bench build` or `bench import`), or a published benchmark's name with "
        "--data (`bench published` lists them).",
    ),
    data: Path = typer.Option(
        None,
        "--data",
        help="Folder of a published benchmark's released files (imported into OUTPUT/benchmark).",
    ),
    option: list[str] = typer.Option(
        [], "--option", help="Loader option key=value of a published benchmark (repeatable), e.g. frames=32."
    ),
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        help="Model: openai:base_url=URL,model=NAME | hf:path=DIR | chance | frequency | blind[:prior=QA].",
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Run folder (resumes when it holds the same run)."
    ),
    limit: int = typer.Option(None, "--limit", help="Ask only the first N items (a smoke run)."),
    task: list[str] = typer.Option([], "--task", help="Ask only this task (repeatable)."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Longest reply, in tokens."),
    temperature: float = typer.Option(0.0, "--temperature", help="0: greedy (default)."),
    top_p: float = typer.Option(1.0, "--top-p"),
    seed: int = typer.Option(0, "--seed", help="Sampling seed and bootstrap seed."),
    prompt_style: str = typer.Option(
        None,
        "--prompt-style",
        help="instructed or plain (default: plain - the official prompt - for a published benchmark, "
        "else instructed).",
    ),
    system: str = typer.Option(None, "--system", help="System prompt."),
    no_report: bool = typer.Option(False, "--no-report", help="Skip report.html."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    """Ask a model every question of a benchmark, caching each reply on disk; score; tables and a report."""
    from spatialforge.evaluate.run import EvalConfig, run_eval
    from spatialforge.sources.base import parse_option_pairs

    try:
        options = parse_option_pairs(option)
    except RecordError as e:
        fail(e)
    cfg = EvalConfig(
        benchmark=benchmark,
        data=None if data is None else str(data),
        options=tuple(sorted(options.items())),
        model=model,
        output=str(output),
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        top_p=top_p,
        seed=seed,
        prompt_style=prompt_style,
        system=system,
        limit=limit,
        tasks=tuple(task),
        progress=not no_progress,
        report=not no_report,
    )
    try:
        report = run_eval(cfg)
    except (*BAD, ImportError) as e:
        fail(e)
    tables = report.tables
    table = Table("task", "n", "score %", "95% CI", title=f"{Path(benchmark).name}: {model}")
    for t in tables["tasks"]:
        table.add_row(t["task"], str(t["n"]), _pct(t["score"]), f"{_pct(t['ci'][0])}–{_pct(t['ci'][1])}")
    Console().print(table)
    totals = ", ".join(f"{k} {_pct(v)}" for k, v in tables["totals"].items())
    if tables.get("totals_note"):
        totals += f" ({tables['totals_note']})"
    console.print(
        f"totals: {escape(totals)}\nasked {report.asked_this_run} this run; "
        f"{report.answered}/{report.n_items} answered"
        + (f"; failed {dict(report.failed)} (run the same command again to retry)" if report.failed else "")
        + f"\n{output}/tables.md, score/items.jsonl"
        + ("" if no_report else ", report.html"),
        soft_wrap=True,
    )
    if report.failed:
        first = next(iter(report.first_failure.values()))
        console.print(f"[yellow]first failure:[/yellow] {escape(first)}", soft_wrap=True)


@bench_app.command("published")
def published_command() -> None:
    """List the published benchmarks `bench import` and `eval --benchmark NAME --data DIR` read."""
    from spatialforge.bench.published import available_published, get_published

    table = Table("name", "benchmark", "released files (--data holds)", "options", "scoring")
    for name in available_published():
        b = get_published(name)
        options = ", ".join(f"{k}={o.default}" for k, o in b.options.items()) or "–"
        scoring = b.scoring + (f" ({b.variant})" if b.variant else "")
        table.add_row(name, f"{b.title} ({b.size})", "\n".join(b.files), options, scoring)
    Console().print(table)


@bench_app.command("import")
def import_command(
    name: str = typer.Argument(..., help="Published benchmark (`bench published` lists them)."),
    data: Path = typer.Option(..., "--data", help="Folder holding the benchmark's released files."),
    output: Path = typer.Option(..., "--output", "-o", help="Benchmark folder to write."),
    option: list[str] = typer.Option([], "--option", help="Loader option key=value (repeatable)."),
) -> None:
    """Import a published benchmark from its released files into a benchmark folder (items, images,
    manifest)."""
    from spatialforge.bench.published.importer import import_published
    from spatialforge.sources.base import parse_option_pairs

    try:
        report = import_published(name, data, output, parse_option_pairs(option))
    except (*BAD, ImportError) as e:
        fail(e)
    verb = "already imported" if report.reused else f"imported in {report.seconds:.1f} s"
    console.print(
        f"{name}: {report.n_items} items, {report.images} images {verb} -> {output}\n"
        f"per task: {dict(sorted(report.per_task.items()))}"
        + (f"\nskipped: {dict(report.skipped)} (examples in benchmark.json)" if report.skipped else ""),
        soft_wrap=True,
    )


@bench_app.command("gold")
def gold_command(
    benchmark: Path = typer.Argument(..., help="Benchmark folder (built or imported)."),
    output: Path = typer.Option(..., "--output", "-o", help="Gold JSONL for `spatialforge score --gold`."),
) -> None:
    """Write a benchmark's gold answers as `spatialforge score --gold` reads them, to score replies made
    elsewhere (e.g. an lmms-eval log) against it."""
    from spatialforge.bench.builder.items import read_bench_items, read_manifest
    from spatialforge.evaluate.tables import gold_line
    from spatialforge.jsonl import JsonlWriter

    try:
        manifest = read_manifest(benchmark)
        items = read_bench_items(benchmark)
        with JsonlWriter(output, dict) as writer:
            writer.write_all(gold_line(item) for item in items)
    except BAD as e:
        fail(e)
    scoring = manifest.get("scoring") or {"benchmark": "generic"}
    variant = f" --variant {scoring['variant']}" if scoring.get("variant") else ""
    console.print(
        f"{len(items)} gold answers -> {output}\nscore with: spatialforge score --benchmark "
        f"{scoring['benchmark']}{variant} --gold {output} --predictions PREDICTIONS --output DIR",
        soft_wrap=True,
    )


@bench_app.command("pointmaps")
def pointmaps_command(
    benchmark: Path = typer.Argument(..., help="Benchmark folder built by `bench build`."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Folder to write (default: BENCHMARK/pointmaps)."
    ),
    scenes: Path = typer.Option(
        None, "--scenes", "-s", help="Scenes JSONL (default: the build's own BENCHMARK/work/split file)."
    ),
) -> None:
    """Write the point map of every image of a benchmark (<image stem>.npz), for
    `spatialforge eval --model spatialforge:MODEL,pointmaps=DIR`; resumable."""
    from spatialforge.bench.builder.pointmaps import write_benchmark_point_maps

    try:
        report = write_benchmark_point_maps(benchmark, output, scenes)
    except BAD as e:
        fail(e)
    where = output or benchmark / "pointmaps"
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items())) or "none"
    console.print(
        f"point maps: {report.written} written, {report.already_there} already there, "
        f"skipped: {skipped} -> {where}",
        soft_wrap=True,
    )


@bench_app.command("export-lmms")
def export_lmms_command(
    benchmark: Path = typer.Argument(..., help="Benchmark folder (built or imported)."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Task folder to write (lmms-eval --include_path)."
    ),
    task: str = typer.Option(None, "--task", help="lmms-eval task name (default: spatialforge_<benchmark>)."),
    prompt_style: str = typer.Option(
        None,
        "--prompt-style",
        help="instructed or plain (default as `eval`: plain for a published benchmark).",
    ),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Longest reply, in tokens."),
) -> None:
    """Export a benchmark as an lmms-eval task folder scored with spatialforge's parsers and totals."""
    from spatialforge.bench.lmms_export import export_lmms

    try:
        done = export_lmms(
            benchmark, output, task=task, prompt_style=prompt_style, max_new_tokens=max_new_tokens
        )
    except BAD as e:
        fail(e)
    console.print(
        f"{done.task}: {done.n_items} items, {done.n_images} images -> {output}\n"
        f"run: python -m lmms_eval --include_path {output} --tasks {done.task} --model ... --log_samples",
        soft_wrap=True,
    )


def eval_report_command(
    run: Path = typer.Argument(..., help="An eval run folder."),
    output: Path = typer.Option(None, "--output", "-o", help="HTML file (default: RUN/report.html)."),
) -> None:
    """Write (again) the HTML report of an eval run: tables, plots, worst and unparsed items."""
    from spatialforge.evaluate.report import write_report

    try:
        path = write_report(run, output)
    except BAD as e:
        fail(e)
    console.print(f"report: {path}")


def eval_compare_command(
    runs: list[Path] = typer.Argument(..., help="Two or more eval run folders on the same benchmark."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for comparison.html / .md / .json."),
    label: list[str] = typer.Option([], "--label", help="A name per run, in order (default: model specs)."),
) -> None:
    """Compare runs side by side: per-task scores with CIs and paired-bootstrap differences."""
    from spatialforge.evaluate.report import write_comparison

    if len(runs) < 2:
        fail(ValueError("give at least two run folders"))
    output.mkdir(parents=True, exist_ok=True)
    try:
        path = write_comparison(runs, output / "comparison.html", labels=label or None)
    except BAD as e:
        fail(e)
    console.print(f"comparison: {path} (and comparison.md, comparison.json)")
