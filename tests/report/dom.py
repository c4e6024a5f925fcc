"""Check a rendered page (as Chromium's DOM, or as written) against the messages it was made from.

Every element with `data-measure` must show its cell's latest value (`data-value` and its text), or,
where the message withholds the measure, `data-withheld="true"` and the word "withheld": never a number.
Every measure of every latest message must be on the page, no cell may appear that the messages lack,
and no bar may be drawn for a withheld value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

from report.view import Value, cell_key, latest_per_cell, measures_of
from schemas.exchange.aggregates import AnyMessage

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        return "".join(self.text).strip()


class _Collect(HTMLParser):
    """Elements carrying `data-measure` or `data-bar`, with their text content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[Element | None] = []
        self.found: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        element = Element(tag, values) if ("data-measure" in values or "data-bar" in values) else None
        if element is not None:
            self.found.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            if element is not None:
                element.text.append(data)


def elements(page: str) -> list[Element]:
    parser = _Collect()
    parser.feed(page)
    parser.close()
    return parser.found


def problems(page: str, messages: Sequence[AnyMessage]) -> list[str]:
    """Everything wrong with `page` as a rendering of `messages`; empty when it is right."""
    expected: dict[tuple[str, str], dict[str, Value]] = {
        (m.table, cell_key(m)): measures_of(m) for m in latest_per_cell(messages)
    }
    seen: set[tuple[str, str, str]] = set()
    out: list[str] = []
    for e in elements(page):
        table, cell = e.attrs.get("data-table", ""), e.attrs.get("data-cell", "")
        values = expected.get((table, cell))
        if values is None:
            out.append(f"{table} {cell}: on the page but in no message")
            continue
        if "data-bar" in e.attrs:
            if values.get(e.attrs["data-bar"]) is None:
                out.append(f"{table} {cell} {e.attrs['data-bar']}: a bar drawn for a withheld value")
            continue
        measure = e.attrs["data-measure"]
        if measure not in values:
            out.append(f"{table} {cell} {measure}: no such measure")
            continue
        seen.add((table, cell, measure))
        value = values[measure]
        where = f"{table} {cell} {measure}"
        if value is None:
            if e.attrs.get("data-withheld") != "true" or e.content != "withheld" or "data-value" in e.attrs:
                out.append(f"{where}: withheld, rendered as {e.content!r} ({e.attrs})")
        elif e.attrs.get("data-withheld") or e.attrs.get("data-value") != str(value):
            out.append(f"{where}: {value} rendered with attributes {e.attrs}")
        elif e.content.removesuffix("%").strip() != str(value):
            out.append(f"{where}: {value} rendered as {e.content!r}")
    for (table, cell), values in expected.items():
        out.extend(f"{table} {cell} {n}: not on the page" for n in values if (table, cell, n) not in seen)
    return out
