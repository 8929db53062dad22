"""The pure parts of hack/images: what counts as an image's input, where the Debian
mirror comes from, the Dockerfiles' base-image argument, and what the model cars carry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from handtracker_workload import bundle

from hack import images
from hack.images import inputs, mirror, modelcar
from tests.support.repo import REPO_ROOT

ROOT = REPO_ROOT
DOCKERFILES = ["Dockerfile.operator", "Dockerfile.workload"]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def context(tmp_path: Path) -> Path:
    _write(tmp_path / "Dockerfile", (
        "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\n"
        "COPY requirements/app.txt \\\n     requirements/\n"
        "RUN pip install -r requirements/app.txt\n"
        'COPY --chown=1:1 ["workload/", "workload/"]\n'
    ))  # fmt: skip
    _write(tmp_path / "requirements" / "app.txt", "flask==3.0.0\n")
    _write(tmp_path / "workload" / "app" / "main.py", "print('hi')\n")
    _write(tmp_path / "README.md", "docs\n")
    _write(tmp_path / ".dockerignore", "*\n!workload/\n!requirements/\n")
    return tmp_path


def _hash(context: Path, base_id: str = "sha256:base") -> str:
    return inputs.inputs_hash(context / "Dockerfile", context, base_id)


def test_copy_sources_follow_the_dockerfile(context: Path) -> None:
    text = (context / "Dockerfile").read_text()
    assert inputs.copy_sources(text) == ["requirements/app.txt", "workload/"]


def test_the_real_dockerfiles_copy_what_the_build_hashes() -> None:
    sources = inputs.copy_sources((ROOT / "Dockerfile.workload").read_text())
    assert {"pyproject.toml", "workload/handtracker_workload",
            "requirements/workload.lock"} <= set(sources)
    files = inputs.context_files(ROOT, sources)
    assert Path("workload/handtracker_workload/__main__.py") in files
    assert Path("workload/handtracker_workload/static/app.js") in files


def test_hash_changes_with_a_workload_file(context: Path) -> None:
    before = _hash(context)
    (context / "workload" / "app" / "main.py").write_text("print('bye')\n")
    assert _hash(context) != before


def test_hash_changes_with_a_new_workload_file(context: Path) -> None:
    before = _hash(context)
    _write(context / "workload" / "app" / "extra.py", "")
    assert _hash(context) != before


def test_hash_changes_with_the_base_image(context: Path) -> None:
    assert _hash(context, "sha256:one") != _hash(context, "sha256:two")


def test_hash_ignores_unrelated_files_and_bytecode(context: Path) -> None:
    before = _hash(context)
    (context / "README.md").write_text("other docs\n")
    _write(context / "tests" / "test_x.py", "")
    _write(context / "workload" / "app" / "__pycache__" / "main.cpython-311.pyc", "x")
    assert _hash(context) == before


def test_a_missing_copy_source_is_an_error(context: Path) -> None:
    (context / "requirements" / "app.txt").unlink()
    with pytest.raises(FileNotFoundError, match="requirements/app.txt"):
        _hash(context)


DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://off.example.org/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
URIs: http://mirror.example.org/debian/
Suites: bookworm
  bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

ONE_LINE = """\
# deb http://commented.example.org/debian bookworm main
deb-src http://src.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://sec.example.org/d bookworm-security main
deb [ arch=amd64 ] https://mirror.example.org/debian bookworm main non-free-firmware
"""


def test_mirror_from_deb822_sources() -> None:
    assert mirror.mirror_from_deb822(DEB822, "bookworm") == "http://mirror.example.org/debian"
    assert mirror.mirror_from_deb822(DEB822, "trixie") is None


def test_mirror_from_one_line_sources() -> None:
    expected = "https://mirror.example.org/debian"
    assert mirror.mirror_from_one_line(ONE_LINE, "bookworm") == expected
    assert mirror.mirror_from_one_line(ONE_LINE, "bookworm-security") == "http://sec.example.org/d"


def test_find_mirror_reads_both_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mirror.MIRROR_ENV, raising=False)
    _write(tmp_path / "sources.list", ONE_LINE)
    # Ignored: neither .sources nor .list.
    _write(tmp_path / "sources.list.d" / "a.sources.off", DEB822.replace("mirror.", "off."))
    assert mirror.find_mirror("bookworm", tmp_path) == "https://mirror.example.org/debian"
    # deb822 files come first.
    _write(tmp_path / "sources.list.d" / "debian.sources", DEB822)
    assert mirror.find_mirror("bookworm", tmp_path) == "http://mirror.example.org/debian"
    with pytest.raises(LookupError, match=mirror.MIRROR_ENV):
        mirror.find_mirror("trixie", tmp_path)
    monkeypatch.setenv(mirror.MIRROR_ENV, "http://override.example.org/debian/")
    assert mirror.find_mirror("trixie", tmp_path) == "http://override.example.org/debian"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_base_is_a_build_arg_defaulting_to_the_official_image(name: str) -> None:
    text = (ROOT / name).read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms == ["${BASE_IMAGE}", "${BASE_IMAGE}"], froms  # the wheel's stage, the image
    arg = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    assert arg and arg.group(1) == "python:3.11-slim"
    assert arg.start() < text.index("FROM ${BASE_IMAGE}"), "the ARG must come before FROM"


# The model cars: what goes into them, found without building an image.


@pytest.fixture(scope="module")
def car_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return modelcar.build_bundles(tmp_path_factory.mktemp("cars"))


def test_a_car_carries_the_workloads_builtin_bundle_byte_for_byte(
    car_bundles: dict[str, Path], tmp_path: Path
) -> None:
    assert sorted(car_bundles) == ["full", "lite"]
    for complexity, path in car_bundles.items():
        builtin = bundle.build(tmp_path, complexity)  # as the workload builds it at start
        assert path.read_bytes() == builtin.read_bytes(), complexity
        assert modelcar.sha256_file(path) == bundle.verify(builtin)


def test_car_inputs_follow_the_base_and_the_bundle_bytes() -> None:
    one = modelcar.inputs_hash("sha256:base", "a" * 64)
    assert one == modelcar.inputs_hash("sha256:base", "a" * 64)
    assert one != modelcar.inputs_hash("sha256:other", "a" * 64)
    assert one != modelcar.inputs_hash("sha256:base", "b" * 64)


def test_expected_inputs_name_each_car_by_its_own_bundle(car_bundles: dict[str, Path]) -> None:
    expected = modelcar.expected_inputs("sha256:base")
    assert expected == {
        images.MODEL_IMAGES[c]: modelcar.inputs_hash("sha256:base", modelcar.sha256_file(p))
        for c, p in car_bundles.items()
    }
    assert len(set(expected.values())) == 2


def test_the_cars_are_node_images_loaded_after_the_workload() -> None:
    refs = images.node_images()
    assert images.MODEL_IMAGES == {
        "full": "localhost/handtracker-model:full", "lite": "localhost/handtracker-model:lite",
    }  # fmt: skip
    cars = [refs.index(ref) for ref in images.MODEL_IMAGES.values()]
    assert min(cars) > refs.index(images.workload_image())
    assert len(set(refs)) == len(refs)


def test_hack_never_imports_the_workload() -> None:
    """The cars get the workload's bundle by running it, so hack/ stays below the code it
    tests."""
    for path in (ROOT / "hack").rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}  # fmt: skip
        imported |= {node.module or "" for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}  # fmt: skip
        assert not any(name.startswith("handtracker_") for name in imported), path
