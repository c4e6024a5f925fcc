"""The report in a real headless Chromium: the DOM Chromium builds from the file has every number equal
to its message's and every withheld measure as "withheld" (a renderer drawing withheld as 0 fails the
same check in the browser), and a screenshot is produced that shows the charts.

Chromium comes from Debian's `chromium` package, which scripts/test installs; run alone, these tests
are skipped without it unless SX_REQUIRE_TOOLS=1 (which scripts/test sets), so CI cannot skip them.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from report import charts
from report.render import render_report
from tests.report.chromium import WINDOW, dump_dom, needs_chromium, png_pixels, screenshot
from tests.report.crafted import crafted
from tests.report.dom import elements, problems

pytestmark = needs_chromium

BAR_BLUE = (0x2F, 0x6D, 0xB3)  # svg rect.bar in report.render's CSS


def test_chromium_renders_the_messages_numbers_and_withheld_as_withheld(tmp_path: Path) -> None:
    messages = crafted()
    page = tmp_path / "report.html"
    page.write_text(render_report(messages), encoding="utf-8")
    dom = dump_dom(page)
    assert "<svg" in dom and "Issue prevalence" in dom
    assert problems(dom, messages) == []
    # Chromium kept every number element of the file (nothing dropped by the HTML parser)
    assert len(elements(dom)) == len(elements(page.read_text()))
    assert sum(e.attrs.get("data-withheld") == "true" for e in elements(dom)) > 0


def test_in_chromium_too_withheld_drawn_as_zero_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = charts.value_element

    def zero_for_none(tag: str, ref: charts.Ref, value: object, **kw: str) -> str:
        return original(tag, ref, 0 if value is None else value, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(charts, "value_element", zero_for_none)
    messages = crafted()
    page = tmp_path / "wrong.html"
    page.write_text(render_report(messages), encoding="utf-8")
    assert any("withheld, rendered as '0'" in p for p in problems(dump_dom(page), messages))


def test_a_screenshot_is_produced_and_shows_the_charts(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(crafted()), encoding="utf-8")
    png = tmp_path / "report.png"
    screenshot(page, png)
    assert png.is_file() and png.stat().st_size > 20_000
    width, height, pixels = png_pixels(png)
    assert (width, height) == WINDOW
    colours = Counter(pixels)
    white = colours[(255, 255, 255)]
    assert white < 0.97 * len(pixels), "the screenshot is (nearly) blank"
    assert colours[BAR_BLUE] > 2_000, "no bars drawn"
    greys = sum(n for (r, g, b), n in colours.items() if r == g == b and 0x90 <= r <= 0xC0)
    assert greys > 500, "no hatched (withheld) tracks drawn"
    if keep := os.environ.get("SX_REPORT_SCREENSHOT"):  # to look at it: docs/report.md
        shutil.copyfile(png, keep)
