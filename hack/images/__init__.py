"""The project's container images, built on this machine with buildah and published to
the bed's registry (hack/supply/): pinned by digest, signed, each with a signed SBOM.

base      a stand-in for python:3.11-slim: Debian bookworm by debootstrap + a venv (base.py)
pause     the kubelet's sandbox image, from the pinned Kubernetes release (pause.py)
traefik   the bed's Gateway API controller, the pinned Traefik on scratch (traefik.py)
workload  Dockerfile.workload on the base (dockerfile.py)
operator  Dockerfile.operator on the base
model     localhost/handtracker-model:full and :lite, "model cars": the workload's builtin
          bundle at /models/hand_landmarker.task on the base, its sha256 in a label
          (modelcar.py), for tests of model images copied in by an init container
release   the previous release's operator (e.g. localhost/handtracker-operator:0.1.0),
          from its own Dockerfile and sources at the commit hack/releases.toml records
          (release.py), for the upgrade test

Each is rebuilt only when the hash of its inputs differs from the label on the stored
image, and published unless the registry holds it; `pinned(ref)` is its pinned ref.
`pull()` has a containerd (the bed's node) pull the pinned images, each verified first.
Command line: `python -m hack.images build|list`. Needs root, buildah, debootstrap, gcc
and Go; pulling needs ctr.
"""

from __future__ import annotations

from hack.gobuild import locked

from . import base, dockerfile, modelcar, pause, release, traefik
from .buildah import BuiltImage
from .commands import ImageBuildError, Timer, log, require
from .containerd import Pulled, pull
from .modelcar import MODEL_IMAGES, model_sha256
from .paths import work_root
from .publish import pinned, publish

# Tagged with the project's version (pyproject.toml), e.g. localhost/handtracker-workload:0.2.0.
WORKLOAD = dockerfile.DockerfileImage("workload", "localhost/handtracker-workload",
                                      "Dockerfile.workload")
OPERATOR = dockerfile.DockerfileImage("operator", "localhost/handtracker-operator",
                                      "Dockerfile.operator")


def workload_image() -> str:
    return WORKLOAD.ref


def operator_image() -> str:
    return OPERATOR.ref


def node_images() -> tuple[str, ...]:
    """What a node runs, in the order they are published and pulled: the kubelet's
    sandbox image (e.g. localhost/pause:v1.36.3), the workload, the operator, the Gateway
    controller, the model cars and the previous release's operator."""
    return (pause.image_ref(), workload_image(), operator_image(), traefik.image_ref(),
            *MODEL_IMAGES.values(), release.previous().operator_image)  # fmt: skip


def ensure_built() -> list[BuiltImage]:
    """Base, pause, workload, operator, Traefik and model images, each built only when
    out of date; then every node image published (pushed only when changed)."""
    require(["buildah", "debootstrap", "gcc", "chroot"])
    timer = Timer()
    # Two builds at once would both bootstrap a base and race on the tags.
    with locked(work_root() / "lock"):
        base_image = base.ensure()
        images = [
            base_image,
            pause.ensure(),
            dockerfile.ensure(WORKLOAD, base_image),
            dockerfile.ensure(OPERATOR, base_image),
            traefik.ensure(),
            *modelcar.ensure(base_image),
            release.ensure(base_image),
        ]
        # Under the same lock: a concurrent build must not retag an image mid-push.
        publish(node_images())
    summary = ", ".join(f"{i.name} {'built' if i.built else 'up to date'}" for i in images)
    log(f"images: {summary} ({timer.seconds:.1f} s)")
    return images


__all__ = [
    "MODEL_IMAGES",
    "BuiltImage",
    "ImageBuildError",
    "Pulled",
    "ensure_built",
    "model_sha256",
    "node_images",
    "operator_image",
    "pinned",
    "publish",
    "pull",
    "workload_image",
]
