"""End to end for a published-benchmark loader: import -> `eval` with a baseline model -> `score`.

`run_end_to_end` imports the fixture through `spatialforge eval --benchmark NAME --data DIR` (the CLI, in
process), then scores eval's own predictions again with `spatialforge score --benchmark <spec>` against the
gold that `spatialforge bench gold` writes, and checks that both give the same per-task scores and totals:
the import, the official prompt, the scoring rules and the official aggregation all meet in one run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from spatialforge.cli.main import app


def _invoke(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"spatialforge {' '.join(args)} failed:\n{result.output}"


def run_end_to_end(
    name: str,
    data_dir: Path,
    tmp_path: Path,
    options: dict[str, str] | None = None,
    model: str = "chance",
) -> dict[str, Any]:
    """Eval's tables.json for the benchmark `name` read from `data_dir`, after checking that `score`
    agrees with eval on every task and total."""
    run = tmp_path / f"eval_{name}"
    option_args = [a for k, v in sorted((options or {}).items()) for a in ("--option", f"{k}={v}")]
    _invoke(
        ["eval", "--benchmark", name, "--data", str(data_dir), "--model", model, "--output", str(run)]
        + option_args
        + ["--no-progress", "--no-report"]
    )
    tables = json.loads((run / "tables.json").read_text())
    manifest = json.loads((run / "benchmark" / "benchmark.json").read_text())
    assert manifest["published"]["identity"]["benchmark"] == name
    assert tables["answered"] == tables["n_items"] == manifest["n_items"]
    record = json.loads((run / "eval.json").read_text())
    assert record["prompt"]["style"] == "plain", "a published benchmark is asked with its official prompt"

    gold = tmp_path / f"gold_{name}.jsonl"
    _invoke(["bench", "gold", str(run / "benchmark"), "--output", str(gold)])
    scoring = manifest["scoring"]
    variant = ["--variant", scoring["variant"]] if scoring.get("variant") else []
    scored = tmp_path / f"score_{name}"
    _invoke(
        ["score", "--benchmark", scoring["benchmark"], *variant]
        + ["--predictions", str(run / "predictions.jsonl"), "--gold", str(gold), "--output", str(scored)]
        + ["--bootstrap", "50"]
    )
    summary = json.loads((scored / "summary.json").read_text())
    eval_tasks = {t["task"]: t["score"] for t in tables["tasks"]}
    score_tasks = {t: s["score"] for t, s in summary["tasks"].items()}
    assert eval_tasks.keys() == score_tasks.keys()
    for task, value in eval_tasks.items():
        assert math.isclose(value, score_tasks[task], abs_tol=1e-12), task
    if summary["totals"]:
        assert tables["totals"].keys() == summary["totals"].keys()
        for key, value in summary["totals"].items():
            assert math.isclose(tables["totals"][key], value, abs_tol=1e-12), key
    else:
        assert tables["totals_note"], "without an official total, eval's tables say why"
    return tables
