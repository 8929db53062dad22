"""Where the control plane keeps its binaries (outside git) and its state (in the checkout)."""

from __future__ import annotations

from pathlib import Path

from hack.gobuild import cache_dir

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
GO_MODULES_DIR = PACKAGE_DIR / "go"
CRDS_DIR = REPO_ROOT / "crds"

# Scripts and people rely on this exact path: `export KUBECONFIG=$PWD/.cluster/kubeconfig`.
DEFAULT_STATE_DIR = REPO_ROOT / ".cluster"


def cache_root() -> Path:
    """Root of the binary cache; one sub-folder per set of pins."""
    return cache_dir("controlplane", "HANDTRACKER_CONTROLPLANE_CACHE")
