"""Process bookkeeping with real processes: stop exactly what was recorded, report crashes."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from hack.controlplane.cluster import ClusterError, wait_for
from hack.controlplane.processes import ProcessRecord, is_running, spawn, stop
from tests.support.waiting import eventually

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
# Ignores SIGTERM, like a component stuck in its shutdown.
STUBBORN = [
    sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ignoring SIGTERM', flush=True); time.sleep(120)",
]


def test_stop_ends_only_the_recorded_processes(tmp_path: Path) -> None:
    first = spawn("first", SLEEPER, tmp_path / "first.log")
    second = spawn("second", SLEEPER, tmp_path / "second.log")
    try:
        assert stop([first]) == ["first"]
        assert not is_running(first)
        assert is_running(second)
    finally:
        stop([second])
    assert not is_running(second)


def test_a_reused_pid_is_not_signalled(tmp_path: Path) -> None:
    victim = spawn("victim", SLEEPER, tmp_path / "victim.log")
    try:
        # Same PID, other start time: what a record looks like once its PID was reused.
        stale = ProcessRecord("old", victim.pid, victim.start_ticks - 1, victim.log)
        assert not is_running(stale)
        assert stop([stale]) == []
        assert is_running(victim)
    finally:
        stop([victim])


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    stubborn = spawn("stubborn", STUBBORN, log)
    eventually(lambda: "ignoring SIGTERM" in log.read_text(), timeout=10)
    started = time.monotonic()
    assert stop([stubborn], grace=0.5) == ["stubborn"]
    assert not is_running(stubborn)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("delay", ["", "sleep 0.3; "], ids=["instant-exit", "exit-later"])
def test_a_component_that_exits_is_reported_with_its_log_tail(tmp_path: Path, delay: str) -> None:
    message = "listen tcp 127.0.0.1:6443: bind: address already in use"
    crashing = spawn(
        "kube-apiserver",
        ["sh", "-c", f"{delay}echo '{message}'; exit 1"],
        tmp_path / "kube-apiserver.log",
    )
    started = time.monotonic()
    with pytest.raises(ClusterError, match="address already in use") as err:
        wait_for("kube-apiserver /readyz", lambda: False, [crashing], timeout=60)
    assert "kube-apiserver" in str(err.value)
    assert time.monotonic() - started < 5  # reported at once, not after the timeout
