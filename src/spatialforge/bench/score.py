"""Re-score predictions made elsewhere: our parsers, the benchmark's official metric and aggregation.

`run_score` streams the predictions, writes one decision per item (what was parsed, the score, why) and then
per-task tables and the official totals, all in one output folder:

    items.jsonl   per-item decisions        tasks.csv / tasks.md   per-task score, n, CI, parse failures
    summary.json  totals, parser version, benchmark / variant, counts, skips
    config.json   the resolved run
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from spatialforge.bench.aggregate import bootstrap_ci, chance_baseline, frequency_baseline
from spatialforge.bench.benchmarks import BenchmarkSpec, ScoreColumns, ScoredLine, TaskScore, get_benchmark
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.parsers import PARSER_VERSION
from spatialforge.bench.predictions import DEFAULT_REPLY_FIELD, check_reader, parse_prediction_line, read_gold
from spatialforge.bench.rules import ScoringRule, score_item
from spatialforge.errors import RecordError


@dataclass(frozen=True)
class ScoreConfig:
    benchmark: str
    predictions: str
    output: str
    reader: str = "jsonl"
    reply_field: str | None = None
    gold: str | None = None
    variant: str | None = None
    skip_invalid: bool = False
    bootstrap: int = 1000
    seed: int = 0
    workers: int = 1
    confidence: float = 0.95


@dataclass
class ScoreReport:
    config: ScoreConfig
    parser_version: str
    totals: dict[str, float]
    tasks: dict[str, TaskScore]
    task_ci: dict[str, tuple[float, float]]
    n_items: int
    skipped: Counter = field(default_factory=Counter)
    first_error: dict[str, str] = field(default_factory=dict)
    parse_status: Counter = field(default_factory=Counter)
    totals_error: str | None = None
    seconds: float = 0.0

    def summary(self) -> dict:
        return {
            "benchmark": self.config.benchmark,
            "variant": self.config.variant,
            "parser_version": self.parser_version,
            "n_items": self.n_items,
            "totals": self.totals,
            "totals_error": self.totals_error,
            "tasks": {t: {**asdict(s), "ci": list(self.task_ci[t])} for t, s in sorted(self.tasks.items())},
            "parse_status": dict(sorted(self.parse_status.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "first_error": self.first_error,
            "seconds": self.seconds,
        }


def _n_options(answer_type: str, options: dict | None) -> int | None:
    if answer_type == "choice":
        return len(options) if options else None
    return 2 if answer_type == "yes_no" else None


def _baselines(metric: str, golds: list, n_options: list[int | None]) -> tuple[float | None, float | None]:
    """(chance, frequency) of one task; None where the benchmark defines none (VSI-Bench 4.1)."""
    if metric == "accuracy" and all(k for k in n_options):
        return chance_baseline(n_options), frequency_baseline([repr(g) for g in golds])
    if metric == "accuracy":
        return None, frequency_baseline([repr(g) for g in golds])
    if metric == "mra":
        return None, frequency_baseline(golds, metric="mra")
    return None, None


def _task_scores(columns: ScoreColumns, statuses: dict[str, Counter]) -> dict[str, TaskScore]:
    by_task: dict[str, list[int]] = {}
    for i, task in enumerate(columns.task):
        by_task.setdefault(task, []).append(i)
    out = {}
    for task in sorted(by_task):
        rows = by_task[task]
        metrics_used = {columns.metric[i] for i in rows}
        metric = metrics_used.pop() if len(metrics_used) == 1 else "mixed"
        chance, frequency = _baselines(
            metric, [columns.gold[i] for i in rows], [columns.n_options[i] for i in rows]
        )
        out[task] = TaskScore(
            task=task,
            n=len(rows),
            score=sum(columns.score[i] for i in rows) / len(rows),
            parse_status=dict(sorted((statuses.get(task) or Counter()).items())),
            metric=metric,
            chance=chance,
            frequency=frequency,
        )
    return out


def _task_cis(columns: ScoreColumns, cfg: ScoreConfig) -> dict[str, tuple[float, float]]:
    by_task: dict[str, list[float]] = {}
    for task, score in zip(columns.task, columns.score, strict=True):
        by_task.setdefault(task, []).append(score)
    return {
        t: tuple(
            bootstrap_ci(np.asarray(v), n_resamples=cfg.bootstrap, seed=cfg.seed, alpha=1 - cfg.confidence)
        )
        for t, v in sorted(by_task.items())
    }


# A RecordError as plain data (exceptions with keyword-only constructors do not pickle across processes).
ErrorTuple = tuple[str, str, str | None, str | None, str | None]
BATCH_LINES = 4000


def _as_tuple(err: RecordError) -> ErrorTuple:
    return (err.reason, err.detail, err.file, err.record, err.field)


class _LineScorer:
    """Everything needed to score raw lines: the spec, the gold answers, the reader. One per process."""

    def __init__(self, cfg: ScoreConfig) -> None:
        check_reader(cfg.reader)
        self.spec = get_benchmark(cfg.benchmark, cfg.variant)
        self.gold = read_gold(Path(cfg.gold)) if cfg.gold else None
        self.cfg = cfg
        self.reply_field = cfg.reply_field or DEFAULT_REPLY_FIELD.get(cfg.reader)

    def score_lines(self, batch: list[tuple[int, str]]) -> list[ScoredLine | ErrorTuple]:
        out: list[ScoredLine | ErrorTuple] = []
        file = self.cfg.predictions
        for line_no, text in batch:
            entry = parse_prediction_line(
                text,
                line_no,
                file=file,
                reader=self.cfg.reader,
                gold_by_id=self.gold,
                reply_field=self.reply_field,
            )
            if entry is None:
                continue
            if isinstance(entry, RecordError):
                out.append(_as_tuple(entry))
                continue
            try:
                out.append(scored_line(entry, self.spec))
            except ValueError as e:  # a bad gold answer or missing options: the benchmark file is wrong
                out.append(("bad_gold", str(e), file, entry.item_id, "answer"))
        return out


def scored_line(entry: PredictionItem, spec: BenchmarkSpec, rule: ScoringRule | None = None) -> ScoredLine:
    """One item scored by `rule` (default: the spec's rule for it); ValueError when its gold is unreadable."""
    d = score_item(entry, rule or spec.rule_for(entry))
    return ScoredLine(
        item_id=d.item_id,
        task=d.task,
        metric=d.metric,
        score=d.score,
        correct=d.correct,
        group=d.group,
        status=d.parse_status,
        gold_value=d.gold_value,
        n_options=_n_options(d.answer_type, entry.options),
        meta={k: entry.meta.get(k) for k in spec.keep_meta},
        decision_json=_ENCODER.encode(d.as_dict()),
    )


def official_totals(
    lines: Iterable[ScoredLine], spec: BenchmarkSpec
) -> tuple[dict[str, TaskScore], dict[str, float], str | None]:
    """Per-task scores and the spec's totals of scored items (totals {} and the reason when the items do not
    cover what the benchmark's formula needs)."""
    columns = ScoreColumns()
    statuses: dict[str, Counter] = {}
    for line in lines:
        columns.add_row(line)
        statuses.setdefault(line.task, Counter())[line.status] += 1
    tasks = _task_scores(columns, statuses)
    return (tasks, *_spec_totals(spec, tasks, columns))


def _spec_totals(
    spec: BenchmarkSpec, tasks: dict[str, TaskScore], columns: ScoreColumns
) -> tuple[dict[str, float], str | None]:
    # An official total needs the benchmark's full task set; a subset still gets its per-task tables.
    try:
        return spec.totals(tasks, columns), None
    except ValueError as e:
        return {}, str(e)


_WORKER: _LineScorer | None = None  # set once in each worker process by _init_worker


def _init_worker(cfg: ScoreConfig) -> None:
    global _WORKER
    _WORKER = _LineScorer(cfg)


def _worker_score(batch: list[tuple[int, str]]) -> list[ScoredLine | ErrorTuple]:
    assert _WORKER is not None
    return _WORKER.score_lines(batch)


def _batches(path: Path) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    with open(path, encoding="utf-8") as fh:
        for n, text in enumerate(fh, start=1):
            batch.append((n, text))
            if len(batch) == BATCH_LINES:
                yield batch
                batch = []
    if batch:
        yield batch


def run_score(cfg: ScoreConfig) -> ScoreReport:
    """Score every line of cfg.predictions; with cfg.workers > 1, lines are scored in worker processes
    (in order, so the output is identical to a single-process run)."""
    scorer = _LineScorer(cfg)  # also validates benchmark, variant, reader and gold file up front
    spec = scorer.spec
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    columns = ScoreColumns()
    statuses: dict[str, Counter] = {}
    all_status: Counter = Counter()
    skipped: Counter = Counter()
    first_error: dict[str, str] = {}
    seen: set[str] = set()
    items_path = out / "items.jsonl"
    partial = out / "items.jsonl.partial"

    def reject(err: RecordError) -> None:
        """Stop on a bad record, or count it under its reason with --skip-invalid."""
        if not cfg.skip_invalid:
            raise err
        skipped[err.reason] += 1
        first_error.setdefault(err.reason, str(err))

    pool = None
    if cfg.workers > 1:
        pool = multiprocessing.get_context("spawn").Pool(
            cfg.workers, initializer=_init_worker, initargs=(cfg,)
        )
        results: Iterator[list[ScoredLine | ErrorTuple]] = pool.imap(
            _worker_score, _batches(Path(cfg.predictions))
        )
    else:
        results = map(scorer.score_lines, _batches(Path(cfg.predictions)))
    try:
        with open(partial, "w", encoding="utf-8") as fh:
            for batch in results:
                for r in batch:
                    if not isinstance(r, ScoredLine):
                        reason, detail, file, record, field_name = r
                        reject(RecordError(reason, detail, file=file, record=record, field=field_name))
                        continue
                    if r.item_id in seen:
                        reject(
                            RecordError(
                                "duplicate_id",
                                f"item id {r.item_id!r} appears twice",
                                file=cfg.predictions,
                                record=r.item_id,
                                field="id",
                            )
                        )
                        continue
                    seen.add(r.item_id)
                    fh.write(r.decision_json + "\n")
                    columns.add_row(r)
                    statuses.setdefault(r.task, Counter())[r.status] += 1
                    all_status[r.status] += 1
    finally:
        if pool is not None:
            pool.terminate()
    partial.replace(items_path)
    if not columns.task:
        raise RecordError("no_items", "no item could be scored", file=cfg.predictions)
    tasks = _task_scores(columns, statuses)
    totals, totals_error = _spec_totals(spec, tasks, columns)
    report = ScoreReport(
        config=cfg,
        parser_version=PARSER_VERSION,
        totals=totals,
        totals_error=totals_error,
        tasks=tasks,
        task_ci=_task_cis(columns, cfg),
        n_items=len(columns.task),
        skipped=skipped,
        first_error=first_error,
        parse_status=all_status,
    )
    report.seconds = round(time.perf_counter() - start, 3)
    _write_tables(report, out)
    return report


def _jsonable(value: object) -> object:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)


# One encoder for every decision line: json.dumps builds a new one per call when given `default`.
_ENCODER = json.JSONEncoder(default=_jsonable, ensure_ascii=False, separators=(",", ":"))


def _fraction(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _write_tables(report: ScoreReport, out: Path) -> None:
    (out / "config.json").write_text(json.dumps(asdict(report.config), indent=2) + "\n")
    (out / "summary.json").write_text(json.dumps(report.summary(), indent=2, default=_jsonable) + "\n")
    statuses = sorted({s for t in report.tasks.values() for s in t.parse_status})
    with open(out / "tasks.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        head = ["task", "metric", "n", "score", "ci_low", "ci_high", "chance", "frequency"]
        w.writerow(head + [f"parse_{s}" for s in statuses])
        for t, s in report.tasks.items():
            lo, hi = report.task_ci[t]
            row = [t, s.metric, s.n, _fraction(s.score), _fraction(lo), _fraction(hi)]
            row += [_fraction(s.chance), _fraction(s.frequency)]
            w.writerow(row + [s.parse_status.get(x, 0) for x in statuses])
    ci = f"{int(100 * report.config.confidence)}% CI"
    lines = [
        f"# {report.config.benchmark}" + (f" ({report.config.variant})" if report.config.variant else ""),
        "",
        f"parser version {report.parser_version}; {report.n_items} items scored"
        + (f"; skipped {dict(report.skipped)}" if report.skipped else ""),
        "",
        *([f"No official total: {report.totals_error}", ""] if report.totals_error else []),
        "| total | value |",
        "|---|---|",
        *[f"| {k} | {100 * v:.2f} |" for k, v in report.totals.items()],
        "",
        f"| task | metric | n | score | {ci} | chance | frequency | " + " | ".join(statuses) + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(statuses),
    ]
    for t, s in report.tasks.items():
        lo, hi = report.task_ci[t]
        counts = " | ".join(str(s.parse_status.get(x, 0)) for x in statuses)
        lines.append(
            f"| {t} | {s.metric} | {s.n} | {100 * s.score:.2f} | {100 * lo:.1f}–{100 * hi:.1f} | "
            f"{_percent(s.chance)} | {_percent(s.frequency)} | {counts} |"
        )
    (out / "tasks.md").write_text("\n".join(lines) + "\n")
