"""The real node runs the images pinned by digest, pulled by the bed once verified; the
bed's pull step refuses an image whose signature fails or whose tag was re-pointed,
naming it, and pulls nothing then. The refused images are the test's own, in a
repository of their own, pinned and signed with a key pair of the test's own: the
session's images and pins are never touched."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hack import bed, images
from hack.bed import gateway
from hack.controlplane import ClusterError
from hack.images import traefik
from hack.images.containerd import held
from hack.supply import api, chain, pins, push
from hack.supply.settings import Supply, default_registry
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, wait_condition
from tests.realnode.helpers import pods, tracker
from tests.support import throwaway

REPOSITORY = "localhost/handtracker-tampertest"


def _image_ids(pod: dict[str, Any]) -> set[str]:
    return {s["imageID"] for s in pod["status"].get("containerStatuses") or ()}


def test_the_pods_run_the_pinned_digests(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    apply(kubectl, ns, tracker("pinned"))
    wait_condition(kubectl, ns, "pinned", timeout=180)
    (pod,) = pods(kubectl, ns, "pinned")
    assert _image_ids(pod) == {images.pinned(images.workload_image())}
    (router,) = kubectl.json("get", "pods", "-n", gateway.NAMESPACE)["items"]
    assert _image_ids(router) == {images.pinned(traefik.image_ref())}


@pytest.fixture
def own(tmp_path: Path) -> Iterator[tuple[Supply, str, str]]:
    """A supply of the test's own on the bed's registry (the one the node's hosts.toml
    names), and two throwaway images: one published, signed, one pushed only."""
    supply = Supply(default_registry(), tmp_path / "supply")
    with throwaway.images(REPOSITORY, ("signed", "other"), tmp_path) as (signed, other):
        chain.publish(signed, supply)
        push.push(other, supply.registry, supply.pins_file)
        yield supply, signed, other


def _forget(socket: Path, pinned: str) -> None:
    subprocess.run(["ctr", "-a", str(socket), "-n", "k8s.io", "images", "rm", pinned],
                   capture_output=True, check=False)


def test_an_image_bearing_another_images_signature_is_refused_naming_it(
    real_node: Any, own: tuple[Supply, str, str]
) -> None:
    supply, signed, other = own
    _, repository, signed_digest = pins.split_pinned(pins.pinned(signed, supply.pins_file))
    tampered = pins.pinned(other, supply.pins_file)
    # cosign keeps an image's signatures under the tag sha256-<hex>: the signed image's
    # put under the other's tag.
    signatures = api.manifest(supply.registry, repository, signed_digest.replace(":", "-"))
    assert signatures is not None
    api.put_manifest(supply.registry, repository,
                     pins.split_pinned(tampered)[2].replace(":", "-"), signatures)
    with pytest.raises(ClusterError, match=re.escape(
            f"refused {other}: {tampered}: signature refused")):
        bed.pull(real_node, [signed, other], supply)
    # Verified before any pull: not even the good one was pulled.
    assert not {pins.pinned(signed, supply.pins_file), tampered} & set(
        held(real_node.containerd_socket))


def test_a_re_pointed_tag_is_refused_naming_the_image_and_both_digests(
    real_node: Any, own: tuple[Supply, str, str]
) -> None:
    supply, signed, other = own
    pinned = pins.pinned(signed, supply.pins_file)
    _, repository, digest = pins.split_pinned(pinned)
    other_digest = pins.split_pinned(pins.pinned(other, supply.pins_file))[2]
    tag = pins.target(signed, supply.registry).tag
    moved = api.manifest(supply.registry, repository, other_digest)
    assert moved is not None
    api.put_manifest(supply.registry, repository, tag, moved)
    with pytest.raises(ClusterError, match=rf"refused {re.escape(signed)}: .* is "
                       rf"{other_digest}, not the pinned {digest}"):
        bed.pull(real_node, [signed], supply)
    assert pinned not in held(real_node.containerd_socket)
    # Put back, the same image is pulled by its digest.
    held_manifest = api.manifest(supply.registry, repository, digest)
    assert held_manifest is not None
    api.put_manifest(supply.registry, repository, tag, held_manifest)
    try:
        (done,) = bed.pull(real_node, [signed], supply)
        assert (done.pinned, done.pulled) == (pinned, True)
        assert held(real_node.containerd_socket)[pinned] == digest
        (again,) = bed.pull(real_node, [signed], supply)
        assert not again.pulled
    finally:
        _forget(real_node.containerd_socket, pinned)
