"""Starting the components as detached processes and stopping exactly those again.

A PID alone is not enough to recognise "our" process later (PIDs are reused),
so each record also keeps the process start time from /proc/<pid>/stat.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int  # field 22 of /proc/<pid>/stat
    log: str  # path of the combined stdout/stderr log

    def to_json(self) -> dict:
        return {
            "name": self.name, "pid": self.pid, "start_ticks": self.start_ticks, "log": self.log
        }

    @classmethod
    def from_json(cls, data: dict) -> ProcessRecord:
        return cls(data["name"], int(data["pid"]), int(data["start_ticks"]), data["log"])


def start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after it are plain.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited already
        return None
    return int(fields[19])


def is_running(record: ProcessRecord) -> bool:
    return start_ticks(record.pid) == record.start_ticks


def spawn(
    name: str, argv: list[str], log: Path, env: dict[str, str] | None = None
) -> ProcessRecord:
    """Starts `argv` in its own session so it outlives the command that started it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, env=env, close_fds=True,
        )
    # An instant exit leaves no start time: the record then never counts as running,
    # and the caller's next check reports the crash with the log tail.
    ticks = start_ticks(proc.pid) or -1
    # The Popen object is dropped on purpose: the component must outlive this
    # process, and stop() reaps it by PID. Marking it finished keeps Python from
    # warning about a child that is "still running" when the object is collected.
    proc.returncode = 0
    return ProcessRecord(name, proc.pid, ticks, str(log))


def stop(records: list[ProcessRecord], grace: float = 10.0) -> list[str]:
    """Stops the recorded processes that still run, one at a time, in the given order.

    One at a time because order matters: kube-apiserver stopped after etcd spends
    its whole shutdown retrying etcd. Each gets SIGTERM, then SIGKILL after `grace`
    seconds. Returns the names of the processes that were running.
    """
    _reap(records)  # collect any that died earlier, so they do not linger as zombies
    stopped = []
    for record in records:
        if not is_running(record):
            continue
        stopped.append(record.name)
        _signal(record, signal.SIGTERM)
        if not _wait_gone(record, grace):
            _signal(record, signal.SIGKILL)
            _wait_gone(record, 5.0)
    return stopped


def _wait_gone(record: ProcessRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_running(record):
        if time.monotonic() > deadline:
            return False
        _reap([record])
        time.sleep(0.02)
    return True


def _signal(record: ProcessRecord, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, sig)


def _reap(records: list[ProcessRecord]) -> None:
    """Collects the exit status of recorded processes that are children of this one.

    Only the recorded PIDs are waited for: other children of the calling process
    (a test run has many) keep their exit status for their own owners.
    """
    for record in records:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(record.pid, os.WNOHANG)


def log_tail(log: Path | str, lines: int = 25) -> str:
    try:
        text = Path(log).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
