"""A cell's contributions held once per population, non-empty tokens only
(services/aggregate/contributions.py): every reader must see exactly the dict it replaces, since the
revision rule, the view and the release state all read it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.aggregate.cell_state import slice_count, slices
from services.aggregate.contributions import Contributions, Population, presence
from services.aggregate.disclosure.revision import Released, by_real_site
from services.aggregate.disclosure.rules import Status
from services.aggregate.model import Cell, CellKey

SITES = st.lists(st.text("abcdef", min_size=1, max_size=4), unique=True, max_size=30)
TOKENS = st.sampled_from(["", "", "", "minor", "major", "critical", "0101"])


@st.composite
def maps(draw: st.DrawFn) -> dict[str, str]:
    sites = draw(SITES)
    return {site: draw(TOKENS) for site in sites}


def test_a_population_holds_each_site_once() -> None:
    with pytest.raises(ValueError, match="once"):
        Population(["a", "b", "a"])


DEFAULTS = st.sampled_from(["", "0", "U0"])


@given(maps(), DEFAULTS)
def test_it_reads_as_the_dict_it_replaces(values: dict[str, str], default: str) -> None:
    held = Contributions.of(values, default=default)
    assert dict(held) == values
    assert list(held) == list(values)  # the population's order
    assert list(held.items()) == list(values.items())
    assert list(held.values()) == list(values.values())
    assert len(held) == len(values)
    assert held == values and values == held
    assert bool(held) == bool(values)
    assert default not in held.tokens.values()  # only tokens other than the default are stored
    for site, token in values.items():
        assert site in held and held[site] == token
    assert "zzz" not in held
    with pytest.raises(KeyError):
        held["zzz"]


@given(maps(), maps(), DEFAULTS, DEFAULTS)
def test_equality_is_the_dicts(a: dict[str, str], b: dict[str, str], da: str, db: str) -> None:
    assert (Contributions.of(a, default=da) == Contributions.of(b, default=db)) == (a == b)
    # over one shared population too (issue cells of one period)
    shared = Population(a)
    other = {site: token for site, token in b.items() if site in a}
    other |= {site: "" for site in a if site not in other}
    assert (Contributions.of(a, shared) == Contributions.of(other, shared)) == (a == other)


@given(maps(), DEFAULTS, st.data())
def test_rekeyed_by_real_site_is_the_dicts(values: dict[str, str], default: str, data: st.DataObject) -> None:
    """Re-keyed as the plain map would be, including two sites of one real site (the later token)."""
    real = {site: data.draw(st.sampled_from(["r1", "r2", site.upper()])) for site in values}
    expected = dict(zip(map(real.__getitem__, values), values.values(), strict=True))
    held = Contributions.of(values, default=default)
    got = by_real_site(held, real)
    assert isinstance(got, Contributions)
    assert dict(got) == expected
    # in real-site order, as the release state writes it, unless two sites merged (then as the dict)
    assert list(got) == (sorted(expected) if len(expected) == len(values) else list(expected))
    assert by_real_site(held, real) == expected  # the population's re-keying, kept for the same map
    assert Released(got, Status.PUBLISHED, None, None).real_sites == frozenset(expected)


@given(maps(), DEFAULTS, st.integers(min_value=8, max_value=200))
def test_release_state_slices_are_the_dicts(values: dict[str, str], default: str, budget: int) -> None:
    held = Contributions.of(values, default=default)
    assert slices(held, budget) == slices(values, budget)
    assert slice_count(held, budget) == slice_count(values, budget) == len(slices(values, budget))


@given(maps(), DEFAULTS, st.integers(min_value=8, max_value=200))
def test_slices_of_a_population_in_order_are_the_dicts(
    values: dict[str, str], default: str, budget: int
) -> None:
    """A population whose sites are in order already (every re-keyed one) is written without sorting:
    the same slices as the plain map's, sorted by the encoder."""
    held = Contributions.of(dict(sorted(values.items())), default=default)
    assert held.population.ordered
    assert slices(held, budget) == slices(values, budget)
    assert slice_count(held, budget) == len(slices(values, budget))


@given(SITES)
def test_a_population_knows_whether_it_is_in_order(sites: list[str]) -> None:
    assert Population(sites).ordered == (sites == sorted(sites))
    real = {site: site[::-1] for site in sites}  # another order, one real site per site
    assert Population(sites).rekeyed(real) is not None
    assert Population(sites).rekeyed(real).ordered  # type: ignore[union-attr]


def test_a_cell_checks_its_contributions_cover_its_sites() -> None:
    key = CellKey.of("issue-prevalence", period="2026-Q1", country="ALL", sector="ALL", issue="WAGES")
    held = Contributions.of({"a": "minor", "b": ""})
    assert Cell(key, frozenset({"a", "b"}), {}, {}, contributions=held).contributions is held
    with pytest.raises(ValueError, match="cover exactly"):
        Cell(key, frozenset({"a", "c"}), {}, {}, contributions=held)


@given(maps(), DEFAULTS)
def test_presence_is_whether_a_site_brings_anything(values: dict[str, str], default: str) -> None:
    expected = {site: "1" if token else "0" for site, token in values.items()}
    assert dict(presence(Contributions.of(values, default=default))) == expected
    assert dict(presence(values)) == expected
