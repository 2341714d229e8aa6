"""HTML reports and comparisons of evaluation folders, on fake folders with hand-checked numbers
(report_fixtures.py: the mini benchmark scores relation 50 %, distance 25 %, direction 33.33 %,
size 63.33 %)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from spatialforge.errors import RecordError
from spatialforge.evaluate.report import compare_runs, write_comparison, write_report
from spatialforge.evaluate.report.stats import (
    angle_error_deg,
    log_ratio_histogram,
    paired_bootstrap,
    paired_bootstrap_macro,
    scoring_bands,
)
from tests.evaluate.report_fixtures import (
    DEFAULT_REPLIES,
    HOSTILE,
    all_right_replies,
    make_eval_dir,
    mini_items,
)

HIST_BAR = re.compile(r'<rect class="hist-bar"[^>]*data-center="([^"]+)" data-count="(\d+)"')


def _figure(html: str, title: str) -> str:
    """The <figure> whose chart title contains `title`."""
    for part in html.split("<figure>")[1:]:
        figure = part.split("</figure>")[0]
        if title in figure:
            return figure
    raise AssertionError(f"no figure titled {title!r}")


def _nonzero_bins(figure: str) -> dict[float, int]:
    return {float(c): int(n) for c, n in HIST_BAR.findall(figure) if int(n)}


@pytest.fixture()
def report_html(tmp_path: Path) -> str:
    run = make_eval_dir(tmp_path, "run", failed=["size-2"])
    return write_report(run.path).read_text(encoding="utf-8")


# --- one run --------------------------------------------------------------------------------------------


def test_report_shows_scores_as_percentages(report_html: str) -> None:
    for text in ("25.00%", "50.00%", "33.33%", "63.33%"):
        assert text in report_html
    # overall = mean of the four task scores = (0.25 + 0.5 + 1/3 + 1.9/3) / 4
    assert "42.92%" in report_html
    assert "parser version" in report_html and "1.1.0" in report_html
    assert "13 answered, 1 unanswered" in report_html


def test_one_bar_per_task_level_and_group(report_html: str) -> None:
    assert report_html.count('class="bar-task"') == 4
    assert report_html.count('class="bar-level"') == 3
    assert report_html.count('class="bar-group"') == 3
    # CI whiskers: a line and two caps per bar; chance/frequency ticks only on the choice task
    assert report_html.count('class="tick-chance"') == 1
    assert report_html.count('class="tick-frequency"') == 1


def test_tasks_sorted_by_level_then_name(report_html: str) -> None:
    chart = _figure(report_html, "Score per task")
    labels = re.findall(r'class="row-label"[^>]*>([^<]+)<title>', chart)
    assert labels == ["distance", "relation", "direction", "size"]


def test_hostile_text_is_escaped(tmp_path: Path) -> None:
    spec = 'openai:model="><img src=x onerror=alert(2)>'
    run = make_eval_dir(tmp_path, "run", model_spec=spec)
    html = write_report(run.path).read_text(encoding="utf-8")
    assert HOSTILE not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "Content-Security-Policy" in html


def test_report_is_self_contained(report_html: str) -> None:
    for forbidden in ("<script", "<link", "<iframe", " src=", "@import", "url("):
        assert forbidden not in report_html.lower()
    assert report_html.count("<svg") >= 6  # task, level, group, status, 3 error plots


def test_log_ratio_histogram_hand_made() -> None:
    hist = log_ratio_histogram([1.0, 2.0, 4.0], [2.0, 2.0, 2.0])
    nonzero = {c: n for c, n in zip(hist.centers, hist.counts, strict=True) if n}
    assert nonzero == {-1.0: 1, 0.0: 1, 1.0: 1}
    assert hist.median == 0.0 and hist.skipped == 0 and hist.n == 3

    # a prediction of 0 has no log ratio (skipped); 100x the gold is counted in the last bin (above)
    hist = log_ratio_histogram([0.0, 200.0, 2.0], [2.0, 2.0, 2.0])
    assert hist.skipped == 1 and hist.above == 1 and hist.n == 2
    assert hist.counts[-1] == 1 and hist.centers[-1] == 3.0


def test_report_numeric_histogram_bins(report_html: str) -> None:
    # distance: replies 1 m, 2 m, 4 m against 2 m -> log2 ratios -1, 0, 1; the refusal is not plotted
    figure = _figure(report_html, "distance: prediction / gold")
    assert _nonzero_bins(figure) == {-1.0: 1, 0.0: 1, 1.0: 1}
    assert 'class="band"' in figure and "0.75–1.25× gold" in figure
    assert "1 not parsed (score 0) are not shown" in figure
    # size (MRA): 1.0 and 1.1 vs 1.0 -> log2 ratios 0 and 0.1375 (bin centred on 0.25); the failed item is not
    size = _figure(report_html, "size: prediction / gold")
    assert _nonzero_bins(size) == {0.0: 1, 0.25: 1}


def test_report_angle_histogram(report_html: str) -> None:
    # direction: errors 0, 45 and 90 degrees -> bins [0, 10), [40, 50), [90, 100)
    figure = _figure(report_html, "direction: angular error")
    assert _nonzero_bins(figure) == {5.0: 1, 45.0: 1, 95.0: 1}
    assert "within threshold 30°" in figure and "median 45.0°" in figure


def test_angle_error_recomputed_from_vectors() -> None:
    record = {"parse_status": "ok", "reason": "", "parsed": [1.0, 0.0, 0.0], "gold_value": [0.0, 0.0, 1.0]}
    assert angle_error_deg(record) == pytest.approx(90.0)
    assert angle_error_deg({**record, "reason": "error 12.5 deg (circular; threshold 30 deg)"}) == 12.5
    assert angle_error_deg({**record, "parse_status": "no_answer"}) is None


def test_scoring_bands_follow_the_metrics() -> None:
    (band,) = scoring_bands("spatialrgpt")
    assert (band.lo, band.hi) == (0.75, 1.25)
    (band,) = scoring_bands("qspatial")
    assert (band.lo, band.hi) == (0.5, 2.0)
    outer, inner = scoring_bands("mra")
    assert (outer.lo, outer.hi) == pytest.approx((0.5, 1.5)) and (inner.lo, inner.hi) == pytest.approx(
        (0.95, 1.05)
    )
    assert scoring_bands("accuracy") == ()


def test_item_lists_show_questions_replies_and_failures(report_html: str) -> None:
    unparsed = report_html.split("Replies that did not parse")[1].split("Lowest-scoring")[0]
    assert "(3; first 3 shown)" in unparsed
    assert "How far is the chair 3?" in unparsed and "I cannot tell." in unparsed
    assert "request failed, http_500" in unparsed
    worst = report_html.split("Lowest-scoring parsed replies")[1]
    # lowest score first, then the furthest off: 90 degrees before 45 degrees before a factor 2
    order = [worst.index(f"<td>{i}</td>") for i in ("dir-2", "dir-1", "dist-0", "size-1")]
    assert order == sorted(order)
    assert "server error 500" in report_html  # failed requests table


def test_missing_benchmark_shows_ids_and_says_why(tmp_path: Path) -> None:
    run = make_eval_dir(tmp_path, "run", bench_path=str(tmp_path / "gone"))
    html = write_report(run.path, tmp_path / "elsewhere" / "r.html").read_text(encoding="utf-8")
    assert "benchmark items not found" in html
    assert "How far is the chair" not in html and "<td>dist-3</td>" in html


def test_parse_status_segments(report_html: str) -> None:
    chart = _figure(report_html, "Parse status per task")
    assert chart.count('class="seg seg-') == 7  # 4 tasks: ok everywhere, plus refusal and 2 no_answer
    assert "distance: refusal 1 of 4 (25.0%)" in chart


def test_report_without_levels_or_groups(tmp_path: Path) -> None:
    run = make_eval_dir(tmp_path, "run")
    tables = json.loads((run.path / "tables.json").read_text())
    tables.update(levels=[], groups=[], totals={})
    for t in tables["tasks"]:
        t["level"] = None
    (run.path / "tables.json").write_text(json.dumps(tables))
    html = write_report(run.path).read_text(encoding="utf-8")
    assert "Per level" not in html and "Per group" not in html and "No official total" in html
    chart = _figure(html, "Score per task")
    assert re.findall(r'class="row-label"[^>]*>([^<]+)<title>', chart) == sorted(
        t["task"] for t in tables["tasks"]
    )


def test_bad_input_names_file_and_field(tmp_path: Path) -> None:
    run = make_eval_dir(tmp_path, "run")
    tables = json.loads((run.path / "tables.json").read_text())
    tables["tasks"][0]["score"] = 1.5  # a percentage where a fraction belongs
    (run.path / "tables.json").write_text(json.dumps(tables))
    with pytest.raises(RecordError, match=r"tables\.json.*field score"):
        write_report(run.path)
    (run.path / "eval.json").unlink()
    with pytest.raises(RecordError, match=r"eval\.json"):
        write_report(run.path)
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(RecordError, match="not found"):
        write_report(bad)


def test_bad_decision_line_names_line(tmp_path: Path) -> None:
    run = make_eval_dir(tmp_path, "run")
    with open(run.path / "score" / "items.jsonl", "a") as fh:
        fh.write('{"id": "x", "task": "t", "parse_status": "ok", "score": "high"}\n')
    with pytest.raises(RecordError, match=r"line 15.*field score"):
        write_report(run.path)


# --- paired bootstrap -----------------------------------------------------------------------------------


def test_paired_bootstrap_identical_runs() -> None:
    scores = [1.0, 0.0, 1.0, 0.5, 0.9, 0.0]
    d = paired_bootstrap(scores, scores)
    assert d.diff == 0.0 and d.ci == (0.0, 0.0) and not d.significant and d.n == 6


def test_paired_bootstrap_right_where_other_is_wrong() -> None:
    d = paired_bootstrap([0.0] * 7, [1.0] * 7)
    assert d.diff == 1.0 and d.ci == (1.0, 1.0) and d.significant
    d = paired_bootstrap([1.0] * 7, [0.0] * 7)
    assert d.diff == -1.0 and d.significant


def test_paired_bootstrap_is_paired_and_seeded() -> None:
    # b fixes 8 of a's 40 wrong items and changes nothing else: every resampled difference is >= 0, so the
    # paired CI excludes 0 although the runs' own CIs (about +-10 points at n=100) overlap widely.
    a = np.array([0.0] * 40 + [1.0] * 60)
    b = a.copy()
    b[:8] = 1.0
    d = paired_bootstrap(a, b, seed=3)
    assert d.diff == pytest.approx(0.08)
    assert 0.0 < d.ci[0] < 0.08 < d.ci[1] < 0.16 and d.significant
    assert paired_bootstrap(a, b, seed=3) == d
    # unpaired, the same data would not be significant: shuffling b breaks the pairing
    shuffled = paired_bootstrap(a, np.random.default_rng(0).permutation(b), seed=3)
    assert shuffled.ci[0] < 0.0 < shuffled.ci[1]


def test_paired_bootstrap_macro() -> None:
    same = [([1.0, 0.0], [1.0, 0.0]), ([0.5], [0.5])]
    d = paired_bootstrap_macro(same)
    assert d.diff == 0.0 and d.ci == (0.0, 0.0) and d.n == 3
    # task 1 +1 on every item, task 2 no change -> mean over tasks +0.5 whatever the resample
    d = paired_bootstrap_macro([([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]), ([1.0], [1.0])])
    assert d.diff == 0.5 and d.ci == (0.5, 0.5)
    assert paired_bootstrap_macro([]).diff is None
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 0.0])


# --- comparisons ----------------------------------------------------------------------------------------


def _pair_task(data: dict, task: str, pair: int = 0) -> dict:
    return next(t for t in data["pairs"][pair]["tasks"] if t["task"] == task)


def test_comparison_of_identical_runs(tmp_path: Path) -> None:
    a, b = make_eval_dir(tmp_path, "a"), make_eval_dir(tmp_path, "b")
    out = write_comparison([a.path, b.path], tmp_path / "cmp")
    data = json.loads(out.with_suffix(".json").read_text())
    for t in data["pairs"][0]["tasks"]:
        assert t["diff"] == 0.0 and t["ci"] == [0.0, 0.0] and not t["significant"]
    assert data["pairs"][0]["mean_over_tasks"]["diff"] == 0.0
    assert data["warnings"] == []
    assert out.name == "comparison.html" and out.with_suffix(".md").is_file()


def test_comparison_right_vs_wrong(tmp_path: Path) -> None:
    wrong = dict(DEFAULT_REPLIES, **{"rel-0": "B", "rel-1": "B", "rel-2": "B", "rel-3": "A"})
    a = make_eval_dir(tmp_path, "wrong", replies=wrong)
    b = make_eval_dir(tmp_path, "right", replies=all_right_replies())
    out = write_comparison([a.path, b.path], tmp_path / "cmp" / "report.html", labels=["base", "new"])
    data = json.loads((tmp_path / "cmp" / "report.json").read_text())
    rel = _pair_task(data, "relation")
    assert rel["diff"] == 1.0 and rel["ci"] == [1.0, 1.0] and rel["significant"] and rel["n"] == 4
    assert (rel["score_a"], rel["score_b"]) == (0.0, 1.0)
    html = out.read_text(encoding="utf-8")
    assert html.count('class="bar-run bar-run-0"') == 4 and html.count('class="bar-run bar-run-1"') == 4
    assert "diff-point sig" in html and "+100.0 *" in html
    md = (tmp_path / "cmp" / "report.md").read_text()
    assert "| relation | 4 | 0.00% | 100.00% | +100.0 * | +100.0 to +100.0 |" in md
    # a level pools the common items of its tasks: its difference is their item-weighted mean
    levels = {row["level"]: row for row in data["pairs"][0]["levels"]}
    assert set(levels) == {t["level"] for t in data["tasks"]}
    for level, row in levels.items():
        pairs = [_pair_task(data, t["task"]) for t in data["tasks"] if t["level"] == level]
        n = sum(p["n"] for p in pairs)
        assert row["n"] == n
        assert row["diff"] == pytest.approx(sum(p["diff"] * p["n"] for p in pairs) / n)
    relation_level = next(t["level"] for t in data["tasks"] if t["task"] == "relation")
    assert levels[relation_level]["diff"] > 0
    assert f"| level {relation_level} (all its items) | {levels[relation_level]['n']} |" in md
    assert "| relation | 1 | 0.00% (0.0–0.0%) | 100.00% (100.0–100.0%) |" in md


def test_comparison_refuses_different_benchmarks(tmp_path: Path) -> None:
    a = make_eval_dir(tmp_path, "a")
    b = make_eval_dir(tmp_path, "b", items_sha256="f" * 64)
    with pytest.raises(ValueError, match="different benchmarks"):
        write_comparison([a.path, b.path], tmp_path / "cmp")
    assert not (tmp_path / "cmp").exists()


def test_comparison_of_item_subsets_warns_and_pairs_common_items(tmp_path: Path) -> None:
    a = make_eval_dir(tmp_path, "a", failed=["size-2"])
    sha = json.loads((a.path / "eval.json").read_text())["benchmark"]["items_sha256"]
    b = make_eval_dir(tmp_path / "other", "b", items=mini_items()[:10], items_sha256=sha)  # a --limit 10 run
    out = write_comparison([a.path, b.path], tmp_path / "cmp")
    data = json.loads(out.with_suffix(".json").read_text())
    assert any("different item subsets" in w and "10 in common" in w for w in data["warnings"])
    assert any("a: 1 scored item(s) have no reply" in w for w in data["warnings"])
    assert "different item subsets" in out.read_text(encoding="utf-8")
    size = _pair_task(data, "size")
    assert size["n"] == 0 and size["diff"] is None
    assert _pair_task(data, "direction")["n"] == 2
    assert data["pairs"][0]["mean_over_tasks"]["n_tasks"] == 3
    size_row = next(t for t in data["tasks"] if t["task"] == "size")
    assert size_row["runs"][1] is None


def test_comparison_arguments_are_checked(tmp_path: Path) -> None:
    a, b = make_eval_dir(tmp_path, "a"), make_eval_dir(tmp_path, "b")
    with pytest.raises(ValueError, match="at least two"):
        compare_runs([a.path])
    with pytest.raises(ValueError, match="labels"):
        compare_runs([a.path, b.path], labels=["x"])
    with pytest.raises(ValueError, match="distinct"):
        compare_runs([a.path, b.path], labels=["x", "x"])


def test_comparison_default_labels_are_distinct(tmp_path: Path) -> None:
    a = make_eval_dir(tmp_path / "one", "run")
    b = make_eval_dir(tmp_path / "two", "run")
    data = compare_runs([a.path, b.path], n_resamples=10)
    assert [r["label"] for r in data["runs"]] == ["run", "run (2)"]


@pytest.mark.parametrize("discrete", [False, True])
def test_paired_bootstrap_matches_normal_approximation(discrete: bool) -> None:
    # Both resampling paths (per-item indices for continuous differences, multinomial counts for few distinct
    # values) must give the textbook interval: mean difference +- 1.96 standard errors at n = 400.
    rng = np.random.default_rng(5)
    if discrete:
        a, b = rng.integers(0, 2, 400).astype(float), rng.integers(0, 2, 400).astype(float)
    else:
        a = rng.random(400)
        b = a + rng.normal(0.05, 0.2, 400)
    d = paired_bootstrap(a, b)
    se = np.std(b - a, ddof=1) / np.sqrt(400)
    assert d.diff == pytest.approx(float(np.mean(b - a)))
    assert d.ci[0] == pytest.approx(d.diff - 1.96 * se, abs=0.2 * se)
    assert d.ci[1] == pytest.approx(d.diff + 1.96 * se, abs=0.2 * se)
