"""A registry of the tests' own on a free loopback port, with its storage, key pair,
pins and SBOMs in a temporary folder, and two small images built on the project's base
image that differ in one file."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hack.gobuild import locked
from hack.images import base
from hack.images.paths import work_root
from hack.supply import registry
from hack.supply.settings import Registry, Supply
from tests.support.net import free_port

REPOSITORY = "localhost/handtracker-supplytest"


@pytest.fixture(scope="session")
def supply(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supply]:
    folder = tmp_path_factory.mktemp("supply")
    with registry.running(Registry("127.0.0.1", free_port(), folder / "registry")) as reg:
        yield Supply(reg, folder)


def _build(base_ref: str, ref: str, file: Path) -> None:
    container = subprocess.run(["buildah", "from", "--pull=never", "--quiet", base_ref],
                               capture_output=True, text=True, check=True).stdout.strip()
    try:
        subprocess.run(["buildah", "copy", "--quiet", container, str(file),
                        "/etc/handtracker-supplytest"], capture_output=True, check=True)
        subprocess.run(["buildah", "commit", "--quiet", "--format", "docker", container, ref],
                       capture_output=True, check=True)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two images in one repository: a and b, unique to this run."""
    run = uuid.uuid4().hex[:8]
    refs = (f"{REPOSITORY}:a-{run}", f"{REPOSITORY}:b-{run}")
    folder = tmp_path_factory.mktemp("images")
    # The image builds share this lock: two builds at once race on the tags.
    with locked(work_root() / "lock"):
        base_ref = base.ensure().ref
        for ref in refs:
            file = folder / ref.rpartition(":")[2]
            file.write_text(f"{ref}\n")
            _build(base_ref, ref, file)
    yield refs
    subprocess.run(["buildah", "rmi", *refs], capture_output=True, check=False)
