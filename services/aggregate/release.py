"""Release messages (aggregates.md, "Message format") and the revision bookkeeping. Pure: no Kafka.

* `build_message` validates one cell's release into its table's message model; `encode_message`
  makes its key, value and CloudEvents headers (Kafka binding, binary mode). Everything in them
  derives from the message, so a replay of a release is byte-identical (`ce_id` is a UUIDv5 of table,
  key, release id and revision, not a random id).
* `assert_hygienic` is the last check before every send: it raises if a value carries anything that
  looks like a pseudonym, a sealed value, an event time, a name or free text (aggregates.md,
  "Hygiene"); the one name it lets through is an audit firm's, at `cell.audit_firm_name` of an
  `audit-quality` message (with the firm's APSCA id at `cell.audit_firm`).
* `ReleaseLog` holds, per cell, its last release (the message as sent) and what each site of its
  population contributed to it then, and says the next revision. It is kept in the internal compacted
  topic `exchange.aggregate.releases.v1` (`ReleaseStateRecord`, never published): the public messages
  do not carry the contributions, which the revision rule needs; a large cell's record is written in
  parts (`cell_state`). State records and public messages are written in the same transaction
  (`releaser.Releaser`), so they never disagree."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar, cast, get_args

from pydantic import BaseModel

from schemas.exchange.aggregates import (
    AUDIT_FIRM_ID,
    AUDIT_FIRM_NAME,
    AUDIT_QUALITY,
    FORECAST_STATE,
    FORECASTS_TOPIC,
    LAST_RELEASE_KEY,
    MESSAGE_OF,
    NOISE_DRAW,
    PENDING_RELEASE_KEY,
    RELEASE_STATE,
    RELEASE_STATE_TOPIC,
    SITE_AFFILIATION,
    AnyMessage,
    ForecastMessage,
    ForecastMethod,
    ForecastStateRecord,
    NoiseDrawRecord,
    ReleaseMarker,
    SiteAffiliationRecord,
    SiteMemberRef,
    cell_coordinates,
    format_release_time,
    topic_of,
)

from .cell_state import (
    PendingState,
    StateRecord,
    cell_state_records,
    is_part_key,
    joined,
    parts_by_cell,
    pending_state,
)
from .cell_state import state_key as state_key
from .contributions import Contributions
from .identity import Affiliation
from .model import CellKey, compact_json
from .noise.draw import StoredDraw

Headers = list[tuple[str, bytes]]
Message = AnyMessage

CE_SPECVERSION: Final = b"1.0"
CE_SOURCE: Final = "urn:sourcing-exchange:aggregate"
CE_TYPE_PREFIX: Final = "org.sourcing-exchange.aggregate."
# Fixed forever: ce_id = uuid5(CE_ID_NAMESPACE, "<table>\n<key>\n<release_id>\n<revision>").
CE_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, CE_SOURCE)


def cell_key_of(table: str, cell_coords: Mapping[str, str]) -> CellKey:
    return CellKey(table, tuple(sorted(cell_coords.items())))


def message_key(cell_coords: Mapping[str, str]) -> bytes:
    """aggregates.md: the cell's coordinates as compact JSON with sorted keys."""
    return compact_json(dict(cell_coords))


def ce_id(table: str, key: bytes, release_id: str, revision: int) -> str:
    return str(uuid.uuid5(CE_ID_NAMESPACE, f"{table}\n{key.decode()}\n{release_id}\n{revision}"))


def build_message(
    table: str,
    cell_coords: Mapping[str, str],
    status: str,
    measures: Mapping[str, Any] | BaseModel | None,
    release_id: datetime,
    released_at: datetime,
    revision: int,
) -> Message:
    """Validate the parts into the table's message model (strict; raises pydantic.ValidationError)."""
    try:
        model = MESSAGE_OF[table]
    except KeyError:
        raise ValueError(f"no message model for table {table!r}") from None
    return model.model_validate(
        {
            "table": table,
            "schema_version": 1,
            "release_id": release_id,
            "released_at": released_at,
            "revision": revision,
            "cell": dict(cell_coords),
            "status": status,
            "measures": measures.model_dump() if isinstance(measures, BaseModel) else measures,
        }
    )


def encode_message(
    message: Message | ForecastMessage, kind: str | None = None
) -> tuple[bytes, bytes, Headers]:
    """(key, value, headers) of a message; checked by `assert_hygienic`. `kind` names it in the
    CloudEvents id and type (default: its table)."""
    kind = message.table if kind is None else kind
    key = message_key(cell_coordinates(message.cell))
    value = message.model_dump_json().encode()  # as dump_message: compact, fields in declaration order
    assert_hygienic(value)
    release_id = format_release_time(message.release_id)
    headers: Headers = [
        ("ce_specversion", CE_SPECVERSION),
        ("ce_id", ce_id(kind, key, release_id, message.revision).encode()),
        ("ce_source", CE_SOURCE.encode()),
        ("ce_type", f"{CE_TYPE_PREFIX}{kind}".encode()),
        ("ce_time", format_release_time(message.released_at).encode()),
        ("content-type", b"application/json"),
    ]
    return key, value, headers


def encode_forecast(message: ForecastMessage) -> tuple[bytes, bytes, Headers]:
    """A forecast (services.aggregate.forecast) as a cell is encoded: key = the forecast cell's
    coordinates, `ce_type` ...aggregate.forecast.<table>."""
    return encode_message(message, kind=f"forecast.{message.table}")


# --- hygiene ------------------------------------------------------------------------------------------


class HygieneError(ValueError):
    """A message about to leave the exchange carries something it must not. Never send it."""


# services.normalize.pseudonymise: `<key id>.<kind>.<32 hex>`; services.normalize.seal: `<key
# id>.sealed.<b64>`.
_PSEUDONYM: Final = re.compile(r"(?<![A-Za-z0-9-])[a-z0-9][a-z0-9-]{0,15}\.[a-z]+\.[0-9a-f]{32}(?![0-9a-f])")
_SEALED: Final = re.compile(r"(?<![A-Za-z0-9-])[a-z0-9][a-z0-9-]{0,15}\.sealed\.[A-Za-z0-9_-]+")
# Field names that hold (or are meant to hold) a time; the two release times are the allowed exceptions.
_TIME_NAME: Final = re.compile(
    r"(^|_)(at|at_ms|ms|time|timestamp|ts|date|day|occurred|updated|created|modified|end|start)$|^(time|date)",
    re.IGNORECASE,
)
_ALLOWED_TIMES: Final = frozenset({"release_id", "released_at"})
_TIME_TEXT: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# An integer this large is no count of sites or findings: it would be an epoch time in s or ms.
_EPOCH_LIKE: Final = 10**9


def assert_hygienic(value: bytes) -> None:
    """Raise `HygieneError` if the value is not a JSON object or carries a pseudonym, a sealed value or an
    event time (a time-named field other than the top-level `release_id`/`released_at`, a date or
    date-time text elsewhere, or an epoch-sized integer)."""
    try:
        text = value.decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HygieneError(f"not a JSON text: {e}") from None
    if not isinstance(document, dict):
        raise HygieneError("not a JSON object")
    if _PSEUDONYM.search(text):
        raise HygieneError("carries a pseudonym")
    if _SEALED.search(text):
        raise HygieneError("carries a sealed value")
    for path, name, item in _walk(document, ()):
        if name is not None and not (path == () and name in _ALLOWED_TIMES) and _TIME_NAME.search(name):
            raise HygieneError(f"carries a time field {'.'.join((*path, name))}")
        if name is not None and path == () and name in _ALLOWED_TIMES:
            continue
        if isinstance(item, str) and _TIME_TEXT.search(item):
            raise HygieneError(f"carries a date or time at {'.'.join((*path, name or ''))}")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= _EPOCH_LIKE:
            raise HygieneError(f"carries an epoch-like number at {'.'.join((*path, name or ''))}")
    _assert_no_names(document)


# Text a message may carry: coordinate codes (countries, sectors, issues, periods, ALL) and, at the top,
# the table and the status. A firm's APSCA id and name are allowed at one place each (`_FIRM_FIELDS`).
_CODE: Final = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
_WORD: Final = re.compile(r"[a-z][a-z-]{0,39}")
_TOP_WORDS: Final = frozenset({"table", "status"})
# Top-level fields whose text is one of a closed vocabulary: a forecast's method (a model's name).
_TOP_VOCABULARY: Final[Mapping[str, frozenset[str]]] = {"method": frozenset(get_args(ForecastMethod))}
_APSCA: Final = re.compile(r"(?i)apsca|csca")  # firm ids and auditor numbers
_NAME_FIELD: Final = re.compile(r"(?i)name")
_FIRM_FIELDS: Final = {("cell", "audit_firm"): AUDIT_FIRM_ID, ("cell", "audit_firm_name"): AUDIT_FIRM_NAME}


def _assert_no_names(document: dict[str, Any]) -> None:
    """No name, free text or firm id anywhere, except an `audit-quality` message's firm id and name at
    `cell.audit_firm` and `cell.audit_firm_name` (aggregates.md: firms are published on purpose), and
    those only in the shapes the message model allows (a name cannot carry a date or an id)."""
    firm_message = document.get("table") == AUDIT_QUALITY
    for path, name, item in _walk(document, ()):
        where = ".".join((*path, name or ""))
        field = (*path, name or "")
        if len(field) == 2 and field in _FIRM_FIELDS:
            if not firm_message or not isinstance(item, str):
                raise HygieneError(f"carries a firm's id or name outside audit-quality at {where}")
            try:
                _FIRM_FIELDS[field].validate_python(item)
            except ValueError:
                raise HygieneError(f"carries a firm field not in its allowed shape at {where}") from None
            continue
        if name is not None and _NAME_FIELD.search(name):
            raise HygieneError(f"carries a name field {where}")
        if name is not None and _APSCA.search(name):
            raise HygieneError(f"carries an APSCA field {where}")
        if not isinstance(item, str):
            continue
        if path == () and name in _ALLOWED_TIMES:
            continue
        if path == () and name in _TOP_WORDS and _WORD.fullmatch(item):
            continue
        if path == () and name is not None and item in _TOP_VOCABULARY.get(name, ()):
            continue
        if _APSCA.search(item):
            raise HygieneError(f"carries an APSCA id at {where}")
        if not _CODE.fullmatch(item):
            raise HygieneError(f"carries free text (a name?) at {where}")


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str | None, Any]]:
    """(path of the parent, field name or None for list items, value) of every value below `node`."""
    if isinstance(node, dict):
        for name, item in node.items():
            yield path, name, item
            yield from _walk(item, (*path, name))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield path, None, item
            yield from _walk(item, (*path, str(index)))


# --- revisions ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoggedRelease:
    """A cell's last release: the message exactly as sent, what each real site contributed to it
    then, and, if the message withholds outcomes (or a population) that an earlier release showed, the
    contributions of that earlier release."""

    message: Message
    contributions: Mapping[str, str | None]  # real-site key -> token (resolved id -> None: legacy)
    legacy: bool = False  # a record written before revision 2 of the rules (keys are not real sites)
    shown_contributions: Mapping[str, str] | None = None
    parts: int = 1  # the records it takes on the release-state topic (`cell_state`)
    # if the message is suppressed and an earlier release showed the population, the contributions then
    population_contributions: Mapping[str, str] | None = None

    @property
    def revision(self) -> int:
        return self.message.revision

    @property
    def status(self) -> str:
        return self.message.status

    @property
    def measures(self) -> BaseModel | None:
        return self.message.measures

    @property
    def shows_outcomes(self) -> bool:
        return shows_outcomes(self.message)

    @property
    def tokens(self) -> Mapping[str, str]:
        """Each real site's token (a non-legacy release): the held map itself when it has no null,
        as it has when this service wrote it. Not a copy: every later release reads the whole log,
        tens of millions of entries at a year."""
        if isinstance(self.contributions, Contributions):
            return self.contributions  # its tokens are strings
        if None in self.contributions.values():
            return {k: v for k, v in self.contributions.items() if v is not None}
        return cast(Mapping[str, str], self.contributions)


def _population_measures() -> frozenset[str]:
    """The measures every table's model documents as "Population (P)" (aggregates.md marks them so):
    read from the models, so a new table's populations need no second list here."""
    out: set[str] = set()
    for message in MESSAGE_OF.values():
        for measures in get_args(message.model_fields["measures"].annotation):
            if isinstance(measures, type) and issubclass(measures, BaseModel):
                fields = measures.model_fields.items()
                out |= {n for n, f in fields if (f.description or "").startswith("Population (P)")}
    return frozenset(out)


# The population measures (P) of every table; a message shows outcomes when any other measure is set.
POPULATION_MEASURES: Final = _population_measures()


def shows_outcomes(message: Message) -> bool:
    """Whether a message carries outcome measures (a published cell whose outcomes are not null)."""
    if message.measures is None:
        return False
    values = message.measures.model_dump()
    return any(v is not None for k, v in values.items() if k not in POPULATION_MEASURES)


def next_revision(previous: LoggedRelease | None) -> int:
    """0 for a cell's first release, then one more than its last."""
    return 0 if previous is None else previous.revision + 1


def site_key(platform_site_id: str) -> bytes:
    """Key of a platform site's affiliation record on the release-state topic: `{"site":"<id>"}`."""
    return compact_json({"site": platform_site_id})


def state_records(key: CellKey, released: LoggedRelease) -> list[StateRecord]:
    """The release-state records of one cell's last release (`cell_state`: in parts when large)."""
    records, _ = cell_state_records(
        key,
        released.message,
        released.contributions,
        released.shown_contributions,
        population=released.population_contributions,
    )
    return records


def affiliation_value(platform_site_id: str, affiliation: Affiliation) -> bytes:
    record = SiteAffiliationRecord(
        schema_version=1,
        platform_site_id=platform_site_id,
        principal_owner_id=affiliation.principal,
        supplier_ids=sorted(affiliation.suppliers | {affiliation.principal}),
        members=[
            SiteMemberRef(member_id=m, lei_id=lei)
            for m, lei in sorted(affiliation.members, key=lambda ml: (ml[0], ml[1] or ""))
        ],
    )
    return record.model_dump_json().encode()


def draw_key(table: str, period: str) -> bytes:
    """Key of a stored draw on the release-state topic: `{"noise":{"period":"<p>","table":"<t>"}}`."""
    return compact_json({"noise": {"period": period, "table": table}})


def forecast_key(cell_key: bytes) -> bytes:
    """Key of a forecast's state record on the release-state topic, from the forecast's message key:
    `{"forecast":{<sorted coords>}}`."""
    return b'{"forecast":' + cell_key + b"}"


def marker_value(release_id: datetime) -> bytes:
    """The release marker's value: the last release whose transaction committed."""
    return ReleaseMarker(release_id=release_id).model_dump_json().encode()


def last_release_of(records: Mapping[bytes, bytes]) -> datetime | None:
    """The marker in the release-state topic's compacted state, if any release ever committed."""
    value = records.get(LAST_RELEASE_KEY)
    return None if value is None else ReleaseMarker.model_validate_json(value).release_id


def pending_release_of(records: Mapping[bytes, bytes]) -> datetime | None:
    """A release recorded but not known to be published: the pending marker, if it is newer than the
    last release marker."""
    value = records.get(PENDING_RELEASE_KEY)
    if value is None:
        return None
    pending, last = ReleaseMarker.model_validate_json(value).release_id, last_release_of(records)
    return pending if last is None or pending > last else None


Record = tuple[str, bytes, bytes, Headers]


@dataclass(frozen=True, slots=True)
class PendingAffiliation:
    """A platform site's affiliation record, planned and not yet encoded (`records`), as a cell's
    release state is (`PendingState`): a year's first release writes 132,738 of them, and encoded at
    planning time they were 59 MiB of JSON held through the plan's peak. The affiliation is frozen."""

    platform_site_id: str
    affiliation: Affiliation

    def records(self) -> list[StateRecord]:
        return [(site_key(self.platform_site_id), affiliation_value(self.platform_site_id, self.affiliation))]


# What a plan holds, in order: records, and release-state records still to encode (`PENDING`).
Entry = Record | PendingState | PendingAffiliation
PENDING: Final = (PendingState, PendingAffiliation)
"""The entries that are release-state records still to encode: `isinstance(entry, PENDING)`."""


def expand(entries: Iterable[Entry]) -> Iterator[Record]:
    """The records of `entries`, each release-state record still to encode encoded where it stands."""
    for entry in entries:
        if isinstance(entry, PENDING):
            for key, value in entry.records():
                yield (RELEASE_STATE_TOPIC, key, value, [])
        else:
            yield entry


_E = TypeVar("_E", Record, Entry)


def split_phases(entries: Iterable[_E], release_at: datetime) -> tuple[list[_E], list[_E]]:
    """A release's records as two transactions. First the release state (the cells' messages and
    contributions, affiliations) with the pending marker: once that commits, what this release
    publishes is fixed. Then the public messages with the release marker. A publish that aborts, and
    leaves its records to `read_uncommitted` readers, is retried with the same bytes (`owed_records`),
    even if the state has moved on meanwhile: no reader ever sees two versions of one release.
    Release states still to encode stay so (`expand`)."""
    state: list[_E] = []
    public: list[_E] = []
    for entry in entries:
        if isinstance(entry, PENDING):
            state.append(entry)
        elif entry[0] == RELEASE_STATE_TOPIC:
            if entry[1] != LAST_RELEASE_KEY:
                state.append(entry)
        else:
            public.append(entry)
    marker = marker_value(release_at)
    state.append((RELEASE_STATE_TOPIC, PENDING_RELEASE_KEY, marker, []))
    public.append((RELEASE_STATE_TOPIC, LAST_RELEASE_KEY, marker, []))
    return state, public


def owed_records(log: ReleaseLog, release_at: datetime) -> list[Record]:
    """The public phase of a recorded release, rebuilt from the log: every cell whose last message
    belongs to that release, in the plan's order (by cell), then the release marker."""
    out: list[Record] = []
    for _, released in log.items():
        if released.message.release_id == release_at:
            key, value, headers = encode_message(released.message)
            out.append((topic_of(released.message.table), key, value, headers))
    for _, forecast in sorted(log.forecasts.items()):
        if forecast.message.release_id == release_at:
            key, value, headers = encode_forecast(forecast.message)
            out.append((FORECASTS_TOPIC, key, value, headers))
    return [*out, (RELEASE_STATE_TOPIC, LAST_RELEASE_KEY, marker_value(release_at), [])]


class ReleaseLog:
    """Per (table, cell key): the last release and its sites' contributions; per platform site: who
    stood behind it in any release so far."""

    def __init__(self) -> None:
        self._last: dict[CellKey, LoggedRelease] = {}
        self._affiliations: dict[str, Affiliation] = {}
        self._draws: dict[tuple[str, str], StoredDraw] = {}
        self._forecasts: dict[bytes, ForecastStateRecord] = {}

    def __len__(self) -> int:
        return len(self._last)

    def __contains__(self, key: object) -> bool:
        return key in self._last

    def get(self, key: CellKey) -> LoggedRelease | None:
        return self._last.get(key)

    def items(self) -> Iterator[tuple[CellKey, LoggedRelease]]:
        return iter(sorted(self._last.items()))

    @property
    def affiliations(self) -> Mapping[str, Affiliation]:
        """Platform site id -> everyone seen behind it in earlier releases."""
        return self._affiliations

    @property
    def draws(self) -> Mapping[tuple[str, str], StoredDraw]:
        """(table, period) -> the differential-privacy mode's last stored draw of it."""
        return self._draws

    def record_draw(self, record: NoiseDrawRecord) -> tuple[bytes, bytes]:
        """Note a new draw; returns the (key, value) to write, in a transaction before any release that
        publishes from it."""
        previous = self._draws.get((record.table, record.period))
        if previous is not None and record.draws != previous.record.draws + 1:
            raise ValueError(
                f"draw {record.draws} of {record.table} {record.period} does not follow the last"
            )
        self._draws[(record.table, record.period)] = StoredDraw.of(record)
        return draw_key(record.table, record.period), record.model_dump_json().encode()

    @property
    def forecasts(self) -> Mapping[bytes, ForecastStateRecord]:
        """Forecast key (its cell's coordinates) -> the last forecast sent for it and its inputs."""
        return self._forecasts

    def record_forecast(self, record: ForecastStateRecord) -> tuple[bytes, bytes]:
        """Note a forecast about to be sent; returns the (key, value) to write to the release-state
        topic. Its revision must be the forecast key's next."""
        key = message_key(record.message.cell.model_dump())
        previous = self._forecasts.get(key)
        expected = 0 if previous is None else previous.message.revision + 1
        if record.message.revision != expected:
            raise ValueError(f"forecast revision {record.message.revision} of {key!r} is not {expected}")
        self._forecasts[key] = record
        return forecast_key(key), record.model_dump_json().encode()

    def next_revision(self, key: CellKey) -> int:
        return next_revision(self._last.get(key))

    def copy(self) -> ReleaseLog:
        """An independent log to plan on: the entries are frozen, so copying the index is enough."""
        log = ReleaseLog()
        log._last = dict(self._last)
        log._affiliations = dict(self._affiliations)
        log._draws = dict(self._draws)
        log._forecasts = dict(self._forecasts)
        return log

    def record(self, message: Message, contributions: Mapping[str, str]) -> list[StateRecord]:
        """Note a release about to be sent; returns the (key, value) records to write to the
        release-state topic first (one, or the parts of a large cell). The message's
        revision must be the cell's next revision. `contributions` is keyed by real site, and kept:
        the caller must not change it afterwards."""
        return self.record_pending(message, contributions).records()

    def record_pending(self, message: Message, contributions: Mapping[str, str]) -> PendingState:
        """`record`, with the records left to encode (`PendingState.records`) when they are sent: the
        planner's way, so that a plan does not hold every cell's release state as JSON."""
        key = cell_key_of(message.table, cell_coordinates(message.cell))
        expected = self.next_revision(key)
        if message.revision != expected:
            raise ValueError(f"revision {message.revision} of {key} is not the next revision {expected}")
        previous = self._last.get(key)
        shown: Mapping[str, str] | None = None
        population: Mapping[str, str] | None = None
        if previous is not None and not previous.legacy:
            # What the subscriber still holds once this message withholds it: the previous release's
            # contributions if that release showed it, else what the previous record kept.
            if not shows_outcomes(message):
                shown = previous.tokens if previous.shows_outcomes else previous.shown_contributions
            if message.measures is None:
                population = (
                    previous.tokens if previous.measures is not None else previous.population_contributions
                )
        pending = pending_state(
            key,
            message,
            contributions,
            shown,
            1 if previous is None else previous.parts,
            population=population,
        )
        # Kept as given, not copied (the caller hands the map over: the planner's maps are shared and
        # never changed): the log holds every site's token of every cell, tens of millions at a year.
        self._last[key] = LoggedRelease(message, contributions, False, shown, pending.parts, population)
        return pending

    def record_affiliations(self, now: Mapping[str, Affiliation]) -> list[tuple[bytes, bytes]]:
        """Merge what this release sees behind each platform site into the log; returns the (key, value)
        records to write for the sites where something new was seen."""
        return [record for pending in self.record_pending_affiliations(now) for record in pending.records()]

    def record_pending_affiliations(self, now: Mapping[str, Affiliation]) -> list[PendingAffiliation]:
        """`record_affiliations`, with the records left to encode when they are sent."""
        out = []
        for platform_site_id in sorted(now):
            before = self._affiliations.get(platform_site_id)
            merged = now[platform_site_id] if before is None else before.merged(now[platform_site_id])
            if merged != before:
                self._affiliations[platform_site_id] = merged
                out.append(PendingAffiliation(platform_site_id, merged))
        return out

    @classmethod
    def from_state(cls, records: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes | None]]) -> ReleaseLog:
        """Rebuild from the release-state topic: its compacted state (key -> value), or its records in
        order (last value per key wins, None is a tombstone). Each key must match its record; the
        release marker (`LAST_RELEASE_KEY`) is not a cell and is skipped."""
        pairs = records.items() if isinstance(records, Mapping) else records
        values: dict[bytes, bytes] = {}
        for key, value in pairs:
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        log = cls()
        parts = parts_by_cell(values.items())
        for key, value in values.items():
            if key in (LAST_RELEASE_KEY, PENDING_RELEASE_KEY) or is_part_key(key):
                continue
            if key.startswith(b'{"noise":'):
                draw = NOISE_DRAW.validate_json(value)
                if draw_key(draw.table, draw.period) != key:
                    raise ValueError(f"release-state key {key!r} does not match its draw record")
                log._draws[(draw.table, draw.period)] = StoredDraw.of(draw)
                continue
            if key.startswith(b'{"forecast":'):
                forecast = FORECAST_STATE.validate_json(value)
                cell_key = message_key(forecast.message.cell.model_dump())
                if forecast_key(cell_key) != key:
                    raise ValueError(f"release-state key {key!r} does not match its forecast record")
                log._forecasts[cell_key] = forecast
                continue
            if key.startswith(b'{"site":'):
                site = SITE_AFFILIATION.validate_json(value)
                if site_key(site.platform_site_id) != key:
                    raise ValueError(f"release-state key {key!r} does not match its site record")
                log._affiliations[site.platform_site_id] = Affiliation(
                    site.principal_owner_id,
                    frozenset(site.supplier_ids),
                    frozenset((m.member_id, m.lei_id) for m in site.members),
                )
                continue
            record = RELEASE_STATE.validate_json(value)
            cell = cell_key_of(record.message.table, cell_coordinates(record.message.cell))
            if state_key(cell) != key:
                raise ValueError(f"release-state key {key!r} does not match its record's cell {cell}")
            state = joined(cell, record, parts.get(cell, {}))
            log._last[cell] = LoggedRelease(
                record.message,
                state.contributions,
                record.legacy,
                state.shown,
                record.parts,
                state.population,
            )
        return log
