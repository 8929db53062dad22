"""A real Gateway API implementation in the bed: Traefik (hack/tools/go/traefik/, image
from hack/images/traefik.py, run by its pinned digest) on the real node, its
GatewayClass, and one shared Gateway that routes from every namespace.

Traefik serves a Gateway listener on the entry point of the same port. The Gateway's
address is its Service's ClusterIP, which the host reaches through kube-proxy, so a
HandTracker's `status.url` through this Gateway answers from the machine. Traefik copies
only a LoadBalancer's address from a Service, so the ClusterIP is a fixed one and Traefik
is told it.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import Any

from hack import images, node
from hack.controlplane import Cluster, ClusterError
from hack.controlplane.network import SERVICE_CIDR
from hack.images import traefik
from hack.tools import crds

NAMESPACE = "handtracker-gateway"
NAME = "traefik"
GATEWAY_CLASS = "traefik"
CONTROLLER_NAME = "traefik.io/gateway-controller"
GATEWAY = "gateway"
LISTENER = "http"
PORT = 8000  # the listener's, the entry point's and the Service's port
PING_PORT = 9000
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "handtracker-bed"}

# What Traefik's Kubernetes Gateway provider reads and writes (its documented RBAC).
RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [""], "resources": ["namespaces", "services", "secrets", "configmaps"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
     "verbs": ["list", "watch"]},
    {"apiGroups": ["gateway.networking.k8s.io"],
     "resources": ["gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants",
                   "backendtlspolicies"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["gateway.networking.k8s.io"],
     "resources": ["gatewayclasses/status", "gateways/status", "httproutes/status",
                   "grpcroutes/status", "backendtlspolicies/status"],
     "verbs": ["update"]},
)


def address() -> str:
    """The Service's ClusterIP: from the low band of the range, which the API server keeps
    for addresses chosen by hand (KEP-3070), so no Service of a test can take it first."""
    return str(ipaddress.ip_network(SERVICE_CIDR)[80])


def args() -> list[str]:
    return [
        # Nothing leaves the machine.
        "--global.checknewversion=false",
        "--global.sendanonymoususage=false",
        f"--entrypoints.web.address=:{PORT}",
        f"--entrypoints.traefik.address=:{PING_PORT}",
        "--ping=true",
        "--ping.entrypoint=traefik",
        "--providers.kubernetesgateway=true",
        # The Gateway's address in its status: the Service below.
        f"--providers.kubernetesgateway.statusaddress.ip={address()}",
        "--log.level=INFO",
    ]


def manifests(image: str, placement: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object of the bed's Gateway, in the order they are applied."""
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": LABELS}
    container = {
        "name": NAME,
        "image": image,
        # The bed pulls it, verified, before this is applied; the kubelet never does.
        "imagePullPolicy": "Never",
        "args": args(),
        "ports": [{"name": "web", "containerPort": PORT},
                  {"name": "ping", "containerPort": PING_PORT}],
        "readinessProbe": {"httpGet": {"path": "/ping", "port": "ping"}, "periodSeconds": 2},
        "livenessProbe": {"httpGet": {"path": "/ping", "port": "ping"}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                      "limits": {"memory": "256Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    pod_spec = {
        "serviceAccountName": NAME,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        **placement,
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": f"{NAMESPACE}-{NAME}", "labels": LABELS}, "rules": list(RULES)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"{NAMESPACE}-{NAME}", "labels": LABELS},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": f"{NAMESPACE}-{NAME}"},
         "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": 1, "selector": {"matchLabels": LABELS},
                  "template": {"metadata": {"labels": LABELS}, "spec": pod_spec}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": LABELS, "clusterIP": address(),
                  "ports": [{"name": "web", "port": PORT, "targetPort": "web"}]}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": GATEWAY_CLASS, "labels": LABELS},
         "spec": {"controllerName": CONTROLLER_NAME}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": GATEWAY, "namespace": NAMESPACE, "labels": LABELS},
         "spec": {"gatewayClassName": GATEWAY_CLASS,
                  "listeners": [{"name": LISTENER, "port": PORT, "protocol": "HTTP",
                                 "allowedRoutes": {"namespaces": {"from": "All"}}}]}},
    ]


def parent_ref() -> dict[str, str]:
    """How a route (a HandTracker's spec.httpRoute.parentRefs) names the bed's Gateway."""
    return {"name": GATEWAY, "namespace": NAMESPACE}


def programmed(cluster: Cluster) -> bool:
    """Whether the Gateway exists and Traefik says it is programmed."""
    result = cluster.kubectl("get", "gateway", GATEWAY, "-n", NAMESPACE, "--ignore-not-found",
                             "-o", "json", check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return False
    conditions = (json.loads(result.stdout).get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Programmed" and c.get("status") == "True" for c in conditions)


def install(cluster: Cluster, timeout: float = 120) -> None:
    """The Gateway API CRDs, then Traefik and the Gateway; returns once Traefik has
    programmed the Gateway. Applying again changes nothing that is already there."""
    crds.install(cluster, "gateway-api")
    try:
        image = images.pinned(traefik.image_ref())
    except images.ImageBuildError as err:
        raise ClusterError(f"the bed's Gateway: {err}") from err
    items = manifests(image, node.placement())
    waits = (
        ("rollout", "status", f"deployment/{NAME}"),
        ("wait", "--for=condition=Programmed", f"gateway/{GATEWAY}"),
    )
    try:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=hack-bed",
                        "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                     "items": items}))
        for wait in waits:
            cluster.kubectl(*wait, "-n", NAMESPACE, f"--timeout={timeout:.0f}s",
                            timeout=timeout + 10)
    except subprocess.CalledProcessError as err:
        raise ClusterError(f"the bed's Gateway ({NAMESPACE}): kubectl {err.cmd[2]} failed: "
                           f"{err.stderr.strip()}") from err
