"""Every Kubernetes kind the operator reads or writes, declared once.

The children come first, in apply order (the ConfigMap before the pods that read it, the
Deployment before its HPA), each with its builder; then the kinds the operator only
reads, posts or needs for kopf. The desired manifests, the API paths (kube.py), the
watches and the optional CRDs it follows (handlers.py) and the RBAC rules it needs all
come from here; a test generates those rules and compares them with deploy/ (and the
chart is compared with deploy/). Adding a child kind is one entry plus its builder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import identity
from .builders import (
    configmap,
    deployment,
    hpa,
    httproute,
    ingress,
    networkpolicy,
    pdb,
    service,
    servicemonitor,
)
from .identity import Identity
from .spec import HandTrackerSpec

Manifest = dict[str, Any]
# (spec, identity, the children built before this one) -> manifest, or None: must not exist
Builder = Callable[[HandTrackerSpec, Identity, Mapping[str, Manifest | None]], Manifest | None]

READ = ("get", "list", "watch")
# Observed by label, written by server-side apply (patch), removed when disabled.
CHILD = (*READ, "create", "patch", "delete")


@dataclass(frozen=True)
class Kind:
    name: str
    group: str  # "" for the core group
    version: str
    plural: str
    verbs: tuple[str, ...]
    build: Builder | None = None  # children only
    optional: bool = False  # served only where its CRD is installed
    namespaced: bool = True
    # (subresource, its verbs)
    subresources: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def api_prefix(self) -> str:
        """"/api/v1" for the core group, else "/apis/GROUP/VERSION"."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"


def _simple(build: Callable[[HandTrackerSpec, Identity], Manifest | None]) -> Builder:
    return lambda spec, ident, _built: build(spec, ident)


def _deployment(spec: HandTrackerSpec, ident: Identity,
                built: Mapping[str, Manifest | None]) -> Manifest:
    # The pod template carries the ConfigMap's hash, so that a config change rolls the pods.
    config = built["ConfigMap"]
    assert config is not None
    return deployment.build(spec, ident, configmap.data_hash(config))


CHILDREN = (
    Kind("ConfigMap", "", "v1", "configmaps", CHILD, _simple(configmap.build)),
    Kind("Deployment", "apps", "v1", "deployments", CHILD, _deployment),
    Kind("Service", "", "v1", "services", CHILD, _simple(service.build)),
    Kind("Ingress", "networking.k8s.io", "v1", "ingresses", CHILD, _simple(ingress.build)),
    Kind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", CHILD,
         _simple(hpa.build)),
    Kind("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", CHILD,
         _simple(pdb.build)),
    Kind("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", CHILD,
         _simple(networkpolicy.build)),
    Kind("ServiceMonitor", "monitoring.coreos.com", "v1", "servicemonitors", CHILD,
         _simple(servicemonitor.build), optional=True),
    Kind("HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes", CHILD,
         _simple(httproute.build), optional=True),
)
HANDTRACKER = Kind(identity.KIND, identity.GROUP, identity.VERSION, identity.PLURAL, READ,
                   subresources=(("status", ("get", "patch")),
                                 # blockOwnerDeletion on children, where the
                                 # OwnerReferencesPermissionEnforcement plugin is on
                                 ("finalizers", ("update",))))
# Pods are only read (failure reasons in status), Gateways too (their address makes a
# route's URL).
POD = Kind("Pod", "", "v1", "pods", READ)
GATEWAY = Kind("Gateway", "gateway.networking.k8s.io", "v1", "gateways", READ, optional=True)
# kopf discovers and watches the CRDs it serves; the operator follows the optional ones.
CRD = Kind("CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions",
           READ, namespaced=False)
OTHERS = (
    HANDTRACKER,
    POD,
    GATEWAY,
    Kind("Event", "", "v1", "events", ("create",)),
    # HA: kopf's keep-alives in the peering object, created by the operator if missing.
    Kind("ClusterKopfPeering", "kopf.dev", "v1", "clusterkopfpeerings",
         (*READ, "create", "patch"), namespaced=False),
    Kind("KopfPeering", "kopf.dev", "v1", "kopfpeerings", (*READ, "create", "patch")),
    CRD,
    # kopf watches the namespaces it runs in.
    Kind("Namespace", "", "v1", "namespaces", READ, namespaced=False),
)
BY_NAME = {kind.name: kind for kind in (*CHILDREN, *OTHERS)}
CHILD_NAMES = tuple(kind.name for kind in CHILDREN)
OPTIONAL_CHILDREN = tuple(kind.name for kind in CHILDREN if kind.optional)
# What the store holds besides the HandTrackers, listed and watched by the operator's label:
# the children and their pods.
OWNED = (*CHILDREN, POD)


def desired(spec: HandTrackerSpec, ident: Identity) -> dict[str, Manifest | None]:
    """Every child kind -> its manifest, or None when it must not exist; in apply order."""
    built: dict[str, Manifest | None] = {}
    for kind in CHILDREN:
        assert kind.build is not None
        built[kind.name] = kind.build(spec, ident, built)
    return built


def rbac_rules() -> list[dict[str, list[str]]]:
    """The ClusterRole rules these kinds need: one per (group, resource), verbs sorted."""
    rules = []
    for kind in (*CHILDREN, *OTHERS):
        rules.append({"apiGroups": [kind.group], "resources": [kind.plural],
                      "verbs": sorted(kind.verbs)})
        for sub, verbs in kind.subresources:
            rules.append({"apiGroups": [kind.group], "resources": [f"{kind.plural}/{sub}"],
                          "verbs": sorted(verbs)})
    return rules
