"""derive(...): Events for the HandTracker from actions and condition changes (stable reasons)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .conditions import CONFLICTING_WRITER, MODEL_REASONS, find
from .diff import Action

_RECOVERED = {CONFLICTING_WRITER: "No other writer changes the children back any more"}
# The canary's steps that are no failure: waiting for its first pod, draining.
_CANARY_ROUTINE = ("CanaryNotReady", "Draining")


@dataclass(frozen=True)
class Event:
    type: str  # "Normal" | "Warning"
    reason: str
    message: str


def derive(
    actions: Sequence[Action],
    before: Iterable[Mapping[str, Any]] | None,
    after: Iterable[Mapping[str, Any]],
) -> list[Event]:
    before, after = list(before or ()), list(after)
    events = _for_actions(actions)

    def pair(type_: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        return find(before, type_) or {}, find(after, type_) or {}

    old, new = pair("Progressing")
    if new.get("reason") == "RollingOut" and old.get("reason") != "RollingOut":
        events.append(Event("Normal", "RolloutStarted", new.get("message", "")))
    if new.get("reason") == "NewReplicaSetAvailable" and old.get("reason") == "RollingOut":
        events.append(Event("Normal", "RolloutComplete", "All replicas run the current spec"))

    old, new = pair("Ready")
    if new.get("reason") in ("InvalidSpec", "ReconcileError") and old.get("reason") != new.get(
        "reason"
    ):
        events.append(Event("Warning", new["reason"], new.get("message", "")))

    old, new = pair("Degraded")
    if new.get("status") == "True" and (
        old.get("status") != "True" or old.get("reason") != new.get("reason")
    ) and new.get("reason") != "InvalidSpec":
        if new.get("reason") in (CONFLICTING_WRITER, *MODEL_REASONS):
            events.append(Event("Warning", new["reason"], new.get("message", "")))
        else:
            events.append(Event("Warning", "Degraded",
                                f"{new['reason']}: {new.get('message', '')}"))
    if old.get("status") == "True" and new.get("status") == "False":
        events.append(Event("Normal", "Recovered", _RECOVERED.get(
            old.get("reason", ""), "No failing pods any more")))

    old, new = pair("CanaryReady")
    if new and new.get("reason") != old.get("reason"):
        warning = new.get("status") == "False" and new["reason"] not in _CANARY_ROUTINE
        events.append(Event("Warning" if warning else "Normal",
                            new["reason"] if warning or new["reason"].startswith("Canary")
                            else f"Canary{new['reason']}",
                            f"canary: {new.get('message', '')}"))
    return events


def _for_actions(actions: Sequence[Action]) -> list[Event]:
    """One Created and one Updated event per reconcile, listing its writes (an event is a
    write to the API server too; a new HandTracker creates 3 to 5 children at once), and
    one DriftCorrected per child that someone else changed."""
    created = [a.describe() for a in actions if a.verb == "create" and not a.drift]
    updated = [a.describe() for a in actions if a.verb != "create" and not a.drift]
    events = [Event("Normal", reason, ", ".join(done))
              for reason, done in (("Created", created), ("Updated", updated)) if done]
    for action in (a for a in actions if a.drift):
        how = "recreated" if action.verb == "create" else "reverted"
        events.append(Event(
            "Normal", "DriftCorrected",
            f"{action.kind} {action.name} changed outside the operator; {how} it",
        ))
    return events
