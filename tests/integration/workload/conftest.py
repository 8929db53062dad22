"""Fixtures for the workload on real photos: one detector per session, and the
real server (`python -m handtracker_workload`, gunicorn) in a subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from handtracker_workload import create_app
from handtracker_workload.config import Settings
from handtracker_workload.inference import Detector

from tests.fixtures.workload_server import running_server


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


@pytest.fixture(scope="session")
def start_server(
    bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., contextmanager]:
    def start(**env: str):
        return running_server(bundle_dir, tmp_path_factory.mktemp("server") / "log", **env)

    return start
