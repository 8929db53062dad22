"""Every Kubernetes kind the operator reads or writes, and every child a HandTracker can
have, declared once.

A `Kind` is an API kind; a `Child` is one object of a HandTracker: its slot (the key of
the desired and observed children), its kind, its name and its builder. The children
come in apply order (the ConfigMap before the pods that read it, the Deployment before
its HPA); a kind may hold several children. Then come the kinds the operator only reads,
posts or needs for kopf. The desired manifests, the API paths (kube.py), the watches and
the optional CRDs it follows (runtime.py) and the RBAC rules it needs all come from here;
a test generates those rules and compares them with deploy/ (and the chart is compared
with deploy/). Adding a child is one entry plus its builder.
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
from .rollout import Rollout
from .spec import HandTrackerSpec

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Inputs:
    """What a child is built from."""

    spec: HandTrackerSpec
    ident: Identity
    rollout: Rollout  # the canary's course (rollout.py)
    observed: Mapping[str, Manifest | None]  # the live children, by slot


# (inputs, the children built before this one) -> manifest, or None: must not exist
Builder = Callable[[Inputs, Mapping[str, Manifest | None]], Manifest | None]

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
    optional: bool = False  # served only where its CRD is installed
    namespaced: bool = True
    # (subresource, its verbs)
    subresources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The subresources' rules allow only the objects of these names (all when empty).
    subresource_names: tuple[str, ...] = ()

    @property
    def api_prefix(self) -> str:
        """"/api/v1" for the core group, else "/apis/GROUP/VERSION"."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"


@dataclass(frozen=True)
class Child:
    """One object a HandTracker can have."""

    slot: str  # the key of desired() and of what the store observes
    kind: Kind
    build: Builder
    suffix: str = ""  # its name is its track's instance name and this suffix
    canary: bool = False  # part of the canary, built from rollout.Rollout.spec

    def object_name(self, ident: Identity) -> str:
        return (ident.canary("") if self.canary else ident).instance + self.suffix


def _simple(build: Callable[[HandTrackerSpec, Identity], Manifest | None]) -> Builder:
    return lambda given, _built: build(given.spec, given.ident)


def _deployment(config_slot: str, canary: bool = False) -> Builder:
    def build(given: Inputs, built: Mapping[str, Manifest | None]) -> Manifest | None:
        # The pod template carries the ConfigMap's hash: a config change rolls the pods.
        config = built[config_slot]
        spec, ident = _track(given, canary)
        if config is None or spec is None:
            return None
        return deployment.build(spec, ident, configmap.data_hash(config))

    return build


def _track(given: Inputs, canary: bool) -> tuple[HandTrackerSpec | None, Identity]:
    """The spec and identity an object is built from: the main ones, or the canary's
    (no spec: the canary must not exist)."""
    if not canary:
        return given.spec, given.ident
    spec = given.rollout.spec
    return spec, given.ident.canary(identity.version_of(spec.image) if spec else "")


def _canary(build: Callable[[HandTrackerSpec, Identity], Manifest | None]) -> Builder:
    def of_canary(given: Inputs, _built: Mapping[str, Manifest | None]) -> Manifest | None:
        spec, ident = _track(given, True)
        return build(spec, ident) if spec is not None else None

    return of_canary


def _route(given: Inputs, _built: Mapping[str, Manifest | None]) -> Manifest | None:
    return httproute.build(given.spec, given.ident, given.rollout.effective,
                           given.observed.get("HTTPRoute"))


CONFIGMAP = Kind("ConfigMap", "", "v1", "configmaps", CHILD)
DEPLOYMENT = Kind("Deployment", "apps", "v1", "deployments", CHILD)
SERVICE = Kind("Service", "", "v1", "services", CHILD)
INGRESS = Kind("Ingress", "networking.k8s.io", "v1", "ingresses", CHILD)
HPA = Kind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", CHILD)
PDB = Kind("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", CHILD)
NETWORK_POLICY = Kind("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", CHILD)
SERVICE_MONITOR = Kind("ServiceMonitor", "monitoring.coreos.com", "v1", "servicemonitors",
                       CHILD, optional=True)
HTTP_ROUTE = Kind("HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes", CHILD,
                  optional=True)

CHILDREN = (
    Child("ConfigMap", CONFIGMAP, _simple(configmap.build), "-config"),
    Child("Deployment", DEPLOYMENT, _deployment("ConfigMap")),
    Child("Service", SERVICE, _simple(service.build)),
    # The canary: its own pods (their own instance label), config and Service, while the
    # rollout keeps it (rollout.py); before the route that sends it traffic.
    Child("CanaryConfigMap", CONFIGMAP, _canary(configmap.build), "-config", canary=True),
    Child("CanaryDeployment", DEPLOYMENT, _deployment("CanaryConfigMap", True), canary=True),
    Child("CanaryService", SERVICE, _canary(service.build), canary=True),
    Child("Ingress", INGRESS, _simple(ingress.build)),
    Child("HorizontalPodAutoscaler", HPA, _simple(hpa.build)),
    Child("PodDisruptionBudget", PDB, _simple(pdb.build)),
    Child("NetworkPolicy", NETWORK_POLICY, _simple(networkpolicy.build)),
    Child("ServiceMonitor", SERVICE_MONITOR, _simple(servicemonitor.build)),
    Child("HTTPRoute", HTTP_ROUTE, _route),
)
# The kinds of the children, each once, in apply order.
CHILD_KINDS = tuple(dict.fromkeys(child.kind for child in CHILDREN))
# update: the storage migration writes every HandTracker back as read (migration.py).
HANDTRACKER = Kind(identity.KIND, identity.GROUP, identity.VERSION, identity.PLURAL,
                   (*READ, "update"),
                   subresources=(("status", ("get", "patch")),
                                 # blockOwnerDeletion on children, where the
                                 # OwnerReferencesPermissionEnforcement plugin is on
                                 ("finalizers", ("update",))))
# Pods are only read (failure reasons in status), Gateways too (their address makes a
# route's URL).
POD = Kind("Pod", "", "v1", "pods", READ)
GATEWAY = Kind("Gateway", "gateway.networking.k8s.io", "v1", "gateways", READ, optional=True)
# kopf discovers and watches the CRDs it serves; the operator follows the optional ones,
# and sets the storedVersions of its own once it has migrated them (migration.py).
CRD = Kind("CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions",
           READ, namespaced=False, subresources=(("status", ("patch",)),),
           subresource_names=(f"{identity.PLURAL}.{identity.GROUP}",))
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
BY_NAME = {kind.name: kind for kind in (*CHILD_KINDS, *OTHERS)}
SLOTS = tuple(child.slot for child in CHILDREN)
CANARY_SLOTS = tuple(child.slot for child in CHILDREN if child.canary)
# slot -> the name of its kind (the API's, and the store's key)
KIND_OF = {child.slot: child.kind.name for child in CHILDREN}
# What the store holds besides the HandTrackers, listed and watched by the operator's label:
# the children and their pods.
OWNED = (*CHILD_KINDS, POD)


def desired(spec: HandTrackerSpec, ident: Identity, course: Rollout | None = None,
            observed: Mapping[str, Manifest | None] | None = None
            ) -> dict[str, Manifest | None]:
    """Every child's slot -> its manifest, or None when it must not exist; in apply order.
    Without a `course` there is no canary; `observed` gives the live route, whose rules
    the operator did not write are kept."""
    given = Inputs(spec, ident, course or Rollout(), observed or {})
    built: dict[str, Manifest | None] = {}
    for child in CHILDREN:
        built[child.slot] = child.build(given, built)
    return built


def named(ident: Identity) -> list[tuple[str, str, str]]:
    """(slot, kind, object name) of each child `ident` can have, for the store."""
    return [(child.slot, child.kind.name, child.object_name(ident)) for child in CHILDREN]


def rbac_rules() -> list[dict[str, list[str]]]:
    """The ClusterRole rules these kinds need: one per (group, resource), verbs sorted."""
    rules = []
    for kind in (*CHILD_KINDS, *OTHERS):
        rules.append({"apiGroups": [kind.group], "resources": [kind.plural],
                      "verbs": sorted(kind.verbs)})
        for sub, verbs in kind.subresources:
            names = {"resourceNames": list(kind.subresource_names)} if (
                kind.subresource_names) else {}
            rules.append({"apiGroups": [kind.group], "resources": [f"{kind.plural}/{sub}"],
                          **names, "verbs": sorted(verbs)})
    return rules
