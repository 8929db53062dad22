"""`make demo`'s main job, end to end: the local cluster with its real node, the
operator, examples/minimal.yaml Ready with real pods, and the web UI served by those
pods through their Service; Ctrl-C then stops everything the demo started.

The demo runs on the session's cluster (there is one real node per machine), in a
namespace of its own; `up` and `down` of a cluster are tested in tests/cluster."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from hack import bed, images, node
from hack.controlplane.processes import start_ticks
from tests.fixtures.cluster import Kubectl
from tests.support.net import free_port
from tests.support.repo import REPO_ROOT
from tests.support.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.cluster]



# `make demo` exits this soon after Ctrl-C when the cluster was running before it.
STOP_BUDGET = 10.0


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


def _rest(proc: subprocess.Popen) -> str:
    """What the demo printed after the last read, once it has exited."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), True)
    return proc.stdout.read()


def _started(output: str) -> dict[str, int]:
    """The demo's children by name, from its "Started NAME, pid N" lines."""
    return {m["name"]: int(m["pid"])
            for m in re.finditer(r"^Started (?P<name>\S+), pid (?P<pid>\d+)", output, re.M)}


def _running(pid: int) -> bool:
    return start_ticks(pid) is not None  # None: gone, or a zombie


def _launch(argv: list[str], state_dir: Path, namespace: str) -> tuple[subprocess.Popen, str]:
    """Starts the demo in a session of its own, as a terminal would run it; returns it
    with its web UI's address."""
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
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, bind


def _stopped(proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until the demo exited; killed (and failed) past `timeout`."""
    signalled = time.monotonic()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError(f"the demo did not exit within {timeout:.0f} s") from None
    return time.monotonic() - signalled


def test_make_demo_serves_the_ui_from_real_pods_and_ctrl_c_stops_it_cleanly(
    real_node: Any, namespace: str, kubectl: Kubectl, hands_dir: Path
) -> None:
    """`make demo` in a terminal, then Ctrl-C: the terminal sends SIGINT to the whole
    foreground process group (make and the demo), as here."""
    proc, bind = _launch(["make", "demo"], real_node.state_dir, namespace)
    try:
        output = _read_until(proc, "Hand-tracking web UI", timeout=420)
        assert "hands   True" in output  # `kubectl get ht` printed the Ready example
        started = _started(output)
        assert set(started) == {"operator", "port-forward"}

        ready = kubectl.json("get", "ht", "hands", "-n", namespace)
        conditions = {c["type"]: c["status"] for c in ready["status"]["conditions"]}
        assert conditions["Ready"] == "True"
        pods = kubectl.json("get", "pods", "-n", namespace,
                            "-l", "app.kubernetes.io/instance=hands")["items"]
        assert pods and {p["spec"]["nodeName"] for p in pods} == {node.NODE_NAME}
        pinned = images.pinned(images.workload_image())
        assert {p["spec"]["containers"][0]["image"] for p in pods} == {pinned}
        assert {p["status"]["containerStatuses"][0]["imageID"] for p in pods} == {pinned}

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
        os.killpg(proc.pid, signal.SIGINT)
    took = _stopped(proc, timeout=60)
    rest = _rest(proc)
    print(f"make demo exited {took:.1f} s after Ctrl-C: {rest.strip().splitlines()[-1]}")
    assert "Stopping the demo" in rest
    assert "Stopped the demo in" in rest
    assert "***" not in rest and "exited (code" not in rest, rest  # no error from make
    # make ends by the SIGINT it got, as every make target does on Ctrl-C.
    assert proc.returncode == -signal.SIGINT
    assert took <= STOP_BUDGET
    assert not [name for name, pid in started.items() if _running(pid)]
    # The cluster was running before the demo, so it stays; what the demo made goes.
    assert bed.current(real_node.state_dir) is not None
    eventually(lambda: not kubectl.json("get", "ht", "-n", namespace)["items"], timeout=30,
               message="the demo's HandTracker is deleted")
    assert not _answers(bind), "the UI still answers after Ctrl-C"


def test_sigterm_stops_the_demo_as_ctrl_c_does(
    real_node: Any, namespace: str, kubectl: Kubectl
) -> None:
    proc, _ = _launch([sys.executable, "-m", "hack.demo"], real_node.state_dir, namespace)
    try:
        started = _started(_read_until(proc, "Hand-tracking web UI", timeout=420))
    finally:
        proc.send_signal(signal.SIGTERM)  # the demo alone, as `kill PID` does
    took = _stopped(proc, timeout=60)
    rest = _rest(proc)
    assert proc.returncode == 0, rest
    assert "Stopping the demo" in rest
    assert took <= STOP_BUDGET
    assert set(started) == {"operator", "port-forward"}
    assert not [name for name, pid in started.items() if _running(pid)]
    eventually(lambda: not kubectl.json("get", "ht", "-n", namespace)["items"], timeout=30,
               message="the demo's HandTracker is deleted")


def test_the_demos_operator_and_port_forward_die_with_it_even_when_it_is_killed(
    real_node: Any, namespace: str, kubectl: Kubectl
) -> None:
    """SIGKILL leaves the demo no code to run: its children must not live on (an orphaned
    operator would fight every later operator over the same objects)."""
    proc, bind = _launch([sys.executable, "-m", "hack.demo"], real_node.state_dir, namespace)
    try:
        started = _started(_read_until(proc, "Hand-tracking web UI", timeout=420))
    finally:
        proc.kill()
        proc.wait()
    assert set(started) == {"operator", "port-forward"}
    eventually(lambda: not [name for name, pid in started.items() if _running(pid)],
               timeout=10, message="the operator and the port-forward are gone")
    # A killed process's main thread shows as a zombie while its other threads (kubectl
    # is a Go program) still hold its sockets for a moment: wait for the port to close.
    eventually(lambda: not _answers(bind), timeout=10, message="the UI stops answering")
    # Nothing was left to delete the example: the namespace's removal takes it.


def _answers(bind: str) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(_addr(bind)) == 0


def _addr(bind: str) -> tuple[str, int]:
    host, port = bind.rsplit(":", 1)
    return host, int(port)
