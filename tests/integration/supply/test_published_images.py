"""The images `make images` published: each read back through the chain (pin, signature
and SBOM attestation verified) lists every package its lock file installs, at the
locked version, and the project itself at pyproject's version."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from hack import lock, version
from hack.images import operator_image, workload_image
from hack.supply import chain, registry, sbom

pytestmark = pytest.mark.slow

LOCKS = {
    "workload": ("workload.lock", "workload-nodeps.lock"),
    "operator": ("operator.lock",),
}


def _locked(files: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in files:
        found |= lock.pins((lock.REQUIREMENTS / name).read_text())
    return found


@pytest.mark.parametrize("image", sorted(LOCKS))
def test_the_attested_sbom_lists_every_locked_package_at_its_version(image: str) -> None:
    local = {"workload": workload_image, "operator": operator_image}[image]()
    with registry.running():
        found = chain.trusted(local)
    listed = {canonicalize_name(name): v for name, v in sbom.versions(found.sbom, "pypi").items()}
    locked = _locked(LOCKS[image])
    assert len(locked) > 20
    wrong = {name: (want, listed.get(name)) for name, want in locked.items()
             if listed.get(name) != want}
    assert not wrong, f"{found.pinned}: locked vs listed {wrong}"
    assert listed["handtracker"] == version.read()
