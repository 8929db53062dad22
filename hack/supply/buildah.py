"""What the supply chain asks of buildah: an image's ID, pushing it to the registry, and
its root filesystem mounted for the SBOM to read."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class BuildahError(RuntimeError):
    pass


def _buildah(args: Sequence[str], timeout: float = 600) -> str:
    result = subprocess.run(["buildah", *args], capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise BuildahError(f"buildah {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def image_id(ref: str) -> str:
    """"sha256:<config digest>" of the local image ref."""
    found = json.loads(_buildah(["inspect", "--type", "image", ref]))["FromImageID"]
    return found if found.startswith("sha256:") else f"sha256:{found}"


def push(ref: str, destination: str) -> str:
    """Pushes the local image to `destination` (a plain-HTTP registry on loopback) and
    returns the manifest digest the registry stored it under."""
    with tempfile.TemporaryDirectory(prefix="handtracker-push-") as scratch:
        digest_file = Path(scratch) / "digest"
        _buildah(["push", "--quiet", "--tls-verify=false", "--digestfile", str(digest_file),
                  ref, f"docker://{destination}"])
        return digest_file.read_text().strip()


@contextmanager
def mounted(ref: str) -> Iterator[Path]:
    """The image's root filesystem, through a working container removed afterwards."""
    container = _buildah(["from", "--pull=never", "--quiet", ref]).strip()
    try:
        yield Path(_buildah(["mount", container]).strip())
    finally:
        subprocess.run(["buildah", "umount", container], capture_output=True, check=False)
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
