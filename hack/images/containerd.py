"""A containerd (the real node's) pulling the pinned images from the bed's registry, each
verified first: its pin, its signature and its SBOM attestation (hack/supply/). A
refused image stops the pull with the refusal, which names it; nothing is imported
around the registry.

An image is pulled by digest, so containerd holds it under its pinned ref
(`127.0.0.1:5033/<name>@sha256:...`); one it holds under that ref already is not pulled
again. Some refs need a second name, which containerd gets as a tag of the pulled image
(the sandbox image: containerd's config names it before any pin exists).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hack.supply import Supply, chain

from .commands import ImageBuildError, Timer, log, require, run
from .publish import SUPPLY_ERRORS

# The namespace the kubelet's images live in (containerd's CRI plugin).
NAMESPACE = "k8s.io"


@dataclass(frozen=True)
class Pulled:
    local: str
    pinned: str
    pulled: bool  # False when containerd held the digest already
    seconds: float  # the pull alone; the verification is in `verified`
    verified: float  # seconds, beside the others'


def _verified(refs: Sequence[str],
              supply: Supply | None) -> dict[str, tuple[chain.Trusted, float]]:
    """{ref: (its pin, signature and SBOM verified, seconds)}, all at once: each is a few
    cosign runs that mostly wait on the registry. The first refusal in refs' order is
    raised, naming the image; none is pulled then."""
    def verify(ref: str) -> tuple[chain.Trusted, float]:
        timer = Timer()
        return chain.trusted(ref, supply), timer.seconds

    with ThreadPoolExecutor(max_workers=max(1, len(refs))) as pool:
        futures = {ref: pool.submit(verify, ref) for ref in refs}
    found = {}
    for ref, future in futures.items():
        try:
            found[ref] = future.result()
        except SUPPLY_ERRORS as err:
            raise ImageBuildError(f"refused {ref}: {err}") from err
    return found


def _ctr(socket: Path, *args: str | Path) -> str:
    return run(["ctr", "-a", socket, "-n", NAMESPACE, *args])


def held(socket: Path) -> dict[str, str]:
    """{ref: target digest} of every image containerd holds."""
    found = {}
    for line in _ctr(socket, "images", "ls").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3:
            found[parts[0]] = parts[2]
    return found


def pull(socket: Path, hosts_dir: Path, refs: Sequence[str],
         local_names: Collection[str] = (), supply: Supply | None = None) -> list[Pulled]:
    """Verifies each local image's pin, signature and SBOM (with supply's pins and keys,
    by default the bed's), then has containerd at socket pull its pinned ref through the
    registry hosts in hosts_dir, unless it holds that digest. Those of refs in
    local_names are tagged with their local name too. ImageBuildError names a refused
    image."""
    require(["ctr"])
    if not socket.exists():
        raise ImageBuildError(f"no containerd listens at {socket}")
    timer = Timer()
    present = held(socket)
    verified = _verified(refs, supply)
    done = []
    for ref in refs:
        step = Timer()
        trusted, verified_in = verified[ref]
        digest = trusted.pinned.partition("@")[2]
        fetch = present.get(trusted.pinned) != digest
        if fetch:
            _ctr(socket, "images", "pull", "--hosts-dir", hosts_dir, trusted.pinned)
        if ref in local_names and present.get(ref) != digest:
            _ctr(socket, "images", "tag", "--force", trusted.pinned, ref)
        done.append(Pulled(ref, trusted.pinned, fetch, step.seconds, verified_in))
        if fetch:
            log(f"pulled {trusted.pinned} in {step.seconds:.1f} s")
    fetched = sum(p.pulled for p in done)
    log(f"containerd {socket}: {fetched} pulled, {len(done) - fetched} held already, every "
        f"one verified first ({timer.seconds:.1f} s)")
    return done
