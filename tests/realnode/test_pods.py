"""What a real kubelet does with the operator's pods: the restricted security context
as the running process has it, a rolling update under traffic, and the failure reasons
a real kubelet reports."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from hack import images
from tests.fixtures.cluster import Kubectl, KubectlError
from tests.fixtures.operator import apply, wait_condition, wait_stable
from tests.realnode.helpers import (
    Prober,
    container_pid,
    pods,
    ready_reason,
    service_url,
    tracker,
    warning_reasons,
)
from tests.support.waiting import eventually


def _proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}


def test_restricted_security_context_is_enforced_on_the_process(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    apply(kubectl, ns, tracker("secure"))
    wait_condition(kubectl, ns, "secure", timeout=240)
    pod = pods(kubectl, ns, "secure")[0]
    pid = container_pid(real_node, pod)
    status = _proc_status(pid)

    assert status["Uid"].split() == ["10001"] * 4
    assert status["Gid"].split() == ["10001"] * 4
    assert int(status["CapEff"], 16) == 0
    assert int(status["CapPrm"], 16) == 0
    assert int(status["CapBnd"], 16) == 0  # drop: [ALL]
    assert status["NoNewPrivs"] == "1"  # allowPrivilegeEscalation: false
    assert status["Seccomp"] == "2"  # a seccomp filter (RuntimeDefault) is loaded

    mounts = Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
    root = next(m.split() for m in mounts if m.split()[4] == "/")
    assert "ro" in root[5].split(","), root  # readOnlyRootFilesystem
    tmp = next(m.split() for m in mounts if m.split()[4] == "/tmp")
    assert "rw" in tmp[5].split(",")  # the emptyDir

    name = pod["metadata"]["name"]
    try:
        kubectl("exec", "-n", ns, name, "--", "python", "-c", "open('/written', 'w')")
        raise AssertionError("the root filesystem accepted a write")
    except KubectlError as err:
        assert "Read-only file system" in str(err)
    # And it still serves.
    answer = requests.get(f"{service_url(kubectl, ns, 'secure')}/readyz", timeout=10)
    assert answer.status_code == 200


def test_a_model_change_rolls_the_pods_without_failing_a_request(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any, hands_dir: Path
) -> None:
    apply(kubectl, ns, tracker("rolling", replicas=2))
    wait_stable(kubectl, ns, "rolling")
    before = {p["metadata"]["name"] for p in pods(kubectl, ns, "rolling")}
    url = f"{service_url(kubectl, ns, 'rolling')}/v1/landmarks"
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()

    def send() -> requests.Response:
        # A new connection each time, as kube-proxy balances connections, not requests.
        return requests.post(url, data=photo, headers={"Content-Type": "image/jpeg",
                                                       "Connection": "close"}, timeout=30)

    with Prober(send, interval=0.1, max_requests=1500) as prober:
        time.sleep(2)  # traffic is flowing before the change
        started = time.monotonic()
        kubectl("patch", "ht", "rolling", "-n", ns, "--type=merge",
                "-p", '{"spec":{"model":{"complexity":"lite"}}}')

        def rolled() -> bool:
            current = pods(kubectl, ns, "rolling")
            names = {p["metadata"]["name"] for p in current}
            return not (names & before) and len(current) == 2 and all(
                cs.get("ready") for p in current for cs in p["status"]["containerStatuses"])

        eventually(rolled, timeout=180, interval=0.5, message="new pods only")
        rollout = time.monotonic() - started
        wait_stable(kubectl, ns, "rolling")
        time.sleep(2)  # and after it
    sent = len(prober.outcomes)
    print(f"rollout of 2 pods took {rollout:.1f} s; {sent} requests, "
          f"{len(prober.failures)} failed")
    assert sent >= 50
    assert prober.failures == []


def _wait_problem(kubectl: Kubectl, ns: str, name: str, reason: str,
                  timeout: float = 180) -> str:
    def degraded() -> str:
        status, why, message = ready_reason(kubectl, ns, name)
        return message if why == reason else ""

    message = eventually(degraded, timeout=timeout, interval=1,
                         message=f"{name} Degraded with {reason}")
    eventually(lambda: "Degraded" in warning_reasons(kubectl, ns, name), timeout=30)
    return message


def test_a_missing_local_image_is_reported_and_a_fixed_spec_recovers(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    apply(kubectl, ns, tracker("noimage", image="localhost/handtracker-missing:none",
                                imagePullPolicy="Never"))
    message = _wait_problem(kubectl, ns, "noimage", "ErrImageNeverPull")
    assert "localhost/handtracker-missing:none" in message
    assert ready_reason(kubectl, ns, "noimage")[0] == "False"
    # The pinned image is on the node (the bed pulled it): Never is fine for it.
    kubectl("patch", "ht", "noimage", "-n", ns, "--type=merge", "-p", json.dumps(
        {"spec": {"image": images.pinned(images.workload_image())}}))
    wait_condition(kubectl, ns, "noimage", timeout=240)


def test_a_bad_workload_setting_crash_loops_with_the_error_in_status(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    # The API accepts a CPU limit of 300; the workload refuses 300 worker processes.
    spec = tracker("crashy")["spec"]
    resources = {**spec["resources"], "limits": {"cpu": "300", "memory": "1Gi"}}
    apply(kubectl, ns, tracker("crashy", resources=resources))
    message = _wait_problem(kubectl, ns, "crashy", "CrashLoopBackOff")
    assert "HANDTRACKER_WORKERS" in message, message
    assert "exited with code" in message
    kubectl("patch", "ht", "crashy", "-n", ns, "--type=merge",
            "-p", '{"spec":{"resources":{"limits":{"cpu":"1"}}}}')
    wait_condition(kubectl, ns, "crashy", timeout=240)


def test_a_tiny_memory_limit_is_reported_as_oom_killed_and_recovers(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    apply(kubectl, ns, tracker("tiny", resources={
        "requests": {"cpu": "100m", "memory": "80Mi"}, "limits": {"cpu": "1", "memory": "80Mi"},
    }))
    _wait_problem(kubectl, ns, "tiny", "OOMKilled")
    last = pods(kubectl, ns, "tiny")[0]["status"]["containerStatuses"][0]
    terminated = last.get("lastState", {}).get("terminated") or last["state"].get("terminated")
    assert terminated["reason"] == "OOMKilled"
    kubectl("patch", "ht", "tiny", "-n", ns, "--type=merge", "-p", json.dumps(
        {"spec": {"resources": {"requests": {"memory": "256Mi"},
                                "limits": {"memory": "1Gi"}}}}))
    wait_condition(kubectl, ns, "tiny", timeout=240)
