"""`make test` builds no image (`make images` does), so these tests hold the
Dockerfiles to what CI can check without one: hadolint is clean, and every
requirements file an image installs is one that `make test` installs too, so a
broken pin or a wrong file name fails CI rather than a user's image build."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.repo import REPO_ROOT

ROOT = REPO_ROOT
DOCKERFILES = ["Dockerfile.operator", "Dockerfile.workload"]


def _tool(name: str) -> str:
    """The pinned linter from the project's virtualenv, else one on PATH."""
    pinned = Path(sys.executable).parent / name
    found = str(pinned) if pinned.exists() else shutil.which(name)
    assert found, f"{name} is not installed (it is pinned in requirements/dev.txt)"
    return found


def _requirement_files(dockerfile: Path) -> set[str]:
    return set(re.findall(r"-r\s+\S*?(requirements/[\w.-]+\.txt)", dockerfile.read_text()))


def _makefile_requirements() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    block = re.search(r"^REQS\s*:=(.*?)(?:\n\n)", text, re.S | re.M)
    assert block, "Makefile has no REQS list"
    return set(re.findall(r"requirements/[\w.-]+\.txt", block.group(1)))


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_is_clean(name: str) -> None:
    result = subprocess.run(
        [_tool("hadolint"), str(ROOT / name)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_installs_only_what_ci_installs(name: str) -> None:
    used = _requirement_files(ROOT / name)
    assert used, f"{name} installs no requirements file"
    for req in used:
        assert (ROOT / req).is_file(), f"{name} installs missing {req}"
    assert used <= _makefile_requirements(), f"{name} installs files CI does not: {used}"


def test_requirements_are_pinned() -> None:
    for path in sorted((ROOT / "requirements").glob("*.txt")):
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line), f"{path.name}: {line}"


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [_tool("ruff"), "check", str(ROOT)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_constraints_agree_with_every_requirements_file() -> None:
    constraints = _pins(ROOT / "requirements" / "constraints.txt")
    for path in sorted((ROOT / "requirements").glob("*.txt")):
        for name, version in _pins(path).items():
            assert constraints.get(name) == version, f"{path.name}: {name}=={version}"


@pytest.mark.parametrize("name", [*DOCKERFILES, "Makefile"])
def test_every_pip_install_is_constrained(name: str) -> None:
    text = (ROOT / name).read_text()
    installs = re.findall(r"pip install[^\n]*", text)
    assert installs, f"{name} installs nothing with pip"
    for install in installs:
        if "--upgrade pip" in install:
            continue
        assert "-c requirements/constraints.txt" in install, install


def test_workload_image_build_step_makes_the_model_bundles(tmp_path: Path) -> None:
    """Runs Dockerfile.workload's bundle step, with its target folder moved to tmp_path."""
    text = (ROOT / "Dockerfile.workload").read_text()
    step = re.search(r"python -m handtracker_workload\.bundle (\S+)", text)
    assert step, "Dockerfile.workload no longer builds the model bundle"
    env_dir = re.search(r"HANDTRACKER_MODEL_BUNDLE_DIR=(\S+)", text)
    assert env_dir and env_dir.group(1) == step.group(1), "the image reads its bundle elsewhere"
    env = {"PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-m", "handtracker_workload.bundle", str(tmp_path)],
        check=True, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == ["hand_landmarker_full.task", "hand_landmarker_lite.task"]
