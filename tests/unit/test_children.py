"""hack/children.py: the demo's, the fixtures' and the benchmarks' child processes never
outlive their parent, and a stop reaches their whole process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from hack import children
from hack.controlplane.processes import start_ticks
from tests.support.repo import REPO_ROOT
from tests.support.waiting import eventually

# A child that ignores SIGTERM and has a child of its own (as a gunicorn master has).
STUBBORN = ["bash", "-c", "trap '' TERM; sleep 300 & echo $!; wait"]


def _alive(pid: int) -> bool:
    return start_ticks(pid) is not None  # None: gone, or a zombie


def _read_pid(proc: subprocess.Popen) -> int:
    assert proc.stdout is not None
    return int(proc.stdout.readline())


def test_a_child_runs_in_a_process_group_of_its_own() -> None:
    proc = children.start(["sleep", "300"])
    try:
        assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)
    finally:
        children.kill(proc)
    assert not _alive(proc.pid)


def test_stop_ends_the_whole_group_and_kills_what_ignores_sigterm_after_the_grace() -> None:
    proc = children.start(STUBBORN, stdout=subprocess.PIPE, text=True)
    grandchild = _read_pid(proc)
    assert _alive(grandchild)
    took = children.stop([proc], grace=0.5)[proc.pid]
    assert 0.5 <= took < 5
    assert proc.returncode == -signal.SIGKILL
    eventually(lambda: not _alive(grandchild), timeout=5, message="the grandchild is gone")


def test_stop_waits_only_as_long_as_a_child_takes_to_exit() -> None:
    proc = children.start(["sleep", "300"])
    took = children.stop([proc], grace=30)[proc.pid]
    assert took < 5
    assert proc.returncode == -signal.SIGTERM


def test_a_child_dies_with_its_parent_even_when_the_parent_is_killed() -> None:
    """The parent gets SIGKILL, so no code of its own can stop its child: the kernel's
    parent death signal does, even for a child that ignores SIGTERM."""
    parent_code = (
        "from hack import children\n"
        "proc = children.start(['bash', '-c', \"trap '' TERM; exec sleep 300\"])\n"
        "print(proc.pid, flush=True)\n"
        "proc.wait()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, text=True)
    child = _read_pid(parent)
    # Past setpriv's exec: the death signal is set from then on.
    eventually(lambda: Path(f"/proc/{child}/comm").read_text().strip() == "sleep", timeout=5,
               message="the child runs sleep")
    parent.kill()
    parent.wait()
    eventually(lambda: not _alive(child), timeout=10, message="the child is gone")
