"""Loading the images into a containerd (the real node's) for the kubelet to run them
without a registry (imagePullPolicy IfNotPresent or Never).

An image is compared by its config digest, which is buildah's image ID and survives the
export unchanged, so an image containerd already holds is not exported again: a warm load
costs a few `ctr` calls. `ctr images import` unpacks into containerd's default snapshotter
(overlayfs), the one its CRI plugin runs containers from.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from pathlib import Path

from . import buildah
from .buildah import BuiltImage
from .commands import ImageBuildError, Timer, log, pipe, require, run

# The namespace the kubelet's images live in (containerd's CRI plugin).
NAMESPACE = "k8s.io"
_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


def _platform() -> tuple[str, str]:
    """buildah builds for this machine; in an index (a docker archive has none) pick its
    entry."""
    machine = platform.machine()
    return "linux", {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _ctr(socket: Path, *args: str | Path) -> str:
    return run(["ctr", "-a", socket, "-n", NAMESPACE, *args])


def _content(socket: Path, digest: str) -> dict:
    return json.loads(_ctr(socket, "content", "get", digest))


def _config_digest(socket: Path, target: str) -> str | None:
    """The config digest behind an image's target (a manifest, or an index of them)."""
    manifest = _content(socket, target)
    if manifest.get("mediaType") not in _INDEX_TYPES and "manifests" not in manifest:
        return (manifest.get("config") or {}).get("digest")
    for entry in manifest.get("manifests", []):
        wanted = entry.get("platform") or {}
        if (wanted.get("os"), wanted.get("architecture")) in ((None, None), _platform()):
            return _config_digest(socket, entry["digest"])
    return None


def images_in_containerd(socket: Path, refs: Sequence[str]) -> dict[str, str]:
    """{ref: config digest} for those of refs that containerd holds."""
    found = {}
    for line in _ctr(socket, "images", "ls").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3 and parts[0] in refs:
            digest = _config_digest(socket, parts[2])
            if digest:
                found[parts[0]] = digest
    return found


def _import(socket: Path, ref: str, image_id: str) -> None:
    # A docker archive names the image in its manifest (RepoTags), so ctr imports it under
    # exactly this ref (an OCI archive carries only the tag). It streams from buildah into
    # ctr: no ~600 MB file on disk, and the export overlaps the import.
    pipe(
        ["buildah", "push", "--quiet", image_id.removeprefix("sha256:"),
         f"docker-archive:/dev/stdout:{ref}"],
        ["ctr", "-a", socket, "-n", NAMESPACE, "images", "import", "-"],
        log_name="containerd-import",
    )  # fmt: skip


def load(socket: Path, images: Sequence[BuiltImage | str]) -> None:
    """Makes containerd at socket hold each image (a BuiltImage, or a ref in buildah's
    store) exactly as buildah has it. Build-only images (the base) are left out."""
    require(["buildah", "ctr"])
    if not socket.exists():
        raise ImageBuildError(f"no containerd listens at {socket}")
    timer = Timer()
    wanted: dict[str, str] = {}
    for image in images:
        if isinstance(image, BuiltImage):
            if image.on_node:
                wanted[image.ref] = image.image_id
            continue
        stored = buildah.inspect(image)
        if stored is None:
            raise ImageBuildError(f"{image} is not built: python -m hack.images build")
        wanted[image] = stored.image_id
    present = images_in_containerd(socket, list(wanted))
    loaded = []
    for ref, image_id in wanted.items():
        if present.get(ref) == image_id:
            continue
        step = Timer()
        _import(socket, ref, image_id)
        after = images_in_containerd(socket, [ref]).get(ref)
        if after != image_id:
            raise ImageBuildError(
                f"containerd holds {ref} as {after} after the import, not {image_id}"
            )
        log(f"loaded {ref} into containerd in {step.seconds:.1f} s")
        loaded.append(ref)
    unchanged = len(wanted) - len(loaded)
    log(f"containerd {socket}: {len(loaded)} loaded, {unchanged} already there "
        f"({timer.seconds:.1f} s)")
