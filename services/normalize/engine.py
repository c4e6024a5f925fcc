"""Normalize's state machine, without Kafka: one accepted event in, the records to produce out.

Two stages. Stage 1 (`map_value`) is stateless: it parses the envelope from bytes, maps the event
(`mapping.map_event`), pseudonymises and serialises every output, and unseals what resolution needs.
It may run in other processes (`mappers.py`). Stage 2 (`Normalizer.settle`) holds the state: it applies
the contract's version rule per entity and feeds platform-site and consent changes to the `Resolver`,
whose changes go to the two resolution topics. Everything produced is a pure function of the current
state of each entity, so arrival order across entities, redeliveries and replays change nothing.

The version state, `entity pseudonym -> (version, event id)`, is itself produced (to the versions
topic) so a restart can reload it. An event at the version already applied *with the same event id*
is our own replay (a crash between producing and committing): its records are produced again, same
bytes, so nothing that was lost in the crash stays lost. Any other event at or below the applied
version is stale and changes nothing (counted).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from schemas.exchange.accepted import AcceptedEvent, parse_accepted
from schemas.shared.models import Consent, PlatformSite
from schemas.shared.resolution import (
    RESOLVED_SITES_TOPIC,
    SITE_RESOLUTION_TOPIC,
    ResolvedSite,
    SiteResolution,
)

from .mapping import MappingContext, MappingError, MappingErrorCode, Output, OutputKind, map_event
from .pickling import by_position
from .pseudonymise import IdKind
from .resolve import Change, Resolver, SiteFacts
from .topics import NORMALIZE_QUARANTINE_TOPIC, NORMALIZE_VERSIONS_TOPIC

_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii

PREVIOUS_RESOLVED_SITE_HEADER = "sx_previous_resolved_site_id"

# An entity's versions go up by one per change; an update this far above the applied version is
# suspicious (a platform bug, or a hostile message): every real version below it is stale from then on.
VERSION_JUMP = 1_000


def is_version_jump(applied: int | None, version: int) -> bool:
    """Whether applying `version` over `applied` jumps by more than VERSION_JUMP."""
    return applied is not None and version - applied > VERSION_JUMP


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: str
    value: bytes | None  # None: tombstone
    headers: tuple[tuple[str, bytes], ...] = ()


def _change_record(change: Change) -> Record:
    headers = () if change.previous is None else ((PREVIOUS_RESOLVED_SITE_HEADER, change.previous.encode()),)
    return Record(change.topic, change.key, encode(change.value), headers)


@dataclass(frozen=True, slots=True)
class Applied:
    version: int
    event_id: str


@dataclass(slots=True)
class Outcome:
    records: list[Record] = field(default_factory=list)
    stale: int = 0
    replayed: int = 0
    jumps: int = 0  # applied updates more than VERSION_JUMP above the entity's applied version
    resolution_changes: list[Change] = field(default_factory=list)


def encode(value: BaseModel | None) -> bytes | None:
    return None if value is None else value.model_dump_json().encode()


@by_position
@dataclass(frozen=True, slots=True)
class Rejected:
    """An event normalize dead-letters: a reason class of the DLQ contract and a plain reason."""

    reason_class: str
    reason: str
    error: BaseException | None = None  # an unexpected failure (internal_error), for the log only


@dataclass(frozen=True, slots=True)
class Step:
    """What one accepted-topic value did: its platform, when its envelope could be read, and either the
    records to produce or why it was rejected."""

    platform: str | None
    result: Outcome | Rejected


@by_position
@dataclass(frozen=True, slots=True)
class Mapped:
    """One output of stage 1, serialised, with what stage 2 needs to resolve it: the facts of an upserted
    platform site (its osId unsealed), or a consent's company pseudonym and grant."""

    kind: OutputKind
    key: str
    value: bytes | None  # None: tombstone
    version_entity: str
    version: int
    site: SiteFacts | None = None
    consent: tuple[str, bool] | None = None


@by_position
@dataclass(frozen=True, slots=True)
class MappedEvent:
    """Stage 1's verdict on one envelope that could be read: its outputs, or why it cannot be mapped.
    `event_id` is the event's pseudonym, which the version rule and the quarantine look at."""

    platform: str
    event_id: str
    outputs: tuple[Mapped, ...] | Rejected


def event_pseudonym(ctx: MappingContext, accepted: AcceptedEvent) -> str:
    return ctx.pseudonymiser.pseudonym(IdKind.EVENT, f"{accepted.platform}:{accepted.event_id}")


def facts_of(ctx: MappingContext, site: PlatformSite) -> SiteFacts:
    os_id = ctx.sealer.unseal(site.os_id_sealed) if site.os_id_sealed else None
    return SiteFacts.from_record(site, os_id)


def prepare(ctx: MappingContext, output: Output) -> Mapped:
    """An output of the mapping as stage 2 takes it."""
    site = consent = None
    if isinstance(output.value, PlatformSite):
        site = facts_of(ctx, output.value)
    elif isinstance(output.value, Consent):
        consent = (output.value.company_id, output.value.granted)
    value = encode(output.value)
    return Mapped(output.kind, output.key, value, output.version_entity, output.version, site, consent)


def map_accepted(ctx: MappingContext, accepted: AcceptedEvent) -> tuple[Mapped, ...]:
    """Stage 1 on a parsed event. Raises `MappingError` (dead-letter)."""
    return tuple(prepare(ctx, o) for o in map_event(accepted, ctx))


def map_value(ctx: MappingContext, value: bytes | None) -> MappedEvent | Rejected:
    """Stage 1 on one value of the accepted topic: pure, stateless, never raises (a poison message must
    not stop the service). A bare `Rejected` is an envelope that could not be read."""
    try:
        accepted = parse_accepted(value or b"")
    except ValidationError:
        return Rejected("invalid_envelope", "not an exchange.ingest.accepted.v1 envelope")
    event_id = event_pseudonym(ctx, accepted)
    outputs: tuple[Mapped, ...] | Rejected
    try:
        outputs = map_accepted(ctx, accepted)
    except MappingError as exc:
        outputs = Rejected(exc.code.value, str(exc))
    except Exception as exc:
        outputs = Rejected("internal_error", "normalize failed to process this event", exc)
    return MappedEvent(accepted.platform, event_id, outputs)


class Normalizer:
    def __init__(
        self,
        ctx: MappingContext,
        resolver: Resolver,
        versions: Mapping[str, Applied] | None = None,
        quarantined: Container[str] = frozenset(),
    ) -> None:
        self.ctx = ctx
        self.resolver = resolver
        self.versions: dict[str, Applied] = dict(versions or {})
        self.quarantined = quarantined  # event pseudonyms

    @classmethod
    def fresh(
        cls, ctx: MappingContext, *, default_consent: bool = True, quarantined: Container[str] = frozenset()
    ) -> Normalizer:
        """A normalizer with no state yet, naming resolved sites with the context's own pseudonymiser."""
        resolver = Resolver(ctx.resolved_site_id, default_consent=default_consent)
        return cls(ctx, resolver, quarantined=quarantined)

    def process(self, accepted: AcceptedEvent) -> Outcome:
        """Both stages on a parsed event. Raises `MappingError` (dead-letter) before changing any state."""
        event_id = event_pseudonym(self.ctx, accepted)
        self._refuse_quarantined(event_id)
        return self.apply(event_id, map_accepted(self.ctx, accepted))

    def settle(self, mapped: MappedEvent | Rejected) -> Step:
        """Stage 2 on stage 1's verdict: never raises. An operator's quarantine comes first, as it
        would before mapping."""
        if isinstance(mapped, Rejected):
            return Step(None, mapped)
        try:
            self._refuse_quarantined(mapped.event_id)
            if isinstance(mapped.outputs, Rejected):
                return Step(mapped.platform, mapped.outputs)
            return Step(mapped.platform, self.apply(mapped.event_id, mapped.outputs))
        except MappingError as exc:
            return Step(mapped.platform, Rejected(exc.code.value, str(exc)))
        except Exception as exc:
            failed = Rejected("internal_error", "normalize failed to process this event", exc)
            return Step(mapped.platform, failed)

    def _refuse_quarantined(self, event_id: str) -> None:
        if event_id in self.quarantined:
            raise MappingError(MappingErrorCode.QUARANTINED, "an operator quarantined this event")

    def apply(self, event_id: str, outputs: Iterable[Mapped]) -> Outcome:
        """The version rule and resolution on one event's mapped outputs."""
        outcome = Outcome()
        for output in outputs:
            applied = self.versions.get(output.version_entity)
            if applied is not None and output.version <= applied.version:
                if output.version == applied.version and applied.event_id == event_id:
                    outcome.replayed += 1
                    outcome.records.append(Record(output.kind.topic, output.key, output.value))
                    outcome.records.extend(self._resolve(output, outcome))
                else:
                    outcome.stale += 1
                continue
            if is_version_jump(None if applied is None else applied.version, output.version):
                outcome.jumps += 1
            self.versions[output.version_entity] = Applied(output.version, event_id)
            outcome.records.append(Record(output.kind.topic, output.key, output.value))
            outcome.records.append(self._version_record(output.version_entity))
            outcome.records.extend(self._resolve(output, outcome))
        return outcome

    def _version_record(self, entity: str) -> Record:
        applied = self.versions[entity]
        # The bytes of json.dumps({"version": …, "event": …}, separators=(",", ":")), without building a
        # dict and an encoder per record (the same C string encoder json.dumps uses).
        value = f'{{"version":{applied.version:d},"event":{_json_string(applied.event_id)}}}'
        return Record(NORMALIZE_VERSIONS_TOPIC, entity, value.encode())

    def _resolve(self, output: Mapped, outcome: Outcome) -> Iterable[Record]:
        changes: list[Change] = []
        if output.kind is OutputKind.PLATFORM_SITE:
            if output.site is None:
                changes = self.resolver.remove_site(output.key)
            else:
                changes = self.resolver.upsert_site(output.site)
        elif output.kind is OutputKind.CONSENT:
            assert output.consent is not None
            changes = self.resolver.set_consent(*output.consent)
        outcome.resolution_changes.extend(changes)
        return [_change_record(c) for c in changes]

    def reconcile(
        self, resolutions: Mapping[str, SiteResolution], resolved_sites: Mapping[str, ResolvedSite]
    ) -> list[Record]:
        """After a restart: what the resolution topics must receive to equal the resolver's state.

        The resolver is rebuilt from the platform-sites and consents topics; a crash may have left the
        resolution topics behind them.
        """
        snapshot = self.resolver.snapshot()
        out: list[Record] = []
        for key in sorted(set(snapshot.site_resolutions) | set(resolutions)):
            want = snapshot.site_resolutions.get(key)
            have = resolutions.get(key)
            if want != have:
                previous = have.resolved_site_id if have else None
                out.append(_change_record(Change(SITE_RESOLUTION_TOPIC, key, want, previous=previous)))
        for key in sorted(set(snapshot.resolved_sites) | set(resolved_sites)):
            if snapshot.resolved_sites.get(key) != resolved_sites.get(key):
                out.append(Record(RESOLVED_SITES_TOPIC, key, encode(snapshot.resolved_sites.get(key))))
        return out


def step(normalizer: Normalizer, value: bytes | None) -> Step:
    """One value of the accepted topic through both stages in this process. Never raises: a poison
    message must not stop the service, and the key rotation's replay must reach the same verdicts as
    the service."""
    return normalizer.settle(map_value(normalizer.ctx, value))


def restore(
    ctx: MappingContext,
    resolved_id: Callable[[str], str],
    state: Mapping[str, Mapping[str, bytes]],
    *,
    default_consent: bool = True,
) -> tuple[Normalizer, list[Record]]:
    """Rebuild after a restart from the compacted topics' current values (`topic -> key -> value`).

    Returns the normalizer and the records that bring the resolution topics level with it.
    """
    versions = {
        key: Applied(int(doc["version"]), str(doc["event"]))
        for key, doc in ((k, json.loads(v)) for k, v in state.get(NORMALIZE_VERSIONS_TOPIC, {}).items())
    }
    sites = [PlatformSite.model_validate_json(v) for v in state.get(PlatformSite.TOPIC, {}).values()]
    consents = {
        c.company_id: c.granted
        for c in (Consent.model_validate_json(v) for v in state.get(Consent.TOPIC, {}).values())
    }
    quarantined = frozenset(state.get(NORMALIZE_QUARANTINE_TOPIC, {}))
    resolver = Resolver.from_facts(
        [facts_of(ctx, s) for s in sites], consents, resolved_id, default_consent=default_consent
    )
    normalizer = Normalizer(ctx, resolver, versions, quarantined)
    resolutions = {
        k: SiteResolution.model_validate_json(v) for k, v in state.get(SITE_RESOLUTION_TOPIC, {}).items()
    }
    resolved = {
        k: ResolvedSite.model_validate_json(v) for k, v in state.get(RESOLVED_SITES_TOPIC, {}).items()
    }
    return normalizer, normalizer.reconcile(resolutions, resolved)
