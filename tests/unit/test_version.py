"""pyproject.toml's version is the only one written by hand: the packages, the operator's
default workload image and the image tags derive from it, and the manifests users apply
as they are (deploy/, examples/) carry it literally, checked here."""

from __future__ import annotations

from pathlib import Path

import handtracker_operator
import handtracker_workload
import pytest
import yaml
from handtracker_operator import spec

from hack import images, version
from tests.support.repo import REPO_ROOT

OPERATOR_REPOSITORY = "ghcr.io/handtracking-dev/handtracker-operator"
WORKLOAD_REPOSITORY = "ghcr.io/handtracking-dev/handtracker-workload"


def test_the_installed_packages_carry_the_projects_version() -> None:
    # Installed metadata is as new as the last `make venv`; a bump needs it run again.
    assert handtracker_operator.__version__ == version.read(), "run `make venv`"
    assert handtracker_workload.__version__ == version.read()


def test_the_default_workload_image_is_the_release_of_this_version() -> None:
    assert f"{WORKLOAD_REPOSITORY}:{version.read()}" == spec.DEFAULT_IMAGE
    assert spec.parse({}).image == spec.DEFAULT_IMAGE


def test_deploy_runs_this_versions_operator_and_workload() -> None:
    doc = yaml.safe_load((REPO_ROOT / "deploy" / "operator" / "deployment.yaml").read_text())
    (container,) = doc["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{OPERATOR_REPOSITORY}:{version.read()}"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HANDTRACKER_DEFAULT_IMAGE"] == spec.DEFAULT_IMAGE


def _example_images() -> list[tuple[str, str]]:
    found = []
    for path in sorted((REPO_ROOT / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            image = ((doc or {}).get("spec") or {}).get("image")
            if image and image.startswith(WORKLOAD_REPOSITORY + ":"):
                found.append((path.name, image))
    return found


def test_some_examples_pin_the_workload_image() -> None:
    assert {name for name, _ in _example_images()} >= {"production.yaml", "canary.yaml"}


@pytest.mark.parametrize(("name", "image"), _example_images())
def test_examples_pin_this_versions_workload(name: str, image: str) -> None:
    assert image == spec.DEFAULT_IMAGE, f"examples/{name}"


def test_local_images_are_tagged_with_the_version() -> None:
    assert images.workload_image() == f"localhost/handtracker-workload:{version.read()}"
    assert images.operator_image() == f"localhost/handtracker-operator:{version.read()}"


def test_version_is_read_from_pyproject(tmp_path: Path, monkeypatch) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "7.8.9"\n')
    monkeypatch.setattr(version, "PYPROJECT", pyproject)
    assert version.read() == "7.8.9"
    assert images.workload_image().endswith(":7.8.9")
