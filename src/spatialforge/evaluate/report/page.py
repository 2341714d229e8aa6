"""HTML building blocks shared by the report and the comparison: page shell, tables, number formats.

Pages are one self-contained file: inline CSS, inline SVG, no scripts, no external resources. A
Content-Security-Policy forbids scripts and remote loads as a second line of defence: every text from data
(predictions, questions, model descriptions) is escaped with html.escape before it reaches the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

from spatialforge import __version__

CSS = """
body{margin:0;background:#fafafa;color:#1a1a1a;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,
Helvetica,Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:20px 28px 48px;background:#fff}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;
padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{width:190px}table.kv td{word-break:break-all}
.muted{color:#666}.small{font-size:12px}
.warning{background:#fff4e0;border-left:4px solid #E69F00;padding:6px 10px;margin:8px 0}
.note{background:#eef5fb;border-left:4px solid #56B4E9;padding:6px 10px;margin:8px 0}
td.text{max-width:420px;white-space:pre-wrap;word-break:break-word;font-size:12px}
td.sig{font-weight:bold;color:#0072B2}
figure{margin:10px 0 18px}figcaption{font-size:12px;color:#444;max-width:760px}
svg.chart{max-width:100%;height:auto;display:block}
.grid-2{display:flex;flex-wrap:wrap;gap:8px 28px}.grid-2 figure{max-width:540px}
.grid-2>div{flex:1 1 420px;min-width:0}
code{font-size:12px;background:#f3f3f3;padding:0 3px}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def pct(value: float | None, digits: int = 1) -> str:
    """0..1 -> "62.5%"; None -> "–"."""
    return "–" if value is None else f"{100.0 * value:.{digits}f}%"


def ci_text(ci: Sequence[float] | None, digits: int = 1) -> str:
    """[0.481, 0.75] -> "48.1–75.0%"."""
    if ci is None:
        return "–"
    return f"{100.0 * ci[0]:.{digits}f}–{100.0 * ci[1]:.{digits}f}%"


def points(value: float | None, digits: int = 1) -> str:
    """A difference of two scores in percentage points: 0.052 -> "+5.2"."""
    if value is None:
        return "–"
    text = f"{100.0 * value:+.{digits}f}"
    return text[1:] if float(text) == 0.0 else text  # "0.0", not "+0.0" or "-0.0"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


def plain(value: Any) -> str:
    """A value from data as display text (JSON for structures), not yet escaped."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Cell:
    """A table cell: text (escaped when rendered) or trusted markup built by this package."""

    def __init__(self, text: str = "", *, markup: str | None = None, css: str = "") -> None:
        self.text = text
        self.markup = markup
        self.css = css

    def render(self, tag: str = "td") -> str:
        body = self.markup if self.markup is not None else esc(self.text)
        cls = f' class="{self.css}"' if self.css else ""
        return f"<{tag}{cls}>{body}</{tag}>"


def num_cell(text: str, css: str = "") -> Cell:
    return Cell(text, css=("num " + css).strip())


def table(head: Sequence[str | Cell], rows: Iterable[Sequence[str | Cell]], css: str = "") -> str:
    def cell(c: str | Cell) -> Cell:
        return c if isinstance(c, Cell) else Cell(c)

    cls = f' class="{css}"' if css else ""
    head_html = "".join(cell(h).render("th") for h in head)
    body = "".join("<tr>" + "".join(cell(c).render() for c in row) + "</tr>" for row in rows)
    return f"<table{cls}><thead><tr>{head_html}</tr></thead><tbody>{body}</tbody></table>"


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(plain(v))}</td></tr>" for k, v in pairs)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def figure(svg: str, caption: str) -> str:
    """svg: markup from svg.py (already escaped); caption: plain text."""
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def boxes(kind: str, messages: Iterable[str]) -> str:
    return "".join(f'<div class="{kind}">{esc(m)}</div>' for m in messages)


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        f"{body}"
        f'<p class="muted small">Made by spatialforge {esc(__version__)}. Scores are mean item scores; '
        "95% CIs are percentile bootstrap intervals over items.</p>"
        "</main></body></html>\n"
    )
