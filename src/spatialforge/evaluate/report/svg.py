"""A small SVG chart module for the evaluation reports: plain strings, no dependencies, no scripts.

Every chart is a self-contained `<svg>` element meant to be inlined in an HTML page. Text that comes from
data (task names, labels) is escaped here; numbers are formatted here. Shapes carry CSS classes
(`bar-task`, `ci`, `tick-chance`, `hist-bar`, ...) so a page can style them and tests can count them.

Colours are the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008), distinguishable with the
common forms of colour blindness; scores are drawn on a fixed 0-100 % axis so charts compare at a glance.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Okabe-Ito: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
SCORE_COLOUR = PALETTE[0]
CHANCE_COLOUR = PALETTE[3]
FREQUENCY_COLOUR = PALETTE[4]  # reddish purple: apart from the black CI whiskers
BAND_COLOUR = PALETTE[2]
MEDIAN_COLOUR = PALETTE[3]
GRID_COLOUR = "#d9d9d9"
# Parse statuses of the scoring core (bench/parsers): fixed colours so every report reads the same.
STATUS_COLOURS: dict[str, str] = {
    "ok": PALETTE[0],
    "ambiguous": PALETTE[1],
    "refusal": PALETTE[4],
    "no_answer": PALETTE[3],
    "invalid": PALETTE[5],
}
OTHER_STATUS_COLOURS: tuple[str, ...] = (PALETTE[6], "#999999", PALETTE[7])

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
CHAR_PX = 6.6  # average width of a 12 px sans-serif character, to size label columns
LABEL_MAX_CHARS = 42
ROW_PX = 24
BAR_PX = 14
PLOT_PX = 460


def esc(value: object) -> str:
    """Escape text for SVG/HTML content and attribute values (quotes too)."""
    return html.escape(str(value), quote=True)


def num(x: float) -> str:
    """A coordinate: one decimal, no '-0.0'."""
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100.0 * value:.{digits}f}%"


def clip_label(text: str, limit: int = LABEL_MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_step(span: float, target_ticks: int = 5, *, whole: bool = False) -> float:
    """A 1-2-(2.5-)5 step giving about target_ticks ticks over span > 0; whole: a whole number (counts)."""
    raw = span / max(1, target_ticks)
    if whole and raw <= 1.0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    factors = (1.0, 2.0, 5.0, 10.0) if whole else (1.0, 2.0, 2.5, 5.0, 10.0)
    for factor in factors:
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10.0 * magnitude


class Svg:
    """An SVG document assembled from elements; `str(svg)` renders it."""

    def __init__(self, width: float, height: float, title: str, css_class: str = "chart") -> None:
        self.width = width
        self.height = height
        self.title = title
        self.css_class = css_class
        self.parts: list[str] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str,
        css_class: str,
        tooltip: str | None = None,
        extra: str = "",
    ) -> None:
        body = f"<title>{esc(tooltip)}</title>" if tooltip else ""
        self.add(
            f'<rect class="{css_class}" x="{num(x)}" y="{num(y)}" width="{num(max(w, 0.0))}" '
            f'height="{num(max(h, 0.0))}" fill="{fill}"{extra}>{body}</rect>'
        )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        stroke: str,
        css_class: str,
        width: float = 1.0,
        dash: str | None = None,
    ) -> None:
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(
            f'<line class="{css_class}" x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
            f'stroke="{stroke}" stroke-width="{width:g}"{dashing}/>'
        )

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        anchor: str = "start",
        size: int = 12,
        css_class: str = "label",
        weight: str = "normal",
        fill: str = "#222",
        tooltip: str | None = None,
        rotate: bool = False,
    ) -> None:
        turn = f' transform="rotate(-90 {num(x)} {num(y)})"' if rotate else ""
        body = esc(content) + (f"<title>{esc(tooltip)}</title>" if tooltip else "")
        self.add(
            f'<text class="{css_class}" x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" '
            f'font-size="{size}" font-weight="{weight}" fill="{fill}"{turn}>{body}</text>'
        )

    def circle(
        self, cx: float, cy: float, r: float, fill: str, stroke: str, css_class: str, tooltip: str
    ) -> None:
        self.add(
            f'<circle class="{css_class}" cx="{num(cx)}" cy="{num(cy)}" r="{r:g}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.5"><title>{esc(tooltip)}</title></circle>'
        )

    def __str__(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="{self.css_class}" role="img" '
            f'viewBox="0 0 {num(self.width)} {num(self.height)}" width="{num(self.width)}" '
            f'height="{num(self.height)}" style="{FONT}">'
            f"<title>{esc(self.title)}</title>"
            f'<rect x="0" y="0" width="{num(self.width)}" height="{num(self.height)}" fill="#ffffff"/>'
            + "".join(self.parts)
            + "</svg>"
        )


# --- horizontal score bars ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarRow:
    """One bar: value and ci in 0..1 (None: no bar); marks: name -> value for reference ticks
    ("chance", "frequency"); note: extra text for the tooltip."""

    label: str
    value: float | None
    ci: tuple[float, float] | None = None
    marks: dict[str, float | None] = field(default_factory=dict)
    note: str = ""


MARK_STYLES: dict[str, tuple[str, str]] = {
    # name -> (colour, dash): chance dashed vermillion, frequency solid black.
    "chance": (CHANCE_COLOUR, "3,2"),
    "frequency": (FREQUENCY_COLOUR, ""),
}


def _label_width(labels: Sequence[str]) -> float:
    longest = max((len(clip_label(s)) for s in labels), default=4)
    return min(LABEL_MAX_CHARS * CHAR_PX, max(60.0, longest * CHAR_PX)) + 12.0


def _percent_axis(svg: Svg, x0: float, y_top: float, y_bottom: float, x_label: str) -> None:
    """Gridlines and labels at every 10 % (labelled every 20 %) from 0 to 100 %."""
    for p in range(0, 101, 10):
        x = x0 + PLOT_PX * p / 100.0
        svg.line(x, y_top, x, y_bottom, GRID_COLOUR, "grid", dash=None if p % 50 == 0 else "2,3")
        if p % 20 == 0:
            svg.text(x, y_bottom + 14, f"{p}%", anchor="middle", size=11, css_class="tick-label")
    svg.line(x0, y_bottom, x0 + PLOT_PX, y_bottom, "#555", "axis")
    svg.text(x0 + PLOT_PX / 2, y_bottom + 30, x_label, anchor="middle", css_class="axis-label")


def _legend(svg: Svg, x: float, y: float, entries: Sequence[tuple[str, str, str]]) -> None:
    """entries: (kind, colour, text) with kind "box", "band:OPACITY", "line", "dash" or "whisker"."""
    for kind, colour, text in entries:
        if kind == "box":
            svg.rect(x, y - 9, 12, 10, colour, "legend-swatch")
        elif kind.startswith("band:"):
            svg.rect(x, y - 9, 12, 10, colour, "legend-swatch", extra=f' fill-opacity="{kind[5:]}"')
        elif kind == "whisker":
            svg.line(x, y - 4, x + 12, y - 4, colour, "legend-swatch", width=1.5)
            svg.line(x, y - 8, x, y, colour, "legend-swatch", width=1.5)
            svg.line(x + 12, y - 8, x + 12, y, colour, "legend-swatch", width=1.5)
        else:
            svg.line(
                x + 6,
                y - 11,
                x + 6,
                y + 2,
                colour,
                "legend-swatch",
                width=2,
                dash="3,2" if kind == "dash" else None,
            )
        svg.text(x + 17, y, text, size=11, css_class="legend-label")
        x += 17 + len(text) * 6.2 + 16


def score_bars(
    rows: Sequence[BarRow],
    *,
    title: str,
    x_label: str = "score (%)",
    bar_class: str = "bar",
    colour: str = SCORE_COLOUR,
) -> str:
    """Horizontal bars on a 0-100 % axis with CI whiskers, reference ticks and the value beside each bar."""
    label_w = _label_width([r.label for r in rows])
    x0, top = label_w, 28.0
    height = top + ROW_PX * max(1, len(rows)) + 64
    svg = Svg(x0 + PLOT_PX + 70, height, title)
    svg.text(8, 16, title, weight="bold", size=13, css_class="chart-title")
    bottom = top + ROW_PX * len(rows)
    _percent_axis(svg, x0, top - 4, bottom, x_label)
    used_marks: set[str] = set()
    for i, row in enumerate(rows):
        mid = top + ROW_PX * i + ROW_PX / 2
        svg.text(
            x0 - 8, mid + 4, clip_label(row.label), anchor="end", tooltip=row.label, css_class="row-label"
        )
        if row.value is None:
            svg.text(x0 + 4, mid + 4, "no score", size=11, fill="#777", css_class="no-value")
            continue
        ci_text = f", 95% CI {percent(row.ci[0])}–{percent(row.ci[1])}" if row.ci else ""
        tip = f"{row.label}: {percent(row.value)}{ci_text}" + (f"; {row.note}" if row.note else "")
        svg.rect(x0, mid - BAR_PX / 2, PLOT_PX * _unit(row.value), BAR_PX, colour, bar_class, tip)
        if row.ci:
            lo, hi = (x0 + PLOT_PX * _unit(v) for v in row.ci)
            svg.line(lo, mid, hi, mid, "#222", "ci", width=1.5)
            svg.line(lo, mid - 5, lo, mid + 5, "#222", "ci", width=1.5)
            svg.line(hi, mid - 5, hi, mid + 5, "#222", "ci", width=1.5)
        for name, value in row.marks.items():
            if value is None or name not in MARK_STYLES:
                continue
            used_marks.add(name)
            stroke, dash = MARK_STYLES[name]
            x = x0 + PLOT_PX * _unit(value)
            svg.line(x, mid - 10, x, mid + 10, stroke, f"tick-{name}", width=2, dash=dash or None)
        svg.text(x0 + PLOT_PX + 8, mid + 4, percent(row.value), size=11, css_class="value-label")
    legend = [("box", colour, "score"), ("whisker", "#222", "95% CI")]
    legend += [("dash", CHANCE_COLOUR, "chance")] if "chance" in used_marks else []
    legend += [("line", FREQUENCY_COLOUR, "most frequent answer")] if "frequency" in used_marks else []
    _legend(svg, x0, height - 10, legend)
    return str(svg)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


# --- stacked shares (parse statuses) --------------------------------------------------------------------


def status_colour(status: str, others: Sequence[str]) -> str:
    if status in STATUS_COLOURS:
        return STATUS_COLOURS[status]
    return OTHER_STATUS_COLOURS[list(others).index(status) % len(OTHER_STATUS_COLOURS)]


def stacked_shares(
    rows: Sequence[tuple[str, dict[str, int]]],
    *,
    title: str,
    categories: Sequence[str],
    x_label: str = "share of items (%)",
) -> str:
    """One bar per row split into categories (e.g. parse statuses), as shares of the row's total."""
    label_w = _label_width([r[0] for r in rows])
    x0, top = label_w, 28.0
    height = top + ROW_PX * max(1, len(rows)) + 64
    svg = Svg(x0 + PLOT_PX + 70, height, title)
    svg.text(8, 16, title, weight="bold", size=13, css_class="chart-title")
    bottom = top + ROW_PX * len(rows)
    _percent_axis(svg, x0, top - 4, bottom, x_label)
    others = [c for c in categories if c not in STATUS_COLOURS]
    for i, (label, counts) in enumerate(rows):
        mid = top + ROW_PX * i + ROW_PX / 2
        svg.text(x0 - 8, mid + 4, clip_label(label), anchor="end", tooltip=label, css_class="row-label")
        total = sum(counts.values())
        x = x0
        for k, category in enumerate(categories):
            count = counts.get(category, 0)
            if total == 0 or count == 0:
                continue
            w = PLOT_PX * count / total
            tip = f"{label}: {category} {count} of {total} ({percent(count / total)})"
            svg.rect(
                x,
                mid - BAR_PX / 2,
                w,
                BAR_PX,
                status_colour(category, others),
                f"seg seg-{k}",
                tip,
                extra=f' data-count="{count}"',
            )
            x += w
        svg.text(x0 + PLOT_PX + 8, mid + 4, f"n={total}", size=11, css_class="value-label")
    _legend(svg, x0, height - 10, [("box", status_colour(c, others), c) for c in categories])
    return str(svg)


# --- grouped bars (comparison) --------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One run in a grouped chart: a value (0..1 or None) and CI per category."""

    label: str
    values: Sequence[float | None]
    cis: Sequence[tuple[float, float] | None]


def grouped_bars(
    categories: Sequence[str], series: Sequence[Series], *, title: str, x_label: str = "score (%)"
) -> str:
    """For each category, one horizontal bar per series (colour = series), with CI whiskers."""
    k = max(1, len(series))
    bar = min(BAR_PX, 36.0 / k)
    block = bar * k + 12
    label_w = _label_width(categories)
    x0, top = label_w, 28.0
    height = top + block * max(1, len(categories)) + 64
    svg = Svg(x0 + PLOT_PX + 70, height, title)
    svg.text(8, 16, title, weight="bold", size=13, css_class="chart-title")
    bottom = top + block * len(categories)
    _percent_axis(svg, x0, top - 4, bottom, x_label)
    for i, category in enumerate(categories):
        y_block = top + block * i + 6
        svg.text(
            x0 - 8,
            y_block + bar * k / 2 + 4,
            clip_label(category),
            anchor="end",
            tooltip=category,
            css_class="row-label",
        )
        for j, s in enumerate(series):
            value, ci = s.values[i], s.cis[i]
            y = y_block + bar * j
            if value is None:
                continue
            ci_text = f", 95% CI {percent(ci[0])}–{percent(ci[1])}" if ci else ""
            svg.rect(
                x0,
                y,
                PLOT_PX * _unit(value),
                bar - 1,
                PALETTE[j % len(PALETTE)],
                f"bar-run bar-run-{j}",
                f"{category} / {s.label}: {percent(value)}{ci_text}",
            )
            if ci:
                lo, hi = (x0 + PLOT_PX * _unit(v) for v in ci)
                mid = y + (bar - 1) / 2
                svg.line(lo, mid, hi, mid, "#222", "ci", width=1)
    _legend(svg, x0, height - 10, [("box", PALETTE[j % len(PALETTE)], s.label) for j, s in enumerate(series)])
    return str(svg)


# --- differences with CIs (forest plot) -----------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    """A difference in score (b - a, in -1..1) with its CI; significant: the CI excludes 0."""

    label: str
    diff: float | None
    ci: tuple[float, float] | None
    significant: bool
    note: str = ""


def difference_dots(rows: Sequence[DiffRow], *, title: str, x_label: str) -> str:
    """Dot-and-whisker chart of differences around a zero line; filled dots: CI excludes 0."""
    label_w = _label_width([r.label for r in rows])
    extent = max(
        [abs(v) for r in rows if r.ci for v in r.ci]
        + [abs(r.diff) for r in rows if r.diff is not None]
        + [0.05]
    )
    step = nice_step(extent, 2)
    limit = min(1.0, math.ceil(extent / step - 1e-9) * step)
    x0, top = label_w, 28.0
    height = top + ROW_PX * max(1, len(rows)) + 64
    svg = Svg(x0 + PLOT_PX + 90, height, title)
    svg.text(8, 16, title, weight="bold", size=13, css_class="chart-title")
    bottom = top + ROW_PX * len(rows)

    def x_of(v: float) -> float:
        return x0 + PLOT_PX * (max(-limit, min(limit, v)) + limit) / (2 * limit)

    tick = -limit
    while tick <= limit + 1e-9:
        svg.line(x_of(tick), top - 4, x_of(tick), bottom, GRID_COLOUR, "grid", dash="2,3")
        svg.text(
            x_of(tick),
            bottom + 14,
            f"{100 * tick:+.0f}" if abs(tick) > 1e-12 else "0",
            anchor="middle",
            size=11,
            css_class="tick-label",
        )
        tick += step
    svg.line(x_of(0.0), top - 4, x_of(0.0), bottom, "#555", "zero-line", width=1.5)
    svg.line(x0, bottom, x0 + PLOT_PX, bottom, "#555", "axis")
    svg.text(x0 + PLOT_PX / 2, bottom + 30, x_label, anchor="middle", css_class="axis-label")
    for i, row in enumerate(rows):
        mid = top + ROW_PX * i + ROW_PX / 2
        svg.text(
            x0 - 8, mid + 4, clip_label(row.label), anchor="end", tooltip=row.label, css_class="row-label"
        )
        if row.diff is None:
            svg.text(x0 + 4, mid + 4, "no common items", size=11, fill="#777", css_class="no-value")
            continue
        colour = PALETTE[0] if row.significant else "#777"
        if row.ci:
            svg.line(x_of(row.ci[0]), mid, x_of(row.ci[1]), mid, colour, "ci", width=1.5)
        tip = (
            f"{row.label}: {100 * row.diff:+.1f} points"
            + (f", 95% CI {100 * row.ci[0]:+.1f} to {100 * row.ci[1]:+.1f}" if row.ci else "")
            + (f"; {row.note}" if row.note else "")
        )
        svg.circle(
            x_of(row.diff),
            mid,
            4.5,
            colour if row.significant else "#ffffff",
            colour,
            "diff-point sig" if row.significant else "diff-point",
            tip,
        )
        svg.text(
            x0 + PLOT_PX + 8,
            mid + 4,
            f"{100 * row.diff:+.1f}" + (" *" if row.significant else ""),
            size=11,
            css_class="value-label",
        )
    _legend(
        svg, x0, height - 10, [("box", PALETTE[0], "95% CI excludes 0"), ("box", "#777", "CI includes 0")]
    )
    return str(svg)


# --- histograms -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """A shaded x range (data units) with its legend text."""

    lo: float
    hi: float
    label: str
    opacity: float = 0.18


def histogram_chart(
    centers: Sequence[float],
    counts: Sequence[int],
    width: float,
    *,
    title: str,
    x_label: str,
    ticks: Sequence[float],
    tick_label: Callable[[float], str],
    bin_label: Callable[[float], str] | None = None,
    bands: Sequence[Band] = (),
    median: float | None = None,
    median_label: str = "",
    edge_labels: tuple[str, str] | None = None,
) -> str:
    """Vertical histogram of counts per bin (centers, equal width), with shaded bands and a median line.
    Each bar is `rect.hist-bar` with data-center and data-count. edge_labels: tick texts under the first and
    last bins when those collect everything beyond the range (e.g. "≤ -3")."""
    plot_w, plot_h = 440.0, 180.0
    x0, top = 56.0, 34.0
    svg = Svg(x0 + plot_w + 24, top + plot_h + 82, title)
    fits = int((x0 + plot_w) / 7.4)  # characters of 13 px bold that fit the chart width
    svg.text(8, 16, clip_label(title, fits), weight="bold", size=13, css_class="chart-title", tooltip=title)
    lo_x = centers[0] - width / 2 if centers else 0.0
    hi_x = centers[-1] + width / 2 if centers else 1.0
    peak = max(counts, default=0)
    y_step = nice_step(max(peak, 1), 4, whole=True)
    y_max = max(y_step, math.ceil(peak / y_step) * y_step)
    bottom = top + plot_h

    def x_of(v: float) -> float:
        return x0 + plot_w * (v - lo_x) / (hi_x - lo_x)

    def y_of(c: float) -> float:
        return bottom - plot_h * c / y_max

    for band in bands:
        a, b = max(band.lo, lo_x), min(band.hi, hi_x)
        if b > a:
            svg.rect(
                x_of(a),
                top,
                x_of(b) - x_of(a),
                plot_h,
                BAND_COLOUR,
                "band",
                band.label,
                extra=f' fill-opacity="{band.opacity:g}"',
            )
    tick_count = 0.0
    while tick_count <= y_max + 1e-9:
        svg.line(x0, y_of(tick_count), x0 + plot_w, y_of(tick_count), GRID_COLOUR, "grid", dash="2,3")
        svg.text(
            x0 - 6, y_of(tick_count) + 4, f"{tick_count:g}", anchor="end", size=11, css_class="tick-label"
        )
        tick_count += y_step
    for c, n in zip(centers, counts, strict=True):
        left = x_of(c - width / 2)
        svg.rect(
            left + 0.5,
            y_of(n),
            x_of(c + width / 2) - left - 1,
            bottom - y_of(n),
            PALETTE[0],
            "hist-bar",
            f"{(bin_label or tick_label)(c)}: {n} item{'s' if n != 1 else ''}",
            extra=f' data-center="{c:g}" data-count="{n}"',
        )
    for band in bands:  # edges drawn over the bars, so the band stays visible where bars cover it
        for edge in (band.lo, band.hi):
            if lo_x < edge < hi_x:
                svg.line(x_of(edge), top, x_of(edge), bottom, BAND_COLOUR, "band-edge", width=1.5, dash="4,2")
    for t in ticks:
        if lo_x - 1e-9 <= t <= hi_x + 1e-9:
            svg.line(x_of(t), bottom, x_of(t), bottom + 4, "#555", "axis")
            svg.text(x_of(t), bottom + 16, tick_label(t), anchor="middle", size=11, css_class="tick-label")
    if edge_labels and centers:
        svg.text(
            x_of(centers[0]),
            bottom + 30,
            edge_labels[0],
            anchor="middle",
            size=10,
            fill="#555",
            css_class="edge-label",
        )
        svg.text(
            x_of(centers[-1]),
            bottom + 30,
            edge_labels[1],
            anchor="middle",
            size=10,
            fill="#555",
            css_class="edge-label",
        )
    if median is not None:
        xm = x_of(max(lo_x, min(hi_x, median)))
        svg.line(xm, top - 4, xm, bottom, MEDIAN_COLOUR, "median", width=2, dash="5,3")
    svg.line(x0, bottom, x0 + plot_w, bottom, "#555", "axis")
    svg.line(x0, top, x0, bottom, "#555", "axis")
    svg.text(x0 + plot_w / 2, bottom + 46, x_label, anchor="middle", css_class="axis-label")
    svg.text(14, top + plot_h / 2, "items", anchor="middle", css_class="axis-label", rotate=True)
    legend = [(f"band:{b.opacity:g}", BAND_COLOUR, b.label) for b in bands]
    legend += [("dash", MEDIAN_COLOUR, median_label or "median")] if median is not None else []
    _legend(svg, x0, bottom + 68, legend)
    return str(svg)
