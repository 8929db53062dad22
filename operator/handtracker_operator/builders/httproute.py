"""HTTPRoute <name> (Gateway API): only while spec.httpRoute.enabled.

The route's rules are an atomic list, so server-side apply cannot share them field by
field: the operator writes its own rule (named RULE_NAME) and carries over, unchanged,
every rule it did not write and every field of its rule it does not set (a user's
filters, timeouts). It sets the rule's matches and backends: the stable Service, and the
canary's Service with its share while the canary gets traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec

RULE_NAME = "handtracker"


def build(spec: HandTrackerSpec, ident: Identity, canary_weight: int = 0,
          live: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
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
    canary = ident.canary("").instance
    backends: list[dict[str, Any]] = [{"name": ident.name, "port": spec.service.port}]
    if canary_weight > 0:
        backends[0]["weight"] = 100 - canary_weight
        backends.append({"name": canary, "port": spec.service.port, "weight": canary_weight})
    ours = {
        "name": RULE_NAME,
        "matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
        "backendRefs": backends,
    }
    body: dict[str, Any] = {
        "parentRefs": parents,
        "rules": _with_others(ours, live, {ident.name, canary}),
    }
    if route.hostnames:
        body["hostnames"] = list(route.hostnames)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": body,
    }


def _with_others(ours: dict[str, Any], live: Mapping[str, Any] | None,
                 services: set[str]) -> list[dict[str, Any]]:
    """Our rule first (over the live copy of it, keeping the fields we do not set), then
    the live route's other rules as they are."""
    merged: dict[str, Any] = ours
    others = []
    for rule in ((live or {}).get("spec") or {}).get("rules") or ():
        if _is_ours(rule, services):
            merged = {**rule, **ours}
        else:
            others.append(rule)
    return [merged, *others]


def _is_ours(rule: Mapping[str, Any], services: set[str]) -> bool:
    """Named by us; or, as written before rules had names, unnamed and sending only to
    our Services."""
    if rule.get("name"):
        return rule["name"] == RULE_NAME
    names = {ref.get("name") for ref in rule.get("backendRefs") or ()}
    return bool(names) and names <= services
