"""NetworkPolicy <name>: only while spec.networkPolicy.enabled.

Admits traffic to the pods' HTTP port only (the API, the UI and /metrics share it), from
the peers the spec names, or from this namespace's pods when it names none; and from
Prometheus while a ServiceMonitor is enabled.
"""

from __future__ import annotations

from typing import Any

from ..identity import CONTAINER_PORT, INSTANCE_LABEL, NAME_LABEL, Identity
from ..spec import HandTrackerSpec

# This namespace's pods: a NetworkPolicyPeer with an empty pod selector.
SAME_NAMESPACE = {"podSelector": {}}


def build(spec: HandTrackerSpec, ident: Identity) -> dict[str, Any] | None:
    policy = spec.network_policy
    if not policy.enabled:
        return None
    port = [{"protocol": "TCP", "port": CONTAINER_PORT}]
    rules = [{"from": [dict(p) for p in policy.peers] or [SAME_NAMESPACE], "ports": port}]
    if spec.service_monitor.enabled and policy.monitoring_peers:
        rules.append({"from": [dict(p) for p in policy.monitoring_peers], "ports": port})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": ident.metadata(ident.name, "server"),
        "spec": {
            # The canary's pods too: they are this HandTracker's, under their own instance.
            "podSelector": {
                "matchLabels": {NAME_LABEL: ident.selector[NAME_LABEL]},
                "matchExpressions": [{"key": INSTANCE_LABEL, "operator": "In",
                                      "values": [ident.name, ident.canary("").instance]}],
            },
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }
