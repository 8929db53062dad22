"""The pure helpers behind the CRD watch: which CRDs matter, when one serves, who wants it."""

from __future__ import annotations

from handtracker_operator import handlers


def crd(established: str = "True", served: bool = True) -> dict:
    return {"spec": {"versions": [{"name": "v1", "served": served}]},
            "status": {"conditions": [{"type": "Established", "status": established}]}}


def tracker(**spec: object) -> dict:
    return {"metadata": {"name": "hands", "namespace": "ns", "uid": "u", "generation": 1},
            "spec": spec}


def test_the_optional_crds_are_known_by_name() -> None:
    assert handlers.OPTIONAL_CRDS == {
        "servicemonitors.monitoring.coreos.com": "ServiceMonitor",
        "httproutes.gateway.networking.k8s.io": "HTTPRoute",
        "gateways.gateway.networking.k8s.io": "Gateway",
    }


def test_a_crd_serves_once_established_with_v1_served() -> None:
    assert handlers._serves_v1(crd())
    assert not handlers._serves_v1(crd(established="False"))
    assert not handlers._serves_v1(crd(served=False))


def test_only_handtrackers_that_ask_for_a_kind_want_it() -> None:
    route = tracker(httpRoute={"enabled": True, "parentRefs": [{"name": "gw"}]})
    assert handlers._wants(route, "HTTPRoute", "img")
    assert not handlers._wants(route, "ServiceMonitor", "img")
    assert not handlers._wants(tracker(), "HTTPRoute", "img")
    # A spec the operator refuses wants nothing (its status already says why).
    assert not handlers._wants(tracker(httpRoute={"enabled": True}), "HTTPRoute", "img")
