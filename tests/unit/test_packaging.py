"""`make test` builds no image (`make images` does), so these tests hold the
Dockerfiles to what CI can check without one: hadolint is clean, every
requirements file an image installs is one that `make test` installs too, so a
broken pin or a wrong file name fails CI rather than a user's image build, and
the project reaches an image only as its wheel, built from what pyproject.toml
declares."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hack import lock
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
    return set(re.findall(r"-r\s+\S*?(requirements/[\w.-]+\.lock)", dockerfile.read_text()))


def _makefile_requirements() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    block = re.search(r"^LOCKS\s*:=(.*?)(?:\n)", text, re.M)
    assert block, "Makefile has no LOCKS list"
    return set(re.findall(r"requirements/[\w.-]+\.lock", block.group(1)))


def _stages(dockerfile: Path) -> dict[str, str]:
    """{stage name ("" for the last, unnamed one): its instructions}."""
    stages: dict[str, str] = {}
    for block in re.split(r"^(?=FROM )", dockerfile.read_text(), flags=re.M)[1:]:
        named = re.match(r"FROM \S+ AS (\S+)", block)
        stages[named.group(1) if named else ""] = block
    return stages


def _copied(stage: str) -> list[str]:
    """Context paths a stage's COPY steps take (not those from another stage)."""
    sources = []
    for line in re.findall(r"^COPY (.*)$", stage, re.M):
        if "--from=" not in line:
            sources += line.split()[:-1]
    return sources


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_image_gets_the_project_only_as_its_wheel(name: str) -> None:
    stages = _stages(ROOT / name)
    assert set(stages) == {"wheel", ""}, "a wheel stage, then the image"
    # The build backend comes from its lock, not from an unchecked build isolation.
    assert "pip install --no-cache-dir --require-hashes -r requirements/build.lock" \
        in stages["wheel"]
    assert "pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels ." \
        in stages["wheel"]
    final = stages[""]
    assert all(src.startswith("requirements/") for src in _copied(final)), _copied(final)
    assert "COPY --from=wheel /wheels/ /tmp/wheels/" in final
    install = re.search(r"pip install [^\n]*--no-deps /tmp/wheels/handtracker-\*\.whl", final)
    assert install, "the wheel is installed over the requirements, without dependencies"
    assert final.index("-r requirements/") < install.start()


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_wheel_stage_copies_what_the_build_reads(name: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {"pyproject.toml", project["project"]["readme"], "requirements/build.lock",
              *project["tool"]["setuptools"]["package-dir"].values()}
    assert set(_copied(_stages(ROOT / name)["wheel"])) == wanted
    ignore = (ROOT / ".dockerignore").read_text().split()
    for source in wanted:
        let_in = {f"!{source}", f"!{source}/", f"!{source.split('/')[0]}/"}
        assert let_in & set(ignore), f".dockerignore leaves out {source}"


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
    # CI's virtualenv holds every package an image installs, at the same version.
    installed_by_ci: dict[str, str] = {}
    for req in _makefile_requirements():
        installed_by_ci.update(lock.pins((ROOT / req).read_text()))
    for req in used:
        for package, version in lock.pins((ROOT / req).read_text()).items():
            assert installed_by_ci.get(package) == version, f"{name}: {req} {package}"


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


@pytest.mark.parametrize("name", [*DOCKERFILES, "Makefile"])
def test_every_pip_install_is_hash_checked(name: str) -> None:
    """Every install is of a lock in hash-checking mode, or of the project itself (built
    here from the checkout) without its dependencies."""
    text = (ROOT / name).read_text()
    installs = re.findall(r"pip install[^\n]*", text)
    assert installs, f"{name} installs nothing with pip"
    for install in installs:
        project = "--no-deps" in install and ("-e ." in install or "handtracker-*.whl" in install)
        assert project or "--require-hashes" in install, install


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
