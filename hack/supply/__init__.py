"""The supply chain of the bed's images: the pinned registry on loopback, images pushed
and pinned by digest, signed with a local key pair, each with a signed CycloneDX SBOM.

settings   the registry's address and the cache folders (`Registry`, `Supply`)
registry   the registry as a child process: `running()`, `ensure_running()`, `stop()`
api        the registry's HTTP API: manifests by tag or digest
pins       a local image's place in the registry; the pins file {local ref: pinned ref}
push       push unless held, then check the pin against the registry
buildah    what the chain asks of buildah: image IDs, push, a mounted root filesystem
sbom       syft's CycloneDX SBOM of a root filesystem (Python, Debian, Go packages)
signing    cosign: the key pair, sign, verify, attest and read the SBOM, offline
hosts      the hosts.toml a containerd pulls from the registry with
chain      `publish(local_ref)` after a build; `trusted(local_ref)` before a use

Needs root and buildah, and builds the pinned registry, cosign and syft (hack/tools) on
first use.
"""

from .chain import Published, Trusted, publish, trusted
from .hosts import containerd_registry_section, hosts_toml, write_hosts
from .pins import PinError, pinned
from .registry import RegistryError, ensure_running, running, stop
from .settings import Registry, Supply, default_registry, default_supply
from .signing import SignatureError, read_sbom, sign, verify

__all__ = [
    "PinError",
    "Published",
    "Registry",
    "RegistryError",
    "SignatureError",
    "Supply",
    "Trusted",
    "containerd_registry_section",
    "default_registry",
    "default_supply",
    "ensure_running",
    "hosts_toml",
    "pinned",
    "publish",
    "read_sbom",
    "running",
    "sign",
    "stop",
    "trusted",
    "verify",
    "write_hosts",
]
