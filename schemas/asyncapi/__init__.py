"""The AsyncAPI 3.0 document of every Kafka topic the exchange reads or writes (``asyncapi.json``).

Generated from the models, like the JSON Schemas, and checked in by ``python -m schemas.export``. One
module per part of the document, as FastStream splits ``specification/asyncapi/v3_0_0/schema/``:

* ``components``: the models' JSON Schemas, adapted to AsyncAPI (``components/schemas``);
* ``headers``: the Kafka headers' schemas, and the state topics' values no model describes;
* ``messages``: payload, key and headers of each kind of message (``components/messages``);
* ``channels``: one per topic, with what it holds; ``bindings``: their Kafka partitions and configs;
* ``operations``: which service sends or receives on which channel;
* ``root``: the document itself, assembled from the above.

Everything here is built from ``schemas`` alone: importing it loads no service code.
"""

from schemas.asyncapi.components import COMPONENT_SCHEMAS
from schemas.asyncapi.root import document, refs

__all__ = ["COMPONENT_SCHEMAS", "document", "refs"]
