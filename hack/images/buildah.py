"""What buildah's local image store holds: the ID and labels of a tag, and the record of
one image this package built or found up to date."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .commands import ImageBuildError, run

# Every image carries the hash of what it was built from; a build whose inputs hash to
# the label of the current tag is skipped.
INPUTS_LABEL = "dev.handtracking.inputs"


@dataclass(frozen=True)
class StoredImage:
    ref: str
    image_id: str  # "sha256:<config digest>", what containerd reports for the same image
    labels: dict[str, str]

    @property
    def inputs(self) -> str | None:
        return self.labels.get(INPUTS_LABEL)


@dataclass(frozen=True)
class BuiltImage:
    name: str  # "base", "pause", "workload", "operator"
    ref: str
    image_id: str
    inputs: str
    built: bool  # False when the stored image was already up to date
    seconds: float


def inspect(ref: str) -> StoredImage | None:
    """The image tagged ref, or None when there is none."""
    result = subprocess.run(
        ["buildah", "inspect", "--type", "image", ref], capture_output=True, text=True
    )
    if result.returncode != 0:
        if "image not known" in result.stderr:
            return None
        raise ImageBuildError(f"buildah inspect {ref} failed: {result.stderr.strip()}")
    data = json.loads(result.stdout)
    # Images built with --format docker keep their labels in both configs; prefer OCI's.
    config = (data.get("OCIv1") or {}).get("config") or (data.get("Docker") or {}).get(
        "config"
    ) or {}
    image_id = data["FromImageID"]
    if not image_id.startswith("sha256:"):
        image_id = f"sha256:{image_id}"
    return StoredImage(ref, image_id, dict(config.get("Labels") or {}))


def size(ref: str) -> str:
    """Human-readable size as buildah prints it ("574 MB")."""
    result = subprocess.run(
        ["buildah", "images", "--format", "{{.Size}}", ref], capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[0] if result.returncode == 0 else "?"


def remove_container(container: str) -> None:
    """Cleans up after a failed step; never hides the failure that led here."""
    subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


def commit(container: str, ref: str) -> StoredImage:
    """Commits the working container as ref and removes it. Docker format, because the
    OCI one drops HEALTHCHECK."""
    try:
        run(["buildah", "commit", "--quiet", "--format", "docker", "--rm", container, ref])
    except BaseException:
        remove_container(container)
        raise
    stored = inspect(ref)
    if stored is None:
        raise ImageBuildError(f"buildah committed {ref} but does not list it")
    return stored


def scratch_image(ref: str, binary: Path, target: str, user: str, inputs: str) -> StoredImage:
    """An image of one static binary and nothing else, run as `user`: `target` is both
    its path in the image and the entrypoint."""
    container = run(["buildah", "from", "scratch"]).strip()
    try:
        run(["buildah", "copy", "--quiet", "--chmod", "0755", container, binary, target])
        run([
            "buildah", "config", "--entrypoint", json.dumps([target]), "--user", user,
            "--label", f"{INPUTS_LABEL}={inputs}", container,
        ])  # fmt: skip
    except BaseException:
        remove_container(container)
        raise
    return commit(container, ref)
