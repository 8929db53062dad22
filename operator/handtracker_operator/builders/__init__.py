"""desired(spec, ident): every child kind -> its manifest, or None when it must not exist."""

from __future__ import annotations

from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec
from . import configmap, deployment, hpa, ingress, pdb, service

# Apply order: the ConfigMap before the pods that read it, the Deployment before its HPA.
KINDS = (
    "ConfigMap",
    "Deployment",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
)


def desired(spec: HandTrackerSpec, ident: Identity) -> dict[str, dict[str, Any] | None]:
    config = configmap.build(spec, ident)
    return {
        "ConfigMap": config,
        "Deployment": deployment.build(spec, ident, configmap.data_hash(config)),
        "Service": service.build(spec, ident),
        "Ingress": ingress.build(spec, ident),
        "HorizontalPodAutoscaler": hpa.build(spec, ident),
        "PodDisruptionBudget": pdb.build(spec, ident),
    }
