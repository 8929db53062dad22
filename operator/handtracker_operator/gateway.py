"""The Gateway API, apart from the HTTPRoute's manifest (builders/httproute.py): whether
the Gateways a route names accepted it, the URL it gives the HandTracker, which Gateways a
HandTracker's route names, and which HandTrackers a Gateway's change concerns."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .conditions import Condition
from .identity import Identity, owner_of
from .spec import HandTrackerSpec, ParentRef

GatewayKey = tuple[str, str]  # (namespace, name)


def parents(spec: HandTrackerSpec, ident: Identity,
            get: Callable[[str, str], Mapping[str, Any] | None]
            ) -> dict[GatewayKey, Mapping[str, Any] | None]:
    """The Gateways the spec's route names, as far as `get(namespace, name)` finds them."""
    keys = {parent_key(ref, ident)[:2] for ref in spec.http_route.parent_refs}
    return {key: get(*key) for key in keys}


def routes_to(routes: Iterable[Mapping[str, Any]], namespace: str, name: str
              ) -> set[tuple[str, str]]:
    """The HandTrackers (namespace, name) whose HTTPRoute names this Gateway as a parent."""
    found = set()
    for route in routes:
        meta = route.get("metadata") or {}
        owner = owner_of(meta.get("labels") or {})
        for ref in (route.get("spec") or {}).get("parentRefs") or ():
            if ref.get("name") == name and ref.get("namespace", meta.get("namespace")) == (
                    namespace) and owner:
                found.add((meta["namespace"], owner))
    return found


def parent_key(spec_ref: ParentRef, ident: Identity) -> tuple[str, str, str]:
    return (spec_ref.namespace or ident.namespace, spec_ref.name, spec_ref.section_name)


def _accepted(route: Mapping[str, Any] | None, ident: Identity
              ) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """(namespace, name, sectionName) of each parent in the route's status -> its
    Accepted condition."""
    found = {}
    for parent in ((route or {}).get("status") or {}).get("parents") or ():
        ref = parent.get("parentRef") or {}
        key = (ref.get("namespace") or ident.namespace, ref.get("name", ""),
               ref.get("sectionName", ""))
        cond = next((c for c in parent.get("conditions") or () if c.get("type") == "Accepted"),
                    None)
        if cond is not None:
            found[key] = cond
    return found


def route_condition(spec: HandTrackerSpec, ident: Identity, route: Mapping[str, Any] | None,
                    crd_missing: bool) -> Condition | None:
    """Whether every Gateway named in spec.httpRoute.parentRefs accepted the route."""
    if not spec.http_route.enabled:
        return None
    if crd_missing:
        return Condition("HTTPRouteAccepted", "False", "GatewayAPIMissing",
                         "the HTTPRoute CRD (gateway.networking.k8s.io/v1) is not installed")
    if route is None:
        return Condition("HTTPRouteAccepted", "Unknown", "Pending", "the HTTPRoute is not made yet")
    accepted = _accepted(route, ident)
    refused, waiting = [], []
    for ref in spec.http_route.parent_refs:
        key = parent_key(ref, ident)
        where = f"Gateway {key[0]}/{key[1]}" + (f" listener {key[2]}" if key[2] else "")
        cond = accepted.get(key)
        if cond is None:
            waiting.append(where)
        elif cond.get("status") != "True":
            refused.append(f"{where}: {cond.get('reason', '')}: {cond.get('message', '')}")
    if refused:
        return Condition("HTTPRouteAccepted", "False", "NotAccepted", "; ".join(refused))
    if waiting:
        return Condition("HTTPRouteAccepted", "Unknown", "Pending",
                         "no answer yet from " + ", ".join(waiting))
    return Condition("HTTPRouteAccepted", "True", "Accepted",
                     f"accepted by {len(spec.http_route.parent_refs)} parent(s)")


def route_url(spec: HandTrackerSpec, ident: Identity, route: Mapping[str, Any] | None,
              gateways: Mapping[tuple[str, str], Mapping[str, Any] | None]) -> str:
    """http://<host>[:<port>]<path> through the first parent that accepted the route: the
    route's first exact hostname, else that Gateway's first address; the port is the
    listener's, when it is not 80."""
    if not spec.http_route.enabled or route is None:
        return ""
    accepted = _accepted(route, ident)
    path = "" if spec.http_route.path == "/" else spec.http_route.path
    for ref in spec.http_route.parent_refs:
        key = parent_key(ref, ident)
        if (accepted.get(key) or {}).get("status") != "True":
            continue
        gateway = gateways.get(key[:2]) or {}
        host = next((h for h in spec.http_route.hostnames if not h.startswith("*")), "")
        if not host:
            addresses = (gateway.get("status") or {}).get("addresses") or ()
            host = next((a.get("value", "") for a in addresses if a.get("value")), "")
        if host:
            port = _listener_port(gateway, key[2])
            return f"http://{host}{f':{port}' if port not in (None, 80) else ''}{path}"
    return ""


def _listener_port(gateway: Mapping[str, Any], section_name: str) -> int | None:
    """The port of the listener a route attaches to: the one its parentRef names, else
    the Gateway's first HTTP listener."""
    listeners = [
        listener for listener in (gateway.get("spec") or {}).get("listeners") or ()
        if not section_name or listener.get("name") == section_name
    ]
    http = [listener for listener in listeners if listener.get("protocol") == "HTTP"]
    chosen = (http or listeners or [{}])[0]
    return chosen.get("port")
