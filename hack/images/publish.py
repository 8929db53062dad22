"""The node images into the supply chain (hack/supply/) after a build: each pushed to
the registry, pinned by digest, signed, its SBOM written and attested. And the pinned
ref by which the tests, the demo and the bed name an image."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from hack.supply import Published, chain, pins, registry, signing
from hack.supply.buildah import BuildahError
from hack.supply.pins import PinError
from hack.supply.registry import RegistryError
from hack.supply.sbom import SbomError
from hack.supply.signing import SignatureError

from .commands import ImageBuildError, Timer, log

# Images published at once.
PARALLEL = 4
# What the supply chain raises; each names the image it refused.
SUPPLY_ERRORS = (PinError, SignatureError, RegistryError, BuildahError, SbomError)


def publish(refs: Sequence[str]) -> list[Published]:
    """Pushes, pins, signs and attests each local image, with the registry running for
    the duration (started here unless one answers); what is there already is skipped.
    The images go through at once: most of the time is cosign's and syft's start-up and
    the registry's round trips, not this machine's two cores."""
    timer = Timer()
    try:
        signing.ensure_keys()  # once, before the images race to make the pair
        with registry.running(), ThreadPoolExecutor(PARALLEL) as pool:
            done = list(pool.map(chain.publish, refs))
    except SUPPLY_ERRORS as err:
        raise ImageBuildError(f"publishing the images: {err}") from err
    for published in done:
        took = ", ".join(f"{k} {v:.1f} s" for k, v in published.seconds.items())
        state = "pushed" if published.uploaded else "held"
        log(f"published {published.local} as {published.pinned} ({state}; {took})")
    log(f"published {len(done)} images in {timer.seconds:.1f} s")
    return done


def pinned(local_ref: str) -> str:
    """`127.0.0.1:5033/<name>@sha256:...`, the pin `make images` recorded for the local
    image; ImageBuildError, naming it, when it was never published."""
    try:
        return pins.pinned(local_ref)
    except PinError as err:
        raise ImageBuildError(str(err)) from err
