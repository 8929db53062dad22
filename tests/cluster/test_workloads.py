"""Controllers, scheduler and kwok work together: Deployments run, owners cascade, PSA admits."""

from __future__ import annotations

import time

import pytest

from tests.cluster import manifests
from tests.fixtures.cluster import Kubectl, KubectlError
from tests.support.waiting import eventually


def test_deployment_reaches_three_available_replicas(namespace: str, kubectl: Kubectl) -> None:
    started = time.monotonic()
    kubectl.apply(manifests.deployment("web", 3), namespace)

    def available() -> dict:
        status = kubectl.json("get", "deployment", "web", "-n", namespace)["status"]
        assert status.get("availableReplicas") == 3, status
        return status

    eventually(available, timeout=30, interval=0.1)
    elapsed = time.monotonic() - started
    print(f"3/3 replicas available {elapsed:.2f} s after apply")

    pods = kubectl.json("get", "pods", "-n", namespace, "-l", "app=web")["items"]
    assert len(pods) == 3
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"].startswith("kwok-node-")  # placed by the scheduler
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready["Ready"] == "True"
        assert pod["status"]["podIP"].startswith("10.244.")  # kwok's pod range, not Services'


def _exists(kubectl: Kubectl, namespace: str, kind: str, name: str) -> bool:
    out = kubectl("get", kind, name, "-n", namespace, "--ignore-not-found", "-o", "name")
    return bool(out.strip())


def test_deleting_an_owner_garbage_collects_its_dependents(
    namespace: str, kubectl: Kubectl
) -> None:
    kubectl("create", "configmap", "owner", "-n", namespace, "--from-literal=a=b")
    owner_uid = kubectl("get", "configmap", "owner", "-n", namespace, "-o",
                        "jsonpath={.metadata.uid}")
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dependent",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner_uid,
                 "controller": True, "blockOwnerDeletion": True}
            ],
        },
        "data": {"x": "y"},
    }
    kubectl.apply(dependent, namespace)
    # An unrelated object in the same namespace must survive the cascade.
    kubectl("create", "configmap", "bystander", "-n", namespace)

    kubectl("delete", "configmap", "owner", "-n", namespace, "--cascade=background")

    eventually(lambda: not _exists(kubectl, namespace, "configmap", "dependent"), timeout=20)
    assert _exists(kubectl, namespace, "configmap", "bystander")


def test_deleting_a_deployment_removes_its_replicasets_and_pods(
    namespace: str, kubectl: Kubectl
) -> None:
    kubectl.apply(manifests.deployment("gc", 2), namespace)
    eventually(
        lambda: len(kubectl.json("get", "pods", "-n", namespace, "-l", "app=gc")["items"]) == 2,
        timeout=30,
    )
    kubectl("delete", "deployment", "gc", "-n", namespace, "--cascade=foreground", "--wait=false")

    def all_gone() -> bool:
        left = kubectl.json("get", "replicasets,pods", "-n", namespace, "-l", "app=gc")["items"]
        return not left

    eventually(all_gone, timeout=30)


def test_restricted_namespace_refuses_privileged_pods(namespace: str, kubectl: Kubectl) -> None:
    privileged = manifests.dumps(manifests.pod("privileged", privileged=True))
    compliant = manifests.dumps(manifests.pod("compliant"))

    # Unlabelled, the namespace gets the default "privileged" level: admitted (dry run).
    kubectl("create", "--dry-run=server", "-n", namespace, "-f", "-", input=privileged)

    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    with pytest.raises(KubectlError, match=r'violates PodSecurity "restricted'):
        kubectl("create", "-n", namespace, "-f", "-", input=privileged)
    kubectl("create", "-n", namespace, "-f", "-", input=compliant)

    names = kubectl("get", "pods", "-n", namespace, "-o", "jsonpath={.items[*].metadata.name}")
    assert names.split() == ["compliant"]


def test_custom_resource_owner_cascades_without_a_resync_delay(
    namespace: str, kubectl: Kubectl
) -> None:
    """The project's CRDs are installed before the controller-manager starts, so the
    garbage collector knows them at once instead of after its 30 s discovery resync."""
    from hack.controlplane.paths import REPO_ROOT

    crd = kubectl("get", "crd", "handtrackers.handtracking.dev", "--ignore-not-found", "-o", "name")
    assert crd.strip(), "crds/handtrackers.yaml was not installed by `up`"
    kubectl("apply", "-n", namespace, "-f", str(REPO_ROOT / "examples" / "minimal.yaml"))
    owner = kubectl.json("get", "handtrackers.handtracking.dev", "hands", "-n", namespace)
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "owned-by-cr",
                "ownerReferences": [
                    {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": "hands",
                     "uid": owner["metadata"]["uid"]}
                ],
            },
        },
        namespace,
    )
    kubectl("delete", "handtrackers.handtracking.dev", "hands", "-n", namespace, "--wait=false")
    eventually(lambda: not _exists(kubectl, namespace, "configmap", "owned-by-cr"), timeout=10)
