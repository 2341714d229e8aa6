"""The numbers behind the report plots: error histograms of numeric and angle tasks, paired bootstrap CIs.

All pure functions of arrays or decision records (score/items.jsonl lines), tested on hand-made cases.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from spatialforge.bench import metrics

# Numeric metrics whose decisions compare a parsed number with gold_value (bench/rules.py `_score_numeric`).
NUMERIC_METRICS: frozenset[str] = frozenset(
    {"mra", "spatialrgpt", "qspatial", "hispatial_qspatial_paper", "hispatial_qspatial_released"}
)
ANGLE_METRICS: frozenset[str] = frozenset({"direction_angle", "angle_within"})


@dataclass(frozen=True)
class RatioBand:
    """A range of prediction / gold that a metric rewards: lo <= ratio <= hi (strict where the metric is)."""

    lo: float
    hi: float
    label: str


def _mra_bands() -> tuple[RatioBand, ...]:
    # MRA gives credit 0.1 per tolerance met (bench/metrics.py): any credit needs relative error <= 0.5,
    # full credit relative error <= 0.05 (the largest threshold, 0.95).
    widest, narrowest = max(metrics.MRA_TOLERANCES_AS_RELEASED), min(metrics.MRA_TOLERANCES_AS_RELEASED)
    return (
        RatioBand(1 - widest, 1 + widest, f"MRA > 0 (error ≤ {100 * widest:.0f}%)"),
        RatioBand(1 - narrowest, 1 + narrowest, f"full MRA (error ≤ {100 * narrowest:.0f}%)"),
    )


def scoring_bands(metric: str) -> tuple[RatioBand, ...]:
    """The ratio bands a numeric metric rewards, from the constants the scorer uses (bench/metrics.py)."""
    if metric == "mra":
        return _mra_bands()
    if metric == "spatialrgpt":
        lo, hi = metrics.SPATIALRGPT_BAND
        return (RatioBand(lo, hi, f"success {lo:g}–{hi:g}× gold (SpatialRGPT)"),)
    if metric == "qspatial":
        d = metrics.QSPATIAL_DELTA
        return (RatioBand(1 / d, d, f"success {1 / d:g}–{d:g}× gold (Q-Spatial δ={d:g})"),)
    if metric.startswith("hispatial_qspatial_"):
        variant = metric.removeprefix("hispatial_qspatial_")
        lo, hi = metrics.HISPATIAL_QSPATIAL_BANDS[variant]
        return (RatioBand(lo, hi, f"success {lo:g}–{hi:g}× gold (HiSpatial, {variant})"),)
    return ()


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal bins [lo + i*width, lo + (i+1)*width); the last bin also holds hi.

    below / above: values outside [lo, hi], counted into the first / last bin (the chart says so);
    skipped: values that could not be placed (not finite; for ratios, a prediction or gold <= 0);
    median: of all placed values, before clipping (None when there are none).
    """

    centers: tuple[float, ...]
    counts: tuple[int, ...]
    width: float
    lo: float
    hi: float
    below: int
    above: int
    skipped: int
    median: float | None

    @property
    def n(self) -> int:
        return int(sum(self.counts))

    def count_at(self, center: float) -> int:
        for c, n in zip(self.centers, self.counts, strict=True):
            if abs(c - center) < self.width / 2:
                return n
        raise KeyError(center)


def histogram(values: Sequence[float], *, lo: float, hi: float, width: float) -> Histogram:
    """Histogram with clipping into the end bins (nothing is dropped silently: see `below` / `above`)."""
    if not (width > 0 and hi > lo):
        raise ValueError("histogram needs width > 0 and hi > lo")
    n_bins = max(1, int(round((hi - lo) / width)))
    x = np.asarray(values, dtype=np.float64)
    finite = x[np.isfinite(x)]
    index = np.floor((finite - lo) / width).astype(np.int64)
    below = int(np.count_nonzero(finite < lo))
    above = int(np.count_nonzero(finite > hi))
    index = np.clip(index, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    centers = tuple(float(lo + (i + 0.5) * width) for i in range(n_bins))
    return Histogram(
        centers=centers,
        counts=tuple(int(c) for c in counts),
        width=width,
        lo=lo,
        hi=hi,
        below=below,
        above=above,
        skipped=int(x.size - finite.size),
        median=float(np.median(finite)) if finite.size else None,
    )


LOG_RATIO_WIDTH = 0.25
LOG_RATIO_LIMIT = 3.0  # bins cover predictions from 1/8x to 8x the gold value


def log_ratio_histogram(
    preds: Sequence[float],
    golds: Sequence[float],
    *,
    width: float = LOG_RATIO_WIDTH,
    limit: float = LOG_RATIO_LIMIT,
) -> Histogram:
    """Histogram of log2(prediction / gold) with bins centred on multiples of width, from -limit to +limit
    (so a prediction of exactly 2x gold falls in the bin centred on 1). Pairs with a prediction or gold <= 0
    or not finite have no log ratio: counted as skipped."""
    p = np.asarray(preds, dtype=np.float64)
    g = np.asarray(golds, dtype=np.float64)
    if p.shape != g.shape:
        raise ValueError("preds and golds must have the same length")
    ok = np.isfinite(p) & np.isfinite(g) & (p > 0) & (g > 0)
    ratios = np.log2(p[ok] / g[ok])
    hist = histogram(ratios, lo=-limit - width / 2, hi=limit + width / 2, width=width)
    return replace(hist, skipped=hist.skipped + int(p.size - np.count_nonzero(ok)))


ANGLE_WIDTH_DEG = 10.0


def angle_histogram(errors_deg: Sequence[float], *, width: float = ANGLE_WIDTH_DEG) -> Histogram:
    """Histogram of angular errors in degrees over [0, 180]."""
    return histogram(errors_deg, lo=0.0, hi=180.0, width=width)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def numeric_pair(record: dict[str, Any]) -> tuple[float, float] | None:
    """(parsed prediction, gold value) of a parsed numeric decision, else None."""
    if record.get("parse_status") != "ok":
        return None
    pred, gold = _number(record.get("parsed")), _number(record.get("gold_value"))
    return None if pred is None or gold is None else (pred, gold)


# bench/rules.py writes "angle 12.3 deg (threshold 30)" (direction_angle) and
# "error 12.3 deg (circular; threshold 30 deg)" (angle_within).
_ANGLE_REASON = re.compile(r"^(?:angle|error) ([0-9]+(?:\.[0-9]+)?) deg\b")
_THRESHOLD_REASON = re.compile(r"threshold ([0-9]+(?:\.[0-9]+)?)")


def _vector(value: Any) -> tuple[float, float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return None
    numbers = [_number(v) for v in value]
    if any(v is None for v in numbers):
        return None
    return tuple(numbers)  # type: ignore[return-value]


def angle_error_deg(record: dict[str, Any]) -> float | None:
    """Angular error of a parsed angle/vector decision in degrees: read from the decision's reason, or
    recomputed from parsed and gold_value for direction vectors. None when unparsed or unreadable."""
    if record.get("parse_status") != "ok":
        return None
    match = _ANGLE_REASON.match(str(record.get("reason", "")))
    if match:
        return float(match.group(1))
    pred, gold = _vector(record.get("parsed")), _vector(record.get("gold_value"))
    if pred is None or gold is None:
        return None
    angle = metrics.angle_deg(pred, gold)
    return angle if math.isfinite(angle) else None


def angle_threshold_deg(record: dict[str, Any]) -> float | None:
    match = _THRESHOLD_REASON.search(str(record.get("reason", "")))
    return float(match.group(1)) if match else None


# --- paired bootstrap -----------------------------------------------------------------------------------

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
_MAX_CELLS = 1 << 22  # resample indices drawn at once (32 MiB of int64)
_MAX_LEVELS_FOR_COUNTS = 32


@dataclass(frozen=True)
class PairedDifference:
    """mean(b) - mean(a) over n paired items, with a percentile bootstrap CI; None values when n == 0."""

    n: int
    diff: float | None
    ci: tuple[float, float] | None

    @property
    def significant(self) -> bool:
        """The CI excludes 0."""
        return self.ci is not None and (self.ci[0] > 0.0 or self.ci[1] < 0.0)


def _resampled_means(d: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap means of d: each resample draws len(d) item indices with replacement. d = b - a per item,
    so drawing indices once for d is drawing the same indices for both runs (a paired bootstrap).

    When d takes few distinct values (accuracy differences are -1, 0, 1; MRA differences tenths) a resample is
    drawn as multinomial counts per value, which has exactly the distribution of resampling items (as
    bench/baselines.py `bootstrap_ci` does): O(n_resamples x values) instead of O(n_resamples x items)."""
    # Differences of MRA tenths differ in the last bits (0.9 - 0.3 != 0.6): round them together first.
    levels, counts = np.unique(np.round(d, 12), return_counts=True)
    if levels.size <= _MAX_LEVELS_FOR_COUNTS:
        return rng.multinomial(d.size, counts / d.size, size=n_resamples) @ levels / d.size
    out = np.empty(n_resamples, dtype=np.float64)
    step = max(1, _MAX_CELLS // d.size)
    for start in range(0, n_resamples, step):
        stop = min(start + step, n_resamples)
        idx = rng.integers(0, d.size, size=(stop - start, d.size))
        out[start:stop] = d[idx].mean(axis=1)
    return out


def _interval(stats: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    lo, hi = np.quantile(stats, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def _check(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError("n_resamples must be >= 1")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> PairedDifference:
    """Difference of mean scores b - a over the same items (a[i], b[i] belong to item i), with a paired
    percentile bootstrap CI: resampling items keeps each item's two scores together, so the CI reflects the
    per-item disagreement of the runs, not the spread of item difficulty (much narrower than two separate
    CIs when the runs agree on most items)."""
    _check(n_resamples, confidence)
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("paired scores must be two 1-D sequences of the same length")
    if x.size == 0:
        return PairedDifference(0, None, None)
    d = y - x
    stats = _resampled_means(d, n_resamples, np.random.default_rng(seed))
    return PairedDifference(int(d.size), float(d.mean()), _interval(stats, confidence))


def paired_bootstrap_macro(
    pairs: Sequence[tuple[Sequence[float], Sequence[float]]],
    *,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> PairedDifference:
    """Difference of the unweighted mean over tasks of the per-task mean scores (one (a, b) pair of score
    lists per task), with a paired bootstrap that resamples items within each task (stratified: every task
    keeps its size, as in the benchmark). Tasks without common items are left out by the caller."""
    _check(n_resamples, confidence)
    diffs = [np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64) for a, b in pairs]
    diffs = [d for d in diffs if d.size]
    if not diffs:
        return PairedDifference(0, None, None)
    rng = np.random.default_rng(seed)
    total = np.zeros(n_resamples, dtype=np.float64)
    for d in diffs:
        total += _resampled_means(d, n_resamples, rng)
    stats = total / len(diffs)
    diff = float(np.mean([d.mean() for d in diffs]))
    return PairedDifference(int(sum(d.size for d in diffs)), diff, _interval(stats, confidence))
