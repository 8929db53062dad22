"""A real local Kubernetes control plane for the tests and the demo.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake
Nodes whose pods become Running and Ready) run as local processes on 127.0.0.1,
built from pinned upstream sources. Command line: `python -m hack.controlplane
build|up|down|status|kubectl ...`; Python: `ensure_up()` returns a `Cluster`.
"""

from .build import BuildError, ensure_built
from .cluster import (
    Cluster,
    ClusterError,
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

ensure_up = up

__all__ = [
    "DEFAULT_STATE_DIR",
    "BuildError",
    "Cluster",
    "ClusterError",
    "Status",
    "containerd_socket",
    "current",
    "down",
    "ensure_built",
    "ensure_up",
    "restart",
    "shared",
    "status",
    "up",
]
