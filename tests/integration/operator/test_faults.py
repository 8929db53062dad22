"""The operator under faults, on the second control plane (kwok nodes only), so that
restarting etcd or the API server disturbs no other test.

Each case ends the same way: every HandTracker Ready at its current generation, each
with exactly its children, and every child that existed before the fault still the same
object (same UID) unless the test itself deleted it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from handtracker_operator.settings import DEFAULT_API_QPS

from hack import controlplane
from hack.controlplane.components import Layout
from tests.fixtures.cluster import Kubectl
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.operator import CHILD_RESOURCES
from tests.support.manifests import handtracker
from tests.support.waiting import eventually

EXPECTED = {"ConfigMap", "Deployment", "Service"}  # of a one-replica HandTracker
STOP_BUDGET = 5.0  # seconds from SIGTERM to the operator's exit


@pytest.fixture
def fkubectl(second_cluster: controlplane.Cluster) -> Kubectl:
    return Kubectl(second_cluster)


@pytest.fixture
def fns(request: pytest.FixtureRequest, fkubectl: Kubectl) -> Iterator[str]:
    name = "f-" + "-".join(request.node.name.removeprefix("test_").replace("[", "_").strip("]")
                           .split("_"))[:40].strip("-")
    fkubectl("create", "namespace", name)
    eventually(lambda: fkubectl("get", "serviceaccount", "default", "-n", name), timeout=30)
    yield name
    fkubectl("delete", "namespace", name, "--wait=false")  # frees the fake nodes' room


@pytest.fixture
def operator_here(second_cluster: controlplane.Cluster, fns: str, start_operator: Any) -> Any:
    """Starts an operator watching the test's namespace only: the namespaces earlier
    cases leave behind, still terminating, are not its work."""
    return lambda *args, kubeconfig=None: start_operator(
        second_cluster, "--namespace", fns, *args, kubeconfig=kubeconfig)


# -- helpers --------------------------------------------------------------------------------

def create(kubectl: Kubectl, ns: str, names: list[str]) -> None:
    """One small pod each, so that the fake nodes hold them all; one kubectl call."""
    kubectl("apply", "-n", ns, "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "List", "items": [
            handtracker(name, replicas=1,
                        resources={"requests": {"cpu": "10m", "memory": "32Mi"}})
            for name in names]}))


def child_uids(kubectl: Kubectl, ns: str) -> dict[tuple[str, str], str]:
    items = kubectl.json("get", CHILD_RESOURCES, "-n", ns,
                         "-l", "app.kubernetes.io/managed-by=handtracker-operator")["items"]
    return {(i["kind"], i["metadata"]["name"]): i["metadata"]["uid"] for i in items}


def all_ready(kubectl: Kubectl, ns: str, count: int) -> bool:
    items = kubectl.json("get", "handtrackers", "-n", ns)["items"]
    if len(items) != count:
        return False
    for ht in items:
        status = ht.get("status") or {}
        ready = [c for c in status.get("conditions") or () if c["type"] == "Ready"]
        if status.get("observedGeneration") != ht["metadata"]["generation"]:
            return False
        if not ready or ready[0]["status"] != "True":
            return False
    return True


def owners(uids: dict[tuple[str, str], str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for kind, name in uids:
        found.setdefault(name.removesuffix("-config"), set()).add(kind)
    return found


def check_children(kubectl: Kubectl, ns: str, names: list[str],
                   before: dict[tuple[str, str], str], recreated: set[tuple[str, str]] = frozenset()
                   ) -> None:
    after = child_uids(kubectl, ns)
    assert owners(after) == {name: EXPECTED for name in names}, "a child is missing or extra"
    changed = {key for key, uid in before.items() if after.get(key) != uid}
    assert changed == set(recreated), f"children recreated without cause: {changed - recreated}"


def wait_all_ready(kubectl: Kubectl, ns: str, count: int, timeout: float = 180) -> None:
    eventually(lambda: all_ready(kubectl, ns, count), timeout=timeout, interval=1,
               message=f"all {count} HandTrackers in {ns} Ready")


def restart(cluster: controlplane.Cluster, component: str, **how: Any) -> None:
    """Restarts a control-plane component, then kwok. kwok plays each stage of a pod once:
    one whose write failed while the control plane was away (such as marking the pod
    ready) is never retried, and that pod would stay unready where a kubelet would retry.
    A restarted kwok lists the pods again and plays what each still lacks."""
    controlplane.restart(component, cluster.state_dir, **how)
    controlplane.restart("kwok", cluster.state_dir)


def deployments(kubectl: Kubectl, ns: str) -> int:
    return len(kubectl.json("get", "deployments", "-n", ns)["items"])


# -- cases ---------------------------------------------------------------------------------

@pytest.mark.timeout(600)
def test_sigkill_halfway_through_converging_100_then_restart(
    fkubectl: Kubectl, fns: str, operator_here: Any
) -> None:
    names = [f"ht-{i}" for i in range(100)]
    # Slowed down (about 4 writes per HandTracker), so that the kill lands halfway.
    operator = operator_here("--api-qps", "20", "--api-burst", "20")
    create(fkubectl, fns, names)
    eventually(lambda: deployments(fkubectl, fns) >= 25, timeout=60, interval=0.1)
    operator.kill()
    made = deployments(fkubectl, fns)
    assert made < len(names), "killed too late: nothing was left to do"
    before = child_uids(fkubectl, fns)
    print(f"killed with {made} of {len(names)} Deployments made")
    operator.start()
    wait_all_ready(fkubectl, fns, len(names))
    check_children(fkubectl, fns, names, before)


@pytest.mark.timeout(600)
def test_sigterm_halfway_through_converging_exits_within_5_s_then_the_next_one_finishes(
    fkubectl: Kubectl, fns: str, operator_here: Any
) -> None:
    """A pod's operator gets SIGTERM on every rolling update; in HA a slow stop is a slow
    handover. Reconciles are under way at the signal; what they leave undone is found
    by the next operator's listing."""
    names = [f"ht-{i}" for i in range(60)]
    operator = operator_here("--api-qps", "20", "--api-burst", "20")
    create(fkubectl, fns, names)
    eventually(lambda: deployments(fkubectl, fns) >= 10, timeout=60, interval=0.1)
    took = operator.stop()
    made = deployments(fkubectl, fns)
    print(f"SIGTERM with {made} of {len(names)} Deployments made: exited in {took:.2f} s")
    assert made < len(names), "stopped too late: nothing was left to do"
    assert took <= STOP_BUDGET, f"the operator took {took:.1f} s to exit after SIGTERM"
    assert operator.exit_code == 0, operator.tail()
    before = child_uids(fkubectl, fns)
    operator.start()
    wait_all_ready(fkubectl, fns, len(names))
    check_children(fkubectl, fns, names, before)


@pytest.mark.timeout(600)
def test_api_server_restart_during_a_rollout(
    second_cluster: controlplane.Cluster, fkubectl: Kubectl, fns: str, operator_here: Any
) -> None:
    names = [f"ht-{i}" for i in range(30)]
    operator_here()
    create(fkubectl, fns, names)
    wait_all_ready(fkubectl, fns, len(names))
    before = child_uids(fkubectl, fns)
    for name in names:  # a model change: new ConfigMap data and a rolling update each
        fkubectl("patch", "ht", name, "-n", fns, "--type=merge",
                 "-p", '{"spec": {"model": {"complexity": "lite"}}}')
    restart(second_cluster, "kube-apiserver", down_for=3)
    wait_all_ready(fkubectl, fns, len(names))
    check_children(fkubectl, fns, names, before)
    configs = fkubectl.json("get", "configmaps", "-n", fns)["items"]
    assert {c["data"]["HANDTRACKER_MODEL_COMPLEXITY"] for c in configs
            if c["metadata"]["name"].endswith("-config")} == {"lite"}


@pytest.mark.timeout(600)
def test_an_etcd_restart_loses_no_handtracker_and_recreates_no_child(
    second_cluster: controlplane.Cluster, fkubectl: Kubectl, fns: str, operator_here: Any
) -> None:
    names = [f"ht-{i}" for i in range(30)]
    operator_here()
    create(fkubectl, fns, names[:15])
    wait_all_ready(fkubectl, fns, 15)
    before = child_uids(fkubectl, fns)
    create(fkubectl, fns, names[15:])
    restart(second_cluster, "etcd", kill=True, down_for=2)
    wait_all_ready(fkubectl, fns, len(names))
    check_children(fkubectl, fns, names, before)


@pytest.mark.timeout(600)
def test_expired_watches_are_relisted(
    second_cluster: controlplane.Cluster, fkubectl: Kubectl, fns: str, operator_here: Any,
    tmp_path: Path,
) -> None:
    names = [f"ht-{i}" for i in range(20)]
    with FaultProxy(second_cluster.server, Layout(second_cluster.state_dir).pki) as proxy:
        # No periodic resync during the test: the relist must repair the store by itself.
        operator_here("--resync-seconds", "600",
                       kubeconfig=proxy.kubeconfig(tmp_path / "proxy.kubeconfig"))
        create(fkubectl, fns, names)
        wait_all_ready(fkubectl, fns, len(names))
        before = child_uids(fkubectl, fns)
        with proxy.failing(410, seconds=5) as window:
            # What the operator's watches miss: a child deleted, a HandTracker added.
            fkubectl("delete", "service", "ht-0", "-n", fns)
            create(fkubectl, fns, ["late"])
        print(f"410 window: {window.watches_expired} watch requests expired, "
              f"{window.forwarded} requests forwarded")
        assert window.watches_expired >= 1
        wait_all_ready(fkubectl, fns, len(names) + 1)
        # The Service deleted while the watches were down is back (Ready does not wait
        # for it), well before any periodic resync.
        eventually(lambda: ("Service", "ht-0") in child_uids(fkubectl, fns), timeout=20,
                   message="the Service deleted during the watch gap is recreated")
        check_children(fkubectl, fns, [*names, "late"], before,
                       recreated={("Service", "ht-0")})


@pytest.mark.timeout(600)
@pytest.mark.parametrize("status", [429, 503])
def test_throttled_or_failing_api_is_backed_off(
    second_cluster: controlplane.Cluster, fkubectl: Kubectl, fns: str, operator_here: Any,
    tmp_path: Path, status: int,
) -> None:
    names = [f"ht-{i}" for i in range(20)]
    seconds = 10
    with FaultProxy(second_cluster.server, Layout(second_cluster.state_dir).pki) as proxy:
        operator_here(kubeconfig=proxy.kubeconfig(tmp_path / "proxy.kubeconfig"))
        with proxy.failing(status, seconds=seconds) as window:
            create(fkubectl, fns, names)
        peak = max(window.by_second.values())
        print(f"{status} for {seconds} s: {window.faulted} requests refused, "
              f"peak {peak}/s, {window.forwarded} let through")
        busiest = max(window.faulted_by.items(), key=lambda kv: kv[1])
        print(f"most tried: {busiest[0]} ({busiest[1]} times)")
        # Back-off, not a hot loop. Retries of one HandTracker wait at least 0.25, 0.5,
        # 1, 2, 4 s (0.5 s doubling, jitter up to half): 6 tries in 10 s at most, one
        # request each to a given URL. kopf's own retries are slower still.
        assert busiest[1] <= 6, sorted(window.faulted_by.items(), key=lambda kv: -kv[1])[:10]
        assert window.faulted <= DEFAULT_API_QPS * seconds  # nor above the client's own limit
        wait_all_ready(fkubectl, fns, len(names))
        check_children(fkubectl, fns, names, {})
