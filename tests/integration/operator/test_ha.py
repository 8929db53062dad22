"""Two operator replicas with kopf peering: one reconciles, the other stands by, and the
standby finishes the work when the active one is killed."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import (
    PEERING_CRDS,
    OperatorProcess,
    apply,
    children,
    example,
    wait_condition,
)
from tests.support.waiting import eventually

TRACKERS = 24
WRITES = ("PATCH", "POST", "DELETE", "PUT")
TAKEOVER_BUDGET = 15.0


def _tracker(name: str) -> dict[str, Any]:
    # One small pod each, so that the fake nodes hold them all.
    return {**example("minimal"), "metadata": {"name": name},
            "spec": {"replicas": 1, "resources": {"requests": {"cpu": "10m"}}}}


def _writes(process: OperatorProcess) -> float:
    return sum(process.metric("handtracker_operator_api_requests_total", verb=v) for v in WRITES)


def _peered(namespace: str) -> tuple[str, ...]:
    return ("--namespace", namespace, "--peering", "handtracker")


def _uids(kubectl: Kubectl, namespace: str, name: str) -> dict[str, str]:
    return {kind: obj["metadata"]["uid"]
            for kind, obj in children(kubectl, namespace, name).items()}


def _deployments(kubectl: Kubectl, namespace: str) -> int:
    return len(kubectl.json("get", "deployments", "-n", namespace)["items"])


@pytest.mark.timeout(300)
def test_standby_takes_over_when_the_active_replica_is_killed(
    cluster: Any, kubectl: Kubectl, namespace: str, operator: OperatorProcess,
    peering_crds: None, start_operator: Any,
) -> None:
    operator.stop()  # the session's standalone operator must not do the replicas' work
    # Slow enough that the kill comes halfway through.
    args = (*_peered(namespace), "--api-qps", "6", "--api-burst", "6")
    first = start_operator(cluster, *args)
    eventually(lambda: first.metric("handtracker_operator_active") == 1, timeout=30,
               message="the first replica becomes active")
    second = start_operator(cluster, *args)
    peering = kubectl.json("get", "kopfpeering", "handtracker", "-n", namespace)
    eventually(lambda: len(kubectl.json("get", "kopfpeering", "handtracker", "-n",
                                        namespace).get("status") or {}) == 2,
               timeout=30, message="both replicas keep a keep-alive")
    assert peering["metadata"]["labels"]["app.kubernetes.io/managed-by"] == (
        "handtracker-operator")

    # Converge half of the HandTrackers with the first replica active.
    for i in range(TRACKERS // 2):
        apply(kubectl, namespace, _tracker(f"ht-{i}"))
    for i in range(TRACKERS // 2):
        wait_condition(kubectl, namespace, f"ht-{i}", timeout=90)
    before = {f"ht-{i}": _uids(kubectl, namespace, f"ht-{i}") for i in range(TRACKERS // 2)}
    assert second.metric("handtracker_operator_active") == 0
    assert _writes(second) == 0, "the standby wrote while the other replica was active"

    # The rest arrive, and the active replica dies halfway through them.
    for i in range(TRACKERS // 2, TRACKERS):
        apply(kubectl, namespace, _tracker(f"ht-{i}"))
    eventually(lambda: _deployments(kubectl, namespace) >= TRACKERS // 2 + 2,
               timeout=30, interval=0.05, message="the first replica is converging")
    assert _writes(second) == 0
    first.kill()
    killed = time.monotonic()
    # Killed halfway: some of the new HandTrackers have no Deployment yet.
    assert _deployments(kubectl, namespace) < TRACKERS
    eventually(lambda: second.metric("handtracker_operator_active") == 1,
               timeout=TAKEOVER_BUDGET + 10, interval=0.1, message="the standby takes over")
    takeover = time.monotonic() - killed
    print(f"standby took over {takeover:.1f} s after the active replica was killed")
    assert takeover <= TAKEOVER_BUDGET

    for i in range(TRACKERS):
        wait_condition(kubectl, namespace, f"ht-{i}", timeout=90)
    # Nothing recreated: the children made before the kill are the same objects.
    for name, uids in before.items():
        assert _uids(kubectl, namespace, name) == uids, name
    # Nothing half-done: every HandTracker has all its children.
    for i in range(TRACKERS):
        assert set(children(kubectl, namespace, f"ht-{i}")) == {
            "ConfigMap", "Deployment", "Service"}, f"ht-{i}"
    # The dead replica's keep-alive runs out and is removed from the peering object.
    eventually(lambda: list(kubectl.json("get", "kopfpeering", "handtracker", "-n",
                                         namespace).get("status") or {}) == [
                   _identity(second)], timeout=30, message="the dead replica is cleaned up")


def _identity(process: OperatorProcess) -> str:
    assert process.proc is not None
    return f"{socket.gethostname()}-{process.proc.pid}"


@pytest.mark.timeout(120)
def test_without_peering_crds_the_operator_reports_it_and_stays_up(
    cluster: Any, kubectl: Kubectl, namespace: str, operator: OperatorProcess,
    start_operator: Any,
) -> None:
    """A peering name for a kind the cluster does not serve: no crash loop, a clear log
    line, and nothing reconciled (kopf pauses too), rather than two active replicas."""
    operator.stop()
    kubectl("delete", "crd", "kopfpeerings.kopf.dev", "--ignore-not-found", "--wait=true")
    try:
        replica = start_operator(cluster, *_peered(namespace))
        eventually(lambda: "CRD (kopf.dev/v1) is not installed" in replica.log.read_text(),
                   timeout=30, message="the missing CRD is reported")
        apply(kubectl, namespace, example("minimal"))
        time.sleep(3)
        assert replica.healthy()
        assert replica.metric("handtracker_operator_active") == 0
        assert children(kubectl, namespace, "hands") == {}
    finally:
        replica.stop()  # before the CRDs return, or it would begin to reconcile
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(PEERING_CRDS))
        kubectl("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev",
                "--timeout=60s")
