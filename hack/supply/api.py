"""The registry's HTTP API (the OCI distribution spec), as far as pinning needs it:
which digest a tag or digest names, a manifest's content, and putting one back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from .settings import Registry

# Every manifest kind buildah and cosign push; without them the registry answers with a
# converted schema-1 manifest, or not at all.
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
TIMEOUT = 30.0


@dataclass(frozen=True)
class Manifest:
    digest: str  # "sha256:...", as the registry computed it
    media_type: str
    content: bytes

    @property
    def config_digest(self) -> str | None:
        """The image's config digest, the ID buildah and containerd give the image."""
        return (json.loads(self.content).get("config") or {}).get("digest")


def _request(registry: Registry, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> urllib.request.Request:
    return urllib.request.Request(f"{registry.url}/v2/{path}", data=body, method=method,
                                  headers={"Accept": ", ".join(MANIFEST_TYPES),
                                           **(headers or {})})


def manifest(registry: Registry, repository: str, reference: str) -> Manifest | None:
    """The manifest a tag or digest names in repository, None when there is none."""
    request = _request(registry, "GET", f"{repository}/manifests/{reference}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return Manifest(response.headers["Docker-Content-Digest"],
                            response.headers["Content-Type"], response.read())
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def put_manifest(registry: Registry, repository: str, reference: str,
                 found: Manifest) -> str:
    """Puts a manifest under a tag or digest; returns the digest the registry gives it."""
    request = _request(registry, "PUT", f"{repository}/manifests/{reference}", found.content,
                       {"Content-Type": found.media_type})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return response.headers["Docker-Content-Digest"]
