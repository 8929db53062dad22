"""What the Helm chart takes from elsewhere in the repository: files and the version.

Helm reads only files inside the chart folder, but it follows symbolic links (and
`helm package` stores the linked files' contents). So the chart links, rather than
copies, the CRDs, the operator's RBAC rules and the monitoring files: there is one
source for each. Chart.yaml's `version` and `appVersion` must be literal, so they are
written from pyproject.toml's version. `python -m hack.chart` (also `make chart`)
recreates the links and writes the versions; unit tests fail while a link is missing or
points elsewhere, or a version differs.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from hack import version

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "handtracker-operator"

# path inside the chart -> its source, relative to the repository root.
LINKS: dict[str, str] = {
    "crds/handtrackers.yaml": "crds/handtrackers.yaml",
    "crds/kopf-peerings.yaml": "deploy/peering/crds.yaml",
    "files/clusterrole.yaml": "deploy/rbac/clusterrole.yaml",
    "files/prometheusrule.yaml": "deploy/monitoring/prometheusrule.yaml",
    "files/handtracker-dashboard.json": "deploy/monitoring/handtracker-dashboard.json",
}
CHART_YAML = CHART / "Chart.yaml"
# The chart's own version and the operator's (its image tag, unless values set one).
VERSION_FIELDS = ("version", "appVersion")


def target(link: str) -> str:
    """The relative target a link in the chart must have."""
    return os.path.relpath(ROOT / LINKS[link], (CHART / link).parent)


def wrong() -> list[str]:
    """Chart links that are missing, not links, or point elsewhere."""
    return [link for link in LINKS
            if not (CHART / link).is_symlink() or os.readlink(CHART / link) != target(link)]


def relink() -> list[str]:
    """(Re)creates every wrong link; returns them."""
    fixed = wrong()
    for link in fixed:
        path = CHART / link
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.symlink_to(target(link))
    return fixed


def _field(name: str) -> re.Pattern[str]:
    return re.compile(rf"^{name}: *(.*?) *$", re.M)


def versions() -> dict[str, str]:
    """Chart.yaml's version fields, as written (quotes removed)."""
    text = CHART_YAML.read_text()
    found = {name: _field(name).search(text) for name in VERSION_FIELDS}
    return {name: match.group(1).strip("\"'") for name, match in found.items() if match}


def stale_versions() -> list[str]:
    """Version fields of Chart.yaml that are missing or differ from pyproject.toml's."""
    wanted = version.read()
    return [name for name in VERSION_FIELDS if versions().get(name) != wanted]


def write_versions() -> list[str]:
    """Writes pyproject.toml's version into every stale field; returns them."""
    stale = stale_versions()
    text = CHART_YAML.read_text()
    for name in stale:
        # appVersion is quoted: Helm would read 1.10 as a number.
        line = f'{name}: "{version.read()}"' if name == "appVersion" else \
            f"{name}: {version.read()}"
        text, count = _field(name).subn(line, text, count=1)
        if count == 0:
            raise ValueError(f"{CHART_YAML} has no {name} line to write")
    CHART_YAML.write_text(text)
    return stale


if __name__ == "__main__":
    done = relink()
    print("\n".join(f"linked {CHART.name}/{link} -> {LINKS[link]}" for link in done)
          or "chart links up to date")
    written = write_versions()
    print(f"wrote {', '.join(written)} {version.read()} into {CHART.name}/Chart.yaml" if written
          else "chart versions up to date")
    sys.exit(0)
