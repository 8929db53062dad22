"""Where the image builds read their inputs (the checkout) and keep their scratch space."""

from __future__ import annotations

from pathlib import Path

from hack.gobuild import cache_dir

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
# The build context of both Dockerfiles: the checkout, trimmed by its .dockerignore.
CONTEXT_DIR = REPO_ROOT
KUBERNETES_GO_MODULE = REPO_ROOT / "hack" / "controlplane" / "go" / "kubernetes"


def work_root() -> Path:
    """Scratch space (the pause binary), build logs and the build lock."""
    root = cache_dir("images", "HANDTRACKER_IMAGES_CACHE")
    root.mkdir(parents=True, exist_ok=True)
    return root


def log_dir() -> Path:
    folder = work_root() / "logs"
    folder.mkdir(exist_ok=True)
    return folder
