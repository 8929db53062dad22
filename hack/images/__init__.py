"""The project's container images, built on this machine without a registry.

base      a stand-in for python:3.11-slim: Debian bookworm by debootstrap + a venv (base.py)
pause     the kubelet's sandbox image, from the pinned Kubernetes release (pause.py)
workload  Dockerfile.workload on the base (dockerfile.py)
operator  Dockerfile.operator on the base

Each is rebuilt only when the hash of its inputs differs from the label on the stored
image. `load()` imports them into a containerd for a real kubelet. Command line:
`python -m hack.images build|load|list`. Needs root, buildah, debootstrap, gcc and Go;
loading needs ctr.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from . import base, dockerfile, pause
from .buildah import BuiltImage
from .commands import ImageBuildError, Timer, log, require
from .containerd import load
from .paths import work_root

WORKLOAD_IMAGE = "localhost/handtracker-workload:dev"
OPERATOR_IMAGE = "localhost/handtracker-operator:dev"
# The kubelet's sandbox image (containerd's `sandbox_image`), e.g. localhost/pause:v1.36.3.
PAUSE_IMAGE = pause.image_ref()
# What a node runs, in the order load() imports them.
NODE_IMAGES = (PAUSE_IMAGE, WORKLOAD_IMAGE, OPERATOR_IMAGE)

WORKLOAD = dockerfile.DockerfileImage("workload", WORKLOAD_IMAGE, "Dockerfile.workload")
OPERATOR = dockerfile.DockerfileImage("operator", OPERATOR_IMAGE, "Dockerfile.operator")


@contextmanager
def _lock() -> Iterator[None]:
    """Two builds at once would both bootstrap a base and race on the tags."""
    with open(work_root() / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_built() -> list[BuiltImage]:
    """Base, pause, workload and operator images, each built only when out of date."""
    require(["buildah", "debootstrap", "gcc", "chroot"])
    timer = Timer()
    with _lock():
        base_image = base.ensure()
        images = [
            base_image,
            pause.ensure(),
            dockerfile.ensure(WORKLOAD, base_image),
            dockerfile.ensure(OPERATOR, base_image),
        ]
    summary = ", ".join(f"{i.name} {'built' if i.built else 'up to date'}" for i in images)
    log(f"images: {summary} ({timer.seconds:.1f} s)")
    return images


__all__ = [
    "NODE_IMAGES",
    "OPERATOR_IMAGE",
    "PAUSE_IMAGE",
    "WORKLOAD_IMAGE",
    "BuiltImage",
    "ImageBuildError",
    "ensure_built",
    "load",
]
