"""The API server is real: health, sockets on loopback (or the real node's address),
built-in and custom resource APIs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from hack import node
from hack.controlplane.network import NODE_IP
from tests.cluster import manifests
from tests.fixtures.cluster import Kubectl, KubectlError
from tests.support.waiting import eventually


def test_readyz_is_ok(kubectl: Kubectl) -> None:
    assert kubectl("get", "--raw", "/readyz").strip() == "ok"


def test_server_version_is_the_pinned_release(kubectl: Kubectl) -> None:
    from hack.controlplane.pins import kubernetes_version

    version = kubectl.json("version")["serverVersion"]["gitVersion"]
    assert version == kubernetes_version()


def _listening_inodes(port_table: Path) -> dict[int, str]:
    """inode -> local address of every LISTEN socket in /proc/net/tcp{,6}."""
    result = {}
    for line in port_table.read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], int(fields[9])
        if state == "0A":
            result[inode] = local.split(":")[0]
    return result


# The real node's address in /proc/net/tcp's little-endian hex (10.245.0.1 -> 0100F50A).
NODE_ADDRESS_HEX = "".join(f"{int(b):02X}" for b in reversed(NODE_IP.split(".")))


def test_every_component_listens_on_loopback_or_the_node_address(cluster) -> None:
    state = json.loads((cluster.state_dir / "state.json").read_text())
    listening = _listening_inodes(Path("/proc/net/tcp"))
    listening6 = _listening_inodes(Path("/proc/net/tcp6"))
    seen = 0
    for proc in state["processes"]:
        fd_dir = Path(f"/proc/{proc['pid']}/fd")
        for fd in fd_dir.iterdir():
            try:
                target = fd.readlink().as_posix()
            except OSError:
                continue
            if not target.startswith("socket:["):
                continue
            inode = int(target[len("socket:[") : -1])
            assert inode not in listening6, f"{proc['name']} listens on an IPv6 address"
            if inode in listening:
                seen += 1
                # 0100007F is 127.0.0.1 in /proc/net/tcp's little-endian hex. The real
                # node's processes may also listen on the node's own address.
                allowed = {"0100007F"}
                if proc["name"] in node.PROCESS_NAMES:
                    allowed.add(NODE_ADDRESS_HEX)
                assert listening[inode] in allowed, (
                    f"{proc['name']} listens on {listening[inode]}"
                )
    # etcd (client + peer), apiserver, controller-manager and scheduler all listen.
    assert seen >= 5


def test_hpa_v2_and_ingress_v1_are_accepted(namespace: str, kubectl: Kubectl) -> None:
    for obj in (manifests.hpa_v2("web", "web"), manifests.ingress("web", "web")):
        kubectl.apply(obj, namespace)

    hpa = kubectl.json("get", "horizontalpodautoscalers.v2.autoscaling", "web", "-n", namespace)
    assert hpa["apiVersion"] == "autoscaling/v2"
    metric = hpa["spec"]["metrics"][0]["resource"]
    assert metric["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 120

    ing = kubectl.json("get", "ingresses.v1.networking.k8s.io", "web", "-n", namespace)
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "web", "port": {"number": 8080}}


def test_invalid_ingress_is_refused(namespace: str, kubectl: Kubectl) -> None:
    bad = manifests.ingress("bad", "web")
    bad["spec"]["rules"][0]["http"]["paths"][0]["pathType"] = "Sometimes"
    with pytest.raises(KubectlError, match="pathType"):
        kubectl.apply(bad, namespace)


@pytest.fixture
def cel_group(kubectl: Kubectl):
    group = f"t{uuid.uuid4().hex[:8]}.testbed.handtracking.dev"
    kubectl.apply(manifests.cel_crd(group))
    kubectl("wait", "--for=condition=Established", f"crd/ranges.{group}", "--timeout=30s")
    yield group
    kubectl("delete", "crd", f"ranges.{group}", "--wait=false", "--ignore-not-found")


def test_crd_defaulting_cel_validation_and_server_side_apply(
    cel_group: str, namespace: str, kubectl: Kubectl
) -> None:
    def obj(name: str, spec: dict) -> str:
        return manifests.dumps(
            {"apiVersion": f"{cel_group}/v1", "kind": "Range", "metadata": {"name": name},
             "spec": spec}
        )

    # Discovery of a brand-new type can lag a moment behind the Established condition.
    eventually(
        lambda: kubectl("apply", "--server-side", "-n", namespace, "-f", "-",
                        input=obj("ok", {"max": 3})),
        timeout=15,
    )
    created = kubectl.json(
        "get", f"ranges.{cel_group}", "ok", "-n", namespace, "--show-managed-fields"
    )
    assert created["spec"] == {"min": 1, "max": 3}  # min defaulted by the schema
    # Server-side apply recorded kubectl's field manager with operation Apply.
    owners = {(m["manager"], m["operation"]) for m in created["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in owners

    with pytest.raises(KubectlError, match="min must not exceed max"):
        kubectl("apply", "--server-side", "-n", namespace, "-f", "-",
                input=obj("bad", {"min": 5, "max": 2}))
