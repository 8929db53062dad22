"""run(): body -> spec -> desired -> plan -> apply -> observed -> status, for one HandTracker.

Every trigger ends up here with just a namespace and a name; the CR is read afresh so a
stale event body can never overwrite newer status. Calls for one HandTracker are
serialised by a per-object lock, since child events and the resync loop run concurrently.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import (
    analysis,
    conditions,
    diff,
    events,
    gateway,
    identity,
    kinds,
    rollout,
    scrape,
    spec,
    status,
)
from .builders import deployment
from .conflicts import Conflicts
from .errors import ApiError, ApplyFailed, InvalidSpec, NotFound
from .kube import Kube
from .metrics import Metrics
from .store import Store
from .workqueue import RequeueAfter, RetryIn

log = logging.getLogger(__name__)
# Holds a Deployment's replica count while it passes from the operator to its HPA.
HANDOFF_MANAGER = f"{identity.MANAGER}-handoff"


@dataclass(frozen=True)
class Outcome:
    result: str  # "ok" | "invalid" | "error" | "conflict" | "gone"
    actions: tuple[diff.Action, ...] = ()
    status_written: bool = False
    retry_in: float | None = None  # "conflict": back off this long (conflicts.py)
    requeue_after: float | None = None  # "ok", with a canary to look at again

    def verdict(self) -> bool | RetryIn | RequeueAfter:
        """What the work queue makes of it: done, retried after its back-off, or after
        the delay the reconcile chose, or done and run again later."""
        if self.retry_in is not None:
            return RetryIn(self.retry_in)
        if self.result == "ok" and self.requeue_after is not None:
            return RequeueAfter(self.requeue_after)
        return self.result != "error"


@dataclass
class Reconciler:
    """Reads the HandTracker, its children and pods from `store`; writes through `kube`."""

    kube: Kube
    store: Store
    metrics: Metrics
    default_image: str = spec.DEFAULT_IMAGE
    instance: str = ""  # this operator instance's stamp on what it writes
    # Reads a canary pod's /metrics page by its IP (scrape.py), for the canary's analysis.
    read_metrics: Callable[[str], str] = scrape.metrics
    conflicts: Conflicts = field(init=False)

    def __post_init__(self) -> None:
        self.conflicts = Conflicts(self.instance)

    def run(self, namespace: str, name: str) -> Outcome:
        """One reconcile. The work queue runs at most one at a time per HandTracker."""
        started = time.monotonic()
        try:
            outcome = self._run(namespace, name)
        except Exception:  # API outages etc.: counted here, logged and retried by the queue
            self.metrics.reconciles.labels("error").inc()
            raise
        finally:
            self.metrics.duration.observe(time.monotonic() - started)
        if outcome.result != "gone":
            self.metrics.reconciles.labels(outcome.result).inc()
        return outcome

    def _run(self, namespace: str, name: str) -> Outcome:
        body = self.store.get(identity.KIND, namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            self.conflicts.forget(namespace, name)
            return Outcome("gone")  # the garbage collector removes the children
        old_status = body.get("status") or {}
        try:
            parsed = spec.parse(body.get("spec"), self.default_image)
        except InvalidSpec as exc:
            return self._refuse(body, str(exc))
        ident = identity.of(body, parsed.image)
        observed = self.store.observe(ident, kinds.named(ident))
        course = self._course(parsed, ident, observed, old_status.get("canary") or {})
        desired = kinds.desired(parsed, ident, course, observed)
        # An integration whose CRD is missing is reported in status, never attempted.
        missing = set()
        for child in kinds.CHILDREN:
            if child.kind.optional and not self.store.served(child.kind.name):
                if desired[child.slot] is not None:
                    missing.add(child.slot)
                desired[child.slot] = observed[child.slot] = None
        if course.leaves_objects:  # no spec describes them any more: left as they are
            for slot in kinds.CANARY_SLOTS:
                del desired[slot]
        settled = old_status.get("observedGeneration") == ident.generation
        actions = diff.plan(desired, observed, kinds.KIND_OF, settled=settled,
                            writer=self.instance)
        for action in actions:
            if self.conflicts.is_revert(ident, action, observed[action.slot]):
                self.conflicts.record(ident, action, observed[action.slot])
        error = None
        if parsed.autoscaled and diff.owns_replicas(observed["Deployment"], identity.MANAGER):
            self._hold_replicas(ident, int(observed["Deployment"]["spec"].get("replicas", 1)))
        # An autoscaled Deployment is built without spec.replicas, so it would start at the
        # API's default of 1 until the HPA's next sync raises it to minReplicas.
        new_autoscaled = parsed.autoscaled and observed["Deployment"] is None
        applied: list[diff.Action] = []
        for action in actions:
            try:
                observed[action.slot] = self._act(action, ident)
            except ApplyFailed as exc:
                error = str(exc)
                break
            if observed[action.slot] is not None:
                self.conflicts.wrote(ident, action.slot, observed[action.slot])
            applied.append(action)
        if new_autoscaled and observed.get("Deployment") is not None:
            observed["Deployment"] = self._hold_replicas(ident, parsed.desired_replicas)
        done = tuple(applied)
        for action in done:
            if action.drift:
                self.metrics.drift.labels(action.kind).inc()
            log.info("%s for HandTracker %s/%s", action.describe(), namespace, name)
        gateways = gateway.parents(parsed, ident,
                                   lambda ns, gw: self.store.get(kinds.GATEWAY.name, ns, gw))
        conflict = self.conflicts.current(ident)
        derived = status.derive(parsed, ident, observed, self.store.pods(ident), error,
                                missing, gateways, conflict.message if conflict else "",
                                course, self.store.pods(ident.canary("")))
        new_status = {
            **derived.fields,
            "conditions": conditions.merge(
                old_status.get("conditions"), derived.conditions, ident.generation, _now()
            ),
        }
        written = self._publish(body, ident, old_status, new_status, done)
        if error:
            return Outcome("error", done, written)
        if conflict:
            return Outcome("conflict", done, written, conflict.retry_in())
        return Outcome("ok", done, written, requeue_after=course.requeue_after)

    def _course(self, parsed: spec.HandTrackerSpec, ident: identity.Identity,
                observed: Mapping[str, dict[str, Any] | None],
                previous: Mapping[str, Any]) -> rollout.Rollout:
        """The canary's course (rollout.py), with its analysis when one is due."""
        canary = ident.canary("")
        exists = any(observed[slot] is not None for slot in kinds.CANARY_SLOTS)
        # Only a canary outliving spec.canary needs to know whether the stable pods are
        # new (rollout.rolled_out): the children are built a second time for it alone.
        stable = kinds.desired(parsed, ident)["Deployment"] if (
            exists and parsed.canary is None) else None
        return rollout.decide(
            parsed, stable, observed, exists, canary.instance, previous,
            datetime.datetime.now(datetime.UTC),
            self._analyse(parsed, canary, observed, previous))

    def _analyse(self, parsed: spec.HandTrackerSpec, canary: identity.Identity,
                 observed: Mapping[str, dict[str, Any] | None],
                 previous: Mapping[str, Any]) -> analysis.Verdict | None:
        """The canary's traffic so far against spec.canary.analysis, from its ready pods'
        own /metrics; None when there is nothing to judge (or no page could be read)."""
        limits = parsed.canary.analysis if parsed.canary else None
        if limits is None or rollout.available(observed.get("CanaryDeployment")) < 1 or (
                previous.get("phase") == rollout.ABORTED
                and previous.get("attempt") == rollout.attempt_of(parsed)):
            return None
        samples = []
        for pod in self.store.pods(canary):
            ip = (pod.get("status") or {}).get("podIP")
            if not ip or pod["metadata"].get("deletionTimestamp"):
                continue
            try:
                samples.append(analysis.parse(self.read_metrics(ip)))
            except (scrape.ScrapeFailed, ValueError) as exc:
                log.warning("Canary analysis of %s/%s: %s", canary.namespace, canary.name, exc)
        return analysis.judge(samples, limits) if samples else None

    def _hold_replicas(self, ident: identity.Identity, replicas: int) -> dict[str, Any]:
        """Sets spec.replicas under the handoff manager, which the HPA then takes over."""
        return self._applied("Deployment", self.kube.apply(
            "Deployment", deployment.replicas_handoff(ident, replicas), manager=HANDOFF_MANAGER))

    def _act(self, action: diff.Action, ident: identity.Identity) -> dict[str, Any] | None:
        if action.verb == "delete":
            self.kube.delete(action.kind, ident.namespace, action.name)
            self.store.remove(action.kind, ident.namespace, action.name)
            return None
        assert action.manifest is not None
        return self._applied(action.kind, self.kube.apply(action.kind, action.manifest))

    def _applied(self, kind: str, live: dict[str, Any]) -> dict[str, Any]:
        """What a write returned goes into the store at once: the next reconcile must not
        act on the copy from before it, whatever the watch has delivered by then."""
        self.store.upsert(kind, live)
        return live

    def _refuse(self, body: Mapping[str, Any], message: str) -> Outcome:
        meta = body["metadata"]
        ident = identity.of(body, "")
        old_status = body.get("status") or {}
        previous = old_status.get("conditions") or []
        kept = [c for c in previous if c.get("type") == "Available"]
        merged = conditions.merge(previous, status.invalid(message), ident.generation, _now())
        new_status = {
            **{k: v for k, v in old_status.items() if k != "conditions"},
            "observedGeneration": ident.generation,
            "conditions": sorted(kept + merged, key=lambda c: conditions.TYPES.index(c["type"])),
        }
        written = self._publish(body, ident, old_status, new_status, ())
        if written:
            log.warning("Refused HandTracker %s/%s: %s", meta["namespace"], meta["name"],
                        message)
        return Outcome("invalid", (), written)

    def _publish(
        self,
        body: Mapping[str, Any],
        ident: identity.Identity,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        actions: tuple[diff.Action, ...],
    ) -> bool:
        """Write status only when it differs; post the events it implies."""
        # A merge patch removes only the keys written as null, so only the keys we write
        # are compared, and a null as if it were absent.
        changed = any(_pruned(old.get(key)) != _pruned(value) for key, value in new.items())
        if changed:
            try:
                self._applied(identity.KIND,
                              self.kube.patch_status(ident.namespace, ident.name, new))
            except NotFound:
                return False
        for event in events.derive(actions, old.get("conditions"), new["conditions"]):
            try:
                self.kube.post_event(ident, event)
            except ApiError as exc:  # an event is best effort, never a reconcile failure
                log.warning("Failed to post event %s: %s", event.reason, exc.reason)
        return changed


def _pruned(value: Any) -> Any:
    """`value` without the null entries of its mappings (at any depth)."""
    if isinstance(value, Mapping):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    return value


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
