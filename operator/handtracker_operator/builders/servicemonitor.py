"""ServiceMonitor <name> (Prometheus Operator): only while spec.monitoring.serviceMonitor
is enabled. Scrapes /metrics through the Service's http port."""

from __future__ import annotations

from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec


def build(spec: HandTrackerSpec, ident: Identity) -> dict[str, Any] | None:
    monitor = spec.service_monitor
    if not monitor.enabled:
        return None
    metadata = ident.metadata(ident.name, "monitoring")
    # Ours win over the user's: the operator finds its children by these labels.
    metadata["labels"] = {**monitor.labels, **metadata["labels"]}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": ident.selector},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": monitor.interval}],
        },
    }
