"""The metric names the services export and the names a PromQL expression reads, so that the alert
rules and the dashboard are checked against the same list (tests/deploy)."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

from services.aggregate.metrics import AggregateMetrics
from services.consumer_lag import NAME as CONSUMER_LAG
from services.deliver.metrics import DeliverMetrics
from services.ingest.metrics import IngestMetrics
from services.normalize.metrics import NormalizeMetrics

# Series that no metrics class declares: Prometheus's own `up`; the gauges `services.web.install_endpoints`
# adds to every service's registry (the broker probe's, and the consumer lag of faust consumers).
OUTSIDE_THE_CLASSES = frozenset({"up", "sx_broker_reachable", CONSUMER_LAG})

_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def exported_metric_names() -> set[str]:
    """Every series name a scrape of ingest, normalize, aggregate or deliver can show, from the metrics
    classes built on a fresh registry. A labelled family has no sample until a label is used, so the names are
    also derived from each family's type (a histogram's `_bucket`, `_sum`, `_count`)."""
    names = set(OUTSIDE_THE_CLASSES)
    for metrics in (IngestMetrics, NormalizeMetrics, AggregateMetrics, DeliverMetrics):
        registry = CollectorRegistry()
        metrics(registry)
        for family in registry.collect():
            names.update(sample.name for sample in family.samples)
            suffixes = _SUFFIXES.get(family.type, ("",))
            names.update(family.name + suffix for suffix in suffixes)
    return names


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_NAME = re.compile(r"\b(sx_[a-z0-9_]+|up)\b")


def promql_metric_names(expr: str) -> set[str]:
    """The series names an expression reads: the `sx_` names, and `up`. Quoted label values are removed
    first, so `job="sx-ingest"` or a regex is never taken for a name; Grafana's `$__rate_interval` and
    other variables have no `sx_` prefix."""
    return set(_NAME.findall(_STRINGS.sub('""', expr)))
