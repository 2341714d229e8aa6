"""Fake evaluation output folders with hand-checkable numbers, for the report tests.

The per-item decisions are made by the real scoring core (bench/rules.py `score_item`), so score/items.jsonl
has exactly the shape `run_score` writes; tables.json is computed here from those decisions (plain means,
bootstrap CIs from bench/baselines.py), as the evaluation runner writes it (eval_layout: scores 0..1).

The default benchmark ("mini", 14 items, 4 tasks) and the default replies (`DEFAULT_REPLIES`) score:

    relation   level 1  choice / accuracy          4 items  A right, B wrong, unparsed, right -> 2/4 = 50 %
    distance   level 1  number / spatialrgpt (m)   4 items  1 m, 2 m, 4 m vs 2 m, refusal     -> 1/4 = 25 %
    direction  level 2  vector / direction_angle   3 items  0, 45, 90 degrees off             -> 1/3
    size       level 3  number / MRA (m)           3 items  1.0, 1.1, 3 vs 1.0 -> MRA 1, 0.9, 0 -> 1.9/3
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spatialforge.bench.aggregate import bootstrap_ci
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.rules import ScoringRule, score_item

HOSTILE = "<script>alert(1)</script>"
DIST_RULE = ScoringRule("number", "spatialrgpt", {"to_unit": "m", "default_unit": "m"})
SIZE_RULE = ScoringRule("number", "mra", {"to_unit": "m", "default_unit": "m"})
CHOICE_RULE = ScoringRule("choice", "accuracy")
VECTOR_RULE = ScoringRule("vector", "direction_angle", params={"threshold_deg": 30.0})
OPTIONS = {"A": "left", "B": "right"}


@dataclass(frozen=True)
class FakeItem:
    id: str
    task: str
    level: int
    group: str | None
    rule: ScoringRule
    gold: Any
    question: str
    options: Mapping[str, str] | None = None


def mini_items() -> list[FakeItem]:
    items = [
        FakeItem(
            f"rel-{i}",
            "relation",
            1,
            "3D spatial relation",
            CHOICE_RULE,
            gold,
            f"Is the cup left ({i})? A. left B. right",
            OPTIONS,
        )
        for i, gold in enumerate(["A", "A", "A", "B"])
    ]
    items += [
        FakeItem(f"dist-{i}", "distance", 1, "3D distance", DIST_RULE, 2.0, f"How far is the chair {i}?")
        for i in range(4)
    ]
    items += [
        FakeItem(
            f"dir-{i}", "direction", 2, "3D orientation", VECTOR_RULE, (0.0, 0.0, 1.0), f"Direction {i}?"
        )
        for i in range(3)
    ]
    items += [
        FakeItem(f"size-{i}", "size", 3, None, SIZE_RULE, 1.0, f"How tall is the lamp {i}?") for i in range(3)
    ]
    return items


DEFAULT_REPLIES: dict[str, str] = {
    "rel-0": "A",
    "rel-1": "B",
    "rel-2": HOSTILE,
    "rel-3": "B",
    "dist-0": "1 m",
    "dist-1": "2 m",
    "dist-2": "4 m",
    "dist-3": "I cannot tell.",
    "dir-0": "(0, 0, 1)",
    "dir-1": "(0, 1, 1)",
    "dir-2": "(1, 0, 0)",
    "size-0": "1.0 m",
    "size-1": "1.1 m",
    "size-2": "3 m",
}


def write_benchmark(root: Path, items: Sequence[FakeItem]) -> tuple[Path, str]:
    """A benchmark folder with items.jsonl (id, task, level, question, ...); returns (folder, sha256)."""
    bench = root / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps(
            {"id": it.id, "task": it.task, "level": it.level, "group": it.group, "question": it.question}
        )
        for it in items
    ]
    data = ("\n".join(lines) + "\n").encode()
    (bench / "items.jsonl").write_bytes(data)
    return bench, hashlib.sha256(data).hexdigest()


def _ci(values: list[float]) -> list[float]:
    return list(bootstrap_ci(np.asarray(values), n_resamples=1000, seed=0))


def _summaries(rows: dict[Any, list[float]], key: str) -> list[dict[str, Any]]:
    return [
        {key: k, "n": len(v), "score": sum(v) / len(v), "ci": _ci(v)}
        for k, v in sorted(rows.items(), key=lambda kv: str(kv[0]))
    ]


def build_tables(
    items: Sequence[FakeItem], decisions: Sequence[dict[str, Any]], answered: int
) -> dict[str, Any]:
    by_id = {it.id: it for it in items}
    per_task: dict[str, list[dict[str, Any]]] = {}
    for d in decisions:
        per_task.setdefault(d["task"], []).append(d)
    tasks = []
    levels: dict[int, list[float]] = {}
    groups: dict[str, list[float]] = {}
    for task, ds in sorted(per_task.items()):
        item = by_id[ds[0]["id"]]
        scores = [d["score"] for d in ds]
        is_choice = item.rule.answer_type == "choice"
        golds = Counter(str(by_id[d["id"]].gold) for d in ds)
        tasks.append(
            {
                "task": task,
                "level": item.level,
                "group": item.group,
                "metric": item.rule.metric,
                "n": len(ds),
                "score": sum(scores) / len(scores),
                "ci": _ci(scores),
                "chance": 0.5 if is_choice else None,
                "frequency": golds.most_common(1)[0][1] / len(ds) if is_choice else None,
                "parse_status": dict(sorted(Counter(d["parse_status"] for d in ds).items())),
            }
        )
        levels.setdefault(item.level, []).extend(scores)
        if item.group:
            groups.setdefault(item.group, []).extend(scores)
    return {
        "n_items": len(decisions),
        "answered": answered,
        "unanswered": len(decisions) - answered,
        "totals": {"overall": sum(t["score"] for t in tasks) / len(tasks)},
        "tasks": tasks,
        "levels": _summaries(levels, "level"),
        "groups": _summaries(groups, "group"),
    }


@dataclass
class FakeRun:
    path: Path
    decisions: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)


def _jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def make_eval_dir(
    root: Path,
    name: str,
    *,
    replies: Mapping[str, str] | None = None,
    items: Sequence[FakeItem] | None = None,
    failed: Sequence[str] = (),
    model_spec: str = "openai:base_url=http://127.0.0.1:9/v1,model=m",
    items_sha256: str | None = None,
    bench_path: str | None = None,
    parser_version: str = "1.1.0",
) -> FakeRun:
    """An evaluation folder: eval.json, predictions.jsonl, failures.jsonl, score/items.jsonl, tables.json.
    replies: item id -> reply (DEFAULT_REPLIES by default); failed: ids with no reply (scored as "")."""
    items = list(items if items is not None else mini_items())
    replies = dict(DEFAULT_REPLIES if replies is None else replies)
    bench, sha = write_benchmark(root, items)
    out = root / name
    (out / "score").mkdir(parents=True, exist_ok=True)
    decisions, predictions = [], []
    for it in items:
        reply = "" if it.id in failed else replies[it.id]
        item = PredictionItem(
            it.id, it.task, reply, it.gold, options=dict(it.options) if it.options else None
        )
        decisions.append(score_item(item, it.rule).as_dict())
        if it.id not in failed:
            predictions.append(
                {
                    "id": it.id,
                    "task": it.task,
                    "prompt": it.question,
                    "images": [],
                    "prediction": reply,
                    "model": "m",
                    "attempts": 1,
                    "latency_s": 0.01,
                    "usage": {},
                }
            )
    for d in decisions:  # tuples (vectors) as JSON lists, as run_score writes them
        for key in ("parsed", "gold", "gold_value"):
            if isinstance(d[key], tuple):
                d[key] = list(d[key])
    _jsonl(out / "score" / "items.jsonl", decisions)
    _jsonl(out / "predictions.jsonl", predictions)
    _jsonl(
        out / "failures.jsonl",
        [
            {
                "id": i,
                "task": next(it.task for it in items if it.id == i),
                "reason": "http_500",
                "message": "server error 500",
                "attempts": 3,
            }
            for i in failed
        ],
    )
    tables = build_tables(items, decisions, answered=len(predictions))
    (out / "tables.json").write_text(json.dumps(tables, indent=2))
    meta = {
        "benchmark": {
            "path": bench_path if bench_path is not None else str(bench),
            "name": "mini",
            "preset": "hispatial",
            "n_items": len(items),
            "items_sha256": items_sha256 or sha,
        },
        "model": {"spec": model_spec, "kind": "openai", "model": "m"},
        "settings": {"temperature": 0.0, "max_new_tokens": 64, "top_p": 1.0, "seed": 0},
        "prompt": {
            "version": "1.0.0",
            "style": "instructed",
            "system": None,
            "instructions": {"choice": "Answer with the letter of the correct option."},
        },
        "parser_version": parser_version,
        "status": {
            "n_items": len(items),
            "answered": len(predictions),
            "failed": len(failed),
            "asked_this_run": len(items),
        },
        "started": "2025-01-01T10:00:00+00:00",
        "finished": "2025-01-01T10:05:00+00:00",
    }
    (out / "eval.json").write_text(json.dumps(meta, indent=2))
    return FakeRun(out, decisions, tables)


def all_right_replies(items: Sequence[FakeItem] | None = None) -> dict[str, str]:
    """Replies that score 1 on every item of the mini benchmark."""
    out = {}
    for it in items if items is not None else mini_items():
        if it.rule.answer_type == "choice":
            out[it.id] = str(it.gold)
        elif it.rule.answer_type == "vector":
            out[it.id] = "({}, {}, {})".format(*it.gold)
        else:
            out[it.id] = f"{it.gold} m"
    return out
