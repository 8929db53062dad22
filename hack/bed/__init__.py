"""The test bed: the local control plane (hack/controlplane/) with the registry
(localregistry.py) and the real node (hack/node/) joined, the project's images (hack/images/)
pulled into the node by digest, each verified first, and a real Gateway API
implementation running there (gateway.py).

The top of the bed's layers, each importing only those below it:
gobuild ← controlplane ← node ← supply ← images ← bed. Images are built and published
by their own explicit step (`python -m hack.images build`, run by `make demo` and
`make test`); `up` only pulls what is published, and a refused image (unpublished,
re-pointed or with a signature that fails) stops it with the refusal, naming the image.

Command line: `python -m hack.bed up|down|status|env|kubectl ...`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from hack import controlplane, images, node
from hack.controlplane import Cluster, ClusterError, Member, current, restart, status
from hack.supply import Supply, hosts, registry
from hack.supply.registry import RegistryError

from . import gateway
from .localregistry import LocalRegistry

# What joins the control plane: the registry the node pulls from, and the real node,
# where the machine can run it.
MEMBERS: tuple[Member, ...] = (LocalRegistry(), node.RealNode())


def up(state_dir: Path | str | None = None) -> Cluster:
    """Starts the bed, or returns the one running in `state_dir`, with the node's images
    pulled (those containerd already holds are verified, not pulled again)."""
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


def pull(cluster: Cluster, refs: Sequence[str],
         supply: Supply | None = None) -> list[images.Pulled]:
    """The node's containerd pulls each local image's pin from the registry, once its
    pin, signature and SBOM verify (supply: the pins and keys, by default the bed's);
    ClusterError naming the first image refused. The sandbox image is tagged with its
    local name too: containerd's config names it so."""
    try:
        # The cluster's registry; or, when another process owned the one it found and
        # has stopped it since, one for the duration of the pull.
        with registry.running(supply.registry if supply else None) as served:
            hosts.write_hosts(node.registry_hosts(cluster), served)
            return images.pull(cluster.containerd_socket, node.registry_hosts(cluster), refs,
                               local_names={node.sandbox_image()}, supply=supply)
    except (images.ImageBuildError, RegistryError) as err:
        raise ClusterError(f"pulling the images into {node.NODE_NAME}: {err}") from err


def _furnish(cluster: Cluster) -> None:
    """The published images into the node's containerd, then the Gateway that runs there
    (installed when this call started the cluster, or when it is not programmed)."""
    if not node.runs_in(cluster):
        return
    pull(cluster, images.node_images())
    if cluster.started or not gateway.programmed(cluster):
        gateway.install(cluster)


__all__ = ["Cluster", "ClusterError", "current", "down", "pull", "restart", "shared", "status",
           "up"]
