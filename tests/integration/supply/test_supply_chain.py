"""Images pushed to the pinned registry and pinned by digest, pulled back by digest,
signed and verified with cosign offline, their SBOMs attested and read back; a
tampered image, a moved tag and a missing manifest each refused, naming the image."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hack.supply import api, buildah, chain, hosts, pins, push, registry, sbom, signing
from hack.supply.pins import PinError
from hack.supply.settings import Registry, Supply
from hack.supply.signing import SignatureError
from hack.tools import ensure_tool
from tests.support.net import free_port

pytestmark = pytest.mark.slow


def test_the_pinned_tools_report_their_releases() -> None:
    served = subprocess.run([str(ensure_tool("registry")), "--version"], capture_output=True,
                            text=True, check=True).stdout
    assert served.split()[1:] == ["github.com/distribution/distribution/v3", "v3.1.2"]
    version = subprocess.run([str(ensure_tool("cosign")), "version", "--json"],
                             capture_output=True, text=True, check=True).stdout
    assert json.loads(version)["gitVersion"] == "v3.1.3"


def test_a_registry_started_here_stops_with_its_block_and_one_found_stays(
        tmp_path: Path) -> None:
    reg = Registry("127.0.0.1", free_port(), tmp_path)
    with registry.running(reg):
        assert registry.answers(reg)
        assert registry.ensure_running(reg) is None  # found, not started: nothing to stop
        with registry.running(reg):
            pass
        assert registry.answers(reg)
    assert not registry.answers(reg)


def test_a_port_held_by_something_else_is_no_registry(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        reg = Registry("127.0.0.1", server.server_address[1], tmp_path)
        with pytest.raises(registry.RegistryError, match=f"{reg.address} answers, but is no "
                           "registry"):
            registry.ensure_running(reg)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _blob(reg: Registry, repository: str, digest: str) -> bytes:
    with urllib.request.urlopen(f"{reg.url}/v2/{repository}/blobs/{digest}") as response:
        return response.read()


def test_an_image_is_pushed_once_and_pinned_by_its_digest(
        supply: Supply, images: tuple[str, str]) -> None:
    local = images[0]
    first = chain.publish(local, supply)
    assert (first.uploaded, first.signed) == (True, True)
    assert re.fullmatch(rf"127\.0\.0\.1:{supply.registry.port}/handtracker-supplytest"
                        r"@sha256:[0-9a-f]{64}", first.pinned)
    assert pins.load(supply.pins_file)[local] == first.pinned

    again = chain.publish(local, supply)
    assert (again.pinned, again.uploaded, again.signed) == (first.pinned, False, False)
    assert "attest" not in again.seconds  # the SBOM attested before still holds

    # What the pin names is what was built: the manifest hashes to the pinned digest
    # and names the image's config, whose content hashes to the image's ID.
    _, repository, digest = pins.split_pinned(first.pinned)
    found = api.manifest(supply.registry, repository, digest)
    assert found is not None
    assert f"sha256:{hashlib.sha256(found.content).hexdigest()}" == digest
    config = _blob(supply.registry, repository, found.config_digest)
    assert f"sha256:{hashlib.sha256(config).hexdigest()}" == buildah.image_id(local)


def test_an_image_pulled_by_its_pinned_digest_is_the_image_built(
        supply: Supply, images: tuple[str, str], tmp_path: Path) -> None:
    local = images[0]
    pinned = chain.publish(local, supply).pinned
    # A store of its own (vfs: no mounts), so the pull cannot reuse the built image.
    store = ["--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "run"),
             "--storage-driver", "vfs"]
    try:
        pulled = subprocess.run(["buildah", *store, "pull", "--quiet", "--tls-verify=false",
                                 pinned], capture_output=True, text=True, check=True)
        assert f"sha256:{pulled.stdout.strip()}" == buildah.image_id(local)
    finally:
        subprocess.run(["buildah", *store, "rmi", "--all", "--force"], capture_output=True,
                       check=False)


def test_containerd_resolves_the_pin_through_the_hosts_toml(
        supply: Supply, images: tuple[str, str], tmp_path: Path) -> None:
    """containerd's own resolver (ctr, no daemon needed) reads the hosts.toml the node
    gets and fetches the pinned manifest over plain HTTP."""
    pinned = chain.publish(images[0], supply).pinned
    hosts.write_hosts(tmp_path / "certs.d", supply.registry)
    fetched = subprocess.run(["ctr", "--address", str(tmp_path / "no-daemon.sock"), "content",
                              "fetch-object", "--hosts-dir", str(tmp_path / "certs.d"), pinned],
                             capture_output=True, check=True, timeout=60).stdout
    assert f"sha256:{hashlib.sha256(fetched).hexdigest()}" == pins.split_pinned(pinned)[2]


def test_a_signed_image_verifies_and_its_sbom_lists_its_packages(
        supply: Supply, images: tuple[str, str]) -> None:
    local = images[0]
    published = chain.publish(local, supply)
    trusted = chain.trusted(local, supply)
    assert trusted.pinned == published.pinned
    assert trusted.sbom == json.loads(published.sbom_path.read_text())
    python = sbom.versions(trusted.sbom, "pypi")
    debian = sbom.versions(trusted.sbom, "deb")
    # The base's venv has pip; its Python is Debian's.
    assert re.fullmatch(r"\d+(\.\d+)+", python["pip"])
    assert debian["python3.11"].startswith("3.11.")
    assert "dpkg" in debian


def test_an_unsigned_image_is_refused_naming_it(
        supply: Supply, images: tuple[str, str]) -> None:
    pinned = push.push(images[1], supply.registry, supply.pins_file).pinned
    keys = signing.ensure_keys(supply.keys_dir)
    with pytest.raises(SignatureError, match=re.escape(f"{pinned}: signature refused")):
        signing.verify(pinned, keys)
    with pytest.raises(SignatureError, match=re.escape(pinned)):
        signing.read_sbom(pinned, keys)


def test_an_image_bearing_another_images_signature_is_refused_naming_it(
        supply: Supply, images: tuple[str, str]) -> None:
    signed = chain.publish(images[0], supply).pinned
    other = push.push(images[1], supply.registry, supply.pins_file).pinned
    _, repository, signed_digest = pins.split_pinned(signed)
    other_digest = pins.split_pinned(other)[2]
    # cosign keeps an image's signatures under the tag sha256-<hex> (the referrers tag
    # schema); the same signatures put under the other image's tag must not pass.
    signatures = api.manifest(supply.registry, repository, signed_digest.replace(":", "-"))
    assert signatures is not None
    api.put_manifest(supply.registry, repository, other_digest.replace(":", "-"), signatures)
    keys = signing.key_pair(supply.keys_dir)
    with pytest.raises(SignatureError, match=re.escape(f"{other}: signature refused")):
        signing.verify(other, keys)
    signing.verify(signed, keys)


def test_a_key_pair_of_another_signer_refuses_the_image(
        supply: Supply, images: tuple[str, str], tmp_path: Path) -> None:
    pinned = chain.publish(images[0], supply).pinned
    stranger = signing.ensure_keys(tmp_path / "keys")
    with pytest.raises(SignatureError, match=re.escape(f"{pinned}: signature refused")):
        signing.verify(pinned, stranger)


def test_a_tag_moved_to_another_image_is_refused_with_both_digests(
        supply: Supply, images: tuple[str, str], tmp_path: Path) -> None:
    local, intruder = images
    pinned = chain.publish(local, supply).pinned
    other = push.push(intruder, supply.registry, tmp_path / "pins.json").pinned
    _, repository, digest = pins.split_pinned(pinned)
    other_digest = pins.split_pinned(other)[2]
    tag = pins.target(local, supply.registry).tag
    moved = api.manifest(supply.registry, repository, other_digest)
    assert moved is not None
    api.put_manifest(supply.registry, repository, tag, moved)
    try:
        with pytest.raises(PinError, match=rf"{re.escape(local)}: .* is {other_digest}, "
                           rf"not the pinned {digest}"):
            chain.trusted(local, supply)
    finally:
        held = api.manifest(supply.registry, repository, digest)
        assert held is not None
        api.put_manifest(supply.registry, repository, tag, held)
    chain.trusted(local, supply)


def test_a_pin_whose_manifest_the_registry_lacks_is_refused_naming_it(
        supply: Supply, images: tuple[str, str]) -> None:
    local = images[0]
    address, repository, _ = pins.split_pinned(chain.publish(local, supply).pinned)
    absent = "sha256:" + "0" * 64
    kept = supply.pins_file.read_text()
    pins.record(local, f"{address}/{repository}@{absent}", supply.pins_file)
    try:
        with pytest.raises(PinError, match=rf"{re.escape(local)}: the registry .* has no "
                           rf"manifest {absent}"):
            chain.trusted(local, supply)
    finally:
        supply.pins_file.write_text(kept)
