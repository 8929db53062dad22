"""A CycloneDX 1.6 SBOM of an image's root filesystem: its Python distributions (each
`*.dist-info/METADATA` in a site-packages or dist-packages folder) and its Debian
packages (`/var/lib/dpkg/status`), each named by its package URL."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from urllib.parse import quote

SPEC_VERSION = "1.6"
# Vendored copies inside a package (setuptools/_vendor/...) are not installed packages.
METADATA_GLOBS = ("**/site-packages/*.dist-info/METADATA", "**/dist-packages/*.dist-info/METADATA")
DPKG_STATUS = Path("var/lib/dpkg/status")
OS_RELEASE = Path("etc/os-release")
IMAGE_ID_PROPERTY = "handtracker:image-id"
# serialNumber: the same image always gets the same SBOM, byte for byte.
SERIAL_NAMESPACE = uuid.UUID("6b1c1d5e-2f0a-4d8e-9a53-3f7f2d8c1e10")


@dataclass(frozen=True, order=True)
class Package:
    kind: str  # the purl type: "pypi" or "deb"
    name: str
    version: str
    qualifiers: tuple[tuple[str, str], ...] = ()
    namespace: str = ""

    @property
    def purl(self) -> str:
        path = "/".join(p for p in (self.namespace, self.name) if p)
        qualifiers = "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(self.qualifiers))
        return (f"pkg:{self.kind}/{path}@{quote(self.version, safe='')}"
                + (f"?{qualifiers}" if qualifiers else ""))


def pypi_name(name: str) -> str:
    """The name as PEP 503 and the pypi purl type spell it: lower case, runs of -_. as -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def python_packages(root: Path) -> list[Package]:
    found = set()
    for pattern in METADATA_GLOBS:
        for metadata in root.glob(pattern):
            headers = HeaderParser().parsestr(metadata.read_text(errors="replace"))
            if headers["Name"] and headers["Version"]:
                found.add(Package("pypi", pypi_name(headers["Name"]), headers["Version"]))
    return sorted(found)


def _paragraphs(text: str) -> list[dict[str, str]]:
    """Debian control paragraphs: `Field: value` lines; continuation lines are left out."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^([\w-]+):[ \t]*(.*)$", block, re.M))
        if fields:
            paragraphs.append(fields)
    return paragraphs


def os_release(root: Path) -> dict[str, str]:
    path = root / OS_RELEASE
    if not path.is_file():
        return {}
    return {k: v.strip('"') for k, v in re.findall(r"^(\w+)=(.*)$", path.read_text(), re.M)}


def debian_packages(root: Path) -> list[Package]:
    path = root / DPKG_STATUS
    if not path.is_file():
        return []
    release = os_release(root)
    distro = (("distro", f"{release['ID']}-{release['VERSION_ID']}"),) if {
        "ID", "VERSION_ID"} <= release.keys() else ()
    found = set()
    for fields in _paragraphs(path.read_text(errors="replace")):
        if fields.get("Status", "").endswith(" installed") and "Version" in fields:
            arch = (("arch", fields["Architecture"]),) if "Architecture" in fields else ()
            found.add(Package("deb", fields["Package"], fields["Version"], arch + distro,
                              release.get("ID", "debian")))
    return sorted(found)


def document(name: str, version: str, image_id: str, packages: list[Package]) -> dict:
    """The CycloneDX JSON document of an image `name:version` whose config digest is
    image_id."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, image_id)}",
        "version": 1,
        "metadata": {
            "component": {
                "type": "container",
                "bom-ref": image_id,
                "name": name,
                "version": version,
                "properties": [{"name": IMAGE_ID_PROPERTY, "value": image_id}],
            },
        },
        "components": [
            {"type": "library", "bom-ref": p.purl, "name": p.name, "version": p.version,
             "purl": p.purl}
            for p in packages
        ],
    }


def of_root(root: Path, name: str, version: str, image_id: str) -> dict:
    """The SBOM of a root filesystem (an image's, mounted)."""
    return document(name, version, image_id, sorted(python_packages(root) + debian_packages(root)))


def image_id(sbom: dict) -> str | None:
    """The config digest of the image the SBOM was made of."""
    properties = sbom.get("metadata", {}).get("component", {}).get("properties", ())
    return next((p["value"] for p in properties if p.get("name") == IMAGE_ID_PROPERTY), None)


def versions(sbom: dict, kind: str) -> dict[str, str]:
    """{name: version} of the SBOM's components of one purl type ("pypi", "deb")."""
    return {c["name"]: c["version"] for c in sbom.get("components", ())
            if c.get("purl", "").startswith(f"pkg:{kind}/")}
