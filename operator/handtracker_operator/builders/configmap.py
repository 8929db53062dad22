"""ConfigMap <name>-config: the workload's environment, exactly (used via envFrom)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec
from . import model as model_files

# What the pods report as their revision (status.py reads it back from a live ConfigMap).
REVISION_VARIABLE = "HANDTRACKER_MODEL_REVISION"


def environment(spec: HandTrackerSpec) -> dict[str, str]:
    model = spec.model
    pinned = {"HANDTRACKER_MODEL_SHA256": model.sha256} if model.sha256 else {}
    path = model_files.bundle_path(model.source)
    return {
        **({"HANDTRACKER_MODEL_PATH": path} if path else {}),
        **pinned,
        REVISION_VARIABLE: spec.revision,
        "HANDTRACKER_UI_TITLE": spec.ui_title,
        "HANDTRACKER_LOG_LEVEL": spec.log_level,
        "HANDTRACKER_MODEL_COMPLEXITY": model.complexity,
        "HANDTRACKER_MAX_HANDS": str(model.max_hands),
        "HANDTRACKER_DETECTION_MODE": model.detection_mode,
        "HANDTRACKER_MIN_DETECTION_CONFIDENCE": _number(model.min_detection_confidence),
        "HANDTRACKER_MIN_TRACKING_CONFIDENCE": _number(model.min_tracking_confidence),
        "HANDTRACKER_WORKERS": str(spec.resources.workers),
        "HANDTRACKER_MAX_INFLIGHT": str(spec.admission.max_inflight),
        "HANDTRACKER_MAX_QUEUE": str(spec.admission.max_queue),
        "HANDTRACKER_QUEUE_TIMEOUT": _number(spec.admission.queue_timeout_seconds),
    }


def build(spec: HandTrackerSpec, ident: Identity) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": ident.metadata(ident.config_name, "config"),
        "data": environment(spec),
    }


def data_hash(configmap: dict[str, Any]) -> str:
    """Stable hash of the data; in the pod template it rolls pods when the config changes."""
    canonical = json.dumps(configmap["data"], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _number(value: float) -> str:
    # 0.5 -> "0.5", 1.0 -> "1": what a person would have typed.
    return format(value, "g")
