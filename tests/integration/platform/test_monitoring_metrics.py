"""Every metric that the alerting rules and the Grafana dashboard query is one that a
real /metrics exposes: the workload's (a running server after real requests) and the
operator's (a running operator after a real reconcile)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg
import yaml

from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, example, wait_condition
from tests.fixtures.workload_server import running_server
from tests.support.repo import REPO_ROOT

ROOT = REPO_ROOT
MONITORING = ROOT / "deploy" / "monitoring"
NAME = re.compile(r"\b((?:handtracker|kube)_[a-z0-9_]+)\b")
# Replica and pod readiness are Kubernetes' own state, which the workload and operator
# do not export: they come from kube-state-metrics (README: Prometheus and Grafana).
KUBE_STATE_METRICS = frozenset({
    "kube_deployment_spec_replicas", "kube_deployment_status_replicas_ready",
    "kube_deployment_labels", "kube_pod_status_ready", "kube_pod_labels",
})


def _queried() -> set[str]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    exprs = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    dashboard = json.loads((MONITORING / "handtracker-dashboard.json").read_text())
    exprs += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"]
              if isinstance(v.get("query"), dict)]
    return {name for expr in exprs for name in NAME.findall(expr)}


def _exposed(text: str) -> set[str]:
    """Sample names in a Prometheus text exposition."""
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line and not line.startswith("#")}


def test_rules_and_dashboard_query_only_exposed_metrics(
    operator: Any, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    apply(kubectl, namespace, example("minimal"))
    wait_condition(kubectl, namespace, "hands", timeout=120)
    exposed = _exposed(operator.metrics())

    jpeg = simplejpeg.encode_jpeg(np.full((240, 320, 3), 128, np.uint8), quality=90)
    with running_server(tmp_path / "models", tmp_path / "server.log",
                        HANDTRACKER_WORKERS="1") as server:
        assert server.post("/v1/landmarks", jpeg).status_code == 200
        assert server.post("/v1/landmarks", b"not an image").status_code == 400
        exposed |= _exposed(server.get("/metrics").text)

    queried = _queried()
    ours = {name for name in queried if name.startswith("handtracker_")}
    assert len(ours) >= 10, sorted(queried)
    assert not ours - exposed, f"queried but never exposed: {sorted(ours - exposed)}"
    assert queried - ours <= KUBE_STATE_METRICS, sorted(queried - ours - KUBE_STATE_METRICS)
