"""Which replica reconciles: kopf peering, read the way kopf reads it.

kopf peering is not a lock. Every replica writes a keep-alive (priority, lifetime,
last seen) into the status of one peering object, and kopf pauses its own watches
while another live peer has a higher priority, or the same one. Our reconciles run
in worker threads that kopf knows nothing of, so they are gated here by the same
rule, applied to the same object.

Replicas of one Deployment are identical, and kopf pauses every peer of equal
priority. So each replica's priority comes from its start time: the oldest live
replica is the active one, and a restarted replica comes back as the standby
instead of taking over from a healthy one.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Seconds a replica's keep-alive stays valid. kopf renews it 5-10 s before it runs out
# (at least every second), so a killed active replica is replaced within this time.
DEFAULT_LIFETIME = 10
# How often a replica reads the peering object to follow kopf's decision.
POLL_SECONDS = 1.0
# Replicas of a Deployment start together, and the younger one may register first. A
# replica acts no sooner than this after its start, so that an older replica starting at
# the same time is seen before either begins (else the younger one would start, then hand
# over to the older one a moment later). A standby taking over later does not wait.
SETTLE_SECONDS = 5.0


def start_priority(started: float | None = None) -> int:
    """Higher for replicas started earlier (microseconds before the year 2100)."""
    ends = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC).timestamp()
    return int((ends - (time.time() if started is None else started)) * 1_000_000)


@dataclass(frozen=True)
class Peer:
    identity: str
    priority: int
    deadline: datetime.datetime

    @classmethod
    def parse(cls, identity: str, info: Mapping[str, Any]) -> Peer:
        seen = datetime.datetime.fromisoformat(str(info.get("lastseen")))
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=datetime.UTC)
        lifetime = datetime.timedelta(seconds=int(info.get("lifetime", 60)))
        return cls(identity, int(info.get("priority", 0)), seen + lifetime)


@dataclass(frozen=True)
class Decision:
    active: bool
    reason: str


def decide(peering: Mapping[str, Any] | None, me: str, priority: int,
           now: datetime.datetime) -> Decision:
    """kopf's rule: pause while another live peer has a higher or the same priority.
    Also paused until our own keep-alive is in the object, so that two replicas
    starting together do not both begin before either has seen the other."""
    if peering is None:
        return Decision(False, "the peering object does not exist yet")
    entries = peering.get("status") or {}
    if me not in entries:
        return Decision(False, "waiting for this replica's keep-alive")
    others = []
    for identity, info in entries.items():
        if identity == me or not isinstance(info, Mapping):
            continue
        try:
            peer = Peer.parse(identity, info)
        except (TypeError, ValueError):
            continue  # not a keep-alive kopf could read either
        if peer.deadline > now:
            others.append(peer)
    blocking = [p for p in others if p.priority >= priority]
    if blocking:
        return Decision(False, "standby for " + ", ".join(sorted(p.identity for p in blocking)))
    return Decision(True, "no live replica with a higher priority")


def decide_all(peerings: list[Mapping[str, Any] | None], me: str, priority: int,
               now: datetime.datetime) -> Decision:
    """A namespaced operator has a peering object per namespace, and kopf pauses it
    wholly when any of them says so."""
    decisions = [decide(p, me, priority, now) for p in peerings]
    paused = [d for d in decisions if not d.active]
    return paused[0] if paused else Decision(True, decisions[0].reason if decisions else "")


class Leadership:
    """Polls the peering object(s) in a thread and calls `on_change(active)` on each
    change. A replica that cannot read them (API down) keeps its last decision: kopf
    does the same, and an active replica that cannot read cannot write either."""

    def __init__(self, read: Callable[[], list[Mapping[str, Any] | None]], me: str,
                 priority: int, on_change: Callable[[bool], None],
                 poll: float = POLL_SECONDS, settle: float = SETTLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._me = me
        self._priority = priority
        self._on_change = on_change
        self._poll = poll
        self._settle = settle
        self._clock = clock
        self._born: float | None = None  # the first check: this replica's start
        self._stop = threading.Event()
        self.active = False
        self._said = ""  # the last decision logged: a standby says why, and when that changes
        self._last_error = ""
        self._thread = threading.Thread(target=self._loop, name="leadership", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> Decision | None:
        """One poll; returns the decision, or None when the object could not be read."""
        try:
            peerings = self._read()
        except Exception as exc:
            if str(exc) != self._last_error:  # once per distinct failure, not every poll
                log.warning("Failed to read the peering object: %s", exc)
            self._last_error = str(exc)
            return None
        self._last_error = ""
        decision = decide_all(peerings, self._me, self._priority,
                              datetime.datetime.now(datetime.UTC))
        if self._born is None:
            self._born = self._clock()
        if decision.active and self._clock() - self._born < self._settle:
            decision = Decision(False, "settling: waiting for replicas starting alongside")
        changed = decision.active != self.active
        said = f"{'Active' if decision.active else 'Standby'}: {decision.reason}"
        if said != self._said:
            self._said = said
            log.info("%s", said)
        if changed:
            self.active = decision.active
            self._on_change(decision.active)
        return decision

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.check()
            self._stop.wait(self._poll)
