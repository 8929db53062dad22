"""Pushing a built image to the registry and pinning it by digest.

An image the registry already holds under its tag (same config digest, so the same
image) is not pushed again. Either way the pin is checked against the registry before
it is recorded: a pin whose manifest is missing, or whose tag names another digest, is
refused with both digests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from . import api, buildah, pins
from .pins import PinError
from .settings import Registry, default_registry


@dataclass(frozen=True)
class Pushed:
    local: str  # "localhost/handtracker-workload:dev"
    pinned: str  # "127.0.0.1:5033/handtracker-workload@sha256:..."
    uploaded: bool  # False when the registry held the image already
    seconds: float


def push(local_ref: str, registry: Registry | None = None,
         pins_path: Path | None = None) -> Pushed:
    """Pushes the local image unless the registry holds it, checks and records its pin."""
    registry = registry or default_registry()
    started = time.monotonic()
    where = pins.target(local_ref, registry)
    held = api.manifest(registry, where.repository, where.tag)
    uploaded = held is None or held.config_digest != buildah.image_id(local_ref)
    digest = buildah.push(local_ref, where.tagged) if uploaded else held.digest
    pinned = where.pinned(digest)
    check(local_ref, pinned, registry)
    pins.record(local_ref, pinned, pins_path)
    return Pushed(local_ref, pinned, uploaded, time.monotonic() - started)


def check(local_ref: str, pinned_ref: str, registry: Registry | None = None) -> None:
    """Raises PinError naming the image and both digests unless the registry holds the
    pinned manifest and the image's tag still names it."""
    registry = registry or default_registry()
    _, repository, digest = pins.split_pinned(pinned_ref)
    where = pins.target(local_ref, registry)
    if api.manifest(registry, repository, digest) is None:
        raise PinError(f"{local_ref}: the registry {registry.address} has no manifest "
                       f"{digest} (pinned as {pinned_ref})")
    tagged = api.manifest(registry, where.repository, where.tag)
    found = tagged.digest if tagged else "nothing"
    if found != digest:
        raise PinError(f"{local_ref}: {where.tagged} is {found}, not the pinned {digest}")
