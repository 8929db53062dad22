"""Images pinned by digest: the name a local image gets in the registry, and the pins
file that maps each local image to its `<registry>/<repository>@sha256:<digest>`, which
the tests and the demo read."""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from hack.gobuild import locked

from .settings import Registry, default_supply

# What buildah's local store calls the project's images: localhost/<path>[:<tag>].
LOCAL_DOMAIN = "localhost/"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class PinError(RuntimeError):
    pass


@dataclass(frozen=True)
class Target:
    """Where a local image goes in the registry."""

    address: str  # "127.0.0.1:5033"
    repository: str  # "handtracker-workload"
    tag: str  # "dev"

    @property
    def tagged(self) -> str:
        return f"{self.address}/{self.repository}:{self.tag}"

    def pinned(self, digest: str) -> str:
        if not DIGEST.match(digest):
            raise PinError(f"{self.tagged}: {digest!r} is not a sha256 digest")
        return f"{self.address}/{self.repository}@{digest}"


def target(local_ref: str, registry: Registry) -> Target:
    """`localhost/handtracker-workload:dev` -> `<registry>/handtracker-workload:dev`."""
    if not local_ref.startswith(LOCAL_DOMAIN):
        raise PinError(f"{local_ref} is not an image of the local store (localhost/...)")
    path = local_ref[len(LOCAL_DOMAIN):]
    name, _, tag = path.rpartition(":") if ":" in path else (path, "", "latest")
    return Target(registry.address, name, tag)


def split_pinned(pinned_ref: str) -> tuple[str, str, str]:
    """`<address>/<repository>@sha256:<hex>` -> (address, repository, digest)."""
    name, _, digest = pinned_ref.partition("@")
    address, _, repository = name.partition("/")
    if not (DIGEST.match(digest) and address and repository):
        raise PinError(f"{pinned_ref} is not pinned by digest (<registry>/<name>@sha256:...)")
    return address, repository, digest


def load(path: Path | None = None) -> dict[str, str]:
    """Every pin: {local ref: pinned ref}; empty before the first push."""
    path = path or default_supply().pins_file
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return {}


def record(local_ref: str, pinned_ref: str, path: Path | None = None) -> None:
    """Adds or replaces one pin. The file is replaced whole, so a reader never sees half
    of it, under a lock, so that images published at once (by threads or processes) do
    not drop each other's pins."""
    split_pinned(pinned_ref)
    path = path or default_supply().pins_file
    with locked(path.with_name(f"{path.name}.lock")):
        pins = load(path) | {local_ref: pinned_ref}
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        partial.write_text(json.dumps(pins, indent=2, sort_keys=True) + "\n")
        partial.replace(path)


def pinned(local_ref: str, path: Path | None = None) -> str:
    """The pinned ref of a local image; PinError when it was never pushed."""
    path = path or default_supply().pins_file
    found = load(path).get(local_ref)
    if found is None:
        raise PinError(f"{local_ref} has no pin in {path}: push it first (make images)")
    return found
