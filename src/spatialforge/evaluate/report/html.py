"""The HTML report of one evaluation run: `write_report(eval_dir)` -> eval_dir/report.html.

One self-contained page: what was run (benchmark, model, generation settings, prompt, parser version, counts,
dates), the totals, per-task / per-level / per-group tables with 95% CIs, plots (score per task with chance
and most-frequent-answer ticks, per level, parse statuses, error distributions of numeric and angle tasks)
and the items worth reading (replies that did not parse, the lowest-scoring parsed replies, failed requests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spatialforge.evaluate.report import page, svg
from spatialforge.evaluate.report.load import (
    PREDICTIONS_FILE,
    Decision,
    EvalFolder,
    Row,
    TaskRow,
    iter_decisions,
    iter_jsonl,
    read_eval_folder,
    read_questions,
)
from spatialforge.evaluate.report.stats import (
    ANGLE_METRICS,
    LOG_RATIO_LIMIT,
    NUMERIC_METRICS,
    Histogram,
    angle_error_deg,
    angle_histogram,
    angle_threshold_deg,
    log_ratio_histogram,
    numeric_pair,
    scoring_bands,
)
from spatialforge.files import write_atomic

REPORT_FILE = "report.html"
MAX_LISTED_ITEMS = 25  # per item list (unparsed, lowest scores, failures)
PREDICTION_CHARS = 600
QUESTION_CHARS = 400
STATUS_ORDER = ("ok", "ambiguous", "refusal", "no_answer", "invalid")


# --- one pass over score/items.jsonl ---------------------------------------------------------------------


@dataclass
class TaskErrors:
    """Per task: the numbers behind its error plot. kind: "ratio" (numeric) or "angle"."""

    task: str
    metric: str
    kind: str
    preds: list[float] = field(default_factory=list)
    golds: list[float] = field(default_factory=list)
    angles: list[float] = field(default_factory=list)
    thresholds: set[float] = field(default_factory=set)
    not_parsed: int = 0
    n: int = 0


@dataclass
class ItemScan:
    errors: dict[str, TaskErrors] = field(default_factory=dict)
    unparsed: list[Decision] = field(default_factory=list)
    unparsed_total: int = 0
    worst: list[tuple[tuple[float, float, str, str], Decision]] = field(default_factory=list)
    worst_total: int = 0
    max_items: int = MAX_LISTED_ITEMS

    def add_worst(self, decision: Decision, severity: float) -> None:
        """Keep the max_items lowest (score, -severity) items; trimmed in batches (amortised O(1))."""
        self.worst_total += 1
        self.worst.append(((decision.score, -severity, decision.task, decision.item_id), decision))
        if len(self.worst) > 4 * self.max_items + 16:
            self.trim()

    def trim(self) -> None:
        self.worst.sort(key=lambda kv: kv[0])
        del self.worst[self.max_items :]


def _severity(record: dict[str, Any]) -> float:
    """How far off a parsed reply is, to rank equally scored items: |log2 ratio| or angle error (deg)."""
    pair = numeric_pair(record)
    if pair is not None:
        pred, gold = pair
        return abs(math.log2(pred / gold)) if pred > 0 and gold > 0 else math.inf
    angle = angle_error_deg(record) if record.get("metric") in ANGLE_METRICS else None
    return angle or 0.0


def _track_errors(scan: ItemScan, d: Decision) -> None:
    metric = str(d.record.get("metric", ""))
    kind = "ratio" if metric in NUMERIC_METRICS else "angle" if metric in ANGLE_METRICS else None
    if kind is None:
        return
    entry = scan.errors.setdefault(d.task, TaskErrors(d.task, metric, kind))
    entry.n += 1
    if kind == "ratio":
        pair = numeric_pair(d.record)
        if pair is None:
            entry.not_parsed += 1
            return
        entry.preds.append(pair[0])
        entry.golds.append(pair[1])
        return
    angle = angle_error_deg(d.record)
    if angle is None:
        entry.not_parsed += 1
        return
    entry.angles.append(angle)
    threshold = angle_threshold_deg(d.record)
    if threshold is not None:
        entry.thresholds.add(threshold)


def scan_items(folder: Path, max_items: int = MAX_LISTED_ITEMS) -> ItemScan:
    scan = ItemScan(max_items=max_items)
    for d in iter_decisions(folder):
        _track_errors(scan, d)
        if d.parse_status != "ok":
            scan.unparsed_total += 1
            if len(scan.unparsed) < max_items:
                scan.unparsed.append(d)
        elif d.score < 1.0:
            scan.add_worst(d, _severity(d.record))
    scan.trim()
    return scan


# --- sections ---------------------------------------------------------------------------------------------


def _header(folder: EvalFolder) -> str:
    bench, model = folder.section("benchmark"), folder.section("model")
    settings, prompt, status = folder.section("settings"), folder.section("prompt"), folder.section("status")
    t = folder.tables
    failed = status.get("failed", len({f.get("id") for f in folder.failures}))
    title = f"{bench.get('name', 'benchmark')} — {model.get('spec', 'model')}"
    parts = [f"<h1>{page.esc(title)}</h1>"]
    parts.append(
        f'<p class="muted">{t.n_items} items: {t.answered} answered, {t.unanswered} unanswered '
        f"(scored as empty replies), {page.esc(failed)} failed requests. "
        f"Started {page.esc(folder.meta.get('started', '–'))}, "
        f"finished {page.esc(folder.meta.get('finished', '–'))}.</p>"
    )
    parts.append(page.boxes("note", folder.notes))
    if t.unanswered:
        parts.append(
            page.boxes(
                "warning",
                [
                    f"{t.unanswered} of {t.n_items} items have no reply; they score 0. Re-run the same "
                    "command to ask them again."
                ],
            )
        )
    parts.append('<h2>Run</h2><div class="grid-2"><div><h3>Benchmark</h3>')
    parts.append(
        page.key_values(
            [
                ("name", bench.get("name")),
                ("preset", bench.get("preset")),
                ("path", bench.get("path")),
                ("items", bench.get("n_items")),
                ("items sha256", bench.get("items_sha256")),
            ]
        )
    )
    parts.append("<h3>Model</h3>")
    parts.append(
        page.key_values([("spec", model.get("spec"))] + [(k, v) for k, v in model.items() if k != "spec"])
    )
    parts.append("</div><div><h3>Generation and scoring</h3>")
    parts.append(
        page.key_values(
            [(f"settings.{k}", v) for k, v in settings.items()]
            + [
                ("prompt version", prompt.get("version")),
                ("prompt style", prompt.get("style")),
                ("system prompt", prompt.get("system")),
                ("parser version", folder.meta.get("parser_version")),
            ]
            + [(f"status.{k}", v) for k, v in status.items()]
        )
    )
    instructions = prompt.get("instructions")
    if isinstance(instructions, dict) and instructions:
        parts.append("<h3>Answer instructions</h3>")
        parts.append(
            page.table(
                ["answer type", "instruction added to the question"],
                [[str(k), page.plain(v)] for k, v in instructions.items()],
            )
        )
    parts.append("</div></div>")
    return "".join(parts)


def _totals(folder: EvalFolder) -> str:
    t = folder.tables
    if not t.totals:
        return '<h2>Totals</h2><p class="muted">No official total for this run (see tables.json).</p>'
    rows = [[name, page.num_cell(page.pct(value, 2))] for name, value in t.totals.items()]
    return "<h2>Totals</h2>" + page.table(["total", page.Cell("score", css="num")], rows)


def _statuses(tasks: Sequence[TaskRow]) -> list[str]:
    seen = {s for t in tasks for s in t.parse_status}
    return [s for s in STATUS_ORDER if s in seen] + sorted(seen - set(STATUS_ORDER))


def _task_table(tasks: Sequence[TaskRow]) -> str:
    statuses = _statuses(tasks)
    head: list[str | page.Cell] = [
        "task",
        "level",
        "group",
        "metric",
        page.Cell("n", css="num"),
        page.Cell("score", css="num"),
        page.Cell("95% CI", css="num"),
        page.Cell("chance", css="num"),
        page.Cell("frequency", css="num"),
    ]
    head += [page.Cell(s, css="num") for s in statuses]
    rows = []
    for t in tasks:
        row: list[str | page.Cell] = [
            t.task,
            "–" if t.level is None else str(t.level),
            t.group or "–",
            t.metric,
            page.num_cell(str(t.n)),
            page.num_cell(page.pct(t.score, 2)),
            page.num_cell(page.ci_text(t.ci)),
            page.num_cell(page.pct(t.chance)),
            page.num_cell(page.pct(t.frequency)),
        ]
        row += [page.num_cell(str(t.parse_status.get(s, 0))) for s in statuses]
        rows.append(row)
    return page.table(head, rows)


def _row_table(rows: Sequence[Row], name: str) -> str:
    return page.table(
        [name, page.Cell("n", css="num"), page.Cell("score", css="num"), page.Cell("95% CI", css="num")],
        [
            [
                r.key,
                page.num_cell(str(r.n)),
                page.num_cell(page.pct(r.score, 2)),
                page.num_cell(page.ci_text(r.ci)),
            ]
            for r in rows
        ],
    )


def _task_section(folder: EvalFolder) -> str:
    tasks = folder.tables.tasks
    bars = [
        svg.BarRow(
            t.task, t.score, t.ci, {"chance": t.chance, "frequency": t.frequency}, f"n={t.n}, {t.metric}"
        )
        for t in tasks
    ]
    chart = svg.score_bars(bars, title="Score per task", bar_class="bar-task")
    caption = (
        "Bars: mean item score (accuracy, or the task's metric) with 95% bootstrap CI; dashed tick: chance "
        "(uniform guess); solid tick: always giving the most frequent gold answer. Tasks by level, then name."
    )
    return "<h2>Per task</h2>" + page.figure(chart, caption) + _task_table(tasks)


def _level_group_sections(folder: EvalFolder) -> str:
    parts = []
    levels, groups = folder.tables.levels, folder.tables.groups
    if levels:
        chart = svg.score_bars(
            [svg.BarRow(f"Level {r.key}", r.score, r.ci, note=f"n={r.n}") for r in levels],
            title="Score per level",
            bar_class="bar-level",
        )
        parts.append(
            "<h2>Per level</h2>"
            + page.figure(chart, "Mean item score per level with 95% CI.")
            + _row_table(levels, "level")
        )
    if groups:
        chart = svg.score_bars(
            [svg.BarRow(r.key, r.score, r.ci, note=f"n={r.n}") for r in groups],
            title="Score per group",
            bar_class="bar-group",
        )
        parts.append(
            "<h2>Per group</h2>"
            + page.figure(chart, "Mean item score per reporting group with 95% CI.")
            + _row_table(groups, "group")
        )
    return "".join(parts)


def _status_section(folder: EvalFolder) -> str:
    tasks = folder.tables.tasks
    statuses = _statuses(tasks)
    if not statuses:
        return ""
    chart = svg.stacked_shares(
        [(t.task, t.parse_status) for t in tasks], title="Parse status per task", categories=statuses
    )
    caption = (
        "How the replies were read: ok = parsed and scored; ambiguous / refusal / no_answer / invalid "
        "score 0 (the parser refuses to guess). Unanswered items count as no_answer."
    )
    return "<h2>Parse status</h2>" + page.figure(chart, caption)


def _ratio_label(t: float) -> str:
    ratio = 2.0**t
    if abs(t - round(t)) < 1e-9 and t < 0:
        return f"1/{2.0**-t:g}×"
    return f"{ratio:.3g}×"


def _ratio_plot(e: TaskErrors) -> str:
    hist = log_ratio_histogram(e.preds, e.golds)
    bands = [
        svg.Band(math.log2(b.lo), math.log2(b.hi), b.label, 0.16 + 0.14 * i)
        for i, b in enumerate(scoring_bands(e.metric))
    ]
    limit = LOG_RATIO_LIMIT
    median = hist.median
    chart = svg.histogram_chart(
        hist.centers,
        hist.counts,
        hist.width,
        title=f"{e.task}: prediction / gold ({e.metric})",
        x_label="prediction / gold (log2 scale)",
        ticks=[float(t) for t in range(-int(limit), int(limit) + 1)],
        tick_label=_ratio_label,
        bin_label=lambda c: f"{2 ** (c - hist.width / 2):.3g}–{2 ** (c + hist.width / 2):.3g}× gold",
        bands=bands,
        median=median,
        median_label="" if median is None else f"median {_ratio_label(median)} gold",
        edge_labels=(f"≤{_ratio_label(-limit)}", f"≥{_ratio_label(limit)}"),
    )
    return page.figure(
        chart,
        _hist_caption(
            e,
            hist,
            "log2(prediction / gold)",
            f"{_ratio_label(-limit)}–{_ratio_label(limit)} gold",
            "a prediction or gold ≤ 0",
        ),
    )


def _angle_plot(e: TaskErrors) -> str:
    hist = angle_histogram(e.angles)
    thresholds = sorted(e.thresholds)
    bands = (
        [svg.Band(0.0, thresholds[0], f"within threshold {thresholds[0]:g}°")] if len(thresholds) == 1 else []
    )
    chart = svg.histogram_chart(
        hist.centers,
        hist.counts,
        hist.width,
        title=f"{e.task}: angular error ({e.metric})",
        x_label="angular error (degrees)",
        ticks=[float(t) for t in range(0, 181, 30)],
        tick_label=lambda t: f"{t:g}°",
        bin_label=lambda c: f"{c - hist.width / 2:g}–{c + hist.width / 2:g}°",
        bands=bands,
        median=hist.median,
        median_label="" if hist.median is None else f"median {hist.median:.1f}°",
    )
    extra = f" Thresholds differ between items: {thresholds}." if len(thresholds) > 1 else ""
    return page.figure(
        chart, _hist_caption(e, hist, "angular error", "0–180°", "an unreadable angle") + extra
    )


def _hist_caption(e: TaskErrors, hist: Histogram, what: str, span: str, skipped_why: str) -> str:
    text = f"{hist.n} parsed replies of {e.n} items: histogram of {what}"
    if hist.median is not None:
        text += ", median marked"
    if hist.below or hist.above:
        text += f"; {hist.below + hist.above} outside {span} are counted in the end bars"
    if hist.skipped:
        text += f"; {hist.skipped} with {skipped_why} are not shown"
    if e.not_parsed:
        text += f"; {e.not_parsed} not parsed (score 0) are not shown"
    return text + "."


def _error_section(scan: ItemScan, tasks: Sequence[TaskRow]) -> str:
    order = {t.task: t.sort_key for t in tasks}
    entries = sorted(scan.errors.values(), key=lambda e: order.get(e.task, (10**9, e.task)))
    plots = [_ratio_plot(e) if e.kind == "ratio" else _angle_plot(e) for e in entries]
    if not plots:
        return ""
    intro = (
        '<p class="muted small">Numeric tasks: how far each parsed prediction is from the gold value, as a '
        "ratio on a log scale (1× = exact; 2× = twice the gold); the shaded band is what the metric "
        "rewards. Direction and angle tasks: the angle between prediction and gold; shaded: within the "
        "threshold.</p>"
    )
    return "<h2>Error distributions</h2>" + intro + '<div class="grid-2">' + "".join(plots) + "</div>"


# --- item lists -------------------------------------------------------------------------------------------


@dataclass
class ItemTexts:
    predictions: dict[str, str]
    answered: set[str]
    questions: dict[str, str]


def _read_texts(folder: EvalFolder, ids: set[str]) -> ItemTexts:
    predictions: dict[str, str] = {}
    answered: set[str] = set()
    path = folder.path / PREDICTIONS_FILE
    if path.is_file():
        for _, record in iter_jsonl(path):
            item_id = record.get("id")
            if not isinstance(item_id, str):
                continue
            answered.add(item_id)
            if item_id in ids:
                predictions[item_id] = page.plain(record.get("prediction"))
    else:
        folder.notes.append(f"{PREDICTIONS_FILE} not found: replies are not shown")
    return ItemTexts(predictions, answered, read_questions(folder, ids))


def _item_rows(decisions: Sequence[Decision], texts: ItemTexts, failures: dict[str, dict]) -> list[list]:
    rows = []
    for d in decisions:
        r = d.record
        if d.item_id in texts.predictions:
            reply = page.clip(texts.predictions[d.item_id], PREDICTION_CHARS)
        elif d.item_id in failures:
            f = failures[d.item_id]
            reply = f"(no reply: request failed, {page.plain(f.get('reason'))})"
        else:
            reply = "(no reply)"
        question = page.clip(texts.questions.get(d.item_id, ""), QUESTION_CHARS)
        detail = r.get("parse_detail")
        decision = f"{d.parse_status}: {page.plain(detail)}" if detail else d.parse_status
        rows.append(
            [
                d.item_id,
                d.task,
                page.Cell(question, css="text"),
                page.Cell(reply, css="text"),
                page.Cell(page.plain(r.get("gold")), css="text"),
                page.Cell(decision, css="text"),
                page.num_cell(f"{d.score:.2f}"),
                page.Cell(page.plain(r.get("reason")), css="text"),
            ]
        )
    return rows


ITEM_HEAD = [
    "id",
    "task",
    "question",
    "reply",
    "gold",
    "parse decision",
    page.Cell("score", css="num"),
    "reason",
]


def _items_section(folder: EvalFolder, scan: ItemScan) -> str:
    worst = [d for _, d in scan.worst]
    ids = {d.item_id for d in scan.unparsed} | {d.item_id for d in worst}
    texts = _read_texts(folder, ids)
    failures = {str(f.get("id")): f for f in folder.failures if f.get("id") not in texts.answered}
    parts = ["<h2>Items</h2>"]
    parts.append(
        f"<h3>Replies that did not parse ({scan.unparsed_total}; first {len(scan.unparsed)} shown)</h3>"
    )
    parts.append(
        page.table(ITEM_HEAD, _item_rows(scan.unparsed, texts, failures))
        if scan.unparsed
        else '<p class="muted">None.</p>'
    )
    parts.append(
        f"<h3>Lowest-scoring parsed replies ({scan.worst_total} parsed replies below full score; "
        f"{len(worst)} shown, lowest score first, then the furthest off)</h3>"
    )
    parts.append(
        page.table(ITEM_HEAD, _item_rows(worst, texts, failures)) if worst else '<p class="muted">None.</p>'
    )
    if failures:
        listed = list(failures.values())[: scan.max_items]
        parts.append(f"<h3>Failed requests ({len(failures)}; {len(listed)} shown)</h3>")
        parts.append(
            page.table(
                ["id", "task", "reason", "message", page.Cell("attempts", css="num")],
                [
                    [
                        page.plain(f.get("id")),
                        page.plain(f.get("task")),
                        page.plain(f.get("reason")),
                        page.Cell(page.clip(page.plain(f.get("message")), PREDICTION_CHARS), css="text"),
                        page.num_cell(page.plain(f.get("attempts"))),
                    ]
                    for f in listed
                ],
            )
        )
    return "".join(parts)


# --- the page ---------------------------------------------------------------------------------------------


def render_report(eval_dir: Path, max_items: int = MAX_LISTED_ITEMS) -> str:
    """The report page as a string (write_report writes it)."""
    folder = read_eval_folder(Path(eval_dir))
    scan = scan_items(folder.path, max_items)
    # Item lists first: reading them may add notes (questions or replies not found) shown in the header.
    items = _items_section(folder, scan)
    body = (
        _header(folder)
        + _totals(folder)
        + _task_section(folder)
        + _level_group_sections(folder)
        + _status_section(folder)
        + _error_section(scan, folder.tables.tasks)
        + items
    )
    bench, model = folder.section("benchmark"), folder.section("model")
    return page.page(f"{bench.get('name', 'evaluation')} — {model.get('spec', '')}", body)


def write_report(eval_dir: Path, out: Path | None = None, *, max_items: int = MAX_LISTED_ITEMS) -> Path:
    """Write the HTML report of an evaluation folder (default eval_dir/report.html); returns its path."""
    target = Path(out) if out is not None else Path(eval_dir) / REPORT_FILE
    text = render_report(Path(eval_dir), max_items)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, text)
    return target
