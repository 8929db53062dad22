"""A registry of the tests' own on a free loopback port, with its storage, key pair,
pins and SBOMs in a temporary folder, and two small images built on the project's base
image that differ in one file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hack.supply import registry
from hack.supply.settings import Registry, Supply
from tests.support import throwaway
from tests.support.net import free_port

REPOSITORY = "localhost/handtracker-supplytest"


@pytest.fixture(scope="session")
def supply(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supply]:
    folder = tmp_path_factory.mktemp("supply")
    with registry.running(Registry("127.0.0.1", free_port(), folder / "registry")) as reg:
        yield Supply(reg, folder)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two images in one repository: a and b, unique to this run."""
    with throwaway.images(REPOSITORY, ("a", "b"), tmp_path_factory.mktemp("images")) as refs:
        yield refs
