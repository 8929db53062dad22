"""Child processes that never outlive the process that started them.

The demo, the test fixtures and the benchmarks start operators, workload servers and
`kubectl port-forward`s. An orphan of one of them keeps acting on the cluster: an
operator left behind fights the next run's operators over the same objects. So every
such child

- runs in a process group of its own, which `stop` signals as a whole (a gunicorn
  master's workers go with it), and which a terminal's Ctrl-C does not reach: the parent
  alone decides when and in which order its children stop;
- gets SIGKILL from the kernel when its parent dies, even by SIGKILL (Linux's parent
  death signal, set by util-linux's `setpriv` just before it execs the program, so no
  Python code runs between fork and exec).

The parent death signal follows the thread that started the child: start children
from a thread that lives as long as they should (the main thread, in practice).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import Any

SETPRIV = "/usr/bin/setpriv"
# Seconds a stopping child gets between SIGTERM and SIGKILL.
DEFAULT_GRACE = 5.0


def start(argv: Sequence[str], **popen: Any) -> subprocess.Popen:
    """`subprocess.Popen(argv, **popen)` in a new process group, with SIGKILL as its
    parent death signal."""
    if popen.get("start_new_session") or "process_group" in popen:
        raise ValueError("children.start sets the process group itself")
    return subprocess.Popen([SETPRIV, "--pdeathsig", "KILL", "--", *argv],
                            process_group=0, **popen)


def stop(procs: Sequence[subprocess.Popen], grace: float = DEFAULT_GRACE) -> dict[int, float]:
    """SIGTERM to each child's whole group at once, SIGKILL to the groups still there
    `grace` seconds later. Returns each child's seconds from SIGTERM to its exit, by PID."""
    started = time.monotonic()
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
    took: dict[int, float] = {}
    for proc in procs:
        if not _exited(proc, started + grace):
            _signal_group(proc, signal.SIGKILL)
            _exited(proc, time.monotonic() + 5.0)
        took[proc.pid] = time.monotonic() - started
        # The leader has exited; members of its group that have not (a gunicorn worker
        # between its master's exit and its own) must not stay behind.
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
    return took


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL to the child's whole group: no clean exit."""
    _signal_group(proc, signal.SIGKILL)
    proc.wait()


def _exited(proc: subprocess.Popen, deadline: float) -> bool:
    """Waits until the child has exited, without reaping it: while its zombie holds the
    PID, the group's ID cannot be handed to a new process, so signalling the group
    never reaches a stranger (PIDs here wrap at 32768)."""
    while proc.returncode is None:
        with contextlib.suppress(ChildProcessError):
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _signal_group(proc: subprocess.Popen, sig: signal.Signals) -> None:
    if proc.returncode is not None:
        return  # reaped earlier: its PID, and so its group's ID, may belong to another now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
