"""metav1.Condition values and their merge; lastTransitionTime moves only on a status change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The last three are present only while their integration is enabled in the spec, or
# while there is a canary.
TYPES = ("Ready", "Available", "Progressing", "Degraded", "HTTPRouteAccepted",
         "ServiceMonitorReady", "CanaryReady")
# Degraded's reason while another writer keeps changing a child back (conflicts.py).
CONFLICTING_WRITER = "ConflictingWriter"
# Why pods refuse their model bundle (the workload's termination message, status.py).
MODEL_REASONS = ("ModelDigestMismatch", "ModelInvalid")


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str = ""


def merge(
    previous: Iterable[Mapping[str, Any]] | None,
    current: Iterable[Condition],
    generation: int,
    now: str,
) -> list[dict[str, Any]]:
    """The full conditions list (in TYPES order) to store, keeping each earlier
    lastTransitionTime where the status did not change; unknown types are dropped."""
    before = {c.get("type"): c for c in previous or ()}
    merged = []
    for cond in sorted(current, key=lambda c: TYPES.index(c.type)):
        old = before.get(cond.type)
        unchanged = old is not None and old.get("status") == cond.status
        merged.append(
            {
                "type": cond.type,
                "status": cond.status,
                "reason": cond.reason,
                "message": cond.message,
                "observedGeneration": generation,
                "lastTransitionTime": old["lastTransitionTime"]
                if unchanged and old.get("lastTransitionTime")
                else now,
            }
        )
    return merged


def find(conditions: Iterable[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == type_), None)
