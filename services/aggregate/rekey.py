"""The release log under new pseudonyms, for a key rotation (`services.rotation`, docs/normalize.md).

The log keeps, per cell, what each real site contributed at its last release; per platform site, who
stood behind it; per noisy table and period, a digest of each cell's contributions when it was drawn.
All of these name sites, companies and members by normalize's pseudonyms. A rotation renames every
pseudonym and changes no site, so the log must be renamed with them: kept under the old names, the
revision rule would see every site of every cell as changed (and re-send, or hold, on no real change),
stored noise would no longer match its cells (and be drawn again, spending budget), and whoever holds
the retired key could still link the log to raw identifiers.

`rekey_release_log` is that renaming, pure and total: a name it cannot rename raises, and nothing is
written. A real site's key is its sorted platform-site pseudonyms, so it is re-sorted after renaming;
likewise the sorted lists and maps of every record. A stored draw's cell digest is recomputed when it
is the digest of the cell's logged contributions (the cell was published from the draw); a digest of
contributions the log no longer holds (the cell changed since the draw) cannot be renamed and is left
as it is: it matched no current cell before the rotation and matches none after it, so the next
release of that cell draws again, exactly as it would have without the rotation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from schemas.exchange.aggregates import (
    LAST_RELEASE_KEY,
    NOISE_DRAW,
    PENDING_RELEASE_KEY,
    REAL_SITE_SEPARATOR,
    RELEASE_STATE,
    SITE_AFFILIATION,
    ReleaseStateRecord,
    SiteAffiliationRecord,
    SiteMemberRef,
    cell_coordinates,
)

from .cell_state import Joined, cell_state_records, is_part_key, joined, parts_by_cell, state_key
from .model import CellKey
from .noise.draw import contributions_digest
from .release import cell_key_of, draw_key, site_key

__all__ = ["Rename", "rekey_release_log"]

Rename = Callable[[str], str]  # one pseudonym to its new name; raises on a name it does not know


def _real_site(key: str, rename: Rename) -> str:
    return REAL_SITE_SEPARATOR.join(sorted(rename(part) for part in key.split(REAL_SITE_SEPARATOR)))


T = TypeVar("T")


def _contributions(values: Mapping[str, T], rename: Rename) -> dict[str, T]:
    renamed = {_real_site(site, rename): token for site, token in values.items()}
    return {site: renamed[site] for site in sorted(renamed)}


def _cell(
    key: CellKey, record: ReleaseStateRecord, state: Joined, rename: Rename
) -> list[tuple[bytes, bytes]]:
    """The renamed records of one cell: renaming re-sorts its sites, so a cell in parts is cut again
    (`cell_state`), over as many part keys as before at least."""
    renamed = _contributions(state.contributions, rename)
    renamed_shown = None if state.shown is None else _contributions(state.shown, rename)
    if record.legacy:  # versions 1 and 2 keyed contributions by resolved-site pseudonyms, one part
        legacy = record.model_copy(update={"contributions": renamed, "shown_contributions": renamed_shown})
        exclude = {"shown_contributions"} if renamed_shown is None else None
        return [(state_key(key), legacy.model_dump_json(exclude=exclude).encode())]
    population = None if state.population is None else _contributions(state.population, rename)
    records, _ = cell_state_records(
        key, record.message, renamed, renamed_shown, record.parts, population=population
    )
    return records


def _affiliation(record: SiteAffiliationRecord, rename: Rename) -> SiteAffiliationRecord:
    members = {(rename(m.member_id), None if m.lei_id is None else rename(m.lei_id)) for m in record.members}
    return SiteAffiliationRecord(
        schema_version=1,
        platform_site_id=rename(record.platform_site_id),
        principal_owner_id=rename(record.principal_owner_id),
        supplier_ids=sorted({rename(s) for s in record.supplier_ids}),
        members=[
            SiteMemberRef(member_id=m, lei_id=lei)
            for m, lei in sorted(members, key=lambda ml: (ml[0], ml[1] or ""))
        ],
    )


def rekey_release_log(values: Mapping[bytes, bytes], rename: Rename) -> dict[bytes, bytes | None]:
    """The writes that rename the release-state topic's compacted state `values`: a new value for every
    record that names anyone, and a tombstone (None) for every key that moves. Markers are left alone."""
    out: dict[bytes, bytes | None] = {}
    logged: dict[bytes, Mapping[str, str | None]] = {}  # cell's state key -> its whole contributions
    draws = []
    parts = parts_by_cell(values.items())
    for key, value in values.items():
        if key in (LAST_RELEASE_KEY, PENDING_RELEASE_KEY) or is_part_key(key):
            continue
        if key.startswith(b'{"forecast":'):
            continue  # a forecast's state holds published values only: nobody to rename
        if key.startswith(b'{"noise":'):
            draws.append(NOISE_DRAW.validate_json(value))
        elif key.startswith(b'{"site":'):
            renamed = _affiliation(SITE_AFFILIATION.validate_json(value), rename)
            out[key] = None
            out[site_key(renamed.platform_site_id)] = renamed.model_dump_json().encode()
        else:
            record = RELEASE_STATE.validate_json(value)
            cell_key = cell_key_of(record.message.table, cell_coordinates(record.message.cell))
            state = joined(cell_key, record, parts.get(cell_key, {}))
            if not record.legacy:
                logged[key] = state.contributions
            out.update(_cell(cell_key, record, state, rename))
    for draw in draws:
        cells = []
        for cell in draw.cells:
            drawn = logged.get(state_key(cell_key_of(draw.table, cell.cell)))
            fingerprint = cell.fingerprint
            if drawn is not None:
                tokens = {site: token or "" for site, token in drawn.items()}
                if contributions_digest(tokens) == fingerprint:
                    fingerprint = contributions_digest(_contributions(tokens, rename))
            cells.append(cell.model_copy(update={"fingerprint": fingerprint}))
        out[draw_key(draw.table, draw.period)] = (
            draw.model_copy(update={"cells": cells}).model_dump_json().encode()
        )
    return out
