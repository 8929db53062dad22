"""The test bed: the local control plane (hack/controlplane/) with the real node
(hack/node/) joined, the project's images (hack/images/) loaded into it, and a real
Gateway API implementation running there (gateway.py).

The top of the bed's layers, each importing only those below it:
gobuild ← controlplane ← node ← images ← bed. Images are built by their own explicit
step (`python -m hack.images build`, run by `make demo` and `make test`); `up` only
loads what is built into the node's containerd, and says which image is missing.

Command line: `python -m hack.bed up|down|status|env|kubectl ...`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from hack import controlplane, images, node
from hack.controlplane import Cluster, ClusterError, Member, current, restart, status

from . import gateway

# What joins the control plane: the real node, where the machine can run it.
MEMBERS: tuple[Member, ...] = (node.RealNode(),)


def up(state_dir: Path | str | None = None) -> Cluster:
    """Starts the bed, or returns the one running in `state_dir`, with the node's images
    loaded (those containerd already holds are skipped)."""
    cluster = controlplane.up(state_dir, members=MEMBERS)
    _furnish(cluster)
    return cluster


def down(state_dir: Path | str | None = None) -> list[str]:
    """Takes the bed down and restores the machine; returns what was running."""
    return controlplane.down(state_dir, members=MEMBERS)


@contextlib.contextmanager
def shared(state_dir: Path | str | None = None) -> Iterator[Cluster]:
    """The bed for the duration of the block, shared with concurrent users (see
    `controlplane.shared`)."""
    with controlplane.shared(state_dir, members=MEMBERS) as cluster:
        _furnish(cluster)
        yield cluster


def _furnish(cluster: Cluster) -> None:
    """The built images into the node's containerd, then the Gateway that runs there
    (installed when this call started the cluster, or when it is not programmed)."""
    if not node.runs_in(cluster):
        return
    try:
        images.load(cluster.containerd_socket, images.node_images())
    except images.ImageBuildError as err:
        raise ClusterError(f"loading the images into {node.NODE_NAME}: {err}") from err
    if cluster.started or not gateway.programmed(cluster):
        gateway.install(cluster)


__all__ = ["Cluster", "ClusterError", "current", "down", "restart", "shared", "status", "up"]
