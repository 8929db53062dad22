"""The operator as a real process (`python -m handtracker_operator`), restartable: its
liveness and metrics on ports of its own, its output in a log, started and stopped like
every child of the test bed (hack/children.py)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from hack import children
from tests.support.net import free_port
from tests.support.repo import REPO_ROOT
from tests.support.waiting import eventually


class OperatorProcess:
    """`python -m handtracker_operator` in a subprocess, restartable."""

    def __init__(self, env: dict[str, str], log: Path, args: tuple[str, ...] = (),
                 resync_seconds: float = 10) -> None:
        self.env = env
        self.log = log
        self.args = args
        self.resync_seconds = resync_seconds  # short, so quiet-period tests cover it too
        self.health_port = free_port()
        self.metrics_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None  # of the last stop

    def start(self) -> None:
        args = [sys.executable, "-m", "handtracker_operator",
                "--liveness", f"http://127.0.0.1:{self.health_port}/healthz",
                "--metrics-port", str(self.metrics_port),
                "--resync-seconds", str(self.resync_seconds), *self.args]
        with self.log.open("ab") as out:
            self.proc = children.start(args, env=self.env, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        eventually(self.healthy, timeout=60, interval=0.5, message="operator liveness")

    def healthy(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.tail()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.health_port}/healthz", timeout=2
            ) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no clean exit, no last keep-alive."""
        if self.proc:
            children.kill(self.proc)
        self.proc = None

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels` (0 if none)."""
        total = 0.0
        for line in self.metrics().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            series, value = line.rsplit(" ", 1)
            if series.split("{")[0] != name:
                continue
            if all(f'{k}="{v}"' in series for k, v in labels.items()):
                total += float(value)
        return total

    def stop(self) -> float:
        """SIGTERM, as a pod's operator gets it; returns the seconds it took to exit
        (SIGKILL after 10 s) and keeps its exit code in `exit_code`."""
        took = 0.0
        if self.proc:
            took = children.stop([self.proc], grace=10)[self.proc.pid]
            self.exit_code = self.proc.returncode
        self.proc = None
        return took

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
