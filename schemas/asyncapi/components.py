"""``components/schemas``: the models' JSON Schemas, adapted to AsyncAPI's Schema Object.

The payloads are the pydantic models' JSON Schemas (by alias, validation mode), their ``$defs`` hoisted
into ``components/schemas`` so the document is self-contained. Two adjustments to pydantic's output,
both for AsyncAPI's Schema Object (a superset of JSON Schema draft 07): a ``discriminator`` is the
property *name* (a string), not OpenAPI's ``{propertyName, mapping}``; and ``$defs`` names that pydantic
qualifies with their module when two models share a class name (``schemas__platform__sedex__Address``)
become ``SedexAddress``.

Kept apart because it is the one place that knows pydantic's output: every other part of the document
only points here, with ``ref``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import CoreSchema

from schemas.exchange.accepted import AcceptedEvent
from schemas.exchange.aggregates import (
    AuditQualityMessage,
    CapacityBuildingMessage,
    ForcedLabourMessage,
    ForecastMessage,
    ForecastStateRecord,
    IssuePrevalenceMessage,
    LabourRelationsMessage,
    NoiseDrawRecord,
    ReleaseMarker,
    ReleaseStatePartRecord,
    ReleaseStateRecord,
    RemediationMessage,
    SiteAffiliationRecord,
)
from schemas.exchange.dead_letter import NormalizeDeadLetter
from schemas.exchange.deliver import DeliverDeadLetter, DeliveryRecord
from schemas.platform.amfori import AMFORI_EVENT
from schemas.platform.sedex import SEDEX_EVENT
from schemas.shared.models import Audit, Consent, CorrectiveAction, PlatformSite, Training
from schemas.shared.resolution import ResolvedSite, SiteResolution

COMPONENT_SCHEMAS: Final = "#/components/schemas/"


class NoFieldTitles(GenerateJsonSchema):
    """Pydantic's JSON Schemas without field titles: titles derived from aliases ("Fltags") only add
    noise to the diffs. Used for every generated schema, the JSON Schema files of schemas.export too."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False


# --- payload schemas ----------------------------------------------------------------------------------

_MODELS: Final[tuple[tuple[str, TypeAdapter[Any]], ...]] = (
    ("SedexEvent", SEDEX_EVENT),
    ("AmforiEvent", AMFORI_EVENT),
    ("AcceptedEvent", TypeAdapter(AcceptedEvent)),
    *((m.__name__, TypeAdapter(m)) for m in (PlatformSite, Audit, CorrectiveAction, Consent, Training)),
    ("SiteResolution", TypeAdapter(SiteResolution)),
    ("ResolvedSite", TypeAdapter(ResolvedSite)),
    ("NormalizeDeadLetter", TypeAdapter(NormalizeDeadLetter)),
    ("IssuePrevalenceMessage", TypeAdapter(IssuePrevalenceMessage)),
    ("ForcedLabourMessage", TypeAdapter(ForcedLabourMessage)),
    ("LabourRelationsMessage", TypeAdapter(LabourRelationsMessage)),
    ("AuditQualityMessage", TypeAdapter(AuditQualityMessage)),
    ("RemediationMessage", TypeAdapter(RemediationMessage)),
    ("CapacityBuildingMessage", TypeAdapter(CapacityBuildingMessage)),
    ("ReleaseStateRecord", TypeAdapter(ReleaseStateRecord)),
    ("ReleaseStatePartRecord", TypeAdapter(ReleaseStatePartRecord)),
    ("ReleaseMarker", TypeAdapter(ReleaseMarker)),
    ("SiteAffiliationRecord", TypeAdapter(SiteAffiliationRecord)),
    ("NoiseDrawRecord", TypeAdapter(NoiseDrawRecord)),
    ("ForecastMessage", TypeAdapter(ForecastMessage)),
    ("ForecastStateRecord", TypeAdapter(ForecastStateRecord)),
    ("DeliveryRecord", TypeAdapter(DeliveryRecord)),
    ("DeliverDeadLetter", TypeAdapter(DeliverDeadLetter)),
)
"""Component name -> the adapter whose JSON Schema it is. The unions (platform events) are inline
schemas in pydantic's output; the models are ``$defs`` already."""

_COMPONENT_NAME: Final = re.compile(r"^[A-Za-z0-9.\-_]+$")


def _qualified_name(name: str) -> str:
    """``schemas__platform__sedex__Address`` -> ``SedexAddress``; ``schemas__shared__models__X`` ->
    ``SharedX``."""
    *modules, cls = name.split("__")
    prefix = {"models": "Shared"}.get(modules[-1], modules[-1].capitalize())
    return prefix + cls


def _adapt(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy with refs renamed and discriminators reduced to the property name."""
    if isinstance(node, list):
        return [_adapt(item, renames) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENT_SCHEMAS):
            name = value.removeprefix(COMPONENT_SCHEMAS)
            out[key] = COMPONENT_SCHEMAS + renames.get(name, name)
        elif key == "discriminator" and isinstance(value, dict):
            out[key] = value["propertyName"]
        else:
            out[key] = _adapt(value, renames)
    return out


def model_schemas() -> dict[str, Any]:
    """``components/schemas`` for every model: one namespace, refs to ``#/components/schemas/...``."""
    mode: JsonSchemaMode = "validation"
    tops, defs = TypeAdapter.json_schemas(
        [(name, mode, adapter) for name, adapter in _MODELS],
        by_alias=True,
        ref_template=COMPONENT_SCHEMAS + "{model}",
        schema_generator=NoFieldTitles,
    )
    found: dict[str, Any] = dict(defs.get("$defs", {}))
    for (name, _), top in tops.items():
        if top != {"$ref": COMPONENT_SCHEMAS + name}:  # an inline union: give it a name of its own
            if name in found:
                raise ValueError(f"component schema {name!r} generated twice")
            found[name] = top
    renames = {name: _qualified_name(name) for name in found if "__" in name}
    schemas: dict[str, Any] = {}
    for name, schema in found.items():
        new = renames.get(name, name)
        if new in schemas or (new != name and new in found):
            raise ValueError(f"component schema name {new!r} is ambiguous")
        if not _COMPONENT_NAME.match(new):
            raise ValueError(f"{new!r} is not a valid AsyncAPI component name")
        schemas[new] = _adapt(schema, renames)
    return schemas


def ref(component: str) -> dict[str, str]:
    return {"$ref": COMPONENT_SCHEMAS + component}


def nullable(component: str) -> dict[str, Any]:
    return {"anyOf": [ref(component), {"type": "null"}]}
