"""Side-by-side comparison of evaluation runs on the same benchmark, with paired differences.

`write_comparison(eval_dirs, out)` writes comparison.html, comparison.json (every number) and comparison.md
(the tables, for committing to docs). Runs on different benchmarks (eval.json benchmark.items_sha256) are
refused. Runs may cover different item subsets (--limit, failed requests): each run's own scores use its own
items, a warning says so, and every difference is computed over the items both runs answered.

The difference of run B against run A (the first run) on a task is mean(score_B - score_A) over the task's
common items; its 95% CI is a paired percentile bootstrap: resample the common items with replacement,
the same items for both runs, and take the 2.5 / 97.5 percentiles of the resampled mean differences
(stats.paired_bootstrap, fixed seed). Pairing removes the spread of item difficulty that two separate CIs
would count twice, so a consistent small gain can be significant although the two runs' CIs overlap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spatialforge.errors import RecordError
from spatialforge.evaluate.report import page, svg
from spatialforge.evaluate.report.load import (
    NO_LEVEL,
    EvalFolder,
    TaskRow,
    answered_ids,
    iter_decisions,
    read_eval_folder,
)
from spatialforge.evaluate.report.stats import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    PairedDifference,
    paired_bootstrap,
    paired_bootstrap_macro,
)
from spatialforge.files import write_atomic

COMPARISON_FILE = "comparison.html"


@dataclass
class RunData:
    label: str
    folder: EvalFolder
    scores: dict[str, tuple[str, float]]  # item id -> (task, score), from score/items.jsonl
    answered: set[str]  # ids with a reply in predictions.jsonl

    @property
    def tasks(self) -> dict[str, TaskRow]:
        return {t.task: t for t in self.folder.tables.tasks}


def _default_labels(dirs: Sequence[Path]) -> list[str]:
    labels: list[str] = []
    for d in dirs:
        name = Path(d).resolve().name or str(d)
        label, k = name, 2
        while label in labels:
            label, k = f"{name} ({k})", k + 1
        labels.append(label)
    return labels


def _load_run(path: Path, label: str) -> RunData:
    folder = read_eval_folder(path)
    scores = {d.item_id: (d.task, d.score) for d in iter_decisions(folder.path)}
    return RunData(
        label=label, folder=folder, scores=scores, answered=answered_ids(folder.path) & scores.keys()
    )


def _items_sha(run: RunData) -> str:
    value = run.folder.section("benchmark").get("items_sha256")
    if not isinstance(value, str) or not value:
        raise RecordError(
            "missing_field",
            "no benchmark.items_sha256: cannot tell which benchmark was run",
            file=str(run.folder.path / "eval.json"),
            field="benchmark.items_sha256",
        )
    return value


def check_same_benchmark(runs: Sequence[RunData]) -> None:
    """ValueError naming the runs when they were made on different benchmarks (different items files)."""
    shas = [_items_sha(r) for r in runs]
    if len(set(shas)) > 1:
        listing = "; ".join(
            f"{r.label}: {r.folder.section('benchmark').get('name', '?')} (items_sha256 {sha[:12]}…)"
            for r, sha in zip(runs, shas, strict=True)
        )
        raise ValueError(f"cannot compare runs made on different benchmarks: {listing}")


def _warnings(runs: Sequence[RunData]) -> list[str]:
    first = runs[0]
    out = []
    for run in runs[1:]:
        if run.scores.keys() != first.scores.keys():
            common = len(run.scores.keys() & first.scores.keys())
            out.append(
                f"different item subsets: {first.label} scored {len(first.scores)} items, {run.label} "
                f"{len(run.scores)}, {common} in common. Each run's own scores use its own items; "
                "differences use only the items both runs answered."
            )
    for run in runs:
        missing = len(run.scores) - len(run.answered)
        if missing:
            out.append(
                f"{run.label}: {missing} scored item(s) have no reply (failed requests, scored 0); they are "
                "left out of the paired differences."
            )
    parsers = {str(r.folder.meta.get("parser_version")) for r in runs}
    if len(parsers) > 1:
        out.append(f"the runs used different parser versions: {sorted(parsers)}")
    prompts = {json.dumps(r.folder.section("prompt"), sort_keys=True) for r in runs}
    if len(prompts) > 1:
        out.append(
            "the runs used different prompts (version, style, system prompt or instructions); see the "
            "run table."
        )
    return out


def _task_order(runs: Sequence[RunData]) -> list[TaskRow]:
    """Every task of any run (first run's row wins), by level then name."""
    rows: dict[str, TaskRow] = {}
    for run in runs:
        for t in run.folder.tables.tasks:
            rows.setdefault(t.task, t)
    return sorted(rows.values(), key=lambda t: t.sort_key)


def _common_by_task(a: RunData, b: RunData) -> dict[str, tuple[list[float], list[float]]]:
    """Per task, the two runs' scores on the items both answered (in id order, paired by position)."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for item_id in sorted(a.answered & b.answered):
        (task_a, score_a), (task_b, score_b) = a.scores[item_id], b.scores[item_id]
        if task_a != task_b:  # same items_sha256 makes this impossible unless a file was edited by hand
            raise RecordError(
                "task_mismatch",
                f"item {item_id!r} is task {task_a!r} in {a.label} but {task_b!r} in {b.label}",
                file=str(b.folder.path / "score/items.jsonl"),
                record=item_id,
                field="task",
            )
        xa, xb = out.setdefault(task_a, ([], []))
        xa.append(score_a)
        xb.append(score_b)
    return out


def _diff_json(d: PairedDifference, xa: list[float], xb: list[float]) -> dict[str, Any]:
    return {
        "n": d.n,
        "score_a": sum(xa) / len(xa) if xa else None,
        "score_b": sum(xb) / len(xb) if xb else None,
        "diff": d.diff,
        "ci": list(d.ci) if d.ci else None,
        "significant": d.significant,
    }


def _pair(
    a: RunData, b: RunData, tasks: Sequence[TaskRow], *, n_resamples: int, seed: int, confidence: float
) -> dict[str, Any]:
    common = _common_by_task(a, b)
    per_task, macro_pairs = [], []
    by_level: dict[int | None, tuple[list[float], list[float]]] = {}
    for t in tasks:
        xa, xb = common.get(t.task, ([], []))
        d = paired_bootstrap(xa, xb, n_resamples=n_resamples, seed=seed, confidence=confidence)
        per_task.append({"task": t.task, **_diff_json(d, xa, xb)})
        if xa:
            macro_pairs.append((xa, xb))
        level_a, level_b = by_level.setdefault(t.level, ([], []))
        level_a.extend(xa)
        level_b.extend(xb)
    # A level pools its tasks' common items, as the tables' level rows pool their items.
    per_level = [
        {
            "level": level,
            **_diff_json(
                paired_bootstrap(xa, xb, n_resamples=n_resamples, seed=seed, confidence=confidence), xa, xb
            ),
        }
        for level, (xa, xb) in sorted(by_level.items(), key=lambda kv: NO_LEVEL if kv[0] is None else kv[0])
    ]
    xa = [x for task in sorted(common) for x in common[task][0]]
    xb = [x for task in sorted(common) for x in common[task][1]]
    pooled = paired_bootstrap(xa, xb, n_resamples=n_resamples, seed=seed, confidence=confidence)
    macro = paired_bootstrap_macro(macro_pairs, n_resamples=n_resamples, seed=seed, confidence=confidence)
    macro_a = [sum(p[0]) / len(p[0]) for p in macro_pairs]
    macro_b = [sum(p[1]) / len(p[1]) for p in macro_pairs]
    return {
        "a": a.label,
        "b": b.label,
        "tasks": per_task,
        "levels": per_level,
        "mean_over_tasks": {**_diff_json(macro, macro_a, macro_b), "n_tasks": len(macro_pairs)},
        "all_items": _diff_json(pooled, xa, xb),
    }


def _run_json(run: RunData) -> dict[str, Any]:
    meta, t = run.folder.meta, run.folder.tables
    prompt = run.folder.section("prompt")
    return {
        "label": run.label,
        "path": str(run.folder.path),
        "model": run.folder.section("model").get("spec"),
        "settings": run.folder.section("settings"),
        "prompt_version": prompt.get("version"),
        "prompt_style": prompt.get("style"),
        "parser_version": meta.get("parser_version"),
        "n_scored": len(run.scores),
        "answered": len(run.answered),
        "totals": t.totals,
        "finished": meta.get("finished"),
    }


def _score_json(row: TaskRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"n": row.n, "score": row.score, "ci": list(row.ci) if row.ci else None}


def compare_runs(
    eval_dirs: Sequence[Path],
    labels: Sequence[str] | None = None,
    *,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Every number of a comparison (what comparison.json holds). The first run is the reference: each
    other run's differences are that run minus the first."""
    dirs = [Path(d) for d in eval_dirs]
    if len(dirs) < 2:
        raise ValueError("a comparison needs at least two evaluation folders")
    names = list(labels) if labels is not None else _default_labels(dirs)
    if len(names) != len(dirs):
        raise ValueError(f"{len(names)} labels for {len(dirs)} evaluation folders")
    if len(set(names)) != len(names):
        raise ValueError(f"labels must be distinct, got {names}")
    runs = [_load_run(d, label) for d, label in zip(dirs, names, strict=True)]
    check_same_benchmark(runs)
    tasks = _task_order(runs)
    bench = runs[0].folder.section("benchmark")
    levels = sorted(
        {r.key for run in runs for r in run.folder.tables.levels},
        key=lambda k: (int(k) if k.lstrip("-").isdigit() else NO_LEVEL, k),
    )
    return {
        "benchmark": {k: bench.get(k) for k in ("name", "preset", "n_items", "items_sha256")},
        "runs": [_run_json(r) for r in runs],
        "warnings": _warnings(runs),
        "tasks": [
            {
                "task": t.task,
                "level": t.level,
                "group": t.group,
                "metric": t.metric,
                "runs": [_score_json(run.tasks.get(t.task)) for run in runs],
            }
            for t in tasks
        ],
        "levels": [
            {
                "level": key,
                "runs": [
                    next(
                        (
                            {"n": r.n, "score": r.score, "ci": list(r.ci) if r.ci else None}
                            for r in run.folder.tables.levels
                            if r.key == key
                        ),
                        None,
                    )
                    for run in runs
                ],
            }
            for key in levels
        ],
        "pairs": [
            _pair(runs[0], b, tasks, n_resamples=n_resamples, seed=seed, confidence=confidence)
            for b in runs[1:]
        ],
        "bootstrap": {
            "method": "paired percentile bootstrap over the items both runs answered",
            "n_resamples": n_resamples,
            "seed": seed,
            "confidence": confidence,
        },
    }


# --- HTML -------------------------------------------------------------------------------------------------


def _score_cells(entry: dict[str, Any] | None) -> list[page.Cell]:
    if entry is None:
        return [page.num_cell("–"), page.num_cell("–")]
    return [page.num_cell(page.pct(entry["score"], 2)), page.num_cell(page.ci_text(entry["ci"]))]


def _runs_table(data: dict[str, Any]) -> str:
    rows = [
        [
            r["label"],
            page.plain(r["model"]),
            page.plain(r["settings"]),
            f"{r['prompt_version']} ({r['prompt_style']})",
            page.plain(r["parser_version"]),
            page.num_cell(str(r["n_scored"])),
            page.num_cell(str(r["answered"])),
            page.plain(r["finished"]),
            page.Cell(r["path"], css="text"),
        ]
        for r in data["runs"]
    ]
    head = [
        "run",
        "model",
        "settings",
        "prompt",
        "parser",
        page.Cell("items", css="num"),
        page.Cell("answered", css="num"),
        "finished",
        "folder",
    ]
    return page.table(head, rows)


def _totals_table(data: dict[str, Any]) -> str:
    names: list[str] = []
    for r in data["runs"]:
        names += [k for k in r["totals"] if k not in names]
    if not names:
        return ""
    rows = [[n] + [page.num_cell(page.pct(r["totals"].get(n), 2)) for r in data["runs"]] for n in names]
    return "<h2>Totals</h2>" + page.table(
        ["total"] + [page.Cell(r["label"], css="num") for r in data["runs"]], rows
    )


def _per_run_table(entries: list[dict[str, Any]], key: str, labels: list[str]) -> str:
    with_level = key == "task"
    head: list[str | page.Cell] = [key] + (["level"] if with_level else [])
    for label in labels:
        head += [page.Cell(f"{label}", css="num"), page.Cell("95% CI", css="num")]
    rows = []
    for e in entries:
        row: list[str | page.Cell] = [str(e[key])] + ([page.plain(e["level"])] if with_level else [])
        for run_entry in e["runs"]:
            row += _score_cells(run_entry)
        rows.append(row)
    return page.table(head, rows)


def _diff_cells(d: dict[str, Any]) -> list[page.Cell]:
    mark = " *" if d["significant"] else ""
    css = "sig" if d["significant"] else ""
    return [
        page.num_cell(str(d["n"])),
        page.num_cell(page.pct(d["score_a"], 2)),
        page.num_cell(page.pct(d["score_b"], 2)),
        page.num_cell(page.points(d["diff"]) + mark, css),
        page.num_cell("–" if d["ci"] is None else f"{page.points(d['ci'][0])} to {page.points(d['ci'][1])}"),
    ]


def _level_name(level: int | None) -> str:
    return "no level" if level is None else f"level {level} (all its items)"


def _pair_section(pair: dict[str, Any]) -> str:
    a, b = pair["a"], pair["b"]
    head = [
        "task",
        page.Cell("common items", css="num"),
        page.Cell(a, css="num"),
        page.Cell(b, css="num"),
        page.Cell(f"{b} − {a} (points)", css="num"),
        page.Cell("95% CI (points)", css="num"),
    ]
    rows = [[t["task"], *_diff_cells(t)] for t in pair["tasks"]]
    rows += [[page.Cell(_level_name(lv["level"]), css="muted"), *_diff_cells(lv)] for lv in pair["levels"]]
    macro = pair["mean_over_tasks"]
    rows.append([page.Cell(f"mean over {macro['n_tasks']} tasks", css="muted"), *_diff_cells(macro)])
    rows.append([page.Cell("all common items", css="muted"), *_diff_cells(pair["all_items"])])
    dots = [
        svg.DiffRow(
            t["task"], t["diff"], tuple(t["ci"]) if t["ci"] else None, t["significant"], f"n={t['n']}"
        )
        for t in pair["tasks"]
    ] + [
        svg.DiffRow(
            "mean over tasks",
            macro["diff"],
            tuple(macro["ci"]) if macro["ci"] else None,
            macro["significant"],
        )
    ]
    chart = svg.difference_dots(
        dots, title=f"{b} − {a}, per task", x_label=f"score difference {b} − {a} (percentage points)"
    )
    return (
        f"<h3>{page.esc(b)} − {page.esc(a)}</h3>"
        + page.figure(
            chart,
            "Dots: difference in mean score over the items both runs answered; whiskers: paired "
            "bootstrap 95% CI; filled dots and * : the CI excludes 0.",
        )
        + page.table(head, rows)
    )


def _paired_intro(reference: str, b: dict[str, Any]) -> str:
    text = (
        "Each difference is the mean over the items both runs answered of (score of the run − score of "
        f"{reference}), in percentage points. 95% CI: {b['n_resamples']} paired bootstrap resamples (seed "
        f"{b['seed']}): the same resampled items for both runs. A CI that excludes 0 (marked *) means the "
        "difference is unlikely to come from which items happened to be in the benchmark; it says nothing "
        "about other benchmarks or prompts. With many tasks, some will be marked by chance (about 1 in 20 "
        "when the runs are equal)."
    )
    return f'<p class="small">{page.esc(text)}</p>'


def render_comparison_html(data: dict[str, Any]) -> str:
    labels = [r["label"] for r in data["runs"]]
    bench = data["benchmark"]
    title = f"Comparison on {bench.get('name') or 'benchmark'}" + (
        f" ({bench['preset']})" if bench.get("preset") else ""
    )
    categories = [t["task"] for t in data["tasks"]]
    series = [
        svg.Series(
            label,
            [t["runs"][j]["score"] if t["runs"][j] else None for t in data["tasks"]],
            [
                tuple(t["runs"][j]["ci"]) if t["runs"][j] and t["runs"][j]["ci"] else None
                for t in data["tasks"]
            ],
        )
        for j, label in enumerate(labels)
    ]
    chart = svg.grouped_bars(categories, series, title="Score per task and run")
    b = data["bootstrap"]
    body = (
        f"<h1>{page.esc(title)}</h1>"
        f'<p class="muted">{len(labels)} runs; benchmark items_sha256 {page.esc(bench.get("items_sha256"))}. '
        f"The first run ({page.esc(labels[0])}) is the reference.</p>"
        + page.boxes("warning", data["warnings"])
        + "<h2>Runs</h2>"
        + _runs_table(data)
        + _totals_table(data)
        + "<h2>Per task</h2>"
        + page.figure(chart, "Mean item score per task with 95% bootstrap CI (each run over its own items).")
        + _per_run_table(data["tasks"], "task", labels)
        + ("<h2>Per level</h2>" + _per_run_table(data["levels"], "level", labels) if data["levels"] else "")
        + "<h2>Paired differences</h2>"
        + _paired_intro(labels[0], b)
        + "".join(_pair_section(p) for p in data["pairs"])
    )
    return page.page(title, body)


# --- Markdown ---------------------------------------------------------------------------------------------


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _md_scores(entries: list[dict[str, Any]], key: str, labels: list[str]) -> list[str]:
    with_level = key == "task"
    head = [key] + (["level"] if with_level else []) + [f"{label} (95% CI)" for label in labels]
    rows = [
        [e[key]]
        + ([page.plain(e["level"])] if with_level else [])
        + ["–" if r is None else f"{page.pct(r['score'], 2)} ({page.ci_text(r['ci'])})" for r in e["runs"]]
        for e in entries
    ]
    return _md_table(head, rows)


def _md_diff(d: dict[str, Any]) -> list[str]:
    ci = "–" if d["ci"] is None else f"{page.points(d['ci'][0])} to {page.points(d['ci'][1])}"
    return [
        str(d["n"]),
        page.pct(d["score_a"], 2),
        page.pct(d["score_b"], 2),
        page.points(d["diff"]) + (" *" if d["significant"] else ""),
        ci,
    ]


def render_comparison_md(data: dict[str, Any]) -> str:
    labels = [r["label"] for r in data["runs"]]
    bench = data["benchmark"]
    lines = [
        f"# Comparison on {bench.get('name') or 'benchmark'}"
        + (f" ({bench['preset']})" if bench.get("preset") else ""),
        "",
    ]
    lines += [f"> Warning: {w}" for w in data["warnings"]] + ([""] if data["warnings"] else [])
    lines += _md_table(
        ["run", "model", "parser", "prompt", "items", "answered"],
        [
            [
                r["label"],
                r["model"],
                r["parser_version"],
                f"{r['prompt_version']} ({r['prompt_style']})",
                r["n_scored"],
                r["answered"],
            ]
            for r in data["runs"]
        ],
    )
    names: list[str] = []
    for r in data["runs"]:
        names += [k for k in r["totals"] if k not in names]
    if names:
        lines += ["## Totals", ""]
        lines += _md_table(
            ["total"] + labels, [[n] + [page.pct(r["totals"].get(n), 2) for r in data["runs"]] for n in names]
        )
    lines += ["## Per task", ""] + _md_scores(data["tasks"], "task", labels)
    if data["levels"]:
        lines += ["## Per level", ""] + _md_scores(data["levels"], "level", labels)
    b = data["bootstrap"]
    lines += [
        "## Paired differences",
        "",
        f"Mean of (run − {labels[0]}) over the items both runs answered, in percentage points; 95% CI from "
        f"{b['n_resamples']} paired bootstrap resamples (seed {b['seed']}); * = the CI excludes 0.",
        "",
    ]
    for p in data["pairs"]:
        lines += [f"### {p['b']} − {p['a']}", ""]
        rows = [[t["task"], *_md_diff(t)] for t in p["tasks"]]
        rows += [[_level_name(lv["level"]), *_md_diff(lv)] for lv in p["levels"]]
        rows.append([f"mean over {p['mean_over_tasks']['n_tasks']} tasks", *_md_diff(p["mean_over_tasks"])])
        rows.append(["all common items", *_md_diff(p["all_items"])])
        lines += _md_table(["task", "common items", p["a"], p["b"], "difference (points)", "95% CI"], rows)
    return "\n".join(lines)


# --- files ------------------------------------------------------------------------------------------------


def write_comparison(
    eval_dirs: Sequence[Path],
    out: Path,
    labels: Sequence[str] | None = None,
    *,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> Path:
    """Write comparison.html (out: that file, or a folder to write it in) with comparison.json and
    comparison.md beside it; returns the HTML path. ValueError for runs on different benchmarks."""
    out = Path(out)
    html_path = out if out.suffix.lower() in (".html", ".htm") else out / COMPARISON_FILE
    data = compare_runs(eval_dirs, labels, n_resamples=n_resamples, seed=seed, confidence=confidence)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(html_path.with_suffix(".json"), json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    write_atomic(html_path.with_suffix(".md"), render_comparison_md(data))
    write_atomic(html_path, render_comparison_html(data))
    return html_path
