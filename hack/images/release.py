"""The previous release, rebuilt from the commit hack/releases.toml records for it: its
tree (chart, CRD, Dockerfiles, sources) and its operator image, which the upgrade test
installs with helm before upgrading to the checkout.

The tree is the commit's `git archive`, unpacked once into the images cache: it needs the
repository's history, not its tags, and no work tree of the checkout is touched.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from . import dockerfile
from .buildah import BuiltImage
from .commands import ImageBuildError
from .paths import REPO_ROOT, work_root

RECORD = REPO_ROOT / "hack" / "releases.toml"
OPERATOR_REPOSITORY = "localhost/handtracker-operator"


@dataclass(frozen=True)
class Release:
    version: str
    commit: str
    date: str

    @property
    def operator_image(self) -> str:
        return f"{OPERATOR_REPOSITORY}:{self.version}"

    @property
    def tree(self) -> Path:
        return work_root() / "releases" / f"{self.version}-{self.commit[:12]}"

    @property
    def chart(self) -> Path:
        return self.tree / "charts" / "handtracker-operator"

    @property
    def crd(self) -> Path:
        return self.tree / "crds" / "handtrackers.yaml"


def releases() -> list[Release]:
    """Every recorded release, oldest first."""
    entries = tomllib.loads(RECORD.read_text())["release"]
    found = [Release(e["version"], e["commit"], e["date"]) for e in entries]
    return sorted(found, key=lambda r: Version(r.version))


def previous() -> Release:
    """The newest recorded release: the one a user upgrades from."""
    return releases()[-1]


def checkout(release: Release) -> Path:
    """The release's tree, unpacked from git once; later calls reuse it."""
    if release.tree.is_dir():
        return release.tree
    probe = subprocess.run(["git", "-C", str(REPO_ROOT), "cat-file", "-e",
                            f"{release.commit}^{{commit}}"], capture_output=True, check=False)
    if probe.returncode != 0:
        raise ImageBuildError(
            f"release {release.version}'s commit {release.commit} is not in this clone "
            f"(a shallow clone? `git fetch --unshallow`)")
    release.tree.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=release.tree.parent) as scratch:
        archive = Path(scratch) / "tree.tar"
        subprocess.run(["git", "-C", str(REPO_ROOT), "archive", "--format=tar",
                        "-o", str(archive), release.commit], check=True)
        unpacked = Path(scratch) / "tree"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="tar")
        # A rename, so a half-written tree is never taken for a whole one.
        unpacked.rename(release.tree)
    return release.tree


def operator_image(release: Release) -> dockerfile.DockerfileImage:
    return dockerfile.DockerfileImage(f"operator-{release.version}", OPERATOR_REPOSITORY,
                                      "Dockerfile.operator", context=release.tree,
                                      release=release.version)


def ensure(base: BuiltImage, release: Release | None = None) -> BuiltImage:
    """The release's operator image, from its own Dockerfile and sources on today's base."""
    release = release or previous()
    checkout(release)
    return dockerfile.ensure(operator_image(release), base)

