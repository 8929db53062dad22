"""`make demo`'s main job, end to end: the local cluster with its real node, the
operator, examples/minimal.yaml Ready with real pods, and the web UI served by those
pods through their Service; Ctrl-C then stops everything the demo started.

The demo runs on the session's cluster (there is one real node per machine), in a
namespace of its own; `up` and `down` of a cluster are tested in tests/cluster."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from hack import controlplane, images
from hack.controlplane import realnode
from tests.fixtures.cluster import Kubectl, eventually
from tests.fixtures.testdata import REPO_ROOT
from tests.fixtures.workload_server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.cluster]



def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    """Demo output up to the line holding marker (the demo prints as it goes)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            seen.append(line)
            if marker in line:
                return "".join(seen)
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.2)
    raise AssertionError(f"demo did not print {marker!r}; output so far:\n{''.join(seen)}")


def test_demo_serves_the_ui_from_real_pods_and_stops_cleanly(
    real_node: Any, namespace: str, kubectl: Kubectl, hands_dir: Path
) -> None:
    state_dir = real_node.state_dir
    bind = f"127.0.0.1:{free_port()}"
    env = dict(os.environ)
    env.update(
        HANDTRACKER_CLUSTER_DIR=str(state_dir),
        HANDTRACKER_DEMO_NAMESPACE=namespace,
        HANDTRACKER_DEMO_BIND=bind,
        HANDTRACKER_LIVENESS=f"http://127.0.0.1:{free_port()}/healthz",
        HANDTRACKER_METRICS_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hack.demo"], cwd=REPO_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        output = _read_until(proc, "Hand-tracking web UI", timeout=420)
        assert "hands   True" in output  # `kubectl get ht` printed the Ready example

        ready = kubectl.json("get", "ht", "hands", "-n", namespace)
        conditions = {c["type"]: c["status"] for c in ready["status"]["conditions"]}
        assert conditions["Ready"] == "True"
        pods = kubectl.json("get", "pods", "-n", namespace,
                            "-l", "app.kubernetes.io/instance=hands")["items"]
        assert pods and {p["spec"]["nodeName"] for p in pods} == {realnode.NODE_NAME}
        assert {p["spec"]["containers"][0]["image"] for p in pods} == {images.WORKLOAD_IMAGE}

        with urllib.request.urlopen(f"http://{bind}/", timeout=10) as page:
            assert page.status == 200
            assert "HandTracker" in page.read().decode()
        photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
        request = urllib.request.Request(
            f"http://{bind}/v1/landmarks", data=photo, headers={"Content-Type": "image/jpeg"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            body = json.load(answer)
        assert len(body["hands"]) == 1
        # The pods run with the model settings from the operator's ConfigMap.
        assert body["model"]["complexity"] == ready["spec"]["model"]["complexity"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    # The cluster was running before the demo, so it stays; what the demo made goes.
    assert controlplane.current(state_dir) is not None
    eventually(lambda: not kubectl.json("get", "ht", "-n", namespace)["items"], timeout=30,
               message="the demo's HandTracker is deleted")
    with socket.socket() as sock:
        assert sock.connect_ex(_addr(bind)) != 0, "the UI still answers after Ctrl-C"


def _addr(bind: str) -> tuple[str, int]:
    host, port = bind.rsplit(":", 1)
    return host, int(port)
