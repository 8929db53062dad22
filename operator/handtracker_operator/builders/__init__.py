"""desired(spec, ident): every child kind -> its manifest, or None when it must not exist."""

from __future__ import annotations

from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec
from . import (
    configmap,
    deployment,
    hpa,
    httproute,
    ingress,
    networkpolicy,
    pdb,
    service,
    servicemonitor,
)

# Apply order: the ConfigMap before the pods that read it, the Deployment before its HPA.
KINDS = (
    "ConfigMap",
    "Deployment",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ServiceMonitor",
    "HTTPRoute",
)
# Kinds whose CRDs a cluster may not have: wanted but not served is reported in status,
# never an error loop (see store.Store.served).
OPTIONAL_KINDS = ("ServiceMonitor", "HTTPRoute")


def desired(spec: HandTrackerSpec, ident: Identity) -> dict[str, dict[str, Any] | None]:
    config = configmap.build(spec, ident)
    return {
        "ConfigMap": config,
        "Deployment": deployment.build(spec, ident, configmap.data_hash(config)),
        "Service": service.build(spec, ident),
        "Ingress": ingress.build(spec, ident),
        "HorizontalPodAutoscaler": hpa.build(spec, ident),
        "PodDisruptionBudget": pdb.build(spec, ident),
        "NetworkPolicy": networkpolicy.build(spec, ident),
        "ServiceMonitor": servicemonitor.build(spec, ident),
        "HTTPRoute": httproute.build(spec, ident),
    }
