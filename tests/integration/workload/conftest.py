"""Fixtures for the workload on real photos: one detector per session, and the
real server (`python -m handtracker_workload`, gunicorn) in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from handtracker_workload import create_app
from handtracker_workload.config import Settings
from handtracker_workload.inference import Detector

from tests.fixtures.testdata import REPO_ROOT


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def settings(bundle_dir: Path) -> Settings:
    return Settings(model_bundle_dir=bundle_dir, workers=1)


@pytest.fixture(scope="session")
def detector(settings: Settings) -> Iterator[Detector]:
    detector = Detector(settings)
    yield detector
    detector.close()


@pytest.fixture(scope="session")
def app(settings: Settings, detector: Detector) -> Flask:
    return create_app(settings, detector=detector)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def post(self, path: str, data: bytes, content_type: str = "image/jpeg",
             **kwargs) -> requests.Response:  # fmt: skip
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
        return requests.post(self.url + path, data=data, headers=headers, timeout=60, **kwargs)

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=10)

    def logged(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text)


@contextmanager
def running_server(bundle_dir: Path, log: Path, **env: str) -> Iterator[Server]:
    """`python -m handtracker_workload` on a free port, ready on every worker."""
    port = free_port()
    full_env = {
        **os.environ,
        "PYTHONPATH": f"{REPO_ROOT / 'workload'}",
        "HANDTRACKER_MODEL_BUNDLE_DIR": str(bundle_dir),
        "HANDTRACKER_WORKERS": "2",
        "HANDTRACKER_LOG_LEVEL": "info",
        **env,
    }
    workers = int(full_env["HANDTRACKER_WORKERS"])
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "handtracker_workload", "--bind", f"127.0.0.1:{port}"],
            env=full_env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 60
        while server.logged("Loaded the hand landmarker") < workers:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert server.get("/readyz").status_code == 200
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def start_server(
    bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., contextmanager]:
    def start(**env: str):
        return running_server(bundle_dir, tmp_path_factory.mktemp("server") / "log", **env)

    return start
