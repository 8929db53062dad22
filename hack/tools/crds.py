"""CRDs of other projects, taken from their Go modules pinned in `hack/tools/go/<set>/`.

`go mod download -json` (checked against the committed go.sum) gives the module's folder
in the module cache; the CRD files are read from there, so a pin bump is the only change
needed to install a newer release.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hack.gobuild import source_dir

from .build import GO_DIR


@dataclass(frozen=True)
class CrdSet:
    name: str
    folder: str  # hack/tools/go/<folder> pins the module
    module: str
    pattern: str  # glob inside the module; only CustomResourceDefinitions are taken


CRD_SETS: dict[str, CrdSet] = {
    s.name: s
    for s in (
        # The standard channel (GatewayClass, Gateway, HTTPRoute, GRPCRoute,
        # ReferenceGrant, ...), not the experimental one.
        CrdSet("gateway-api", "gateway-api", "sigs.k8s.io/gateway-api",
               "config/crd/standard/*.yaml"),
        # ServiceMonitor, PodMonitor, PrometheusRule, Prometheus, Alertmanager, ...
        CrdSet("monitoring", "prometheus-operator",
               "github.com/prometheus-operator/prometheus-operator",
               "example/prometheus-operator-crd/*.yaml"),
        # ScaledObject, ScaledJob, TriggerAuthentication: to check examples/keda.yaml.
        CrdSet("keda", "keda", "github.com/kedacore/keda/v2", "config/crd/bases/*.yaml"),
    )
}


class _Loader(yaml.SafeLoader):
    """PyYAML reads a bare `=` (an enum value in these CRDs) as YAML 1.1's obsolete
    `!!value` tag and fails; YAML 1.2 and the API server read it as a string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def crd_set(name: str) -> CrdSet:
    if name not in CRD_SETS:
        raise KeyError(f"unknown CRD set {name!r}; known: {', '.join(CRD_SETS)}")
    return CRD_SETS[name]


def module_dir(name: str) -> Path:
    """The pinned module's folder in the Go module cache (downloaded if missing)."""
    chosen = crd_set(name)
    return source_dir(GO_DIR / chosen.folder, chosen.module)


def manifests(name: str) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition of the set (other objects beside them, such as
    Gateway API's admission policy, are left out)."""
    found = []
    for path in sorted(module_dir(name).glob(crd_set(name).pattern)):
        for doc in yaml.load_all(path.read_text(), Loader=_Loader):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                found.append(doc)
    return found


def names(name: str) -> list[str]:
    return [doc["metadata"]["name"] for doc in manifests(name)]


def _chosen(name: str, only: Collection[str] | None) -> list[dict[str, Any]]:
    docs = manifests(name)
    if only is None:
        return docs
    chosen = [doc for doc in docs if doc["metadata"]["name"] in only]
    if len(chosen) != len(only):
        raise KeyError(f"not all of {sorted(only)} are in the CRD set {name!r}")
    return chosen


def _kubectl(cluster: Any, *args: str, input: str | None = None, timeout: float) -> None:
    result = cluster.kubectl(*args, input=input, check=False, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {args[0]} failed: {result.stderr.strip()}")


def install(cluster: Any, name: str, timeout: float = 120,
            only: Collection[str] | None = None) -> list[str]:
    """Applies the set, or `only` those CRDs of it (server-side: the largest CRDs exceed
    the client-side annotation limit) and waits until each is Established; returns the
    CRD names."""
    docs = _chosen(name, only)
    _kubectl(cluster, "apply", "--server-side", "--force-conflicts", "-f", "-",
             input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}),
             timeout=timeout)
    crds = [f"crd/{doc['metadata']['name']}" for doc in docs]
    _kubectl(cluster, "wait", "--for=condition=Established", *crds,
             f"--timeout={int(timeout)}s", timeout=timeout + 10)
    return [c.removeprefix("crd/") for c in crds]


def remove(cluster: Any, name: str, timeout: float = 180,
           only: Collection[str] | None = None) -> None:
    """Deletes the set (or `only` those CRDs of it) and waits until every CRD is gone.
    The API server's finalizer deletes each CRD's objects first; a CRD still there at
    the deadline is reported with its Terminating condition, which says what the
    finalizer is waiting for."""
    wanted = [doc["metadata"]["name"] for doc in _chosen(name, only)]
    _kubectl(cluster, "delete", "crd", "--ignore-not-found", "--wait=false", *wanted,
             timeout=60)
    waited = cluster.kubectl("wait", "--for=delete", f"--timeout={int(timeout)}s",
                             *(f"crd/{n}" for n in wanted), check=False, timeout=timeout + 10)
    if waited.returncode == 0:
        return
    found = cluster.kubectl("get", "crd", "--ignore-not-found", "-o", "json", *wanted,
                            check=True, timeout=60)
    left = json.loads(found.stdout or '{"items": []}')
    docs = left.get("items", [left]) if left else []
    if docs:
        raise RuntimeError(f"CRDs still present {int(timeout)} s after their deletion: "
                           + "; ".join(_terminating(doc) for doc in docs))


def _terminating(doc: dict[str, Any]) -> str:
    for cond in doc.get("status", {}).get("conditions", []):
        if cond["type"] == "Terminating":
            return f"{doc['metadata']['name']}: {cond['reason']}: {cond.get('message', '')}"
    return f"{doc['metadata']['name']}: no Terminating condition yet"
