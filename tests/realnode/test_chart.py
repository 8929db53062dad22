"""The Helm chart on the real node: `helm install` runs the operator image as pods that
reconcile a HandTracker to Ready, and `helm uninstall` removes everything but the CRDs."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from hack import images, node
from tests.fixtures.chart import CHART, helm_run
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, wait_condition
from tests.realnode.helpers import gone, pods, tracker
from tests.support.waiting import eventually


def _values(folder: Path, watched: str) -> Path:
    repository, _, digest = images.pinned(images.operator_image()).partition("@")
    placement = node.placement()
    path = folder / "values.yaml"
    path.write_text(yaml.safe_dump({
        "image": {"repository": repository, "digest": digest, "tag": "",
                  "pullPolicy": "IfNotPresent"},
        "operator": {"defaultImage": images.pinned(images.workload_image())},
        "watchNamespaces": [watched],
        "nodeSelector": placement["nodeSelector"],
        "tolerations": placement["tolerations"],
    }))
    return path


def test_helm_install_reconciles_a_handtracker_and_uninstall_removes_the_operator(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any, helm: Path, tmp_path: Path
) -> None:
    operator.stop()  # the session's local operator must not do the chart's work
    release = f"ht-{uuid.uuid4().hex[:6]}"
    name = f"{release}-handtracker-operator"
    home = f"{ns}-op"
    env = {**real_node.env(), "HELM_CACHE_HOME": str(tmp_path / "cache"),
           "HELM_CONFIG_HOME": str(tmp_path / "config"), "HELM_DATA_HOME": str(tmp_path / "data")}
    try:
        out = helm_run(helm, "install", release, str(CHART), "--namespace", home,
                       "--create-namespace", "--values", str(_values(tmp_path, ns)), env=env)
        assert f"watching namespaces {ns}" in out  # NOTES.txt
        kubectl("rollout", "status", "-n", home, f"deployment/{name}", "--timeout=180s",
                timeout=200)
        replicas = kubectl.json("get", "pods", "-n", home, "-l",
                                "app.kubernetes.io/name=handtracker-operator")["items"]
        assert len(replicas) == 2
        assert {p["spec"]["nodeName"] for p in replicas} == {node.NODE_NAME}
        assert {p["spec"]["serviceAccountName"] for p in replicas} == {name}

        apply(kubectl, ns, tracker("by-chart"))
        ht = wait_condition(kubectl, ns, "by-chart", timeout=240)
        assert ht["status"]["readyReplicas"] == 1
        assert pods(kubectl, ns, "by-chart")[0]["spec"]["nodeName"] == node.NODE_NAME
        logs = "".join(kubectl("logs", "-n", home, p["metadata"]["name"]) for p in replicas)
        assert "by-chart" in logs
        # Namespaced RBAC: a Role in the watched namespace, none cluster-wide for children.
        assert kubectl.json("get", "role", name, "-n", ns)["rules"]

        helm_run(helm, "uninstall", release, "--namespace", home, "--wait", env=env)
        for what in (("deployment", name, "-n", home), ("serviceaccount", name, "-n", home),
                     ("service", f"{name}-metrics", "-n", home), ("role", name, "-n", ns),
                     ("rolebinding", name, "-n", ns), ("clusterrole", name),
                     ("clusterrolebinding", name)):
            eventually(lambda what=what: gone(kubectl, *what), timeout=60,
                       message=f"{' '.join(what)} removed")
        # Helm keeps crds/, and with them the HandTrackers.
        kubectl("get", "crd", "handtrackers.handtracking.dev")
        kubectl("get", "ht", "by-chart", "-n", ns)
    finally:
        helm_run(helm, "uninstall", release, "--namespace", home, "--ignore-not-found",
                 env=env)
        kubectl("delete", "namespace", home, "--ignore-not-found", "--wait=false")
