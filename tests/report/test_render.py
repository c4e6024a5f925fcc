"""The pure rendering: every number equals its message's, withheld is drawn as withheld (and the check
catches a renderer that draws it as 0), the latest revision wins, the page is self-contained, and the
sections follow the table registry."""

from __future__ import annotations

import re

import pytest

from report import charts, render
from report.render import render_report
from report.view import cell_key, latest_per_cell, measure_names, measures_of
from schemas.exchange.aggregates import TABLES, AnyMessage
from tests.report.crafted import crafted, prevalence
from tests.report.dom import elements, problems


def test_every_number_is_the_messages_and_every_withheld_measure_reads_withheld() -> None:
    messages = crafted()
    page = render_report(messages)
    assert problems(page, messages) == []
    found = elements(page)
    withheld = [e for e in found if e.attrs.get("data-withheld") == "true"]
    # the crafted set withholds: suppressed cells (every measure) and population-only cells (outcomes)
    assert {e.attrs["data-measure"] for e in withheld} >= {
        "audited_sites",
        "rate_pct",
        "by_indicator.DECEPTION",
    }
    assert all(e.content == "withheld" for e in withheld)


def test_a_renderer_drawing_withheld_as_zero_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is no formality: the same check fails a renderer that maps None to 0."""
    original = charts.value_element

    def zero_for_none(tag: str, ref: charts.Ref, value: object, **kw: str) -> str:
        return original(tag, ref, 0 if value is None else value, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(charts, "value_element", zero_for_none)
    messages = crafted()
    found = problems(render_report(messages), messages)
    withheld = sum(1 for m in latest_per_cell(messages) for v in measures_of(m).values() if v is None)
    assert len([p for p in found if "withheld, rendered as '0'" in p]) >= withheld > 0


def test_a_bar_for_a_withheld_value_is_caught() -> None:
    messages = crafted()
    suppressed = next(m for m in messages if m.status == "suppressed")
    bogus = (
        f'<rect class="bar" width="0" data-table="{suppressed.table}" '
        f"data-cell='{cell_key(suppressed)}' data-bar=\"audited_sites\"/>"
    )
    page = render_report(messages).replace("</body>", bogus + "</body>")
    assert any("a bar drawn for a withheld value" in p for p in problems(page, messages))


def test_the_latest_revision_of_a_cell_is_shown_and_the_earlier_not() -> None:
    messages = crafted()
    revised = [m for m in messages if m.cell.model_dump().get("issue") == "WORKING_HOURS"]
    assert [m.revision for m in revised] == [0, 1]
    page = render_report(messages)
    key = cell_key(revised[1])
    shown = {
        e.attrs["data-measure"]: e.attrs["data-value"]
        for e in elements(page)
        if e.attrs.get("data-cell") == key and "data-value" in e.attrs
    }
    assert shown["rate_pct"] == "33.9" and shown["audited_sites"] == "124"
    assert "32.5" not in page  # revision 0's rate
    # whatever order they arrive in: the higher revision wins
    assert render_report([*reversed(messages)]) == page


def test_the_page_is_self_contained_and_deterministic() -> None:
    page = render_report(crafted())
    assert page == render_report(crafted())
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert re.findall(r"(?:src|href)=\"(?!#)", page) == []  # only in-page anchors
    assert set(re.findall(r"https?://[^\"' )]+", page)) <= {"http://www.w3.org/2000/svg"}


def test_sections_follow_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    page = render_report(crafted())
    assert re.findall(r'data-section="([^"]+)"', page) == list(TABLES)
    assert "Audit quality per audit firm" in page
    assert "forecasts" not in page
    # a table added to the registry gets its section (with its cells once they are published)
    monkeypatch.setattr(render, "TABLES", (*TABLES, "forecasts"))
    page = render_report(crafted())
    assert 'data-section="forecasts"' in page and "Forecasts" in page


def test_no_messages_gives_an_empty_report_not_zeros() -> None:
    page = render_report([])
    assert "No release has been published yet" in page and elements(page) == []


def test_a_suppressed_cell_prints_no_number() -> None:
    only: list[AnyMessage] = [prevalence("KH", "ALL", "WAGES", None)]
    page = render_report(only)
    assert problems(page, only) == []
    assert "data-value" not in page
    found = elements(page)
    assert {e.attrs["data-measure"] for e in found} == set(measure_names("issue-prevalence"))
    assert all(e.content == "withheld" for e in found)


def test_audit_quality_draws_each_share_per_firm_under_its_escaped_name() -> None:
    page = render_report(crafted())
    section = page[page.index('data-section="audit-quality"') :]
    assert "Çınar Denetim &lt;Hizmetleri&gt; &amp; Co" in section and "<Hizmetleri>" not in page
    assert "Unannounced audits, per audit firm, all countries" in section
    assert "Followed audits that missed a critical issue" in section
    assert "Veritas Audits" not in section.split("<details><summary>Every cell")[0]  # suppressed: no bar
