"""Creating (and, for tests, deleting) the matrix's grants as Kafka ACLs.

aiokafka has the CreateAcls and DeleteAcls protocol messages but no admin method for them, so they are
sent through the admin client's request path; every grant is an ALLOW for `User:<principal>` from any
host, literal or prefixed. Creating an ACL that exists is a no-op on the broker, so applying the
matrix again is safe (`python -m services.acls` runs at every set-up).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest

from services.kafka_auth import client_options

from .matrix import Grant, Kind, Op

_RESOURCE: Final = {Kind.TOPIC: 2, Kind.GROUP: 3, Kind.TRANSACTIONAL_ID: 5}
_OPERATION: Final = {Op.READ: 3, Op.WRITE: 4, Op.CREATE: 5, Op.DESCRIBE: 8}
_LITERAL, _PREFIXED, _ALLOW, _ANY = 3, 4, 3, 1


class AclError(RuntimeError):
    pass


def _entries(table: Iterable[Grant]) -> list[tuple[int, str, int, str, str, int, int]]:
    return [
        (
            _RESOURCE[g.resource.kind],
            g.resource.name,
            _PREFIXED if g.resource.prefixed else _LITERAL,
            f"User:{g.principal}",
            "*",
            _OPERATION[op],
            _ALLOW,
        )
        for g in table
        for op in sorted(g.ops)
    ]


async def _send_each(bootstrap: str, requests: list[Any], what: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        for request in requests:
            response = await admin._send_request(request)  # no public method: see the module docstring
            results = getattr(response, "creation_responses", None) or getattr(
                response, "filter_responses", []
            )
            for result in results:
                code, message = result[0], result[1]
                if code:
                    raise AclError(f"{what} failed: error {code}: {message}")
    finally:
        await admin.close()
    return len(requests)


async def create_acls(bootstrap: str, table: Iterable[Grant]) -> int:
    """Create every grant's ACLs; returns how many were sent."""
    return await _send_each(bootstrap, [CreateAclsRequest(*e) for e in _entries(table)], "CreateAcls")


async def delete_acls(bootstrap: str, table: Iterable[Grant]) -> int:
    """Delete exactly the ACLs `create_acls` created for `table` (tests clean up their private copy)."""
    return await _send_each(bootstrap, [DeleteAclsRequest(*e) for e in _entries(table)], "DeleteAcls")
