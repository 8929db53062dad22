"""One image through the supply chain: `publish` after a build (push, pin, sign, SBOM,
attest), `trusted` before a test or the demo uses it (pin, signature, SBOM checked)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import buildah, pins, push, sbom, signing
from .settings import Supply, default_supply


@dataclass(frozen=True)
class Published:
    local: str  # "localhost/handtracker-workload:dev"
    pinned: str  # "127.0.0.1:5033/handtracker-workload@sha256:..."
    sbom_path: Path
    uploaded: bool  # False when the registry held the image already
    signed: bool  # False when a valid signature was there already
    seconds: dict[str, float] = field(default_factory=dict)  # push, sign, sbom, attest


@dataclass(frozen=True)
class Trusted:
    local: str
    pinned: str
    sbom: dict


def sbom_path(local_ref: str, supply: Supply) -> Path:
    where = pins.target(local_ref, supply.registry)
    return supply.sbom_dir / f"{where.repository.replace('/', '_')}_{where.tag}.cdx.json"


def write_sbom(local_ref: str, supply: Supply) -> tuple[dict, Path]:
    """The SBOM of the local image, read from its root filesystem, and its file."""
    where = pins.target(local_ref, supply.registry)
    with buildah.mounted(local_ref) as root:
        document = sbom.of_root(root, where.repository, where.tag)
    return _keep(document, local_ref, supply)


def publish(local_ref: str, supply: Supply | None = None) -> Published:
    """Pushes the built image to the running registry and pins it; signs it and
    attaches its SBOM, signed, unless a signature and an SBOM of this very image verify
    there already (attestations add up, so none is made twice)."""
    supply = supply or default_supply()
    keys = signing.ensure_keys(supply.keys_dir)
    seconds = {}
    pushed = push.push(local_ref, supply.registry, supply.pins_file)
    seconds["push"] = pushed.seconds
    started = time.monotonic()
    signed = not _verifies(pushed.pinned, keys)
    if signed:
        signing.sign(pushed.pinned, keys)
    seconds["sign"] = time.monotonic() - started
    started = time.monotonic()
    attested = _attested(pushed.pinned, keys)
    document, path = (_keep(attested, local_ref, supply) if attested
                      else write_sbom(local_ref, supply))
    seconds["sbom"] = time.monotonic() - started
    if attested is None:
        started = time.monotonic()
        signing.attest(pushed.pinned, document, keys)
        seconds["attest"] = time.monotonic() - started
    return Published(local_ref, pushed.pinned, path, pushed.uploaded, signed, seconds)


def _verifies(pinned_ref: str, keys: signing.KeyPair) -> bool:
    try:
        signing.verify(pinned_ref, keys)
    except signing.SignatureError:
        return False
    return True


def _attested(pinned_ref: str, keys: signing.KeyPair) -> dict | None:
    """The image's SBOM, if one verifies: an attestation names the digest it was made
    for, so it was made of this very image."""
    try:
        return signing.read_sbom(pinned_ref, keys)
    except signing.SignatureError:
        return None


def _keep(document: dict, local_ref: str, supply: Supply) -> tuple[dict, Path]:
    path = sbom_path(local_ref, supply)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return document, path


def trusted(local_ref: str, supply: Supply | None = None) -> Trusted:
    """The local image's pin, once the registry holds it under that digest, its
    signature verifies and its SBOM attestation too; PinError or SignatureError, naming
    the image, otherwise."""
    supply = supply or default_supply()
    keys = signing.key_pair(supply.keys_dir)
    pinned = pins.pinned(local_ref, supply.pins_file)
    push.check(local_ref, pinned, supply.registry)
    signing.verify(pinned, keys)
    return Trusted(local_ref, pinned, signing.read_sbom(pinned, keys))
