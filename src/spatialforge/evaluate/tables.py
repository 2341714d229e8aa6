"""Scoring an evaluation run and its tables: per task, per level, per preset group, and the preset's totals.

Every item of the benchmark is scored, answered or not: an unanswered item is scored as an empty reply (0,
parse status no_answer), so a total never looks better because a model failed on the hard questions; the
tables say how many items had no answer. Scoring is the scoring core's (bench/score.py run_score, rule from
each item's `scoring`), so `spatialforge score` on the same replies gives the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from spatialforge.bench.aggregate import bootstrap_ci
from spatialforge.bench.builder.items import BenchItem
from spatialforge.bench.score import ScoreConfig, ScoreReport, run_score

SCORE_INPUT = "score_input.jsonl"
# official: a published benchmark's own totals, from its scoring spec (bench/benchmarks.py).
TOTALS_RULES = ("micro", "macro_tasks", "macro_groups", "official")


def score_input_line(item: BenchItem, reply: str | None) -> dict[str, Any]:
    """One line of the scoring core's native JSONL (bench/predictions.py) for an item and its reply."""
    pred = item.prediction_item(reply or "")
    gold = list(pred.gold) if isinstance(pred.gold, tuple) else pred.gold
    return {
        "id": item.id,
        "task": item.task,
        "prediction": pred.prediction,
        "answer": gold,
        "options": pred.options,
        "gold_unit": pred.gold_unit,
        "answer_type": item.scoring.answer_type,
        "metric": item.scoring.metric,
        "parse": item.scoring.parse,
        "params": item.scoring.params,
        "level": item.level,
        "item_group": item.group,
        "answered": reply is not None,
        # A published benchmark's scoring group and the fields its official totals read.
        "group": item.extra.get("score_group"),
        **item.extra.get("score_meta", {}),
    }


def gold_line(item: BenchItem) -> dict[str, Any]:
    """An item's gold as `spatialforge score --gold` reads it: everything the scoring core needs but the reply
    (score predictions made elsewhere - an lmms-eval log, another harness - against a benchmark folder)."""
    line = score_input_line(item, None)
    del line["prediction"], line["answered"]
    return line


def score_run(
    items: Sequence[BenchItem],
    replies: Mapping[str, str],
    out_dir: Path,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    benchmark: str = "generic",
    variant: str | None = None,
) -> ScoreReport:
    """Write out_dir/score_input.jsonl and score it into out_dir/score/ (items, tasks, summary).

    benchmark / variant: the scoring spec; "generic" reads each item's own rule, a published benchmark's spec
    gives the same rules (the import checks it) and its official totals."""
    path = out_dir / SCORE_INPUT
    with open(path, "wb") as fh:
        for item in items:
            fh.write(orjson.dumps(score_input_line(item, replies.get(item.id))) + b"\n")
    cfg = ScoreConfig(
        benchmark=benchmark,
        variant=variant,
        predictions=str(path),
        output=str(out_dir / "score"),
        bootstrap=bootstrap,
        seed=seed,
    )
    return run_score(cfg)


def _ci(values: list[float], bootstrap: int, seed: int) -> list[float]:
    return list(bootstrap_ci(np.asarray(values), n_resamples=bootstrap, seed=seed))


def _macro_ci(per_task: list[list[float]], bootstrap: int, seed: int, alpha: float = 0.05) -> list[float]:
    """Percentile bootstrap CI of the mean of task means: items resampled within each task (every task keeps
    its size), so the interval has the same weighting as the score."""
    rng = np.random.default_rng(seed)
    means = np.zeros(bootstrap)
    for values in per_task:
        x = np.asarray(values, dtype=np.float64)
        means += x[rng.integers(0, x.size, size=(bootstrap, x.size))].mean(axis=1)
    means /= len(per_task)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return [float(lo), float(hi)]


def _score_by_item(score_dir: Path) -> dict[str, float]:
    scores: dict[str, float] = {}
    with open(score_dir / "items.jsonl", "rb") as fh:
        for line in fh:
            decision = orjson.loads(line)
            scores[decision["id"]] = float(decision["score"])
    return scores


def build_tables(
    items: Sequence[BenchItem],
    report: ScoreReport,
    score_dir: Path,
    *,
    answered: int,
    totals_rule: str = "micro",
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """tables.json: totals, tasks, levels, groups (scores 0..1, 95% percentile-bootstrap CIs).

    totals_rule (the preset's): micro - mean over items (SpatialLLM's SpatialVQA "Avg."); macro_tasks -
    mean of task scores, and a group's score the mean of its tasks' (SPAR-Bench overall, Low / High);
    macro_groups - mean of group scores, each over its items (HiSpatial's three columns); official - the
    scoring spec's own totals (a published benchmark: CV-Bench's formula, 3DSRBench's CircularEval ...),
    with groups as means over their items. Items without a level (published benchmarks) have no level row.
    """
    if totals_rule not in TOTALS_RULES:
        raise ValueError(f"unknown totals rule {totals_rule!r}; choose from {TOTALS_RULES}")
    by_item = _score_by_item(score_dir)
    level_of = {item.task: item.level for item in items}
    group_of: dict[str, str | None] = {}
    by_level: dict[int | None, list[float]] = {}
    by_task: dict[str, list[float]] = {}
    for item in items:
        group_of.setdefault(item.task, item.group)
        s = by_item[item.id]
        by_level.setdefault(item.level, []).append(s)
        by_task.setdefault(item.task, []).append(s)
    tasks_in_group: dict[str, list[str]] = {}
    for task, group in group_of.items():
        if group is not None:
            tasks_in_group.setdefault(group, []).append(task)
    tasks = [
        {
            "task": name,
            "level": level_of.get(name),
            "group": group_of.get(name),
            "metric": t.metric,
            "n": t.n,
            "score": t.score,
            "ci": list(report.task_ci[name]),
            "chance": t.chance,
            "frequency": t.frequency,
            "parse_status": t.parse_status,
        }
        for name, t in sorted(report.tasks.items(), key=lambda kv: (_level_key(level_of.get(kv[0])), kv[0]))
    ]
    levels = [
        {"level": level, "n": len(v), "score": float(np.mean(v)), "ci": _ci(v, bootstrap, seed)}
        for level, v in sorted(by_level.items(), key=lambda kv: _level_key(kv[0]))
        if level is not None
    ]
    groups = [
        _group_row(g, [by_task[t] for t in names], totals_rule, bootstrap, seed)
        for g, names in tasks_in_group.items()
    ]
    all_scores = list(by_item.values())
    overall = overall_by_rule(by_task, group_of, totals_rule)
    totals = {"overall": overall, **{g["group"]: g["score"] for g in groups}}
    totals_note = None
    if totals_rule == "official":
        if report.totals:
            totals = dict(report.totals)
        else:
            # A subset (--task, --limit) or a benchmark missing a part its formula needs: the official total
            # is not computed, and the table says so instead of showing a number it is not.
            totals = {"mean_over_items": overall}
            totals_note = f"no official total: {report.totals_error}"
    return {
        "n_items": len(items),
        "answered": answered,
        "unanswered": len(items) - answered,
        "totals_rule": totals_rule,
        "totals": totals,
        "totals_note": totals_note,
        "overall_ci": _ci(all_scores, bootstrap, seed) if totals_rule == "micro" else None,
        "parser_version": report.parser_version,
        "tasks": tasks,
        "levels": levels,
        "groups": groups,
    }


def overall_by_rule(
    by_task: Mapping[str, Sequence[float]], group_of: Mapping[str, str | None], totals_rule: str
) -> float:
    """The overall score of item scores per task under a totals rule (build_tables); "official" gives the
    mean over items, which a published benchmark's own total then replaces."""
    if totals_rule == "macro_tasks":
        return float(np.mean([np.mean(v) for v in by_task.values()]))
    flat = [x for v in by_task.values() for x in v]
    if totals_rule == "macro_groups":
        per_group: dict[str, list[float]] = {}
        for task, values in by_task.items():
            group = group_of.get(task)
            if group is not None:
                per_group.setdefault(group, []).extend(values)
        if per_group:
            return float(np.mean([np.mean(v) for v in per_group.values()]))
    return float(np.mean(flat))


def _level_key(level: int | None) -> int:
    return 9 if level is None else level


def _group_row(
    group: str, per_task: list[list[float]], totals_rule: str, bootstrap: int, seed: int
) -> dict[str, Any]:
    """A group's score: the mean of its task scores under macro_tasks (SPAR-Bench's Low / High), else the
    mean over its items (SpatialVQA's columns, HiSpatial's)."""
    n = sum(len(v) for v in per_task)
    if totals_rule == "macro_tasks":
        score = float(np.mean([np.mean(v) for v in per_task]))
        return {"group": group, "n": n, "score": score, "ci": _macro_ci(per_task, bootstrap, seed)}
    flat = [x for v in per_task for x in v]
    return {"group": group, "n": n, "score": float(np.mean(flat)), "ci": _ci(flat, bootstrap, seed)}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def tables_markdown(tables: Mapping[str, Any], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        f"{tables['n_items']} items, {tables['answered']} answered, {tables['unanswered']} without an answer "
        f"(scored 0); parser {tables['parser_version']}; totals rule {tables['totals_rule']}.",
        "",
        *([f"{tables['totals_note']}.", ""] if tables.get("totals_note") else []),
        "| total | score % |",
        "|---|---|",
        *[f"| {k} | {_pct(v)} |" for k, v in tables["totals"].items()],
        "",
        "| task | level | group | metric | n | score % | 95% CI | chance % | frequency % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tables["tasks"]:
        lo, hi = t["ci"]
        level = "" if t["level"] is None else t["level"]
        lines.append(
            f"| {t['task']} | {level} | {t['group'] or ''} | {t['metric']} | {t['n']} "
            f"| {_pct(t['score'])} | {_pct(lo)}–{_pct(hi)} | {_pct(t['chance'])} | {_pct(t['frequency'])} |"
        )
    lines += ["", "| level | n | score % | 95% CI |", "|---|---|---|---|"]
    for row in tables["levels"]:
        lo, hi = row["ci"]
        lines.append(f"| {row['level']} | {row['n']} | {_pct(row['score'])} | {_pct(lo)}–{_pct(hi)} |")
    if tables["groups"]:
        lines += ["", "| group | n | score % | 95% CI |", "|---|---|---|---|"]
        for row in tables["groups"]:
            lo, hi = row["ci"]
            lines.append(f"| {row['group']} | {row['n']} | {_pct(row['score'])} | {_pct(lo)}–{_pct(hi)} |")
    return "\n".join(lines) + "\n"


def write_tables(tables: Mapping[str, Any], out_dir: Path, title: str) -> None:
    (out_dir / "tables.json").write_text(json.dumps(tables, indent=2) + "\n")
    (out_dir / "tables.md").write_text(tables_markdown(tables, title))
