"""The pure helpers behind the CRD and Gateway watches: which CRDs matter, when one
serves, who wants it, and which HandTrackers a Gateway concerns."""

from __future__ import annotations

from handtracker_operator import gateway, runtime


def crd(established: str = "True", served: bool = True) -> dict:
    return {"spec": {"versions": [{"name": "v1", "served": served}]},
            "status": {"conditions": [{"type": "Established", "status": established}]}}


def tracker(**spec: object) -> dict:
    return {"metadata": {"name": "hands", "namespace": "ns", "uid": "u", "generation": 1},
            "spec": spec}


def test_the_optional_crds_are_known_by_name() -> None:
    assert runtime.OPTIONAL_CRDS == {
        "servicemonitors.monitoring.coreos.com": "ServiceMonitor",
        "httproutes.gateway.networking.k8s.io": "HTTPRoute",
        "gateways.gateway.networking.k8s.io": "Gateway",
    }


def test_a_crd_serves_once_established_with_v1_served() -> None:
    assert runtime.serves_v1(crd())
    assert not runtime.serves_v1(crd(established="False"))
    assert not runtime.serves_v1(crd(served=False))


def test_only_handtrackers_that_ask_for_a_kind_want_it() -> None:
    route = tracker(httpRoute={"enabled": True, "parentRefs": [{"name": "gw"}]})
    assert runtime.wants(route, "HTTPRoute", "img")
    assert not runtime.wants(route, "ServiceMonitor", "img")
    assert not runtime.wants(tracker(), "HTTPRoute", "img")
    # A spec the operator refuses wants nothing (its status already says why).
    assert not runtime.wants(tracker(httpRoute={"enabled": True}), "HTTPRoute", "img")


def test_a_gateway_concerns_the_handtrackers_whose_route_names_it() -> None:
    def route(namespace: str, owner: str, *refs: dict) -> dict:
        return {"metadata": {"name": owner, "namespace": namespace,
                             "labels": {"app.kubernetes.io/instance": owner}},
                "spec": {"parentRefs": list(refs)}}

    routes = [route("ns", "a", {"name": "gw"}),
              route("ns", "b", {"name": "gw", "namespace": "infra"}),
              route("other", "c", {"name": "gw", "namespace": "ns"}),
              route("ns", "d", {"name": "elsewhere"})]
    assert gateway.routes_to(routes, "ns", "gw") == {("ns", "a"), ("other", "c")}
    assert gateway.routes_to(routes, "infra", "gw") == {("ns", "b")}
