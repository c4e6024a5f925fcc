"""Each table's charts, by table: what a person wants to see first of it.

A table in the registry without charts of its own here (trends with forecasts, once they are
published) still gets its section with every cell in the data table (`report.render`), so the report
grows with the tables; charts for it are added here when its measures are known.

Charts draw the latest period open and earlier periods collapsed. They print only what the messages
state: a share as the message gives it (`rate_pct`), a count as "n of P" with P the cell's own
`audited_sites`, never a share the report would work out itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Final

from report.charts import Bar, Ref, bar_chart
from report.view import cell_key, measures_of
from schemas.exchange.aggregates import (
    AUDIT_QUALITY,
    FORCED_LABOUR,
    ISSUE_PREVALENCE,
    LABOUR_FLAGS,
    LABOUR_RELATIONS,
    AnyMessage,
)
from schemas.taxonomy import ForcedLabourIndicator, Issue

ALL: Final = "ALL"


def _coord(message: AnyMessage, name: str) -> str:
    value = getattr(message.cell, name, None)
    return value if isinstance(value, str) else ""


def _label(code: str) -> str:
    return "all" if code == ALL else code.replace("_", " ").lower()


def share_bar(message: AnyMessage, measure: str, label: str) -> Bar:
    values = measures_of(message)
    return Bar(label, Ref(message.table, cell_key(message), measure), values[measure], 100, suffix=" %")


def count_bar(message: AnyMessage, measure: str, label: str) -> Bar:
    """A count drawn against its cell's population, printed "n of P"."""
    values = measures_of(message)
    key = cell_key(message)
    population = values["audited_sites"]
    return Bar(
        label,
        Ref(message.table, key, measure),
        values[measure],
        population,
        population=Ref(message.table, key, "audited_sites"),
        population_value=population,
    )


def _slice(
    messages: Sequence[AnyMessage], *, country: str | None, sector: str | None, **fixed: str
) -> list[AnyMessage]:
    """Cells with the given coordinates; `country`/`sector` None means "every one but the margin"."""
    out = []
    for m in messages:
        if any(_coord(m, k) != v for k, v in fixed.items()):
            continue
        c, s = _coord(m, "country"), _coord(m, "sector")
        if (country is None and c == ALL) or (country is not None and c != country):
            continue
        if (sector is None and s == ALL) or (sector is not None and s != sector):
            continue
        out.append(m)
    return out


def _by_country_and_sector(
    title: str, cells: Sequence[AnyMessage], bar: Callable[[AnyMessage, str], Bar], note: str, **fixed: str
) -> str:
    by_country = sorted(_slice(cells, country=None, sector=ALL, **fixed), key=lambda m: _coord(m, "country"))
    by_sector = sorted(_slice(cells, country=ALL, sector=None, **fixed), key=lambda m: _coord(m, "sector"))
    out = []
    if by_country:
        out.append(
            bar_chart(
                f"{title}, by country", [bar(m, _coord(m, "country")) for m in by_country], scale_note=note
            )
        )
    if by_sector:
        out.append(
            bar_chart(
                f"{title}, by sector",
                [bar(m, _label(_coord(m, "sector"))) for m in by_sector],
                scale_note=note,
            )
        )
    return "".join(out)


def _collapsible(summary: str, body: str, *, open_: bool = False) -> str:
    if not body:
        return ""
    return f"<details{' open' if open_ else ''}><summary>{escape(summary)}</summary>{body}</details>"


SHARE_NOTE: Final = "(bar: share of the cell's audited sites, as published)"
COUNT_NOTE: Final = "(bar: sites out of the cell's audited sites)"


def issue_prevalence(cells: Sequence[AnyMessage]) -> str:
    """The share of audited sites with each issue, overall, then each issue by country and sector."""
    order = {issue.value: i for i, issue in enumerate(Issue)}
    overall = sorted(_slice(cells, country=ALL, sector=ALL), key=lambda m: order.get(_coord(m, "issue"), 99))
    out = []
    if overall:
        out.append(
            bar_chart(
                "Sites with each issue, all countries and sectors",
                [share_bar(m, "rate_pct", _label(_coord(m, "issue"))) for m in overall],
                scale_note=SHARE_NOTE,
            )
        )
    for issue in sorted({_coord(m, "issue") for m in cells}, key=lambda i: order.get(i, 99)):
        body = _by_country_and_sector(
            f"Sites with {_label(issue)}",
            cells,
            lambda m, label: share_bar(m, "rate_pct", label),
            SHARE_NOTE,
            issue=issue,
        )
        out.append(_collapsible(f"{_label(issue)} by country and sector", body, open_=not out))
    return "".join(out)


def forced_labour(cells: Sequence[AnyMessage]) -> str:
    """The ILO indicators overall, then the sites with any indicator by country and sector."""
    out = []
    for m in _slice(cells, country=ALL, sector=ALL):
        out.append(
            bar_chart(
                "Sites with each forced-labour indicator, all countries and sectors",
                [
                    count_bar(m, f"by_indicator.{code.value}", _label(code.value))
                    for code in ForcedLabourIndicator
                ],
                scale_note=COUNT_NOTE,
            )
        )
    out.append(
        _by_country_and_sector(
            "Sites with any forced-labour indicator",
            cells,
            lambda m, label: count_bar(m, "sites_with_indicator", label),
            COUNT_NOTE,
        )
    )
    return "".join(out)


def labour_relations(cells: Sequence[AnyMessage]) -> str:
    """The four flags overall, then each flag by country and sector."""
    out = []
    for m in _slice(cells, country=ALL, sector=ALL):
        out.append(
            bar_chart(
                "Sites whose latest audit shows each, all countries and sectors",
                [count_bar(m, flag, _label(flag.removeprefix("sites_with_"))) for flag in LABOUR_FLAGS],
                scale_note=COUNT_NOTE,
            )
        )
    for flag in LABOUR_FLAGS:
        body = _by_country_and_sector(
            f"Sites with a {_label(flag.removeprefix('sites_with_'))}",
            cells,
            lambda m, label, flag=flag: count_bar(m, flag, label),  # type: ignore[misc]
            COUNT_NOTE,
        )
        out.append(_collapsible(f"{_label(flag.removeprefix('sites_with_'))} by country and sector", body))
    return "".join(out)


AUDIT_SHARES: Final = (
    ("unannounced_pct", "Unannounced audits"),
    ("semi_announced_pct", "Semi-announced audits"),
    ("zero_finding_pct", "Audits with no finding"),
    ("below_minimum_days_pct", "Audits below the minimum auditor-days"),
    ("critical_missed_pct", "Followed audits that missed a critical issue"),
)
AUDIT_NOTE: Final = "(bar: share of the firm's audits, as published; the last of its followed audits)"


def audit_quality(cells: Sequence[AnyMessage]) -> str:
    """Each share per firm, all countries (the firm's name as the message gives it); per country in the
    data table."""
    firms = sorted(
        (m for m in cells if _coord(m, "country") == ALL and m.status == "published"),
        key=lambda m: (_coord(m, "audit_firm_name"), _coord(m, "audit_firm")),
    )
    if not firms:
        return ""
    return "".join(
        bar_chart(
            f"{title}, per audit firm, all countries",
            [share_bar(m, measure, _coord(m, "audit_firm_name")) for m in firms],
            scale_note=AUDIT_NOTE,
        )
        for measure, title in AUDIT_SHARES
    )


CHARTS: Final[dict[str, Callable[[Sequence[AnyMessage]], str]]] = {
    ISSUE_PREVALENCE: issue_prevalence,
    FORCED_LABOUR: forced_labour,
    LABOUR_RELATIONS: labour_relations,
    AUDIT_QUALITY: audit_quality,
}
"""A table's charts for one period's cells. A table missing here gets its data table only."""

TITLES: Final[dict[str, str]] = {
    ISSUE_PREVALENCE: "Issue prevalence",
    FORCED_LABOUR: "Forced-labour indicators",
    LABOUR_RELATIONS: "Labour relations",
    AUDIT_QUALITY: "Audit quality per audit firm",
}
