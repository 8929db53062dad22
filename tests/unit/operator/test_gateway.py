"""The URL a HandTracker reports through a Gateway: host from the route or the Gateway's
address, port from the listener the route attaches to."""

from __future__ import annotations

from typing import Any

import pytest
from handtracker_operator import gateway, spec
from handtracker_operator.identity import Identity

IDENT = Identity("hands", "ns", "uid-1", 1, "1")


def _accepted(section: str = "") -> dict[str, Any]:
    ref = {"name": "gw", **({"sectionName": section} if section else {})}
    return {"status": {"parents": [{"parentRef": ref, "conditions": [
        {"type": "Accepted", "status": "True", "reason": "Accepted"}]}]}}


def _gateway(*listeners: tuple[str, int, str]) -> dict[str, Any]:
    return {"spec": {"listeners": [{"name": n, "port": p, "protocol": proto}
                                   for n, p, proto in listeners]},
            "status": {"addresses": [{"type": "IPAddress", "value": "10.96.0.9"}]}}


@pytest.mark.parametrize(("listeners", "section", "url"), [
    ((("http", 80, "HTTP"),), "", "http://10.96.0.9"),
    ((("http", 8000, "HTTP"),), "", "http://10.96.0.9:8000"),
    ((("tls", 443, "HTTPS"), ("web", 8080, "HTTP")), "", "http://10.96.0.9:8080"),
    ((("a", 8000, "HTTP"), ("b", 9000, "HTTP")), "b", "http://10.96.0.9:9000"),
    ((), "", "http://10.96.0.9"),
])
def test_the_url_carries_the_listeners_port_unless_it_is_80(
    listeners: tuple[tuple[str, int, str], ...], section: str, url: str
) -> None:
    ref = {"name": "gw", **({"sectionName": section} if section else {})}
    parsed = spec.parse({"httpRoute": {"enabled": True, "parentRefs": [ref]}})
    gateways = {("ns", "gw"): _gateway(*listeners)}
    assert gateway.route_url(parsed, IDENT, _accepted(section), gateways) == url


def test_a_route_hostname_goes_through_the_listeners_port_too() -> None:
    parsed = spec.parse({"httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}],
                                       "hostnames": ["hands.example.com"], "path": "/api"}})
    gateways = {("ns", "gw"): _gateway(("http", 8000, "HTTP"))}
    assert (gateway.route_url(parsed, IDENT, _accepted(), gateways)
            == "http://hands.example.com:8000/api")
