"""Where the supply chain lives: the registry's address and every cache folder of it,
read here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hack.gobuild import cache_dir

# The bed's registry: loopback only, plain HTTP, on a port of its own that nothing else
# of the bed takes (the control plane's ports are chosen at run time above 10000).
REGISTRY_HOST = "127.0.0.1"
REGISTRY_PORT = 5033


@dataclass(frozen=True)
class Registry:
    host: str
    port: int
    root: Path  # the registry's storage: blobs and manifests, kept between clusters

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"


def default_registry() -> Registry:
    return Registry(REGISTRY_HOST, REGISTRY_PORT,
                    cache_dir("registry", "HANDTRACKER_REGISTRY_CACHE"))


@dataclass(frozen=True)
class Supply:
    """The registry and the folder of the key pair (`keys/`), the pins (`pins.json`)
    and the SBOMs (`sbom/`)."""

    registry: Registry
    folder: Path

    @property
    def keys_dir(self) -> Path:
        return self.folder / "keys"

    @property
    def pins_file(self) -> Path:
        return self.folder / "pins.json"

    @property
    def sbom_dir(self) -> Path:
        return self.folder / "sbom"


def default_supply() -> Supply:
    return Supply(default_registry(), cache_dir("supply", "HANDTRACKER_SUPPLY_CACHE"))
