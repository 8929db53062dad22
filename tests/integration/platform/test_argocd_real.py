"""The Argo CD health check on HandTracker bodies written by the real operator (on the
kwok nodes), read back with kubectl and run in Lua 5.1 and 5.4."""

from __future__ import annotations

from typing import Any

from tests.fixtures.argocd import INTERPRETERS, Health, health
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, example, get, wait_condition
from tests.support.manifests import handtracker
from tests.support.waiting import eventually


def tracker(name: str, **spec: Any) -> dict[str, Any]:
    return handtracker(name, **{"replicas": 1, **spec})


def assert_health(kubectl: Kubectl, namespace: str, name: str, status: str,
                  message_starts: str) -> None:
    obj = get(kubectl, namespace, "ht", name)
    assert obj is not None
    for lua in INTERPRETERS:
        got = health(obj, lua)
        assert got.status == status and got.message.startswith(message_starts), (lua, got, obj)


def test_health_of_bodies_the_operator_wrote(
    operator: Any, kubectl: Kubectl, namespace: str
) -> None:
    apply(kubectl, namespace, tracker("ready"))
    apply(kubectl, namespace, example("suspended"))
    apply(kubectl, namespace, tracker("invalid", resources={
        "requests": {"cpu": "2", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}))
    # No node carries this label: the pod stays Pending, Unschedulable.
    apply(kubectl, namespace, tracker("unschedulable", nodeSelector={"handtracking.dev/none": "x"}))

    wait_condition(kubectl, namespace, "ready", timeout=120)
    assert_health(kubectl, namespace, "ready", "Healthy", "Available: ")
    wait_condition(kubectl, namespace, "hands-paused", status="False", reason="Suspended")
    assert_health(kubectl, namespace, "hands-paused", "Suspended", "Suspended: ")
    wait_condition(kubectl, namespace, "invalid", status="False", reason="InvalidSpec")
    assert_health(kubectl, namespace, "invalid", "Degraded", "InvalidSpec: ")
    wait_condition(kubectl, namespace, "unschedulable", status="False", reason="Unschedulable",
                   timeout=120)
    assert_health(kubectl, namespace, "unschedulable", "Degraded", "Unschedulable: ")

    # A new generation the operator has not observed: stop it, change the spec.
    operator.stop()
    kubectl("patch", "ht", "ready", "-n", namespace, "--type=merge",
            "-p", '{"spec": {"model": {"maxHands": 1}}}')
    assert_health(kubectl, namespace, "ready", "Progressing",
                  "Waiting for the operator to observe generation 2")
    operator.start()
    wait_condition(kubectl, namespace, "ready", timeout=120)

    def healthy() -> bool:
        obj = get(kubectl, namespace, "ht", "ready")
        return health(obj or {}) == Health("Healthy", "Available: 1 of 1 replicas available")

    eventually(healthy, timeout=60, message="Healthy again once generation 2 is observed")
