"""A real local Kubernetes control plane for the tests and the demo.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake
Nodes whose pods become Running and Ready) run as local processes on 127.0.0.1,
built from pinned upstream sources. Members such as the real node (hack/node/) join
it through `up(members=...)`. Command line: `python -m hack.controlplane build`; the
whole bed (control plane, node and images): `python -m hack.bed`.
"""

from hack.gobuild import BuildError

from .build import ensure_built
from .cluster import (
    Cluster,
    ClusterError,
    Handle,
    Member,
    Status,
    containerd_socket,
    current,
    down,
    restart,
    shared,
    status,
    up,
)
from .paths import DEFAULT_STATE_DIR

__all__ = [
    "DEFAULT_STATE_DIR",
    "BuildError",
    "Cluster",
    "ClusterError",
    "Handle",
    "Member",
    "Status",
    "containerd_socket",
    "current",
    "down",
    "ensure_built",
    "restart",
    "shared",
    "status",
    "up",
]
