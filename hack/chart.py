"""The Helm chart's links to files whose source lives elsewhere in the repository.

Helm reads only files inside the chart folder, but it follows symbolic links (and
`helm package` stores the linked files' contents). So the chart links, rather than
copies, the CRDs, the operator's RBAC rules and the monitoring files: there is one
source for each. `python -m hack.chart` (also `make chart`) recreates the links; a unit
test fails while any is missing or points elsewhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


if __name__ == "__main__":
    done = relink()
    print("\n".join(f"linked {CHART.name}/{link} -> {LINKS[link]}" for link in done)
          or "chart links up to date")
    sys.exit(0)
