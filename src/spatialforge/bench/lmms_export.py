"""Export a benchmark folder (built by `bench build` or imported by `bench import`) as an lmms-eval task.

    spatialforge bench export-lmms BENCH --output tasks/spatialforge_cvbench
    python -m lmms_eval --include_path tasks/spatialforge_cvbench --tasks spatialforge_cvbench --model ...

The task folder holds
    <task>.yaml              lmms-eval's task config (local JSON dataset, generate_until, greedy, 2 metrics)
    utils.py                 binds bench/lmms_task.LmmsTask to this folder
    spatialforge_task.json   scoring spec, totals rule, reporting groups, prompt style, benchmark digest
    data.jsonl               one doc per item (bench/lmms_task.py describes the columns)
    images/                  the items' images (hard links where the file system allows, else copies)

Scoring inside lmms-eval uses spatialforge's parsers and metrics (`pip install spatialforge` in the harness's
environment), on the raw reply, so a score there equals `spatialforge eval` / `score` on the same replies.
The YAML names data.jsonl by absolute path (lmms-eval hands `data_files` to HF datasets, which resolves
relative paths against the working directory): export again after moving the folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spatialforge.bench.builder.items import read_bench_items, read_manifest
from spatialforge.bench.lmms_task import DATA_FILE, OVERALL_METRIC, SCORE_METRIC, TASK_CONFIG_FILE
from spatialforge.evaluate.prompts import build_prompt, prompt_record
from spatialforge.evaluate.run import items_digest

UTILS = '''"""lmms-eval functions of the spatialforge task in this folder.

Written by `spatialforge bench export-lmms`; scoring needs spatialforge installed beside lmms-eval.
"""

from pathlib import Path

from spatialforge.bench.lmms_task import LmmsTask

_TASK = LmmsTask(Path(__file__).resolve().parent)

doc_to_visual = _TASK.doc_to_visual
doc_to_text = _TASK.doc_to_text
process_results = _TASK.process_results
aggregate_score = _TASK.aggregate_score
aggregate_overall = _TASK.aggregate_overall
'''


@dataclass(frozen=True)
class LmmsExport:
    task: str
    folder: Path
    n_items: int
    n_images: int


def task_name_for(name: str) -> str:
    """An lmms-eval task name from a benchmark name: lower case, [a-z0-9_], prefixed spatialforge_."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "benchmark"
    return slug if slug.startswith("spatialforge_") else f"spatialforge_{slug}"


def _yaml(task: str, data_file: Path, max_new_tokens: int) -> str:
    # Written by hand, not by a YAML library: lmms-eval's `!function` tags must appear verbatim.
    return "\n".join(
        [
            f"task: {task}",
            "dataset_path: json",
            "dataset_kwargs:",
            "  data_files:",
            f"    test: {json.dumps(str(data_file))}",
            "test_split: test",
            "output_type: generate_until",
            "doc_to_visual: !function utils.doc_to_visual",
            "doc_to_text: !function utils.doc_to_text",
            "doc_to_target: answer",
            "generation_kwargs:",
            f"  max_new_tokens: {max_new_tokens}",
            "  temperature: 0",
            "  top_p: 1.0",
            "  num_beams: 1",
            "  do_sample: false",
            "process_results: !function utils.process_results",
            "metric_list:",
            f"  - metric: {SCORE_METRIC}",
            "    aggregation: !function utils.aggregate_score",
            "    higher_is_better: true",
            f"  - metric: {OVERALL_METRIC}",
            "    aggregation: !function utils.aggregate_overall",
            "    higher_is_better: true",
            "lmms_eval_specific_kwargs:",
            "  default:",
            '    pre_prompt: ""',
            '    post_prompt: ""',
            "metadata:",
            "  version: 1.0",
            "",
        ]
    )


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def export_lmms(
    bench_dir: str | Path,
    out: str | Path,
    *,
    task: str | None = None,
    prompt_style: str | None = None,
    max_new_tokens: int = 256,
) -> LmmsExport:
    """Write the lmms-eval task folder `out` for the benchmark folder `bench_dir`.

    prompt_style: as `spatialforge eval` (None: plain - the official prompt - for a published benchmark,
    instructed otherwise), so both harnesses ask the same text."""
    bench_dir = Path(bench_dir)
    out = Path(out)
    manifest = read_manifest(bench_dir)
    items = read_bench_items(bench_dir)
    if out.exists() and any(out.iterdir()) and not (out / TASK_CONFIG_FILE).exists():
        raise ValueError(f"{out} is not empty and holds no exported task; choose a new folder")
    style = prompt_style or ("plain" if manifest.get("published") else "instructed")
    task = task or task_name_for(str(manifest.get("name") or bench_dir.name))
    out.mkdir(parents=True, exist_ok=True)
    images = sorted({p for item in items for p in item.images})
    for rel in images:
        _link_or_copy(bench_dir / rel, out / rel)
    with open(out / DATA_FILE, "w", encoding="utf-8") as fh:
        for item in items:
            doc = {
                "id": item.id,
                "task": item.task,
                "prompt": build_prompt(item, style),
                "images": list(item.images),
                "answer": item.answer,
                "item": json.dumps(item.to_json(), ensure_ascii=False),
            }
            fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
    config: dict[str, Any] = {
        "task": task,
        "benchmark": {
            "name": manifest.get("name"),
            "path": str(bench_dir.resolve()),
            "items_sha256": items_digest(bench_dir),
            "n_items": len(items),
            "published": manifest.get("published"),
        },
        "scoring": manifest.get("scoring") or {"benchmark": "generic", "variant": None},
        "totals_rule": manifest.get("totals_rule", "micro"),
        "groups": {item.task: item.group for item in items},
        "prompt": prompt_record(style, None),
    }
    (out / TASK_CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    (out / "utils.py").write_text(UTILS)
    (out / f"{task}.yaml").write_text(_yaml(task, (out / DATA_FILE).resolve(), max_new_tokens))
    return LmmsExport(task, out, len(items), len(images))
