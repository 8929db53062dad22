"""HTTPRoute <name> (Gateway API): only while spec.httpRoute.enabled."""

from __future__ import annotations

from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec


def build(spec: HandTrackerSpec, ident: Identity) -> dict[str, Any] | None:
    route = spec.http_route
    if not route.enabled:
        return None
    metadata = ident.metadata(ident.name, "route", route.annotations)
    parents = []
    for ref in route.parent_refs:
        parent: dict[str, Any] = {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                  "name": ref.name}
        if ref.namespace:
            parent["namespace"] = ref.namespace
        if ref.section_name:
            parent["sectionName"] = ref.section_name
        parents.append(parent)
    body: dict[str, Any] = {
        "parentRefs": parents,
        "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
            "backendRefs": [{"name": ident.name, "port": spec.service.port}],
        }],
    }
    if route.hostnames:
        body["hostnames"] = list(route.hostnames)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": body,
    }
