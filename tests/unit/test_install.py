"""The project installs as a package: its extras are the lock files' pins, its wheel holds
every file of both packages, and `pip install .[operator]` works in a fresh virtualenv
from the wheelhouse `make venv` fills, without PyPI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from hack import lock, version, wheelhouse
from tests.support.repo import REPO_ROOT

PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
PACKAGE_DIRS = {name: REPO_ROOT / folder
                for name, folder in PROJECT["tool"]["setuptools"]["package-dir"].items()}


def _file_pins(*names: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for name in names:
        pins.update(lock.pins((lock.REQUIREMENTS / name).read_text()))
    return pins


@pytest.mark.parametrize(("extra", "files"), [
    ("operator", ("operator.txt",)),
    ("workload", ("workload.txt", "workload-nodeps.txt")),
    ("test", ("dev.txt",)),
])
def test_each_extra_pins_what_its_requirements_files_pin(extra: str, files: tuple) -> None:
    extras = PROJECT["project"]["optional-dependencies"][extra]
    assert lock.pins("\n".join(extras)) == _file_pins(*files)


@pytest.fixture(scope="module")
def wheels() -> Path:
    where = wheelhouse.path()
    if not where.is_dir():
        message = f"no wheelhouse at {where} (`make venv` fills it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return where


def _offline_env() -> dict[str, str]:
    """pip with no configuration but the command line's: the wheelhouse is all it has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _project_copy(target: Path) -> Path:
    """What the build reads, copied, so that building leaves nothing in the checkout."""
    target.mkdir()
    for name in ("pyproject.toml", PROJECT["project"]["readme"]):
        shutil.copy2(REPO_ROOT / name, target / name)
    for folder in PACKAGE_DIRS.values():
        shutil.copytree(folder, target / folder.relative_to(REPO_ROOT),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], env=_offline_env(), capture_output=True,
                          text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_the_wheel_holds_every_file_of_both_packages(wheels: Path, tmp_path: Path) -> None:
    source = _project_copy(tmp_path / "src")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index",
         "--find-links", wheels, "--wheel-dir", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert wheel.name == f"handtracker-{version.read()}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"{package}/{path.relative_to(folder).as_posix()}"
                for package, folder in PACKAGE_DIRS.items() for path in folder.rglob("*")
                if path.is_file() and "__pycache__" not in path.parts}
    assert "handtracker_workload/static/app.js" in expected
    assert sorted(expected - names) == []
    dist_info = f"handtracker-{version.read()}.dist-info"
    assert {name.split("/")[0] for name in names} == {*PACKAGE_DIRS, dist_info}
    scripts = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "handtracker-operator = handtracker_operator.__main__:main" in scripts
    assert "handtracker-workload = handtracker_workload.__main__:main" in scripts


@pytest.mark.slow
def test_the_operator_extra_installs_without_pypi(wheels: Path, tmp_path: Path) -> None:
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    python, bin_dir = tmp_path / "venv" / "bin" / "python", tmp_path / "venv" / "bin"
    source = _project_copy(tmp_path / "src")
    _run(python, "-m", "pip", "install", "-q", "--no-index", "--find-links", wheels,
         f"{source}[operator]")
    assert _run(bin_dir / "handtracker-operator", "--help").startswith(
        "usage: handtracker-operator")
    probe = ("import importlib.util, handtracker_operator.handlers; "
             "print(handtracker_operator.__version__, importlib.util.find_spec('flask'))")
    # Run outside the checkout: the package comes from the virtualenv.
    assert _run(python, "-c", probe, cwd=tmp_path).split() == [version.read(), "None"]


def test_the_wheelhouse_is_keyed_by_the_locks(tmp_path: Path, monkeypatch) -> None:
    before = wheelhouse.key()
    changed = tmp_path / "operator.lock"
    changed.write_text(wheelhouse.LOCKS[0].read_text() + "kopf-extra==1.0\n")
    monkeypatch.setattr(wheelhouse, "LOCKS", (changed, *wheelhouse.LOCKS[1:]))
    assert wheelhouse.key() != before
    monkeypatch.setenv("HANDTRACKER_WHEELHOUSE", str(tmp_path / "wheels"))
    assert wheelhouse.path() == tmp_path / "wheels" / wheelhouse.key()
