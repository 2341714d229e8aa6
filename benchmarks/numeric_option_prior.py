"""How much a text-only prior gets right on numeric multiple choice: the distractor-fairness check.

A numeric four-option item is fair to a model without the image when no option stands out as the typical
value. This script scores the `blind` baseline (docs/EVAL.md: a text-only prior fitted on training QA, which
answers a numeric option set with the option nearest the median of the task's answers) on the items of a
benchmark whose options all state a length, area or volume, per task, against chance (1 / options).

    python benchmarks/numeric_option_prior.py --qa QA/data.jsonl --bench BENCH --out prior.json

Run it on the same scenes with two versions of the engine (generate the QA and build the benchmark with each)
to see what a change to the options does (benchmarks/results/numeric_option_prior.json).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from spatialforge.evaluate.models.baselines import option_quantity


def numeric_items(bench: Path) -> dict[str, dict[str, Any]]:
    """id -> item, for the multiple-choice items whose every option states a positive quantity with a unit."""
    found = {}
    with open(bench / "items.jsonl", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            choices = item.get("choices") or []
            if item.get("format") == "mcq" and choices and all(option_quantity(c["text"]) for c in choices):
                found[item["id"]] = item
    return found


def per_task(items: dict[str, dict[str, Any]], scores: Path) -> dict[str, dict[str, float]]:
    """task -> {n, blind (accuracy), chance (mean of 1 / options)} over the numeric items."""
    hits: dict[str, list[float]] = defaultdict(list)
    chance: dict[str, list[float]] = defaultdict(list)
    with open(scores, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            item = items.get(row["id"])
            if item is not None:
                hits[item["task"]].append(float(row["score"]))
                chance[item["task"]].append(1.0 / len(item["choices"]))
    return {
        task: {
            "n": len(values),
            "blind": round(sum(values) / len(values), 4),
            "chance": round(sum(chance[task]) / len(values), 4),
        }
        for task, values in sorted(hits.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--qa", type=Path, required=True, help="Training QA (data.jsonl) the prior is fitted on."
    )
    parser.add_argument("--bench", type=Path, required=True, help="A built benchmark folder.")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    for path in (args.qa, args.bench / "items.jsonl"):
        if not path.is_file():
            raise SystemExit(
                f"{path}: no such file (--qa is a generate run's data.jsonl, --bench a built benchmark)"
            )
    items = numeric_items(args.bench)
    if not items:
        raise SystemExit(f"{args.bench / 'items.jsonl'}: no multiple-choice item with numeric options")
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "spatialforge.cli.main", "eval", "-b", str(args.bench)]
        command += ["-m", f"blind:prior={args.qa}", "-o", tmp, "--prompt-style", "plain"]
        subprocess.run(command + ["--no-report", "--no-progress"], check=True, stdout=subprocess.DEVNULL)
        tasks = per_task(items, Path(tmp) / "score" / "items.jsonl")
    record = {"command": " ".join(sys.argv), "qa": str(args.qa), "bench": str(args.bench), "tasks": tasks}
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    for task, row in tasks.items():
        print(
            f"{task:26s} n={row['n']:4d}  blind {row['blind'] * 100:5.1f}  chance {row['chance'] * 100:5.1f}"
        )


if __name__ == "__main__":
    main()
