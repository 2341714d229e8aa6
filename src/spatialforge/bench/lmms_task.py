"""What an lmms-eval task exported by `spatialforge bench export-lmms` runs (bench/lmms_export.py).

The exported folder's utils.py binds one `LmmsTask` to its own folder and hands lmms-eval its methods:

    doc_to_visual(doc)                   the item's images (PIL, RGB), in the order the prompt numbers them
    doc_to_text(doc, lmms_eval_specific_kwargs)
                                         pre_prompt + the item's prompt + post_prompt
    process_results(doc, results)        the raw reply scored with our parsers and the benchmark's rule
    aggregate_score(results)             the mean item score
    aggregate_overall(results)           the benchmark's overall total (its official formula for a published
                                         benchmark; its totals rule for one we built)

A doc is one line of the folder's data.jsonl: flat, uniformly typed columns (id, task, prompt, images, answer)
so HF `datasets` reads it with one schema, plus `item`, the whole benchmark item as JSON text, which the
scoring reads back with the same reader `spatialforge eval` uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from spatialforge.bench.benchmarks import ScoredLine, get_benchmark
from spatialforge.bench.builder.items import BenchItem, item_from_json
from spatialforge.bench.score import official_totals, scored_line
from spatialforge.evaluate.tables import overall_by_rule

TASK_CONFIG_FILE = "spatialforge_task.json"
DATA_FILE = "data.jsonl"
SCORE_METRIC = "spatialforge_score"
OVERALL_METRIC = "spatialforge_overall"


class LmmsTask:
    """The task folder's configuration (spatialforge_task.json) and the functions lmms-eval calls."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        config = json.loads((self.folder / TASK_CONFIG_FILE).read_text())
        self.config = config
        scoring = config["scoring"]
        self.spec = get_benchmark(scoring["benchmark"], scoring.get("variant"))
        self.totals_rule: str = config["totals_rule"]
        self.group_of: dict[str, str | None] = config.get("groups", {})

    # --- asking ---------------------------------------------------------------------------------------------
    def doc_to_visual(self, doc: Mapping[str, Any]) -> list[Any]:
        from PIL import Image

        images = []
        for rel in doc["images"]:
            with Image.open(self.folder / rel) as im:
                images.append(im.convert("RGB"))
        return images

    def doc_to_text(
        self, doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None
    ) -> str:
        kwargs = lmms_eval_specific_kwargs or {}
        return f"{kwargs.get('pre_prompt', '')}{doc['prompt']}{kwargs.get('post_prompt', '')}"

    # --- scoring --------------------------------------------------------------------------------------------
    def item(self, doc: Mapping[str, Any]) -> BenchItem:
        return item_from_json(json.loads(doc["item"]), file=str(self.folder / DATA_FILE), line=0)

    def process_results(self, doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The reply (results[0], raw) scored by the item's own rule (for a published benchmark the import
        checked that it is the spec's); both metrics receive the same scored line."""
        reply = results[0] if results else ""
        item = self.item(doc)
        line = asdict(scored_line(item.prediction_item(reply or ""), self.spec, item.scoring))
        return {SCORE_METRIC: line, OVERALL_METRIC: line}

    def aggregate_score(self, results: Sequence[Mapping[str, Any]]) -> float:
        return sum(r["score"] for r in results) / len(results) if results else 0.0

    def aggregate_overall(self, results: Sequence[Mapping[str, Any]]) -> float:
        """The overall total as `spatialforge eval` reports it; a published benchmark whose items do not
        cover its formula (a --limit run) falls back to the mean item score, as eval's tables do."""
        lines = [ScoredLine(**r) for r in results]
        tasks, totals, _error = official_totals(lines, self.spec)
        if self.totals_rule == "official":
            return totals.get("overall", self.aggregate_score(results))
        by_task = {t: [r.score for r in lines if r.task == t] for t in tasks}
        return overall_by_rule(by_task, self.group_of, self.totals_rule)
