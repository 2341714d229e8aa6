"""Reports of evaluation runs: one run's HTML report, and side-by-side comparisons of several runs.

    write_report(eval_dir)                      -> eval_dir/report.html
    write_comparison([dir_a, dir_b], out_dir)   -> out_dir/comparison.html, comparison.json, comparison.md

Self-contained HTML (inline CSS and SVG from `svg.py`, no scripts); every text from data is escaped.
"""

from spatialforge.evaluate.report.compare import compare_runs, write_comparison
from spatialforge.evaluate.report.html import render_report, write_report

__all__ = ["compare_runs", "render_report", "write_comparison", "write_report"]
