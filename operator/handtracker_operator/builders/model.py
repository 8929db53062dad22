"""How a pod gets its model bundle, by spec.model.source.

builtin: the workload builds it from the mediapipe wheel in its image (no volume).
image:   an init container from the "model car" image copies the bundle into an emptyDir,
         which the workload mounts read-only (containerd 1.6 has no image volumes).
pvc:     the claim, mounted read-only.
The workload verifies the bundle (and its sha256, when pinned) before it loads it.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ..spec import ModelSource

VOLUME = "model"
MOUNT = "/var/run/handtracker/model"
BUNDLE = "hand_landmarker.task"
# A bundle is a few MB; room for bigger ones without letting a wrong image fill the node.
EMPTY_DIR_LIMIT = "512Mi"


def bundle_path(source: ModelSource) -> str:
    """Where the workload finds the bundle; "" for the builtin one."""
    if source.type == "image":
        return f"{MOUNT}/{BUNDLE}"
    if source.type == "pvc":
        return posixpath.join(MOUNT, source.path.lstrip("/"))
    return ""


def volumes(source: ModelSource) -> list[dict[str, Any]]:
    if source.type == "image":
        return [{"name": VOLUME, "emptyDir": {"sizeLimit": EMPTY_DIR_LIMIT}}]
    if source.type == "pvc":
        return [{"name": VOLUME, "persistentVolumeClaim": {"claimName": source.claim_name,
                                                          "readOnly": True}}]
    return []


def mounts(source: ModelSource) -> list[dict[str, Any]]:
    if source.type == "builtin":
        return []
    return [{"name": VOLUME, "mountPath": MOUNT, "readOnly": True}]


def init_containers(source: ModelSource, pull_policy: str,
                    security: dict[str, Any]) -> list[dict[str, Any]]:
    """The model car's copy step: its image needs only `cp` (any busybox or distro base)."""
    if source.type != "image":
        return []
    return [{
        "name": "model",
        "image": source.image,
        "imagePullPolicy": pull_policy,
        "command": ["cp", source.path, f"{MOUNT}/{BUNDLE}"],
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                      "limits": {"cpu": "500m", "memory": "128Mi"}},
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": security,
        "volumeMounts": [{"name": VOLUME, "mountPath": MOUNT}],
    }]
