"""Starting the real server (`python -m handtracker_workload`) for browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.fixtures.testdata import REPO_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(tmp: Path, **env: str) -> Iterator[str]:
    """The production server on a free port, with one warm worker; yields its URL."""
    port = _free_port()
    log = tmp / "server.log"
    full_env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "workload"),
        "HANDTRACKER_MODEL_BUNDLE_DIR": str(tmp / "models"),
        "HANDTRACKER_WORKERS": "1",
        "HANDTRACKER_UI_TITLE": "HandTracker browser test",
        **env,
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "handtracker_workload", "--bind", f"127.0.0.1:{port}"],
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            try:
                if requests.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
