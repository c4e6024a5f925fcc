"""The access matrix: every grant of every principal, declared once (least privilege).

Contract principle 3: each platform sees only what is its own, plus the shared aggregates. So a
platform writes only its own changes topic and reads only the public aggregate topics; each service
reads what it consumes and writes what it produces; nobody but the exchange's services reads the
internal topics (accepted events, pseudonymised records, the release log), and no one but aggregate
writes a public aggregate. Consumer groups and transactional ids are resources too. `sx-admin` is the
broker's only super user: set-up and operator commands (topics, ACLs, repair, key rotation), never a
running service.

Everything is named from the registries (`schemas.topics`, the shared records' topics, the tables),
so a topic added there is covered here or, having no grant, denied to everyone. `grants(prefix)` puts
every resource name under a prefix: the ACL-matrix test grants and checks a private copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from schemas.exchange.aggregates import RELEASE_STATE_TOPIC
from schemas.topics import (
    ACCEPTED_TOPIC,
    AMFORI_TOPIC,
    INGEST_DLQ_TOPIC,
    INGEST_SEEN_TOPIC,
    SEDEX_TOPIC,
)

ADMIN: Final = "sx-admin"
PLATFORMS: Final = ("sedex", "amfori")
SERVICES: Final = ("sx-ingest", "sx-normalize", "sx-aggregate", "sx-deliver")
PRINCIPALS: Final = (*PLATFORMS, *SERVICES)
"""The principals the matrix governs (sx-admin is a super user, outside it)."""

PUBLIC_PREFIX: Final = "exchange.aggregates."  # the public tables (and forecasts, when published there)
NORMALIZED_PREFIX: Final = "exchange.normalized."
NORMALIZE_PREFIX: Final = "exchange.normalize."
AGGREGATE_PREFIX: Final = "exchange.aggregate."
DELIVER_PREFIX: Final = "exchange.deliver."


class Kind(StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    TRANSACTIONAL_ID = "transactional-id"


class Op(StrEnum):
    READ = "read"
    WRITE = "write"
    CREATE = "create"
    DESCRIBE = "describe"


@dataclass(frozen=True, slots=True)
class Resource:
    kind: Kind
    name: str
    prefixed: bool = False

    def matches(self, kind: Kind, name: str) -> bool:
        if kind is not self.kind:
            return False
        return name.startswith(self.name) if self.prefixed else name == self.name

    def label(self) -> str:
        return f"{self.kind} `{self.name}{'*' if self.prefixed else ''}`"


@dataclass(frozen=True, slots=True)
class Grant:
    principal: str
    resource: Resource
    ops: frozenset[Op]
    why: str


def _ops(*ops: Op) -> frozenset[Op]:
    return frozenset(ops)


READS = _ops(Op.READ, Op.DESCRIBE)
WRITES = _ops(Op.WRITE, Op.DESCRIBE)
PUBLISHES = _ops(Op.WRITE, Op.CREATE, Op.DESCRIBE)
OWNS = _ops(Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE)  # a service's own state and output topics


def grants(prefix: str = "") -> tuple[Grant, ...]:
    """Every grant, resource names under `prefix` (empty in production)."""

    def topic(name: str, prefixed: bool = False) -> Resource:
        return Resource(Kind.TOPIC, prefix + name, prefixed)

    def group(name: str) -> Resource:
        return Resource(Kind.GROUP, prefix + name, prefixed=True)

    out: list[Grant] = []
    for platform, changes in (("sedex", SEDEX_TOPIC), ("amfori", AMFORI_TOPIC)):
        out += [
            Grant(platform, topic(changes), WRITES, "publishes its own change events"),
            Grant(platform, topic(PUBLIC_PREFIX, True), READS, "subscribes to the shared aggregates"),
            Grant(platform, group(f"{platform}."), _ops(Op.READ), "its own consumer groups"),
        ]
    for service in SERVICES:
        out += [
            Grant(service, group(service), _ops(Op.READ), "its consumer groups (faust's, the lease's)"),
            Grant(
                service, topic(f"{service}-", True), OWNS, "faust's own topics (the assignor's leader topic)"
            ),
        ]
    out += [
        Grant("sx-ingest", topic(SEDEX_TOPIC), READS, "consumes Sedex's changes"),
        Grant("sx-ingest", topic(AMFORI_TOPIC), READS, "consumes amfori's changes"),
        Grant("sx-ingest", topic(ACCEPTED_TOPIC), WRITES, "forwards accepted events"),
        Grant("sx-ingest", topic(INGEST_DLQ_TOPIC), WRITES, "dead-letters rejected messages"),
        Grant("sx-ingest", topic(INGEST_SEEN_TOPIC), OWNS, "its duplicate-detection state"),
        Grant(
            "sx-ingest",
            Resource(Kind.TRANSACTIONAL_ID, prefix + "sx-ingest-", prefixed=True),
            WRITES,
            "a batch's outputs and offsets in one transaction (one id per instance)",
        ),
        Grant("sx-normalize", topic(ACCEPTED_TOPIC), READS, "consumes accepted events"),
        Grant("sx-normalize", topic(NORMALIZED_PREFIX, True), OWNS, "writes the pseudonymised records"),
        Grant("sx-normalize", topic(NORMALIZE_PREFIX, True), OWNS, "its versions, quarantine and DLQ"),
        Grant("sx-aggregate", topic(NORMALIZED_PREFIX, True), READS, "follows the pseudonymised records"),
        Grant("sx-aggregate", topic(AGGREGATE_PREFIX, True), OWNS, "its release log and lease"),
        Grant(
            "sx-aggregate", topic(PUBLIC_PREFIX, True), _ops(Op.WRITE, Op.CREATE, Op.DESCRIBE), "publishes"
        ),
        Grant(
            "sx-aggregate",
            Resource(Kind.TRANSACTIONAL_ID, prefix + "sx-aggregate-releases"),
            WRITES,
            "releases in transactions, fencing older leaders",
        ),
        Grant("sx-deliver", topic(PUBLIC_PREFIX, True), READS, "delivers the public aggregates"),
        Grant("sx-deliver", topic(RELEASE_STATE_TOPIC), READS, "learns when a release has committed"),
        Grant("sx-deliver", topic(DELIVER_PREFIX, True), OWNS, "its delivery state and DLQ"),
        Grant(
            "sx-deliver",
            Resource(Kind.TRANSACTIONAL_ID, prefix + "sx-deliver-ledger"),
            WRITES,
            "writes its state and dead letters together, in transactions",
        ),
    ]
    return tuple(out)


GRANTS: Final = grants()


def allowed(table: Iterable[Grant], principal: str, op: Op, kind: Kind, name: str) -> bool:
    """Whether the table lets `principal` do `op` on the resource. Kafka's implications are applied:
    READ and WRITE imply DESCRIBE."""
    for g in table:
        if g.principal != principal or not g.resource.matches(kind, name):
            continue
        if op in g.ops or (op is Op.DESCRIBE and g.ops & {Op.READ, Op.WRITE}):
            return True
    return False


def markdown(table: Iterable[Grant] = GRANTS) -> str:
    """The matrix as a document: one row per grant."""
    lines = ["| principal | resource | operations | why |", "| --- | --- | --- | --- |"]
    for g in table:
        ops = ", ".join(sorted(g.ops))
        lines.append(f"| `{g.principal}` | {g.resource.label()} | {ops} | {g.why} |")
    return "\n".join(lines) + "\n"
