"""Who a HandTracker's children are: names, labels, selector and ownerReference.

This is the only place the app.kubernetes.io/* labels are spelled out. The CR's own
labels and annotations are never copied (GitOps tools track objects by such labels).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

GROUP = "handtracking.dev"
# The version the operator reads and writes, and the CRD's storage version.
VERSION = "v1beta1"
# Older versions the CRD still serves (deprecated), with the same schema: objects stored
# at one of them are rewritten at VERSION at start-up (migration.py).
OLDER_VERSIONS = ("v1alpha1",)
PLURAL = "handtrackers"
KIND = "HandTracker"
API_VERSION = f"{GROUP}/{VERSION}"

MANAGER = "handtracker-operator"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
PART_OF_LABEL = "app.kubernetes.io/part-of"
VERSION_LABEL = "app.kubernetes.io/version"
APP_NAME = "handtracker"
CONTAINER_PORT = 8080
# A canary's objects and pods are an instance of their own (`<name>-canary`: the stable
# Service and Deployment must not select its pods, and selectors are equality-only);
# these two labels say which HandTracker they belong to and which track they are.
OWNER_LABEL = "handtracking.dev/handtracker"
TRACK_LABEL = "handtracking.dev/track"
CANARY = "canary"

_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Identity:
    name: str
    namespace: str
    uid: str
    generation: int
    version: str
    track: str = ""  # "" for the stable objects, CANARY for the canary's

    @property
    def instance(self) -> str:
        """The instance label of this track's objects and pods, and their base name."""
        return f"{self.name}-{self.track}" if self.track else self.name

    @property
    def config_name(self) -> str:
        return f"{self.instance}-config"

    @property
    def selector(self) -> dict[str, str]:
        """Labels the Deployment, Service and PDB select pods by; never changes."""
        return {NAME_LABEL: APP_NAME, INSTANCE_LABEL: self.instance}

    def canary(self, version: str) -> Identity:
        """The identity of this HandTracker's canary, whose image has tag `version`."""
        return replace(self, track=CANARY, version=version)

    @property
    def selector_string(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.selector.items())

    def labels(self, component: str) -> dict[str, str]:
        labels = {
            **self.selector,
            COMPONENT_LABEL: component,
            PART_OF_LABEL: APP_NAME,
            MANAGED_BY_LABEL: MANAGER,
        }
        if self.version:
            labels[VERSION_LABEL] = self.version
        if self.track:
            labels[OWNER_LABEL] = self.name
            labels[TRACK_LABEL] = self.track
        return labels

    def owner_reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def metadata(
        self, name: str, component: str, annotations: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """A child's metadata; `annotations` (the user's, from the spec) only when given."""
        meta: dict[str, Any] = {
            "name": name,
            "namespace": self.namespace,
            "labels": self.labels(component),
            "ownerReferences": [self.owner_reference()],
        }
        if annotations:
            meta["annotations"] = dict(annotations)
        return meta

    @property
    def service_host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


def owner_of(labels: Mapping[str, str]) -> str:
    """The HandTracker an object or pod with these labels belongs to ("" if none)."""
    return labels.get(OWNER_LABEL) or labels.get(INSTANCE_LABEL, "")


def of(body: Mapping[str, Any], image: str) -> Identity:
    meta = body["metadata"]
    return Identity(
        name=meta["name"],
        namespace=meta["namespace"],
        uid=meta["uid"],
        generation=int(meta.get("generation", 1)),
        version=version_of(image),
    )


def version_of(image: str) -> str:
    """The image tag as a label value ("" for a digest-only or untagged reference)."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return ""
    tag = _LABEL_VALUE.sub("-", last.split(":", 1)[1])[:63]
    return tag.strip("-_.")
