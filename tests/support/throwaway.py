"""Small images of a test's own, built on the project's base image, each differing from
the others in one file; removed from buildah's store afterwards."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hack.gobuild import locked
from hack.images import base
from hack.images.paths import work_root


def _build(base_ref: str, ref: str, file: Path) -> None:
    container = subprocess.run(["buildah", "from", "--pull=never", "--quiet", base_ref],
                               capture_output=True, text=True, check=True).stdout.strip()
    try:
        subprocess.run(["buildah", "copy", "--quiet", container, str(file),
                        "/etc/handtracker-throwaway"], capture_output=True, check=True)
        subprocess.run(["buildah", "commit", "--quiet", "--format", "docker", container, ref],
                       capture_output=True, check=True)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


@contextmanager
def images(repository: str, names: tuple[str, ...], folder: Path) -> Iterator[tuple[str, ...]]:
    """`<repository>:<name>-<run>` for each name, unique to this run."""
    run = uuid.uuid4().hex[:8]
    refs = tuple(f"{repository}:{name}-{run}" for name in names)
    # The image builds share this lock: two builds at once race on the tags.
    with locked(work_root() / "lock"):
        base_ref = base.ensure().ref
        for ref in refs:
            file = folder / ref.rpartition(":")[2]
            file.write_text(f"{ref}\n")
            _build(base_ref, ref, file)
    try:
        yield refs
    finally:
        subprocess.run(["buildah", "rmi", *refs], capture_output=True, check=False)
