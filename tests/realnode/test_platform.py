"""The HPA on real CPU figures, and the operator itself running as a pod."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from hack import images, node
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, wait_condition
from tests.realnode.helpers import Prober, container_pid, gone, pods, service_url, tracker
from tests.support.repo import REPO_ROOT
from tests.support.waiting import eventually


def _replicas(kubectl: Kubectl, ns: str, name: str) -> int:
    return int(kubectl.json("get", "deployment", name, "-n", ns)["spec"].get("replicas", 0))


def test_cpu_load_scales_from_one_to_two_replicas_and_back(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any, hands_dir: Path
) -> None:
    apply(kubectl, ns, tracker("auto", autoscaling={
        "enabled": True, "minReplicas": 1, "maxReplicas": 2, "targetCPUUtilizationPercentage": 50,
    }))
    wait_condition(kubectl, ns, "auto", timeout=240)
    # Short windows for the test (the defaults wait 5 minutes before scaling down). The
    # operator does not own `behavior`, so this edit stays.
    eventually(lambda: kubectl.json("get", "hpa", "auto", "-n", ns), timeout=30)
    kubectl("patch", "hpa", "auto", "-n", ns, "--type=merge", "-p", json.dumps({"spec": {
        "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0},
                     "scaleDown": {"stabilizationWindowSeconds": 0}}}}))

    def measured() -> bool:
        status = kubectl.json("get", "hpa", "auto", "-n", ns).get("status") or {}
        return any((m.get("resource") or {}).get("current", {}).get("averageUtilization")
                   is not None for m in status.get("currentMetrics") or ())

    eventually(measured, timeout=120, interval=2, message="the HPA sees pod CPU figures")
    url = f"{service_url(kubectl, ns, 'auto')}/v1/landmarks"
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()

    def send() -> requests.Response:
        return requests.post(url, data=photo, headers={"Content-Type": "image/jpeg"},
                             timeout=30)

    started = time.monotonic()
    with Prober(send, interval=0.0, max_requests=6000):
        eventually(lambda: _replicas(kubectl, ns, "auto") == 2, timeout=180, interval=1,
                   message="scale-up to 2 replicas")
        scale_up = time.monotonic() - started
    idle = time.monotonic()
    eventually(lambda: _replicas(kubectl, ns, "auto") == 1, timeout=240, interval=1,
               message="scale-down to 1 replica")
    scale_down = time.monotonic() - idle
    print(f"HPA on real CPU: 1 -> 2 replicas {scale_up:.0f} s after the load started, "
          f"2 -> 1 {scale_down:.0f} s after it stopped")
    wait_condition(kubectl, ns, "auto", timeout=120)


OPERATOR_NAMESPACE = "handtracker-system"


def _overlay(folder: Path, watched: str) -> Path:
    """A kustomize overlay on deploy/, as a user would write one: the local image, the
    node it runs on, and (for the test) one namespace to watch."""
    folder.mkdir(parents=True, exist_ok=True)
    placement = node.placement()
    patch = [
        {"op": "add", "path": "/spec/template/spec/nodeSelector",
         "value": placement["nodeSelector"]},
        {"op": "add", "path": "/spec/template/spec/tolerations",
         "value": placement["tolerations"]},
        {"op": "add", "path": "/spec/template/spec/containers/0/args/-",
         "value": f"--namespace={watched}"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/env/0/value",
         "value": images.pinned(images.workload_image())},
        # A wedged replica is restarted within seconds rather than a minute; and its
        # stopped process, which a SIGTERM does not reach, is killed 5 s later.
        {"op": "replace", "path": "/spec/template/spec/containers/0/livenessProbe/periodSeconds",
         "value": 3},
        {"op": "replace",
         "path": "/spec/template/spec/containers/0/livenessProbe/timeoutSeconds", "value": 1},
        {"op": "add", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": 5},
    ]
    name, _, digest = images.pinned(images.operator_image()).partition("@")
    (folder / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(REPO_ROOT / "deploy", folder)],
        "images": [{"name": "ghcr.io/handtracking-dev/handtracker-operator",
                    "newName": name, "digest": digest}],
        "patches": [{"target": {"kind": "Deployment", "name": "handtracker-operator"},
                     "patch": json.dumps(patch)}],
    }))
    return folder


def _log(kubectl: Kubectl, pod: dict[str, Any]) -> str:
    return kubectl("logs", "-n", OPERATOR_NAMESPACE, pod["metadata"]["name"])


def test_the_operator_runs_as_a_pod_and_reconciles(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any, tmp_path: Path
) -> None:
    operator.stop()  # the session's local operator must not do the pod's work
    eventually(lambda: gone(kubectl, "namespace", OPERATOR_NAMESPACE), timeout=120,
               message=f"namespace {OPERATOR_NAMESPACE} left by an earlier test is gone")
    overlay = _overlay(tmp_path / "overlay", ns)
    try:
        kubectl("apply", "-k", str(overlay), timeout=120)
        kubectl("rollout", "status", "-n", OPERATOR_NAMESPACE, "deployment/handtracker-operator",
                "--timeout=180s", timeout=200)
        replicas = kubectl.json("get", "pods", "-n", OPERATOR_NAMESPACE,
                                "-l", "app.kubernetes.io/name=handtracker-operator")["items"]
        assert len(replicas) == 2
        for pod in replicas:
            assert pod["spec"]["nodeName"] == node.NODE_NAME
            assert pod["spec"]["serviceAccountName"] == "handtracker-operator"
            assert pod["spec"]["containers"][0]["image"] == images.pinned(
                images.operator_image())

        def active_replica() -> dict[str, Any] | None:
            found = [pod for pod in replicas if "Active:" in _log(kubectl, pod)]
            return found[0] if len(found) == 1 else None

        active = eventually(active_replica, timeout=60, message="one active replica")
        standby = next(p for p in replicas if p is not active)
        apply(kubectl, ns, tracker("by-pod"))
        ht = wait_condition(kubectl, ns, "by-pod", timeout=240)
        assert ht["status"]["readyReplicas"] == 1
        assert pods(kubectl, ns, "by-pod")[0]["spec"]["nodeName"] == node.NODE_NAME
        assert "by-pod" in _log(kubectl, active)
        assert "by-pod" not in _log(kubectl, standby), "the standby reconciled"

        # SIGKILL the active replica's process: the standby takes over and reconciles.
        os.kill(container_pid(real_node, active), signal.SIGKILL)
        killed = time.monotonic()
        eventually(lambda: "Active:" in _log(kubectl, standby), timeout=30, interval=0.2,
                   message="the standby takes over")
        takeover = time.monotonic() - killed
        print(f"operator pod: standby took over {takeover:.1f} s after SIGKILL")
        assert takeover <= 15
        apply(kubectl, ns, tracker("after-takeover"))
        wait_condition(kubectl, ns, "after-takeover", timeout=240)
        assert "after-takeover" in _log(kubectl, standby)

        # Wedge the now active replica (SIGSTOP: its liveness endpoint stops answering):
        # the kubelet's probe restarts it.
        budget = kubectl.json("get", "pdb", "handtracker-operator", "-n", OPERATOR_NAMESPACE)
        assert budget["spec"]["minAvailable"] == 1
        os.kill(container_pid(real_node, standby), signal.SIGSTOP)
        wedged = time.monotonic()

        def restarted() -> bool:
            pod = kubectl.json("get", "pod", standby["metadata"]["name"],
                               "-n", OPERATOR_NAMESPACE)
            (status,) = pod["status"]["containerStatuses"]
            return status["restartCount"] >= 1 and bool(status.get("ready"))

        eventually(restarted, timeout=120, interval=1, message="the wedged replica restarted")
        print(f"operator pod: wedged replica restarted and ready "
              f"{time.monotonic() - wedged:.1f} s after SIGSTOP")
    finally:
        kubectl("delete", "namespace", OPERATOR_NAMESPACE, "--ignore-not-found",
                "--wait=true", "--timeout=120s", timeout=150)
        for kind in ("clusterrolebinding", "clusterrole"):
            kubectl("delete", kind, "handtracker-operator", "--ignore-not-found")
