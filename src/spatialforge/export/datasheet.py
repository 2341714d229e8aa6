"""The datasheet of a generated dataset: what is in it, where it came from, under which licences, how it
was made. Written beside the data by `spatialforge generate` (datasheet.md + datasheet.json in the run
directory) and again by `spatialforge export` (with the exported files added).

Everything comes from what the run already counted (engine/runner.py report.json and config.json): records
per task / level / format / source / licence, rejections by reason, each task's quota against what it
produced, and the answer distributions the generator tallies as it writes (mcq answer letters, true/false
answers, categorical answers, numeric answers in quarter-decade magnitude bins, engine/generate.py
`_Tallies`). Nothing rereads the data, so a datasheet costs the same for a thousand records and a billion.
The sections follow the questions of "Datasheets for Datasets" (Gebru et al.) that a generated dataset can
answer itself: composition, collection (sources, licences), process (config, rejections), distribution.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

DATASHEET_MD = "datasheet.md"
DATASHEET_JSON = "datasheet.json"


def _split_keys(counts: dict[str, int], parts: int) -> list[tuple[list[str], int]]:
    return [(key.split("/", parts - 1), n) for key, n in counts.items()]


def _nested(counts: dict[str, int], parts: int) -> dict[str, dict[str, int]]:
    """{"task/a/b": n} -> {"task": {"a/b": n}} (first key part vs the rest)."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for key_parts, n in _split_keys(counts, parts):
        out[key_parts[0]]["/".join(key_parts[1:])] = n
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def build_datasheet(run_dir: str | Path, export: dict[str, Any] | None = None) -> dict[str, Any]:
    """The datasheet of a generate run directory as a JSON-able dict (export: the export's manifest)."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    counts, tallies = report.get("counts", {}), report.get("tallies", {})
    quota = _nested(tallies.get("quota", {}), 2)
    sheet: dict[str, Any] = {
        "dataset": {
            "run_dir": str(run_dir.resolve()),
            "scenes": report["scenes"],
            "records": report["records"],
        },
        "composition": {key: counts.get(key, {}) for key in ("task", "level", "format")},
        "sources": counts.get("source", {}),
        "licenses": counts.get("license", {}),
        "answers": {
            "mcq_letter": _nested(tallies.get("mcq_answer_letter", {}), 2),
            "true_false": _nested(tallies.get("tf_answer", {}), 3),
            "categorical": _nested(tallies.get("categorical_answer", {}), 3),
            "numeric_magnitude_bins": _nested(tallies.get("numeric_answer", {}), 3),
        },
        "quota": {
            task: {"asked": q.get("asked", 0), "produced": q.get("produced", 0)} for task, q in quota.items()
        },
        "rejected": report.get("rejected", {}),
        "config": config,
    }
    if export is not None:
        sheet["export"] = export
    return sheet


def _table(title: str, rows: dict[str, Any], total: int | None = None) -> list[str]:
    lines = [f"| {title} | records | share |", "|---|---:|---:|"]
    total = total if total is not None else sum(rows.values()) or 1
    for key, n in sorted(rows.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {key} | {n:,} | {100 * n / total:.1f}% |")
    return [*lines, ""]


def _distribution_lines(name: str, per_task: dict[str, dict[str, int]]) -> list[str]:
    if not per_task:
        return []
    lines = [f"### {name}", "", "| task | distribution |", "|---|---|"]
    for task, dist in per_task.items():
        total = sum(dist.values()) or 1
        cells = ", ".join(f"{k} {100 * n / total:.0f}%" for k, n in sorted(dist.items()))
        lines.append(f"| {task} | {cells} |")
    return [*lines, ""]


def render_markdown(sheet: dict[str, Any]) -> str:
    ds = sheet["dataset"]
    lines = [
        "# Datasheet",
        "",
        f"Generated spatial QA: **{ds['records']:,} records** from **{ds['scenes']:,} scenes** "
        f"(`{ds['run_dir']}`). Every record carries `source`, `license` and `capture_id`; "
        "`capture_id` groups images that must stay in one split.",
        "",
        "## Composition",
        "",
    ]
    for key in ("task", "level", "format"):
        lines += _table(key, sheet["composition"][key], ds["records"])
    lines += ["## Sources and licences", ""]
    lines += _table("source", sheet["sources"], ds["records"])
    lines += _table("license", sheet["licenses"], ds["records"])
    lines += ["## Answer distributions", ""]
    answers = sheet["answers"]
    lines += _distribution_lines("Multiple-choice answer letters", answers["mcq_letter"])
    lines += _distribution_lines("True/false answers (variant/answer)", answers["true_false"])
    lines += _distribution_lines("Categorical answers (variant/value)", answers["categorical"])
    lines += _distribution_lines(
        "Numeric answers (unit/magnitude bin lower edge)", answers["numeric_magnitude_bins"]
    )
    lines += ["## Quotas (asked / produced per task)", "", "| task | asked | produced |", "|---|---:|---:|"]
    for task, q in sheet["quota"].items():
        lines.append(f"| {task} | {q['asked']:,} | {q['produced']:,} |")
    lines += ["", "## Rejected candidates (by reason)", ""]
    rejected = sorted(sheet["rejected"].items(), key=lambda kv: -kv[1])
    lines += [f"- `{k}`: {n:,}" for k, n in rejected[:40]] or ["- none"]
    if len(rejected) > 40:
        lines.append(f"- ... {len(rejected) - 40} more reasons in datasheet.json")
    if "export" in sheet:
        lines += ["", "## Exported files", "", "| writer | samples | records | files | MB | skipped |"]
        lines.append("|---|---:|---:|---:|---:|---|")
        for name, w in sheet["export"]["writers"].items():
            skipped = ", ".join(f"{k} {n:,}" for k, n in w["skipped"].items()) or "-"
            lines.append(
                f"| {name} | {w['samples']:,} | {w['records']:,} | {len(w['files'])} | "
                f"{w['bytes'] / 1e6:.1f} | {skipped} |"
            )
    lines += [
        "",
        "## Configuration",
        "",
        "The resolved configuration (everything that decides the data; the same config and scenes give the "
        "same records):",
        "",
        "```json",
        json.dumps(sheet["config"], indent=2, sort_keys=True),
        "```",
        "",
    ]
    return "\n".join(lines)


def write_datasheet(
    run_dir: str | Path, output_dir: str | Path | None = None, export: dict[str, Any] | None = None
) -> Path:
    """Write datasheet.md and datasheet.json into output_dir (default: the run directory); returns the .md."""
    target = Path(output_dir) if output_dir is not None else Path(run_dir)
    sheet = build_datasheet(run_dir, export)
    (target / DATASHEET_JSON).write_text(json.dumps(sheet, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    md = target / DATASHEET_MD
    md.write_text(render_markdown(sheet), encoding="utf-8")
    return md
