"""`make demo`'s main job, end to end: a control plane of its own, the operator,
examples/minimal.yaml Ready, and the web UI answering with the environment the
operator wrote; Ctrl-C then stops everything the demo started."""

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

import pytest

from hack import controlplane
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


def test_demo_serves_the_ui_and_stops_cleanly(tmp_path: Path, hands_dir: Path) -> None:
    state_dir = tmp_path / "cluster"
    bind = f"127.0.0.1:{free_port()}"
    env = dict(os.environ)
    env.update(
        HANDTRACKER_CLUSTER_DIR=str(state_dir),  # its own cluster, so teardown is tested too
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
        output = _read_until(proc, "Hand-tracking web UI", timeout=300)
        assert "hands   True" in output  # `kubectl get ht` printed the Ready example

        cluster = controlplane.current(state_dir)
        assert cluster is not None
        ready = json.loads(
            cluster.kubectl("get", "ht", "hands", "-n", "default", "-o", "json").stdout
        )
        conditions = {c["type"]: c["status"] for c in ready["status"]["conditions"]}
        assert conditions["Ready"] == "True"

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
        # The workload runs with the model settings from the operator's ConfigMap.
        assert body["model"]["complexity"] == ready["spec"]["model"]["complexity"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            controlplane.down(state_dir)
            raise
    assert code == 0
    assert controlplane.current(state_dir) is None
    with socket.socket() as sock:
        assert sock.connect_ex(_addr(bind)) != 0, "the UI still answers after Ctrl-C"


def _addr(bind: str) -> tuple[str, int]:
    host, port = bind.rsplit(":", 1)
    return host, int(port)
