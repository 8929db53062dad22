"""`up` is idempotent, a dead component is reported, `down` leaves no process behind.

The crash and `down` checks run against a second cluster in a temporary state
folder, so the session's cluster that the other tests share is never touched.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hack import bed, controlplane
from tests.support.repo import REPO_ROOT
from tests.support.waiting import eventually


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hack.bed", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )


def _processes(state_dir: Path) -> dict[str, int]:
    state = json.loads((state_dir / "state.json").read_text())
    return {p["name"]: p["pid"] for p in state["processes"]}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_up_on_a_running_cluster_returns_at_once(cluster) -> None:
    before = _processes(cluster.state_dir)
    started = time.monotonic()
    again = bed.up(cluster.state_dir)
    elapsed = time.monotonic() - started
    # No start: only each image's pin, signature and SBOM verified again (cosign, for all
    # images at once) where the real node runs.
    assert elapsed < 5.0
    assert not again.started
    assert again.server == cluster.server
    assert _processes(cluster.state_dir) == before


def test_up_command_reports_the_running_cluster(cluster) -> None:
    result = _cli("--state-dir", str(cluster.state_dir), "up")
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stdout
    assert f"KUBECONFIG={cluster.kubeconfig}" in result.stdout
    status = _cli("--state-dir", str(cluster.state_dir), "status")
    assert status.returncode == 0, status.stderr
    assert "/readyz: ok" in status.stdout


@pytest.mark.cluster
@pytest.mark.slow
def test_crash_is_reported_and_down_stops_every_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The machine has one real node, held by the session's cluster: this one, with no
    # members, is the control plane and kwok only.
    state_dir = tmp_path / "second"
    second = controlplane.up(state_dir)
    try:
        assert second.started
        assert second.kubeconfig == state_dir / "kubeconfig"
        pids = _processes(state_dir)
        assert set(pids) == {
            "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"
        }
        assert controlplane.status(state_dir).ready

        os.kill(pids["kube-scheduler"], signal.SIGKILL)
        eventually(lambda: not _alive(pids["kube-scheduler"]), timeout=10)
        report = controlplane.status(state_dir)
        assert not report.ready
        assert any("kube-scheduler" in p and "Last lines" in p for p in report.problems)
        cli = _cli("--state-dir", str(state_dir), "status")
        assert cli.returncode == 1
        assert "kube-scheduler" in cli.stderr

        # `up` on the broken cluster says what died, stops the rest and starts afresh.
        with caplog.at_level(logging.WARNING, logger="hack.controlplane.cluster"):
            restarted = controlplane.up(state_dir)
        assert "kube-scheduler" in caplog.text
        assert restarted.started
        assert not any(_alive(pid) for pid in pids.values())
        pids = _processes(state_dir)
        port = int(restarted.server.rsplit(":", 1)[1])
        assert _port_open(port)
    finally:
        stopped = controlplane.down(state_dir)

    assert sorted(stopped) == sorted(pids)
    eventually(lambda: not any(_alive(pid) for pid in pids.values()), timeout=10)
    assert not _port_open(port)
    assert not (state_dir / "state.json").exists()
    assert not (state_dir / "kubeconfig").exists()
    assert (state_dir / "logs" / "kube-apiserver.log").is_file()  # kept for post-mortems
    assert controlplane.down(state_dir) == []  # and a second `down` is a no-op
