"""PodDisruptionBudget <name>: only when 2 or more replicas are desired.

With a single replica a budget would either block node drains forever (minAvailable 1)
or protect nothing, so none is created.
"""

from __future__ import annotations

from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec


def build(spec: HandTrackerSpec, ident: Identity) -> dict[str, Any] | None:
    if spec.desired_replicas < 2:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": ident.metadata(ident.name, "server"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": ident.selector}},
    }
