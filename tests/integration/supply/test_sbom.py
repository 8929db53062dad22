"""The pinned syft on a made-up root filesystem: Python distributions in a venv and
Debian packages, each by its package URL, and a package that is not installed left out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hack.supply import sbom
from hack.tools import ensure_tool

pytestmark = pytest.mark.slow


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    site = tmp_path / "opt/venv/lib/python3.11/site-packages"
    _write(site / "Flask-3.1.0.dist-info/METADATA",
           "Metadata-Version: 2.1\nName: Flask\nVersion: 3.1.0\n\nLong: text\n")
    _write(site / "typing_extensions-4.16.0.dist-info/METADATA",
           "Metadata-Version: 2.1\nName: typing_extensions\nVersion: 4.16.0\n")
    _write(tmp_path / "var/lib/dpkg/status", "\n".join([
        "Package: base-files", "Status: install ok installed", "Priority: required",
        "Architecture: amd64", "Version: 12.4+deb12u15", "Description: Debian base system",
        " miscellaneous files", "",
        "Package: adduser", "Status: install ok installed", "Priority: important",
        "Architecture: all", "Version: 3.134", "Description: add and remove users", "",
        "Package: vim", "Status: deinstall ok config-files", "Priority: optional",
        "Architecture: amd64", "Version: 2:9.0.1378-2", "Description: editor", "",
    ]))
    _write(tmp_path / "etc/os-release", 'ID=debian\nVERSION_ID="12"\nNAME="Debian"\n')
    return tmp_path


def test_the_sbom_lists_python_and_debian_packages_by_purl(rootfs: Path) -> None:
    bom = sbom.of_root(rootfs, "handtracker-workload", "dev")
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.6")
    assert (bom["metadata"]["component"]["name"],
            bom["metadata"]["component"]["version"]) == ("handtracker-workload", "dev")
    assert sbom.versions(bom, "pypi") == {"flask": "3.1.0", "typing-extensions": "4.16.0"}
    assert sbom.versions(bom, "deb") == {"adduser": "3.134", "base-files": "12.4+deb12u15"}
    purls = {c["purl"].partition("?")[0] for c in bom["components"] if "purl" in c}
    assert {"pkg:pypi/flask@3.1.0", "pkg:deb/debian/base-files@12.4%2Bdeb12u15"} <= purls


def test_the_modules_of_a_go_binary_are_listed(tmp_path: Path) -> None:
    binary = tmp_path / "usr/local/bin/registry"
    binary.parent.mkdir(parents=True)
    subprocess.run(["cp", str(ensure_tool("registry")), str(binary)], check=True)
    bom = sbom.of_root(tmp_path, "registry", "v3.1.2")
    assert sbom.versions(bom, "golang")["github.com/distribution/distribution/v3"] == "v3.1.2"


def test_the_pinned_syft_reports_its_release() -> None:
    version = subprocess.run([str(ensure_tool("syft")), "--version"], capture_output=True,
                             text=True, check=True).stdout
    assert version.strip() == "syft v1.57.2"
