"""The canary's course: how much traffic the route gives it and whether the operator keeps
its objects in line, leaves them be, or deletes them. Pure: decided from the spec, the
observed children, the last status, the clock and the latest analysis.

- spec.canary set: the canary's objects follow spec.canary. It gets its weight only
  while its Deployment has an available replica (a canary that cannot serve gets no
  traffic), and none once its analysis was breached (an abort sticks until spec.canary
  changes).
- spec.canary removed (a promotion copies its fields into the main spec first; a
  rollback does not): the canary keeps its share, untouched, until the stable Deployment
  runs the current spec on all its replicas; then its weight goes to 0 and its objects
  are deleted DRAIN_SECONDS later, once the Gateway has stopped sending it requests and
  those in flight have finished.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import diff
from .analysis import Verdict
from .spec import HandTrackerSpec

# Traefik applies a route change within its provider throttle (2 s by default) and the
# workload answers in well under a second; the rest is margin.
DRAIN_SECONDS = 10.0

NONE = ""
WAITING = "Waiting"  # no available replica yet: weight 0
SERVING = "Serving"
ABORTED = "Aborted"
PROMOTING = "Promoting"  # spec.canary removed, the stable pods not all new yet
DRAINING = "Draining"  # weight 0, deleted at the end of the drain


@dataclass(frozen=True)
class Rollout:
    phase: str = NONE
    spec: HandTrackerSpec | None = None  # what the canary's objects are built from
    weight: int = 0  # the share asked for
    effective: int = 0  # the share the route gives now
    attempt: str = ""  # which spec.canary this is (an abort holds for it alone)
    message: str = ""
    draining_since: str = ""  # RFC 3339
    requeue_after: float | None = None  # when the course must be looked at again

    @property
    def leaves_objects(self) -> bool:
        """Its objects exist but no spec describes them any more: keep them as they are."""
        return self.phase in (PROMOTING, DRAINING)


def attempt_of(spec: HandTrackerSpec) -> str:
    return hashlib.sha256(repr(spec.canary).encode()).hexdigest()[:10] if spec.canary else ""


def available(deployment: Mapping[str, Any] | None) -> int:
    return int(((deployment or {}).get("status") or {}).get("availableReplicas", 0))


def rolled_out(desired: Mapping[str, Any] | None, live: Mapping[str, Any] | None) -> bool:
    """The live Deployment runs the desired pod template on all its replicas, and has no
    old ones left."""
    if desired is None or live is None:
        return False
    if not diff.matches(desired["spec"]["template"], live["spec"]["template"]):
        return False
    meta, status = live.get("metadata") or {}, live.get("status") or {}
    replicas = int((live.get("spec") or {}).get("replicas", 1))
    return (int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0))
            and int(status.get("updatedReplicas", 0)) >= replicas
            and int(status.get("availableReplicas", 0)) >= replicas
            and int(status.get("replicas", 0)) == int(status.get("updatedReplicas", 0)))


def routed_weight(route: Mapping[str, Any] | None, service: str) -> int:
    """The weight the live route gives to `service`."""
    for rule in ((route or {}).get("spec") or {}).get("rules") or ():
        for ref in rule.get("backendRefs") or ():
            if ref.get("name") == service:
                return int(ref.get("weight", 1))
    return 0


def decide(
    spec: HandTrackerSpec,
    stable_desired: Mapping[str, Any] | None,
    observed: Mapping[str, Mapping[str, Any] | None],
    canary_exists: bool,
    canary_service: str,
    previous: Mapping[str, Any],
    now: datetime.datetime,
    verdict: Verdict | None = None,
) -> Rollout:
    """`stable_desired`: the stable Deployment as built from the spec (read only once
    spec.canary is gone); `observed`: the live children by slot; `canary_exists`: whether
    any of the canary's objects is live; `previous`: the last status.canary; `verdict`:
    the analysis of this reconcile."""
    canary = spec.canary
    if canary is not None:
        attempt = attempt_of(spec)
        base = dict(spec=canary.spec, weight=canary.weight, attempt=attempt)
        if previous.get("phase") == ABORTED and previous.get("attempt") == attempt:
            return Rollout(ABORTED, message=previous.get("message", ""), **base)
        if verdict is not None and verdict.breached:
            return Rollout(ABORTED, message=verdict.message, **base)
        if available(observed.get("CanaryDeployment")) < 1:
            return Rollout(WAITING, message="no available replica yet", **base)
        interval = canary.analysis.interval_seconds if canary.analysis else None
        return Rollout(SERVING, effective=canary.weight, requeue_after=interval,
                       message=verdict.message if verdict else "", **base)
    if not canary_exists:
        return Rollout()
    kept = routed_weight(observed.get("HTTPRoute"), canary_service)
    if kept and not rolled_out(stable_desired, observed.get("Deployment")):
        return Rollout(PROMOTING, weight=kept, effective=kept,
                       message="keeps its share until every stable replica runs the spec")
    since = now
    if previous.get("phase") == DRAINING:
        since = _parse_time(previous.get("drainingSince")) or now
    left = DRAIN_SECONDS - (now - since).total_seconds()
    if left > 0:
        return Rollout(DRAINING, draining_since=_format_time(since),
                       requeue_after=left,
                       message=f"weight 0; deleted {DRAIN_SECONDS:g} s after it went to 0")
    return Rollout()  # drained: its objects are deleted


def _parse_time(text: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC)
    except ValueError:
        return None


def _format_time(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
