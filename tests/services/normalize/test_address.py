from __future__ import annotations

import pytest

from services.normalize.address import address_key, clean


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("  Dhaka   Knit-Wear Ltd. ", "dhaka knit wear ltd"),
        ("Đồng Nai", "dong nai"),
        ("İstanbul", "istanbul"),
        ("Plot #12, Road-3", "plot 12 road 3"),
        ("東莞", "dongguan"),
        ("", ""),
    ],
)
def test_clean_transliterates_lowercases_and_collapses(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_same_factory_spelled_two_ways_has_one_key() -> None:
    a = address_key("Dhaka Knit-Wear Ltd.", "Plot 12, Road 3", "Gazipur", "bd")
    b = address_key("DHAKA KNIT WEAR LTD", "Plot 12 Road 3", "  gazipur ", "BD")
    assert a == b == "dhaka knit wear ltd|plot 12 road 3|gazipur|BD"


def test_parts_cannot_run_together() -> None:
    assert address_key("ab", "c", "d", "BD") != address_key("a", "bc", "d", "BD")


def test_different_country_is_a_different_site() -> None:
    assert address_key("x", "y", "z", "BD") != address_key("x", "y", "z", "IN")
