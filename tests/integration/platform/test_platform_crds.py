"""Other projects' CRDs, installed from their pinned Go modules, serve their kinds."""

from __future__ import annotations

import json

from tests.fixtures.cluster import Kubectl


def _dry_run(kubectl: Kubectl, namespace: str, manifest: dict) -> None:
    kubectl("apply", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-",
            input=json.dumps(manifest))


def test_gateway_api_standard_channel_is_served(
    gateway_api_crds: list[str], kubectl: Kubectl, namespace: str
) -> None:
    for kind in ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"):
        assert f"{kind}.gateway.networking.k8s.io" in gateway_api_crds
    _dry_run(kubectl, namespace, {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "hands"},
        "spec": {"parentRefs": [{"name": "gw"}],
                 "rules": [{"backendRefs": [{"name": "hands", "port": 80}]}]},
    })


def test_monitoring_crds_are_served(
    monitoring_crds: list[str], kubectl: Kubectl, namespace: str
) -> None:
    for kind in ("servicemonitors", "podmonitors", "prometheusrules"):
        assert f"{kind}.monitoring.coreos.com" in monitoring_crds
    _dry_run(kubectl, namespace, {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": "hands"},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "handtracker"}},
                 "endpoints": [{"port": "http", "path": "/metrics"}]},
    })
