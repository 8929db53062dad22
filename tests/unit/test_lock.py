"""Hash-locked requirements: the locks agree with the pins, every package has a hash, and
pip in hash-checking mode installs a wheel whose hash the lock holds and refuses one whose
hash differs, naming it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.tags import Tag

from hack import lock


def test_the_locks_hold_every_pin_at_its_version_with_hashes() -> None:
    assert lock.check() == []


def test_every_requirements_file_is_locked() -> None:
    inputs = {source for entry in lock.LOCKS for source in entry.inputs}
    assert inputs == {p.name for p in lock.REQUIREMENTS.glob("*.txt")}


def test_check_names_a_pin_the_lock_lacks_and_a_package_without_hash(tmp_path: Path) -> None:
    for entry in lock.LOCKS:
        for source in entry.inputs:
            (tmp_path / source).write_text((lock.REQUIREMENTS / source).read_text())
        (tmp_path / entry.name).write_text((lock.REQUIREMENTS / entry.name).read_text())
    (tmp_path / "operator.txt").write_text("kopf==0.0.1\n")
    text = (tmp_path / "build.lock").read_text()
    unhashed = re.sub(r"(setuptools==\S+) \\\n(?:\s+--hash=\S+(?: \\)?\n)+", r"\1\n", text)
    assert unhashed != text
    (tmp_path / "build.lock").write_text(unhashed)
    problems = lock.check(tmp_path)
    assert any("operator.lock: operator.txt pins kopf==0.0.1" in p for p in problems), problems
    assert any("build.lock: setuptools has no hash" in p for p in problems), problems


def test_render_and_read_back() -> None:
    entry = lock.Lock("x.lock", ("x.txt",), no_deps=True)
    text = lock.render(entry, {"b": ("2.0", ["f" * 64]), "a": ("1.0", ["e" * 64, "d" * 64])})
    assert "pip install --require-hashes --no-deps -r requirements/x.lock" in text
    assert lock.pins(text) == {"a": "1.0", "b": "2.0"}
    assert lock.hashes(text) == {"a": {"d" * 64, "e" * 64}, "b": {"f" * 64}}


@pytest.mark.parametrize(("tag", "runs"), [
    (Tag("py3", "none", "any"), True),
    (Tag("cp311", "cp311", "manylinux_2_17_x86_64"), True),
    (Tag("cp311", "cp311", "musllinux_1_2_aarch64"), True),
    (Tag("cp38", "abi3", "manylinux2014_x86_64"), True),
    (Tag("cp312", "cp312", "manylinux_2_17_x86_64"), False),
    (Tag("cp311", "cp311", "win_amd64"), False),
    (Tag("cp311", "cp311", "macosx_11_0_arm64"), False),
])
def test_only_wheels_for_cpython_3_11_on_linux_are_hashed(tag: Tag, runs: bool) -> None:
    assert lock._runs_here(tag) is runs


def _wheel(tmp_path: Path) -> Path:
    """A tiny wheel of our own, built offline with the locked build backend."""
    project = tmp_path / "project"
    (project / "tinypkg").mkdir(parents=True)
    (project / "tinypkg" / "__init__.py").write_text("VALUE = 1\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tinypkg"\nversion = "1.0"\n')
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(wheels), str(project)],
                   check=True, capture_output=True, timeout=120)
    return next(wheels.glob("tinypkg-1.0-*.whl"))


@pytest.mark.slow
def test_pip_refuses_a_wheel_whose_hash_differs_from_the_lock(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    good = hashlib.sha256(wheel.read_bytes()).hexdigest()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)

    def install(digest: str) -> subprocess.CompletedProcess[str]:
        locked = tmp_path / "tiny.lock"
        locked.write_text(lock.render(lock.Lock("tiny.lock", ()), {"tinypkg": ("1.0", [digest])}))
        return subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
             "--require-hashes", "--no-index", "--find-links", str(wheel.parent),
             "-r", str(locked)], capture_output=True, text=True, timeout=120, check=False)

    refused = install("0" * 64)
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr and "tinypkg" in refused.stderr
    assert good in refused.stderr  # pip names the hash it found
    accepted = install(good)
    assert accepted.returncode == 0, accepted.stderr
