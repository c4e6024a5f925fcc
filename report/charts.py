"""Inline SVG charts and the one element every rendered number goes through.

Every number the report prints is a `value_element`: it carries `data-table`, `data-cell` (the cell's
topic key) and `data-measure` (the measure's dotted name), and `data-value` with the very value the
message states, so a test (or a reader's script) can check the page against the topic. A withheld
measure gets `data-withheld="true"` and the word "withheld", never a number: a zero would claim a
finding the exchange did not publish (and would let a reader add withheld cells up as if they were
empty). In a chart, a withheld bar is a hatched grey track across the whole scale with no bar in it,
so it cannot be read as a short bar either.

No script, no external resource: the SVG is inline and styled by the page's own CSS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

from report.view import Value

HATCH_ID: Final = "withheld-hatch"
WITHHELD: Final = "withheld"


@dataclass(frozen=True)
class Ref:
    """Which number of which message an element shows."""

    table: str
    cell: str  # the cell's topic key (compact JSON, sorted keys)
    measure: str


def value_element(tag: str, ref: Ref, value: Value, *, suffix: str = "", css: str = "") -> str:
    """One number of a message, or the word "withheld" where the message has none (never 0)."""
    attrs = (
        f'data-table="{escape(ref.table)}" data-cell="{escape(ref.cell)}" '
        f'data-measure="{escape(ref.measure)}"'
    )
    if value is None:
        classes = f"{css} withheld".strip()
        return f'<{tag} class="{classes}" {attrs} data-withheld="true">{WITHHELD}</{tag}>'
    shown = str(value)  # as the message writes it: 42, 29.3, 100.0
    klass = f' class="{css}"' if css else ""
    return f'<{tag}{klass} {attrs} data-value="{escape(shown)}">{escape(shown)}{escape(suffix)}</{tag}>'


def hatch_defs() -> str:
    """The hatch pattern every withheld bar is filled with; defined once per page."""
    return (
        '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
        f'<pattern id="{HATCH_ID}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eeeeee"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9a9a9a" stroke-width="2"/></pattern>'
        "</defs></svg>"
    )


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: `value` drawn against `scale` (100 for a share, the cell's population
    for a count). `population` (with its own ref) is printed beside a count as "of P"."""

    label: str
    ref: Ref
    value: Value
    scale: Value
    suffix: str = ""
    population: Ref | None = None
    population_value: Value = None


LABEL_W: Final = 250
TRACK_X: Final = LABEL_W + 10
TRACK_W: Final = 360
ROW_H: Final = 22
WIDTH: Final = TRACK_X + TRACK_W + 190


def bar_chart(title: str, bars: Sequence[Bar], *, scale_note: str) -> str:
    """A horizontal bar chart. A bar's length is its value over its scale; a withheld value has no
    bar: its whole track is hatched and its value reads "withheld"."""
    height = ROW_H * len(bars) + 8
    rows: list[str] = []
    for i, bar in enumerate(bars):
        y = 4 + i * ROW_H
        mid = y + ROW_H / 2 + 4
        rows.append(
            f'<text class="label" x="{LABEL_W}" y="{mid}" text-anchor="end">{escape(bar.label)}</text>'
        )
        if bar.value is None or bar.scale is None:
            rows.append(
                f'<rect class="withheld-track" x="{TRACK_X}" y="{y + 3}" width="{TRACK_W}" '
                f'height="{ROW_H - 6}" fill="url(#{HATCH_ID})"><title>withheld: not published</title></rect>'
            )
        else:
            rows.append(
                f'<rect class="track" x="{TRACK_X}" y="{y + 3}" width="{TRACK_W}" height="{ROW_H - 6}"/>'
            )
            width = TRACK_W * bar.value / bar.scale if bar.scale else 0
            rows.append(
                f'<rect class="bar" x="{TRACK_X}" y="{y + 3}" width="{width:.2f}" height="{ROW_H - 6}" '
                f'data-table="{escape(bar.ref.table)}" data-cell="{escape(bar.ref.cell)}" '
                f'data-bar="{escape(bar.ref.measure)}"/>'
            )
        text = value_element("tspan", bar.ref, bar.value, suffix=bar.suffix)
        if bar.population is not None and bar.population_value is None:
            text += " (cell suppressed)"  # its population is withheld too: the data table says so
        elif bar.population is not None:
            text += " of " + value_element("tspan", bar.population, bar.population_value)
        rows.append(f'<text class="value" x="{TRACK_X + TRACK_W + 8}" y="{mid}">{text}</text>')
    return (
        f'<figure class="chart"><figcaption>{escape(title)} <span class="note">{escape(scale_note)}'
        f'</span></figcaption><svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
        + "".join(rows)
        + "</svg></figure>"
    )
