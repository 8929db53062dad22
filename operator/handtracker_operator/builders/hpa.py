"""HorizontalPodAutoscaler <name> (autoscaling/v2, CPU): only while autoscaling is on."""

from __future__ import annotations

from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec


def build(spec: HandTrackerSpec, ident: Identity) -> dict[str, Any] | None:
    if not spec.autoscaled:
        return None
    auto = spec.autoscaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": ident.metadata(ident.name, "server"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ident.name},
            "minReplicas": auto.min_replicas,
            "maxReplicas": auto.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": auto.target_cpu_utilization,
                        },
                    },
                }
            ],
        },
    }
