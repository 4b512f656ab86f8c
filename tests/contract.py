"""The metric names the exporter defines, which rules and dashboards may use."""

import exporter.collector  # noqa: F401 - imports every module that defines metrics.
from exporter.metrics import registered

# Names as they appear in /metrics and in PromQL: counters keep their _total.
EXPORTER_METRICS = frozenset(spec.name for spec in registered())

# Series Prometheus itself writes for every scrape target.
PROMETHEUS_SERIES = frozenset({"up"})
