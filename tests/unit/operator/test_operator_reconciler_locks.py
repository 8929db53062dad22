"""The per-HandTracker lock table: one lock per object, dropped when it is deleted."""

from __future__ import annotations

from handtracker_operator.metrics import Metrics
from handtracker_operator.reconcile import Reconciler


def test_one_lock_per_object_and_forget_drops_it() -> None:
    reconciler = Reconciler(kube=None, metrics=Metrics())  # type: ignore[arg-type]
    first = reconciler._lock("ns", "a")
    assert reconciler._lock("ns", "a") is first
    assert reconciler._lock("ns", "b") is not first
    reconciler.forget("ns", "a")
    reconciler.forget("ns", "never-seen")  # harmless
    assert reconciler._lock("ns", "a") is not first
    assert set(reconciler._locks) == {("ns", "a"), ("ns", "b")}
