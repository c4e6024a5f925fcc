"""From a list of public aggregate messages to one self-contained HTML page: `render_report`.

Pure (no Kafka, no clock, no randomness): equal messages give equal bytes, so the test renders crafted
messages without a broker, and the broker test compares `python -m report`'s file with the rendering
of what the topics hold. The page has inline CSS and inline SVG, no script and no external resource:
it opens offline, in a mail attachment, in a browser that blocks everything.

What it prints is what the messages hold: coordinates, status, revision, release, and the measures, each
through `charts.value_element` so it is machine-checkable and a withheld value reads "withheld". It
counts, sums and divides nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from html import escape
from typing import Final

from report import charts
from report.sections import CHARTS, TITLES
from report.view import cell_key, latest_per_cell, measure_names, measures_of, outcomes_withheld
from schemas.exchange.aggregates import TABLES, AnyMessage, format_release_time, topic_of

CSS: Final = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0 auto;
max-width:1100px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #1d2330}
h3{margin:20px 0 6px}.meta{color:#555}
.legend{display:flex;gap:18px;align-items:center;margin:10px 0 18px;flex-wrap:wrap}
.swatch{display:inline-block;width:28px;height:14px;vertical-align:middle;margin-right:6px;
border:1px solid #999}
.swatch.shown{background:#2f6db3}
.swatch.withheld,td.withheld{background:repeating-linear-gradient(45deg,#eee 0 4px,#bbb 4px 6px)}
td.withheld,tspan.withheld{color:#555;font-style:italic}
figure.chart{margin:10px 0 18px}figcaption{font-weight:600;margin-bottom:4px}
.note{font-weight:400;color:#666;font-size:12px}
svg text{font-size:12px;fill:#1d2330}svg .label{fill:#333}
svg rect.track{fill:#eef1f5}svg rect.bar{fill:#2f6db3}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
table.cells{border-collapse:collapse;font-size:12px;margin:8px 0}
table.cells th,table.cells td{border:1px solid #d5d9e0;padding:2px 6px;text-align:right}
table.cells th{background:#f3f5f8;position:sticky;top:0}
table.cells td.coord,table.cells td.status{text-align:left}
"""

STATUS_TEXT: Final = {
    "published": "published",
    "population-only": "published, outcomes withheld",
    "suppressed": "suppressed: every measure withheld",
}


def status_of(message: AnyMessage) -> str:
    """published, population-only (outcomes withheld) or suppressed (aggregates.md)."""
    if message.status == "suppressed":
        return "suppressed"
    return "population-only" if outcomes_withheld(message) else "published"


def data_table(table: str, cells: Sequence[AnyMessage]) -> str:
    """Every cell of the table with every measure: the numbers behind the charts, and the whole table
    for one without charts."""
    if not cells:
        return ""
    coordinates = list(type(cells[0].cell).model_fields)
    names = measure_names(table)
    head = "".join(f"<th>{escape(c)}</th>" for c in [*coordinates, "status", "revision", "release", *names])
    rows = []
    for m in cells:
        key = cell_key(m)
        values = measures_of(m)
        status = status_of(m)
        tds = [f'<td class="coord">{escape(str(getattr(m.cell, c)))}</td>' for c in coordinates]
        tds.append(f'<td class="status" data-status="{status}">{escape(STATUS_TEXT[status])}</td>')
        tds.append(f"<td>{m.revision}</td><td>{format_release_time(m.release_id)}</td>")
        tds.extend(charts.value_element("td", charts.Ref(table, key, n), values[n]) for n in names)
        rows.append(f'<tr data-cell="{escape(key)}">{"".join(tds)}</tr>')
    return (
        f'<table class="cells" data-table="{escape(table)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def table_section(table: str, cells: Sequence[AnyMessage]) -> str:
    title = TITLES.get(table, table.replace("-", " ").capitalize())
    out = [
        f'<section id="table-{escape(table)}" data-section="{escape(table)}"><h2>{escape(title)}</h2>',
        f'<p class="meta">Topic <code>{escape(topic_of(table))}</code>.</p>',
    ]
    if not cells:
        out.append("<p>No cell of this table has been released yet.</p></section>")
        return "".join(out)
    by_period: dict[str, list[AnyMessage]] = defaultdict(list)
    for m in cells:
        by_period[str(getattr(m.cell, "period", ""))].append(m)
    draw = CHARTS.get(table)
    for i, period in enumerate(sorted(by_period, reverse=True)):
        period_cells = by_period[period]
        body = draw(period_cells) if draw else ""
        body += (
            f"<details><summary>Every cell of {escape(period)} (data)</summary>"
            f"{data_table(table, period_cells)}</details>"
        )
        out.append(
            f'<details class="period" data-period="{escape(period)}"{" open" if i == 0 else ""}>'
            f'<summary><h3 style="display:inline">{escape(period)}</h3></summary>{body}</details>'
        )
    out.append("</section>")
    return "".join(out)


def render_report(messages: Iterable[AnyMessage]) -> str:
    """The report of the subscriber's view of `messages`: the latest message of each cell."""
    view = latest_per_cell(messages)
    by_table: dict[str, list[AnyMessage]] = defaultdict(list)
    for m in view:
        by_table[m.table].append(m)
    # Every table in the registry, and any other a message names: the report grows with the tables.
    tables = [*TABLES, *sorted(set(by_table) - set(TABLES))]
    latest = max((m.release_id for m in view), default=None)
    release = (
        f'Latest release: <time data-release-id="{format_release_time(latest)}">'
        f"{format_release_time(latest)}</time>."
        if latest
        else "No release has been published yet."
    )
    nav = " · ".join(
        f'<a href="#table-{escape(t)}">{escape(TITLES.get(t, t.replace("-", " ").capitalize()))}</a>'
        for t in tables
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>Sourcing exchange: shared aggregates</title>"
        f"<style>{CSS}</style></head><body>{charts.hatch_defs()}"
        "<header><h1>Responsible sourcing: shared aggregates of Sedex and amfori</h1>"
        f'<p class="meta">{release} Each cell shows its latest message, whichever release it came '
        "from. Anonymised aggregates only: no audit, site or company is shown.</p>"
        '<div class="legend"><span><span class="swatch shown"></span>published value</span>'
        '<span><span class="swatch withheld"></span><b>withheld</b>: not published by the exchange '
        "(disclosure control). Withheld is not zero: the value is unknown.</span></div>"
        f"<nav>{nav}</nav></header>"
        + "".join(table_section(t, by_table.get(t, [])) for t in tables)
        + "</body></html>\n"
    )
