"""The pinned upstream versions, read from the committed Go modules, and their hash.

The go.mod/go.sum files are the single source of truth: changing a pin there
changes the hash and therefore the cache folder, which triggers a rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hack import gobuild

from .paths import GO_MODULES_DIR

# Bump when the way binaries are built changes (flags, layout of the cache folder).
RECIPE_VERSION = "1"


@dataclass(frozen=True)
class GoBinary:
    """One binary: the module folder it is built in and the package to build."""

    name: str
    module: str  # folder under hack/controlplane/go/
    package: str
    # Kubernetes binaries get the release number stamped in (kubectl version, /version).
    kube_version_stamp: bool = False


BINARIES: tuple[GoBinary, ...] = (
    GoBinary("etcd", "etcd", "."),
    GoBinary("kwok", "kwok", "sigs.k8s.io/kwok/cmd/kwok"),
    GoBinary("kube-apiserver", "kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver", True),
    GoBinary(
        "kube-controller-manager",
        "kubernetes",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        True,
    ),
    GoBinary("kube-scheduler", "kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler", True),
    GoBinary("kubectl", "kubernetes", "k8s.io/kubernetes/cmd/kubectl", True),
    # The real node: kubelet and kube-proxy from the same release as the control plane.
    GoBinary("kubelet", "kubernetes", "k8s.io/kubernetes/cmd/kubelet", True),
    GoBinary("kube-proxy", "kubernetes", "k8s.io/kubernetes/cmd/kube-proxy", True),
    # Resource metrics for the HPA and `kubectl top`, from its own pinned module.
    GoBinary("metrics-server", "metrics-server", "sigs.k8s.io/metrics-server/cmd/metrics-server"),
    # Talks to the node's container runtime directly: tear-down removes every pod
    # sandbox through it, so the runtime also undoes each pod's networking.
    GoBinary("crictl", "cri-tools", "sigs.k8s.io/cri-tools/cmd/crictl"),
)

BINARY_NAMES: tuple[str, ...] = tuple(b.name for b in BINARIES)


def kubernetes_version() -> str:
    """The pinned Kubernetes release, e.g. "v1.36.3"."""
    return gobuild.required_version(GO_MODULES_DIR / "kubernetes", "k8s.io/kubernetes")


def pin_files() -> list[Path]:
    """Every committed file whose content decides what gets built."""
    files = []
    for module in sorted({b.module for b in BINARIES}):
        folder = GO_MODULES_DIR / module
        files.extend(sorted(p for p in folder.iterdir() if p.suffix in (".mod", ".sum", ".go")))
    return files


def pins_hash(go_version: str) -> str:
    """Short hash of the pins, the Go toolchain and the build recipe."""
    parts = (
        part
        for path in pin_files()
        for part in (path.relative_to(GO_MODULES_DIR).as_posix().encode() + b"\0",
                     path.read_bytes() + b"\0")
    )
    return gobuild.pins_hash(f"recipe={RECIPE_VERSION}\ngo={go_version}\n", parts, 16)
