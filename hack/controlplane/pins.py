"""The pinned upstream versions, read from the committed Go modules, and their hash.

The go.mod/go.sum files are the single source of truth: changing a pin there
changes the hash and therefore the cache folder, which triggers a rebuild.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

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


def required_version(module: str, dependency: str) -> str:
    """The version of `dependency` required by the go.mod in go/<module>/."""
    text = (GO_MODULES_DIR / module / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(dependency)}\s+(v\S+)", text, re.M)
    if not match:
        raise ValueError(f"{dependency} is not required in go/{module}/go.mod")
    return match.group(1)


def kubernetes_version() -> str:
    return required_version("kubernetes", "k8s.io/kubernetes")


def pin_files() -> list[Path]:
    """Every committed file whose content decides what gets built."""
    files = []
    for module in sorted({b.module for b in BINARIES}):
        folder = GO_MODULES_DIR / module
        files.extend(sorted(p for p in folder.iterdir() if p.suffix in (".mod", ".sum", ".go")))
    return files


def pins_hash(go_version: str) -> str:
    """Short hash of the pins, the Go toolchain and the build recipe."""
    digest = hashlib.sha256()
    digest.update(f"recipe={RECIPE_VERSION}\ngo={go_version}\n".encode())
    for path in pin_files():
        digest.update(path.relative_to(GO_MODULES_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
