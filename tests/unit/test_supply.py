"""hack/supply's pure parts: where an image goes in the registry, the pins file, the
containerd hosts.toml, the registry's configuration, syft's command line, an SBOM's
packages and the predicate read back from cosign's output."""

from __future__ import annotations

import base64
import json
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hack.supply import hosts, pins, registry, sbom, signing
from hack.supply.pins import PinError
from hack.supply.settings import REGISTRY_PORT, Registry

REG = Registry("127.0.0.1", 5033, Path("/cache/registry"))
DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


@pytest.mark.parametrize(("local", "repository", "tag"), [
    ("localhost/handtracker-workload:dev", "handtracker-workload", "dev"),
    ("localhost/pause:v1.36.3", "pause", "v1.36.3"),
    ("localhost/handtracker-model", "handtracker-model", "latest"),
    ("localhost/team/tool:1", "team/tool", "1"),
])
def test_a_local_image_keeps_its_name_and_tag_in_the_registry(
        local: str, repository: str, tag: str) -> None:
    where = pins.target(local, REG)
    assert (where.repository, where.tag) == (repository, tag)
    assert where.tagged == f"127.0.0.1:5033/{repository}:{tag}"
    assert where.pinned(DIGEST) == f"127.0.0.1:5033/{repository}@{DIGEST}"


def test_only_images_of_the_local_store_get_a_place() -> None:
    with pytest.raises(PinError, match="docker.io/library/python:3.11 is not an image"):
        pins.target("docker.io/library/python:3.11", REG)


@pytest.mark.parametrize("bad", [
    "127.0.0.1:5033/pause:v1.36.3",
    "127.0.0.1:5033/pause@sha256:abc",
    f"pause@{DIGEST}",
])
def test_a_ref_not_pinned_by_digest_is_refused_by_name(bad: str) -> None:
    with pytest.raises(PinError, match=bad.replace(".", r"\.")):
        pins.split_pinned(bad)


def test_a_pinned_ref_splits_into_registry_repository_and_digest() -> None:
    assert pins.split_pinned(f"127.0.0.1:5033/team/tool@{DIGEST}") == (
        "127.0.0.1:5033", "team/tool", DIGEST)


def test_the_pins_file_maps_each_local_image_to_its_pin(tmp_path: Path) -> None:
    path = tmp_path / "pins.json"
    assert pins.load(path) == {}
    pins.record("localhost/a:1", f"127.0.0.1:5033/a@{DIGEST}", path)
    pins.record("localhost/b:1", f"127.0.0.1:5033/b@{DIGEST}", path)
    pins.record("localhost/a:1", f"127.0.0.1:5033/a@{OTHER}", path)
    assert json.loads(path.read_text()) == {
        "localhost/a:1": f"127.0.0.1:5033/a@{OTHER}",
        "localhost/b:1": f"127.0.0.1:5033/b@{DIGEST}",
    }
    assert pins.pinned("localhost/b:1", path) == f"127.0.0.1:5033/b@{DIGEST}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pins.json", "pins.json.lock"]


def test_pins_recorded_at_once_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "pins.json"
    refs = [f"localhost/i{n}:1" for n in range(24)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda ref: pins.record(
            ref, f"127.0.0.1:5033/{ref.split('/')[1].split(':')[0]}@{DIGEST}", path), refs))
    assert sorted(pins.load(path)) == sorted(refs)


def test_an_image_never_pushed_has_no_pin_and_says_so(tmp_path: Path) -> None:
    with pytest.raises(PinError, match="localhost/c:1 has no pin in .*make images"):
        pins.pinned("localhost/c:1", tmp_path / "pins.json")
    with pytest.raises(PinError, match="not pinned by digest"):
        pins.record("localhost/c:1", "127.0.0.1:5033/c:1", tmp_path / "pins.json")


def test_containerd_pulls_from_the_registry_over_plain_http(tmp_path: Path) -> None:
    path = hosts.write_hosts(tmp_path / "certs.d", REG)
    assert path == tmp_path / "certs.d" / "127.0.0.1:5033" / "hosts.toml"
    assert tomllib.loads(path.read_text()) == {
        "server": "http://127.0.0.1:5033",
        "host": {"http://127.0.0.1:5033": {"capabilities": ["pull", "resolve"]}},
    }
    section = tomllib.loads(hosts.containerd_registry_section(tmp_path / "certs.d"))
    assert section["plugins"]["io.containerd.grpc.v1.cri"]["registry"] == {
        "config_path": str(tmp_path / "certs.d")}


def test_the_registry_serves_its_storage_on_its_address_only() -> None:
    config = registry.config(REG)
    assert config["http"] == {"addr": "127.0.0.1:5033"}
    assert config["storage"]["filesystem"] == {"rootdirectory": "/cache/registry"}
    assert registry.argv(REG, Path("/bin/registry")) == [
        "/usr/bin/env", "OTEL_TRACES_EXPORTER=none", "/bin/registry", "serve",
        "/cache/registry/config.json"]
    assert REGISTRY_PORT == 5033


def test_an_sboms_versions_are_read_by_purl_type() -> None:
    bom = {"components": [
        {"name": "flask", "version": "3.1.0", "purl": "pkg:pypi/flask@3.1.0"},
        {"name": "base-files", "version": "12.4+deb12u15",
         "purl": "pkg:deb/debian/base-files@12.4%2Bdeb12u15?arch=amd64"},
        {"name": "github.com/spf13/cobra", "version": "v1.10.1",
         "purl": "pkg:golang/github.com/spf13/cobra@v1.10.1"},
        {"name": "/traefik", "type": "file"},
    ]}
    assert sbom.versions(bom, "pypi") == {"flask": "3.1.0"}
    assert sbom.versions(bom, "deb") == {"base-files": "12.4+deb12u15"}
    assert sbom.versions(bom, "golang") == {"github.com/spf13/cobra": "v1.10.1"}


def test_syft_scans_the_root_offline_and_names_the_image() -> None:
    args = sbom.argv(Path("/bin/syft"), Path("/mnt/root"), "handtracker-workload", "dev")
    assert args[:3] == ["/bin/syft", "scan", "dir:/mnt/root"]
    assert args[args.index("--base-path") + 1] == "/mnt/root"
    assert args[args.index("--output") + 1] == "cyclonedx-json@1.6"
    env = sbom.environment()
    assert (env["SYFT_CHECK_FOR_APP_UPDATE"], env["SYFT_CACHE_DIR"]) == ("false", "")


def _envelope(statement: dict) -> str:
    payload = base64.b64encode(json.dumps(statement).encode()).decode()
    return json.dumps({"payloadType": "application/vnd.in-toto+json", "payload": payload})


def test_the_sbom_is_the_predicate_of_the_verified_cyclonedx_statement() -> None:
    bom = {"bomFormat": "CycloneDX", "components": []}
    out = "\n".join([
        _envelope({"predicateType": "https://slsa.dev/provenance/v1", "predicate": {}}),
        _envelope({"predicateType": "https://cyclonedx.org/bom", "predicate": bom}),
    ])
    assert signing.predicate(out, "r@" + DIGEST) == bom


def test_no_cyclonedx_statement_is_refused_naming_the_image() -> None:
    out = _envelope({"predicateType": "https://slsa.dev/provenance/v1", "predicate": {}})
    with pytest.raises(signing.SignatureError, match=f"r@{DIGEST}: no CycloneDX SBOM"):
        signing.predicate(out, f"r@{DIGEST}")


def test_verifying_without_the_public_key_is_refused_naming_the_image(tmp_path: Path) -> None:
    keys = signing.key_pair(tmp_path)
    with pytest.raises(signing.SignatureError, match=f"r@{DIGEST}: no public key"):
        signing.verify(f"r@{DIGEST}", keys)
    assert list(tmp_path.iterdir()) == []
