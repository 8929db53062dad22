"""`helm template` output validated by the cluster's own OpenAPI: a strict server-side
dry run, so unknown or misplaced fields are errors, not warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.chart import CHART, helm_run
from tests.fixtures.cluster import Kubectl

MONITORING = ("serviceMonitor.enabled=true", "prometheusRule.enabled=true",
              "dashboard.enabled=true")
VARIANTS = {
    "defaults": (),
    "monitoring": MONITORING,
    "namespaced": ("watchNamespaces={default,kube-public}", "peering.lifetime=20",
                   "operator.resyncSeconds=60", "operator.verbose=true"),
    "no-peering-no-metrics": ("peering.enabled=false", "metrics.enabled=false",
                              "replicaCount=1"),
}


@pytest.mark.parametrize("sets", VARIANTS.values(), ids=VARIANTS.keys())
def test_rendered_chart_passes_strict_server_side_validation(
    helm: Path, monitoring_crds: list[str], kubectl: Kubectl, namespace: str,
    sets: tuple[str, ...],
) -> None:
    args = ["template", "handtracker-operator", str(CHART), "--namespace", namespace,
            "--include-crds"]
    for item in sets:
        args += ["--set", item]
    rendered = helm_run(helm, *args)
    out = kubectl("apply", "--dry-run=server", "--validate=strict", "-f", "-", input=rendered)
    assert "deployment.apps/handtracker-operator created (server dry run)" in out
