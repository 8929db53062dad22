"""A canary's life through the reconciler, against the in-memory Kubernetes of
test_reconciler: the ready gate, the route's weights, promotion, rollback with its drain,
the analysis's abort, and a user's own parts of the route surviving."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from handtracker_operator import identity, rollout
from handtracker_operator.metrics import Metrics
from handtracker_operator.reconcile import Reconciler
from handtracker_operator.store import Store

from tests.unit.operator.test_reconciler import FakeKube

ROUTE = {"enabled": True, "parentRefs": [{"name": "gw"}]}
SPEC = {"image": "img:1", "replicas": 2, "httpRoute": ROUTE}
CANARY = {"weight": 25, "image": "img:2"}
HEALTHY = """\
handtracker_http_requests_total{route="/v1/landmarks",method="POST",code="200"} 40
"""
FAILING = """\
handtracker_http_requests_total{route="/v1/landmarks",method="POST",code="200"} 20
handtracker_http_requests_total{route="/v1/landmarks",method="POST",code="503"} 20
"""


class World:
    def __init__(self) -> None:
        store = Store()
        self.kube = FakeKube(store)
        self.page = HEALTHY
        self.scraped: list[str] = []
        self.reconciler = Reconciler(self.kube, store, Metrics(), "img:default",  # type: ignore[arg-type]
                                     read_metrics=self._metrics)

    def _metrics(self, ip: str) -> str:
        self.scraped.append(ip)
        return self.page

    def run(self) -> Any:
        return self.reconciler.run("ns", "hands")

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.kube.objects.get((kind, "ns", name))

    def status(self) -> dict[str, Any]:
        return self.get(identity.KIND, "hands")["status"]

    def condition(self, type_: str) -> dict[str, Any] | None:
        return next((c for c in self.status()["conditions"] if c["type"] == type_), None)

    def weights(self) -> dict[str, int]:
        rule = self.get("HTTPRoute", "hands")["spec"]["rules"][0]
        return {ref["name"]: ref.get("weight", 1) for ref in rule["backendRefs"]}

    def set_spec(self, spec: dict[str, Any]) -> None:
        def change(ht: dict[str, Any]) -> None:
            ht["spec"] = copy.deepcopy(spec)
            ht["metadata"]["generation"] += 1
        self.kube.edit(identity.KIND, "hands", change)

    def available(self, name: str, replicas: int) -> None:
        """The Deployment controller's view: all replicas of the current template up."""
        def change(dep: dict[str, Any]) -> None:
            dep["status"] = {"observedGeneration": dep["metadata"].get("generation", 0),
                             "replicas": replicas, "updatedReplicas": replicas,
                             "readyReplicas": replicas, "availableReplicas": replicas}
        self.kube.edit("Deployment", name, change)

    def canary_pod(self) -> None:
        self.kube._stored("Pod", {"metadata": {
            "name": "hands-canary-1", "namespace": "ns",
            "labels": {identity.INSTANCE_LABEL: "hands-canary",
                       identity.OWNER_LABEL: "hands"}},
            "status": {"podIP": "10.88.0.9", "phase": "Running"}})


@pytest.fixture
def world() -> World:
    w = World()
    w.kube.create_handtracker("hands", {**SPEC, "canary": CANARY})
    return w


def test_the_canary_gets_traffic_only_once_it_has_an_available_replica(world: World) -> None:
    world.run()
    dep = world.get("Deployment", "hands-canary")
    assert dep["spec"]["selector"]["matchLabels"][identity.INSTANCE_LABEL] == "hands-canary"
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "img:2"
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["minReadySeconds"] == 5  # the Gateway knows its pods by then
    assert "minReadySeconds" not in world.get("Deployment", "hands")["spec"]
    assert world.get("Service", "hands-canary")["spec"]["selector"] == (
        dep["spec"]["selector"]["matchLabels"])
    assert world.get("ConfigMap", "hands-canary-config") is not None
    assert world.weights() == {"hands": 1}
    cond = world.condition("CanaryReady")
    assert (cond["status"], cond["reason"]) == ("False", "CanaryNotReady")
    assert world.status()["canary"]["effectiveWeight"] == 0

    world.available("hands-canary", 1)
    world.run()
    assert world.weights() == {"hands": 75, "hands-canary": 25}
    cond = world.condition("CanaryReady")
    assert (cond["status"], cond["reason"]) == ("True", "Serving")
    canary = world.status()["canary"]
    assert (canary["weight"], canary["effectiveWeight"], canary["readyReplicas"]) == (25, 25, 1)
    assert canary["revision"] != world.status()["revision"]
    assert "CanaryServing" in {e.reason for e in world.kube.events}

    world.kube.writes.clear()
    world.run()
    assert world.kube.writes == []  # at rest: no writes


def test_rollback_takes_the_weight_away_first_and_deletes_after_the_drain(
        world: World) -> None:
    world.run()
    world.available("hands-canary", 1)
    world.available("hands", 2)
    world.run()
    world.set_spec(SPEC)  # spec.canary deleted
    outcome = world.run()
    assert world.weights() == {"hands": 1}
    assert world.get("Deployment", "hands-canary") is not None  # still draining
    assert world.status()["canary"]["phase"] == rollout.DRAINING
    assert world.condition("CanaryReady")["reason"] == "Draining"
    assert outcome.requeue_after == pytest.approx(rollout.DRAIN_SECONDS, abs=1)

    since = "2026-01-01T00:00:00Z"  # the drain began long ago
    world.kube.edit(identity.KIND, "hands",
                    lambda ht: ht["status"]["canary"].update(drainingSince=since))
    world.run()
    for kind, name in (("Deployment", "hands-canary"), ("Service", "hands-canary"),
                       ("ConfigMap", "hands-canary-config")):
        assert world.get(kind, name) is None, name
    assert world.status().get("canary") is None
    assert world.condition("CanaryReady") is None


def test_promotion_keeps_the_share_until_the_stable_pods_are_new(world: World) -> None:
    world.run()
    world.available("hands-canary", 1)
    world.available("hands", 2)
    world.run()
    revision = world.status()["canary"]["revision"]
    world.set_spec({**SPEC, "image": "img:2"})  # the canary's fields copied, canary deleted
    world.run()
    assert world.status()["canary"]["revision"] == revision  # still what its pods run
    stable = world.get("Deployment", "hands")
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == "img:2"
    assert world.weights() == {"hands": 75, "hands-canary": 25}
    assert world.status()["canary"]["phase"] == rollout.PROMOTING
    assert world.get("Deployment", "hands-canary")["spec"]["template"]  # left as it was

    world.available("hands", 2)  # the new stable pods are up
    world.run()
    assert world.weights() == {"hands": 1}
    assert world.status()["canary"]["phase"] == rollout.DRAINING


def test_a_breached_analysis_sets_the_weight_to_zero_until_the_canary_changes(
        world: World) -> None:
    world.set_spec({**SPEC, "canary": {**CANARY, "analysis": {"minRequests": 20,
                                                              "maxErrorRatio": 0.1}}})
    world.run()
    world.available("hands-canary", 1)
    world.canary_pod()
    outcome = world.run()
    assert world.scraped == ["10.88.0.9"]
    assert world.weights() == {"hands": 75, "hands-canary": 25}
    assert outcome.requeue_after == 10

    world.page = FAILING
    world.run()
    assert world.weights() == {"hands": 1}
    cond = world.condition("CanaryReady")
    assert (cond["status"], cond["reason"]) == ("False", "CanaryAborted")
    assert "error ratio 0.500" in cond["message"] and "over 40 requests" in cond["message"]
    warnings = [e for e in world.kube.events if e.type == "Warning"]
    assert [e.reason for e in warnings] == ["CanaryAborted"]

    world.page = HEALTHY  # the abort holds without looking again
    world.scraped.clear()
    world.run()
    assert world.scraped == [] and world.weights() == {"hands": 1}

    world.set_spec({**SPEC, "canary": {**CANARY, "replicas": 2,
                                       "analysis": {"minRequests": 20}}})
    world.run()  # a fixed canary: a new attempt
    assert world.condition("CanaryReady")["reason"] != "CanaryAborted"


def test_a_users_filter_and_rule_in_the_route_survive(world: World) -> None:
    world.run()
    header = {"type": "RequestHeaderModifier",
              "requestHeaderModifier": {"set": [{"name": "X-Team", "value": "vision"}]}}
    extra = {"matches": [{"path": {"type": "PathPrefix", "value": "/legacy"}}],
             "backendRefs": [{"name": "legacy", "port": 80}]}

    def edit(route: dict[str, Any]) -> None:
        route["spec"]["rules"][0]["filters"] = [header]
        route["spec"]["rules"].append(extra)
    world.kube.edit("HTTPRoute", "hands", edit)
    world.available("hands-canary", 1)
    world.run()
    rules = world.get("HTTPRoute", "hands")["spec"]["rules"]
    assert rules[0]["filters"] == [header]
    assert rules[1] == extra
    assert world.weights() == {"hands": 75, "hands-canary": 25}
