"""The workload server as a real process (`python -m handtracker_workload`, gunicorn) on
a free loopback port, or another server run the same way (the benchmark's seed app):
started and stopped like every child of the test bed (hack/children.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from hack import children
from tests.support.net import free_port

# Each worker logs this once its detector is loaded.
LOADED = "Loaded the hand landmarker"


class WorkloadProcess:
    """Ready once every worker runs and answers: for the workload, every worker has loaded
    its detector and /readyz answers 200; for another server, 20 answers in a row on /."""

    def __init__(self, bundle_dir: Path, log: Path, env: Mapping[str, str] | None = None,
                 command: Sequence[str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.ours = command is None
        self.command = [*(command or (sys.executable, "-m", "handtracker_workload")),
                        "--bind", f"127.0.0.1:{self.port}"]
        self.env = {**os.environ, "HANDTRACKER_MODEL_BUNDLE_DIR": str(bundle_dir), **(env or {})}
        self.expected_workers = int(self.env.get("HANDTRACKER_WORKERS") or os.cpu_count() or 1)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        with self.log.open("wb") as sink:
            self.process = children.start(self.command, env=self.env,
                                          stdin=subprocess.DEVNULL, stdout=sink,
                                          stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                state = ("exited with code " + str(self.process.returncode)
                         if self.process.returncode is not None else f"not ready in {timeout} s")
                raise RuntimeError(f"{' '.join(self.command)} {state}:\n{self.tail()}")
            time.sleep(0.1)

    def ready(self) -> bool:
        if len(self.workers()) < self.expected_workers:
            return False
        if self.ours:
            return self.logged(LOADED) >= self.expected_workers and self._answers("/readyz")
        # Another server says nothing of its workers' start: answers in a row are the
        # sign that every worker takes requests.
        return all(self._answers("/") for _ in range(20))

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as answer:
                return answer.status == 200
        except urllib.error.HTTPError as err:
            return not self.ours and err.code == 404  # the seed app has no page at /
        except OSError:
            return False

    def workers(self) -> list[int]:
        """The PIDs of the server's worker processes (gunicorn's master's children)."""
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def logged(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text) if self.log.exists() else 0

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 30) -> None:
        """SIGTERM (the workload drains), SIGKILL after `grace` seconds."""
        if self.process is not None:
            children.stop([self.process], grace=grace)
