"""How far a text-only answer prior, learned from the training draws, misleads on a balanced benchmark.

Generated categorical answers follow the world: objects in rooms face inwards more often than not, most
things "would fit". A model that reads only the question learns those priors, and a benchmark that balances
its answers (bench/builder/select.py) then scores them at or below chance. This script measures that with the
simplest conditional text prior: per (task, format, question template, object categories) the answer class
(qa/answer_classes.py) most often correct in the training draws, backing off to (task, format, categories) and
(task, format). It is fitted on draws of the training mixture (train/mixture.py) at each `--balance` value and
scored on the benchmark's categorical items (multiple choice with text options, yes/no), per task, against
chance. A prior that scores below chance has learned answers the benchmark does not reward; at the balance
that suits the benchmark it should sit at chance.

    python benchmarks/answer_prior_shift.py --qa QA/data.jsonl --bench BENCH --balance 0,0.5,1 \
        --out shift.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spatialforge.evaluate.models.baselines import template_family
from spatialforge.qa.answer_classes import answer_class, is_categorical
from spatialforge.train.data import ExampleInfo, spatial_info
from spatialforge.train.mixture import MixtureConfig, MixtureSampler


class QAIndex:
    """A QA JSONL as the sampler's dataset: only infos (no images, so no scenes needed)."""

    name = "qa"

    def __init__(self, path: Path) -> None:
        self.records: list[dict[str, Any]] = []
        self.infos: list[ExampleInfo] = []
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                self.records.append(record)
                self.infos.append(
                    spatial_info(record["id"], record["task"], record["level"], record["capture_id"], record)
                )

    def __len__(self) -> int:
        return len(self.records)

    def info(self, index: int) -> ExampleInfo:
        return self.infos[index]


def categories(record: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f"{o.get('role')}:{o.get('category')}" for o in record.get("objects") or ())


def keys(record: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Most specific first."""
    task, fmt = record["task"], record["format"]
    template = template_family(record.get("template_id"), task)
    return [(task, fmt, template, categories(record)), (task, fmt, categories(record)), (task, fmt)]


class TextPrior:
    """Counts of answer classes per key, fitted on training records."""

    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.counts: dict[tuple[Any, ...], Counter] = defaultdict(Counter)
        for record in records:
            cls = answer_class(record)
            if is_categorical(cls):
                for key in keys(record):
                    self.counts[key][cls] += 1

    def choose(self, item: dict[str, Any], candidates: Sequence[str]) -> str:
        """The candidate class seen most often under the most specific key that saw any of them; ties and
        no data: the first candidate (the benchmark places the correct option uniformly)."""
        for key in keys(item):
            counter = self.counts.get(key)
            if counter and any(counter[c] for c in candidates):
                return max(candidates, key=lambda c: (counter[c], -candidates.index(c)))
        return candidates[0]


def item_candidates(item: dict[str, Any]) -> list[str] | None:
    """The answer classes an item offers (its options, or yes / no), None for a non-categorical item."""
    if item["format"] == "tf":
        return ["bool:True", "bool:False"]
    if item["format"] == "mcq":
        texts = [c["text"] for c in item.get("choices") or ()]
        if not texts or any(any(ch.isdigit() for ch in t) for t in texts):
            return None
        return [f"option:{t.strip().lower()}" for t in texts]
    return None


def score(prior: TextPrior, items: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    hits: dict[str, list[float]] = defaultdict(list)
    chance: dict[str, list[float]] = defaultdict(list)
    for item in items:
        candidates = item_candidates(item)
        if candidates is None:
            continue
        hits[item["task"]].append(float(prior.choose(item, candidates) == answer_class(item)))
        chance[item["task"]].append(1.0 / len(candidates))
    return {
        task: {
            "n": len(values),
            "prior": round(float(np.mean(values)), 4),
            "chance": round(float(np.mean(chance[task])), 4),
        }
        for task, values in sorted(hits.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--qa", type=Path, required=True, help="Training QA (a generate run's data.jsonl).")
    parser.add_argument("--bench", type=Path, required=True, help="A built benchmark folder.")
    parser.add_argument("--balance", default="0,1", help="Comma list of mixture answer_balance values.")
    parser.add_argument(
        "--draws", type=int, default=0, help="Training draws per value (0: as many as records)."
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    for path in (args.qa, args.bench / "items.jsonl"):
        if not path.is_file():
            raise SystemExit(
                f"{path}: no such file (--qa is a generate run's data.jsonl, --bench a benchmark)"
            )
    balances = [float(v) for v in args.balance.split(",") if v.strip()]
    index = QAIndex(args.qa)
    with open(args.bench / "items.jsonl", encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle]
    draws = args.draws or len(index)
    results: dict[str, Any] = {}
    for balance in balances:
        # Task rates by example count: each task keeps its share of the file; only the answers move.
        sampler = MixtureSampler([index], MixtureConfig(answer_balance=balance), seed=args.seed)
        _, examples = sampler.draw_many(np.arange(draws))
        prior = TextPrior(index.records[int(e)] for e in examples)
        results[str(balance)] = score(prior, items)
    tasks = sorted({t for per_task in results.values() for t in per_task})
    header = "task".ljust(26) + "".join(f"b={b:<8}" for b in results) + "chance"
    print(header)
    for task in tasks:
        cells = "".join(f"{results[b][task]['prior'] * 100:8.1f}  " for b in results if task in results[b])
        first = next(results[b][task] for b in results if task in results[b])
        print(f"{task:26s}{cells}{first['chance'] * 100:6.1f}  (n {first['n']})")
    record = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "training_records": len(index),
        "draws": draws,
        "benchmark_items": len(items),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
