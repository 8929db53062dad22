"""Every example on real pods, and what a photo sent through the Service gives back."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from handtracker_workload import create_app
from handtracker_workload.config import Settings
from handtracker_workload.inference import Detector

from hack import children, node
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, example, wait_condition, wait_stable
from tests.realnode.helpers import on_real_node, pods, service_url
from tests.support.waiting import eventually

PHOTO = "mpsamples_two_thumbs_up.jpg"


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same pipeline in this process, with the HandTracker's default model settings."""
    settings = Settings(model_bundle_dir=tmp_path_factory.mktemp("models"), workers=1)
    detector = Detector(settings)
    yield create_app(settings, detector=detector).test_client()
    detector.close()


def test_minimal_example_serves_the_same_hands_as_in_process(
    ns: str, kubectl: Kubectl, operator: Any, hands_dir: Path, in_process: Any
) -> None:
    started = time.monotonic()
    apply(kubectl, ns, on_real_node(example("minimal")))
    ht = wait_stable(kubectl, ns, "hands")
    print(f"minimal example Ready with real pods in {time.monotonic() - started:.1f} s")
    assert ht["status"]["readyReplicas"] == 2
    for pod in pods(kubectl, ns, "hands"):
        assert pod["spec"]["nodeName"] == node.NODE_NAME
        assert pod["status"]["podIP"].startswith("10.245.0.")

    photo = (hands_dir / PHOTO).read_bytes()
    served = requests.post(f"{service_url(kubectl, ns, 'hands')}/v1/landmarks", data=photo,
                           headers={"Content-Type": "image/jpeg"}, timeout=60)
    assert served.status_code == 200, served.text
    local = in_process.post("/v1/landmarks", data=photo, content_type="image/jpeg")
    assert local.status_code == 200
    ours, theirs = served.json()["hands"], local.get_json()["hands"]
    assert len(ours) == len(theirs) >= 1
    for a, b in zip(ours, theirs, strict=True):
        assert a["handedness"]["label"] == b["handedness"]["label"]
        assert a["gesture"] == b["gesture"]
        for p, q in zip(a["landmarks"], b["landmarks"], strict=True):
            assert abs(p["x"] - q["x"]) < 1e-3 and abs(p["y"] - q["y"]) < 1e-3


def test_production_example_is_ready_with_real_pods(
    ns: str, kubectl: Kubectl, operator: Any
) -> None:
    apply(kubectl, ns, on_real_node(example("production")))
    ht = wait_stable(kubectl, ns, "hands-prod")
    assert ht["status"]["readyReplicas"] >= 2  # the HPA's minimum
    assert {p["spec"]["nodeName"] for p in pods(kubectl, ns, "hands-prod")} == {
        node.NODE_NAME}


def test_suspended_example_runs_nothing_until_resumed(
    ns: str, kubectl: Kubectl, operator: Any
) -> None:
    manifest = on_real_node(example("suspended"))
    apply(kubectl, ns, manifest)
    wait_condition(kubectl, ns, "hands-paused", status="False", reason="Suspended")
    assert pods(kubectl, ns, "hands-paused") == []
    kubectl("patch", "ht", "hands-paused", "-n", ns, "--type=merge",
            "-p", '{"spec":{"suspended":false,"replicas":1}}')
    wait_condition(kubectl, ns, "hands-paused", timeout=240)


def test_logs_exec_port_forward_and_top_reach_real_pods(
    ns: str, kubectl: Kubectl, operator: Any
) -> None:
    manifest = on_real_node(example("minimal"))
    manifest["spec"]["replicas"] = 1
    apply(kubectl, ns, manifest)
    wait_condition(kubectl, ns, "hands", timeout=240)
    pod = pods(kubectl, ns, "hands")[0]["metadata"]["name"]

    # JSON log lines of the workload, through the kubelet.
    assert '"message"' in kubectl("logs", "-n", ns, pod, "--tail=20")
    # A process started inside the container sees the image's files and user.
    assert kubectl("exec", "-n", ns, pod, "--", "id", "-u").strip() == "10001"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    forward = children.start(
        [str(kubectl.cluster.bin_dir / "kubectl"), f"--kubeconfig={kubectl.cluster.kubeconfig}",
         "-n", ns, "port-forward", f"pod/{pod}", f"{port}:8080"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        def answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok
            except requests.RequestException:
                return False

        eventually(answers, timeout=30, message="the port-forward answers")
    finally:
        children.stop([forward])

    # metrics-server scrapes the kubelet; the first figures take a resolution or two.
    def top() -> str:
        try:
            return kubectl("top", "pod", "-n", ns, pod, "--no-headers")
        except AssertionError:
            return ""

    line = eventually(top, timeout=90, interval=3, message="kubectl top pod")
    cpu, memory = line.split()[1:3]
    assert cpu.endswith("m") and memory.endswith("Mi")
    assert int(memory[:-2]) > 50  # a loaded MediaPipe model, not an empty sandbox
    assert node.NODE_NAME in kubectl("top", "node", "--no-headers")
