"""API objects the real node needs (pure dict builders).

- An EndpointSlice for the `kubernetes` Service (the apiserver runs with
  --endpoint-reconciler-type=none, since a loopback address cannot be an endpoint),
  pointing at the relay on the node address, so pods reach the apiserver.
- metrics-server: its identity's RBAC, a selector-less Service with an
  EndpointSlice on the node address, and the APIService for metrics.k8s.io.
"""

from __future__ import annotations

import base64
from pathlib import Path

from hack.controlplane.network import APISERVER_RELAY_PORT, METRICS_SERVER_PORT, NODE_IP

MANAGED_BY = ("endpointslice.kubernetes.io/managed-by", "controlplane.handtracker.dev")
METRICS_USER = "system:metrics-server"


def _endpoint_slice(namespace: str, service: str, port_name: str, port: int) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": service,
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service, MANAGED_BY[0]: MANAGED_BY[1]},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
        "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
    }


def apiserver_endpoints() -> dict:
    return _endpoint_slice("default", "kubernetes", "https", APISERVER_RELAY_PORT)


def metrics_server(ca_cert: Path) -> list[dict]:
    rbac = "rbac.authorization.k8s.io/v1"
    user = {"kind": "User", "name": METRICS_USER, "apiGroup": "rbac.authorization.k8s.io"}
    return [
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {"name": METRICS_USER},
            "rules": [
                {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                {
                    "apiGroups": [""],
                    "resources": ["pods", "nodes"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": METRICS_USER},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": METRICS_USER},
            "subjects": [user],
        },
        # Delegated authentication and authorization of the requests it serves.
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{METRICS_USER}:auth-delegator"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "system:auth-delegator"},
            "subjects": [user],
        },
        {
            "apiVersion": rbac,
            "kind": "RoleBinding",
            "metadata": {"name": f"{METRICS_USER}:auth-reader", "namespace": "kube-system"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": "extension-apiserver-authentication-reader"},
            "subjects": [user],
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "metrics-server", "namespace": "kube-system"},
            "spec": {"ports": [{"name": "https", "port": 443,
                                "targetPort": METRICS_SERVER_PORT}]},
        },
        _endpoint_slice("kube-system", "metrics-server", "https", METRICS_SERVER_PORT),
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": "v1beta1.metrics.k8s.io"},
            "spec": {
                "group": "metrics.k8s.io",
                "version": "v1beta1",
                "service": {"name": "metrics-server", "namespace": "kube-system", "port": 443},
                "caBundle": base64.b64encode(ca_cert.read_bytes()).decode(),
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
            },
        },
    ]
