"""Examples, kubectl UX, schema validation and the install manifests on the real API server."""

from __future__ import annotations

import re

import pytest
from handtracker_operator.spec import DEFAULT_IMAGE

from tests.fixtures.cluster import KubectlError
from tests.fixtures.operator import (
    apply,
    children,
    events,
    example,
    get,
    wait_condition,
    wait_stable,
)
from tests.support.manifests import handtracker
from tests.support.repo import REPO_ROOT
from tests.support.waiting import eventually

OURS = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
        "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}


def test_minimal_example_is_ready_with_its_children(kubectl, namespace, operator) -> None:
    manifest = example("minimal")
    # GitOps tracking labels on the CR must not spread to the children.
    manifest["metadata"]["labels"] = {"argocd.argoproj.io/instance": "apps"}
    manifest["metadata"]["annotations"] = {"team": "vision"}
    apply(kubectl, namespace, manifest)
    ht = wait_stable(kubectl, namespace, "hands")

    kids = children(kubectl, namespace, "hands")
    assert set(kids) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
    for kid in kids.values():
        meta = kid["metadata"]
        assert set(meta["labels"]) == OURS, meta["labels"]
        assert "team" not in (meta.get("annotations") or {})
        (ref,) = meta["ownerReferences"]
        assert ref["uid"] == ht["metadata"]["uid"]
        assert ref["controller"] and ref["blockOwnerDeletion"]
    assert kids["ConfigMap"]["metadata"]["name"] == "hands-config"
    assert kids["ConfigMap"]["data"]["HANDTRACKER_MODEL_COMPLEXITY"] == "full"
    assert kids["Deployment"]["spec"]["replicas"] == 2
    # Defaults were written by the API server, so the stored spec is the effective one.
    assert ht["spec"]["model"] == {"complexity": "full", "maxHands": 2,
                                   "detectionMode": "standard",
                                   "minDetectionConfidence": 0.5, "minTrackingConfidence": 0.5}
    status = ht["status"]
    assert status["replicaSummary"] == "2/2"
    assert status["url"] == f"http://hands.{namespace}.svc.cluster.local"
    assert status["selector"] == (
        "app.kubernetes.io/name=handtracker,app.kubernetes.io/instance=hands"
    )
    assert {c["type"] for c in status["conditions"]} == {"Ready", "Available", "Progressing",
                                                         "Degraded"}
    assert not ht["metadata"].get("finalizers")
    assert not any("kopf" in k for k in ht["metadata"].get("annotations") or {})
    assert {e["reason"] for e in events(kubectl, namespace, "hands")} >= {"Created"}


def test_the_production_example_is_ready_with_tls_ingress_autoscaling_and_a_pdb(
    kubectl, namespace, operator,
) -> None:
    apply(kubectl, namespace, example("production"))
    ht = wait_condition(kubectl, namespace, "hands-prod", timeout=90)
    kids = children(kubectl, namespace, "hands-prod")
    assert set(kids) == {"ConfigMap", "Deployment", "Service", "Ingress",
                         "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    ingress = kids["Ingress"]["spec"]
    assert ingress["tls"] == [{"hosts": ["hands.example.com"], "secretName": "hands-example-tls"}]
    assert ingress["ingressClassName"] == "nginx"
    hpa = kids["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 8)
    assert ht["status"]["url"] == "https://hands.example.com"
    assert kids["ConfigMap"]["data"]["HANDTRACKER_WORKERS"] == "2"
    # A new Deployment starts at the HPA's minimum, not at the API's default of 1.
    assert ht["status"]["desiredReplicas"] == 2
    # The HPA, not the operator, owns the Deployment's replica count.
    deployment = kubectl.json("get", "deployment", "hands-prod", "-n", namespace,
                              "--show-managed-fields")
    managers = deployment["metadata"]["managedFields"]
    ours = [m for m in managers if m["manager"] == "handtracker-operator"]
    assert ours and all("f:replicas" not in str(m.get("fieldsV1", {}).get("f:spec", {}))
                        for m in ours)


def test_the_suspended_example_keeps_its_children_at_zero_replicas(
    kubectl, namespace, operator,
) -> None:
    apply(kubectl, namespace, example("suspended"))
    ht = wait_condition(kubectl, namespace, "hands-paused", status="False", reason="Suspended")
    kids = children(kubectl, namespace, "hands-paused")
    assert set(kids) == {"ConfigMap", "Deployment", "Service"}
    assert kids["Deployment"]["spec"]["replicas"] == 0
    assert ht["status"]["replicaSummary"] == "0/0"

    kubectl("patch", "ht", "hands-paused", "-n", namespace, "--type=merge",
            "-p", '{"spec":{"suspended":false}}')
    wait_condition(kubectl, namespace, "hands-paused")
    assert children(kubectl, namespace, "hands-paused")["Deployment"]["spec"]["replicas"] == 2


def test_kubectl_get_wait_and_scale(kubectl, namespace, operator) -> None:
    apply(kubectl, namespace, example("minimal"))
    kubectl("wait", "--for=condition=Ready", "ht/hands", "-n", namespace, "--timeout=60s",
            timeout=90)
    # Ready turns True as soon as one pod serves; the columns below describe the settled state.
    wait_stable(kubectl, namespace, "hands")
    header, row = kubectl("get", "ht", "-n", namespace).splitlines()
    assert header.split() == ["NAME", "READY", "REASON", "REPLICAS", "URL", "MODEL", "CANARY",
                              "AGE"]
    assert row.split()[:6] == ["hands", "True", "Available", "2/2",
                               f"http://hands.{namespace}.svc.cluster.local", "full"]
    assert len(row.split()) == 7  # no canary: its column is blank, then the age
    header, row = kubectl("get", "handtrackers", "-n", namespace, "-o", "wide").splitlines()
    assert header.split()[-4:] == ["IMAGE", "REVISION", "MIN", "MAX"]
    revision = get(kubectl, namespace, "ht", "hands")["status"]["revision"]
    assert row.split()[-4:] == [DEFAULT_IMAGE, revision, "1", "5"]
    assert "hands" in kubectl("get", "handtracking", "-n", namespace)  # the category

    kubectl("scale", "ht/hands", "--replicas=3", "-n", namespace)
    eventually(lambda: children(kubectl, namespace, "hands")["Deployment"]["spec"]["replicas"]
               == 3, timeout=30)
    ht = wait_condition(kubectl, namespace, "hands")
    eventually(lambda: get(kubectl, namespace, "ht", "hands")["status"]["replicaSummary"]
               == "3/3", timeout=30)
    assert ht["spec"]["replicas"] == 3


def test_pods_are_admitted_under_restricted(kubectl, namespace, operator) -> None:
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/enforce-version=latest")
    apply(kubectl, namespace, example("minimal"))
    wait_condition(kubectl, namespace, "hands")
    pods = kubectl.json("get", "pods", "-n", namespace,
                        "-l", "app.kubernetes.io/instance=hands")["items"]
    assert len(pods) == 2
    warnings = [e for e in kubectl.json("get", "events", "-n", namespace)["items"]
                if e["reason"] == "FailedCreate"]
    assert warnings == []


INVALID = [
    ({"replicas": -1}, "spec.replicas"),
    ({"autoscaling": {"enabled": True, "minReplicas": 6, "maxReplicas": 3}},
     "spec.autoscaling.minReplicas"),
    ({"model": {"complexity": "heavy"}}, "spec.model.complexity"),
    ({"model": {"minDetectionConfidence": 1.5}}, "spec.model.minDetectionConfidence"),
    ({"ingress": {"enabled": True}}, "spec.ingress.host"),
    ({"podLabels": {"app.kubernetes.io/instance": "other"}}, "spec.podLabels"),
]


@pytest.mark.parametrize(("spec", "field"), INVALID, ids=[f for _, f in INVALID])
def test_invalid_specs_are_refused_naming_the_field(kubectl, namespace, spec, field) -> None:
    manifest = handtracker("bad", **spec)
    with pytest.raises(KubectlError) as err:
        apply(kubectl, namespace, manifest)
    assert field in err.value.stderr, err.value.stderr
    assert get(kubectl, namespace, "ht", "bad") is None


def test_what_the_schema_cannot_check_is_invalid_spec(kubectl, namespace, operator) -> None:
    apply(kubectl, namespace, handtracker(
        "odd", resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}))
    ht = wait_condition(kubectl, namespace, "odd", status="False", reason="InvalidSpec")
    assert "spec.resources.requests.cpu" in ht["status"]["conditions"][0]["message"]
    assert children(kubectl, namespace, "odd") == {}
    eventually(lambda: "InvalidSpec" in {e["reason"] for e in events(kubectl, namespace, "odd")
                                         if e["type"] == "Warning"}, timeout=10)
    # Fixing the spec recovers without operator restarts.
    kubectl("patch", "ht", "odd", "-n", namespace, "--type=merge",
            "-p", '{"spec":{"resources":{"requests":{"cpu":"500m"}}}}')
    wait_condition(kubectl, namespace, "odd")


def test_install_manifests_apply(kubectl, crd) -> None:
    out = kubectl("apply", "-k", str(REPO_ROOT / "deploy"), timeout=120)
    try:
        assert re.search(r"deployment.apps/handtracker-operator (created|configured|unchanged)",
                         out)
        role = kubectl.json("get", "clusterrole", "handtracker-operator")
        assert all("secrets" not in r.get("resources", []) for r in role["rules"])
        sa = "system:serviceaccount:handtracker-system:handtracker-operator"
        for verb, resource, *sub in [
            ("patch", "deployments.apps"), ("watch", "handtrackers"),
            ("patch", "handtrackers", "--subresource=status"), ("create", "events"),
            ("delete", "ingresses.networking.k8s.io"), ("list", "pods"),
            ("patch", "horizontalpodautoscalers.autoscaling"),
            # The storage migration: every HandTracker written back, its CRD's storedVersions.
            ("update", "handtrackers"),
            ("get", "customresourcedefinitions.apiextensions.k8s.io/"
                    "handtrackers.handtracking.dev"),
            ("patch", "customresourcedefinitions.apiextensions.k8s.io/"
                      "handtrackers.handtracking.dev", "--subresource=status"),
        ]:
            assert kubectl("auth", "can-i", verb, resource, *sub, "--as", sa).strip() == "yes"
        with pytest.raises(KubectlError):  # no other CRD's status
            kubectl("auth", "can-i", "patch", "customresourcedefinitions.apiextensions.k8s.io/"
                    "httproutes.gateway.networking.k8s.io", "--subresource=status", "--as", sa)
        with pytest.raises(KubectlError):
            kubectl("auth", "can-i", "get", "secrets", "--as", sa)
        with pytest.raises(KubectlError):
            kubectl("auth", "can-i", "delete", "handtrackers", "--as", sa)
        # The operator's own pod is admitted in its namespace, which enforces `restricted`.
        eventually(lambda: kubectl.json("get", "pods", "-n", "handtracker-system",
                                        "-l", "app.kubernetes.io/name=handtracker-operator"
                                        )["items"], timeout=60)
    finally:
        for kind, name in [("clusterrolebinding", "handtracker-operator"),
                           ("clusterrole", "handtracker-operator"),
                           ("namespace", "handtracker-system")]:
            kubectl("delete", kind, name, "--ignore-not-found", "--wait=false")
