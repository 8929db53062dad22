"""The CycloneDX 1.6 SBOM of an image's root filesystem, written by the pinned syft:
its Python distributions (`pkg:pypi/...`), Debian packages (`pkg:deb/debian/...`) and
the modules of its Go binaries (`pkg:golang/...`)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from hack.tools import ensure_tool

FORMAT = "cyclonedx-json@1.6"
TIMEOUT = 600


class SbomError(RuntimeError):
    pass


def environment() -> dict[str, str]:
    return {
        **os.environ,
        # Offline: no update check; an in-memory cache instead of ~/.cache/syft.
        "SYFT_CHECK_FOR_APP_UPDATE": "false",
        "SYFT_CACHE_DIR": "",
        # Packages only: the files each package owns would make the SBOM 20 times larger.
        "SYFT_FILE_METADATA_SELECTION": "none",
    }


def argv(binary: Path, root: Path, name: str, version: str) -> list[str]:
    # --base-path: paths in the SBOM are the image's own, not the mount point's.
    return [str(binary), "scan", f"dir:{root}", "--base-path", str(root),
            "--source-name", name, "--source-version", version, "--quiet",
            "--output", FORMAT]


def of_root(root: Path, name: str, version: str) -> dict:
    """The SBOM of a root filesystem (an image's, mounted), named name:version."""
    result = subprocess.run(argv(ensure_tool("syft"), root, name, version),
                            capture_output=True, text=True, env=environment(), cwd="/",
                            timeout=TIMEOUT)
    if result.returncode != 0:
        raise SbomError(f"syft found no SBOM for {name}:{version}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def versions(sbom: dict, kind: str) -> dict[str, str]:
    """{name: version} of the SBOM's components of one purl type ("pypi", "deb",
    "golang")."""
    return {c["name"]: c["version"] for c in sbom.get("components", ())
            if c.get("purl", "").startswith(f"pkg:{kind}/")}
