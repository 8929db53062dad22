"""Where the image builds read their inputs (the checkout) and keep their scratch space."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
# The build context of both Dockerfiles: the checkout, trimmed by its .dockerignore.
CONTEXT_DIR = REPO_ROOT
KUBERNETES_GO_MODULE = REPO_ROOT / "hack" / "controlplane" / "go" / "kubernetes"


def work_root() -> Path:
    """Scratch space (the pause binary), build logs and the build lock."""
    override = os.environ.get("HANDTRACKER_IMAGES_CACHE")
    if override:
        root = Path(override).expanduser().resolve()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(xdg) / "handtracker" / "images"
    root.mkdir(parents=True, exist_ok=True)
    return root


def log_dir() -> Path:
    folder = work_root() / "logs"
    folder.mkdir(exist_ok=True)
    return folder
