from __future__ import annotations

from handtracker_operator import conditions, events
from handtracker_operator.conditions import Condition
from handtracker_operator.diff import Action

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


def test_merge_keeps_transition_time_when_status_is_unchanged() -> None:
    first = conditions.merge(None, [Condition("Ready", "False", "RollingOut")], 1, T0)
    same = conditions.merge(first, [Condition("Ready", "False", "Other", "m")], 2, T1)
    flipped = conditions.merge(same, [Condition("Ready", "True", "Available")], 2, T1)
    assert first[0]["lastTransitionTime"] == T0
    assert same[0]["lastTransitionTime"] == T0 and same[0]["observedGeneration"] == 2
    assert flipped[0]["lastTransitionTime"] == T1


def test_merge_orders_and_is_idempotent() -> None:
    current = [Condition("Degraded", "False", "AsExpected"), Condition("Ready", "True", "A")]
    once = conditions.merge(None, current, 1, T0)
    twice = conditions.merge(once, current, 1, T1)
    assert [c["type"] for c in once] == ["Ready", "Degraded"]
    assert once == twice


def reasons(evts: list[events.Event]) -> list[str]:
    return [e.reason for e in evts]


def cond(type_: str, status: str, reason: str) -> dict:
    return {"type": type_, "status": status, "reason": reason, "message": ""}


def test_a_reconciles_writes_make_one_event_per_reason_and_one_per_drift() -> None:
    acts = [Action("create", "Deployment", "Deployment", "d", {}),
            Action("update", "Service", "Service", "d", {}),
            Action("delete", "Ingress", "Ingress", "d", None),
            Action("create", "Service", "Service", "d", {}, True),
            Action("create", "ConfigMap", "ConfigMap", "d-config", {})]
    evts = events.derive(acts, [], [])
    # One event per reason for the writes of one reconcile; one per drift correction.
    assert reasons(evts) == ["Created", "Updated", "DriftCorrected"]
    assert evts[0].message == "Created Deployment d, Created ConfigMap d-config"
    assert evts[1].message == "Updated Service d, Deleted Ingress d"
    assert "Service d" in evts[2].message


def test_condition_transitions_make_their_events_once() -> None:
    rolling = [cond("Progressing", "True", "RollingOut")]
    done = [cond("Progressing", "True", "NewReplicaSetAvailable")]
    assert reasons(events.derive([], done, rolling)) == ["RolloutStarted"]
    assert reasons(events.derive([], rolling, done)) == ["RolloutComplete"]
    assert reasons(events.derive([], rolling, rolling)) == []
    bad = [cond("Degraded", "True", "CrashLoopBackOff")]
    good = [cond("Degraded", "False", "AsExpected")]
    assert reasons(events.derive([], good, bad)) == ["Degraded"]
    assert reasons(events.derive([], bad, good)) == ["Recovered"]
    assert reasons(events.derive([], bad, bad)) == []
    invalid = [cond("Ready", "False", "InvalidSpec")]
    assert reasons(events.derive([], [], invalid)) == ["InvalidSpec"]
    assert reasons(events.derive([], invalid, invalid)) == []
