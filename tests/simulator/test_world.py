"""The simulated world against the taxonomy it draws from."""

from __future__ import annotations

import pytest

from schemas.taxonomy import GICS_SECTOR_PREFIXES, UNSPSC_SECTOR_PREFIXES, Sector, sector_for
from simulator.sectors import SECTOR_CODES


@pytest.mark.parametrize("sector", list(SECTOR_CODES))
def test_every_sector_code_the_simulator_draws_maps_back_to_its_sector(sector: Sector) -> None:
    """taxonomy.md's sector crosswalk (UNSPSC for Sedex, GICS for amfori): a code the feed gives a site
    of this sector must be read back as this sector, or the simulated mix is not the intended one."""
    _, unspsc, gics = SECTOR_CODES[sector]
    assert unspsc and gics
    for code in unspsc:
        assert len(code) == 8 and sector_for(code, UNSPSC_SECTOR_PREFIXES) is sector, code
    for code in gics:
        assert len(code) == 8 and sector_for(code, GICS_SECTOR_PREFIXES) is sector, code
