"""Noticing another writer that keeps changing a child back, and backing off from it.

Two operators with different settings (a second install without peering, instances whose
--default-image differ), or a script that keeps editing a child, would otherwise each
re-apply on every watch event of the other's write: dozens of writes a second on one
object, for as long as both run. Both operators apply as the same field manager, so
managedFields cannot tell them apart; what can is that this operator knows what it last
wrote to each child.

A write that undoes another writer's state is a revert: the child was changed by hand
(same desired hash, other content), or it carries a desired hash this operator did not
write last. A child reverted THRESHOLD times within WINDOW seconds is in conflict: its
HandTracker is then reconciled only after a capped exponential back-off (events do not
bring it forward), and says so in status (Degraded, reason ConflictingWriter) and in a
Warning event, naming the other writer as far as the child tells: the instance stamp
each operator writes beside its desired hash, else the field manager of the latest
change.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .diff import HASH_ANNOTATION, WRITER_ANNOTATION, Action
from .identity import MANAGER, Identity
from .workqueue import Backoff

THRESHOLD = 3
# Longer than the back-off's cap, so that two writers taking turns at the cap stay in
# conflict instead of falling back to full speed between two turns.
WINDOW = 180.0
BACKOFF = Backoff(base=10.0, cap=60.0)


@dataclass(frozen=True)
class Conflict:
    kind: str
    name: str
    writer: str
    reverts: int  # within the window

    @property
    def message(self) -> str:
        # Stable while the conflict lasts: a message that changed with every revert
        # would be a status write of its own each time.
        return (f"{self.kind} {self.name} keeps being changed back to another desired "
                f"state by {self.writer}; this operator now applies it at most every "
                f"{BACKOFF.cap:.0f} s (check for a second operator instance with other "
                "settings, or a script editing it)")

    def retry_in(self) -> float:
        """Seconds until the HandTracker's next reconcile: doubling with each revert
        past the threshold, up to the cap, jittered."""
        return BACKOFF.delay(self.reverts - THRESHOLD + 1)


def writer_of(live: Mapping[str, Any], me: str) -> str:
    """Who changed `live` last, as far as it says."""
    meta = live.get("metadata") or {}
    stamp = (meta.get("annotations") or {}).get(WRITER_ANNOTATION)
    if stamp and stamp != me:
        return f"another {MANAGER} instance ({stamp})"
    others = [e for e in meta.get("managedFields") or ()
              if e.get("manager") != MANAGER and e.get("subresource") != "status"]
    if others:
        latest = max(others, key=lambda e: str(e.get("time") or ""))
        return f"field manager {latest.get('manager')}"
    return f"another writer using field manager {MANAGER}"


@dataclass
class _Children:
    """One HandTracker's children: the desired hash last written to each, and when
    each was last reverted."""

    written: dict[str, str] = field(default_factory=dict)  # slot -> desired hash
    # slot -> (when, kind, name, writer) of each revert
    reverts: dict[str, deque[tuple[float, str, str, str]]] = field(default_factory=dict)


@dataclass
class Conflicts:
    """Thread-safe: the work queue's workers share one (one HandTracker at a time each)."""

    me: str
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _by_owner: dict[tuple[str, str], _Children] = field(default_factory=dict)

    def is_revert(self, ident: Identity, action: Action,
                  live: Mapping[str, Any] | None) -> bool:
        """Whether `action` undoes a change another writer made to the child."""
        if action.drift:
            return True  # changed (or deleted) behind the operator's back
        if action.verb != "update" or live is None:
            return False
        with self._lock:
            last = self._entry(ident).written.get(action.slot)
        # Unknown after a start or a takeover: the first write tells nothing.
        return last is not None and _hash(live) != last

    def record(self, ident: Identity, action: Action, live: Mapping[str, Any] | None) -> None:
        """Counts a revert of `action`'s child (before the write undoes it)."""
        writer = writer_of(live or {}, self.me) if live else "a writer that deleted it"
        with self._lock:
            self._entry(ident).reverts.setdefault(action.slot, deque()).append(
                (self.clock(), action.kind, action.name, writer))

    def wrote(self, ident: Identity, slot: str, live: Mapping[str, Any]) -> None:
        """What the API answered to this operator's write of a child."""
        with self._lock:
            self._entry(ident).written[slot] = _hash(live) or ""

    def current(self, ident: Identity) -> Conflict | None:
        """The child of `ident` reverted most often, if it is in conflict."""
        cutoff = self.clock() - WINDOW
        worst: Conflict | None = None
        with self._lock:
            for times in self._entry(ident).reverts.values():
                while times and times[0][0] < cutoff:
                    times.popleft()
                if len(times) >= THRESHOLD and (worst is None or len(times) > worst.reverts):
                    _, kind, name, writer = times[-1]
                    worst = Conflict(kind, name, writer, len(times))
        return worst

    def forget(self, namespace: str, name: str) -> None:
        """The HandTracker is gone."""
        with self._lock:
            self._by_owner.pop((namespace, name), None)

    def _entry(self, ident: Identity) -> _Children:
        return self._by_owner.setdefault((ident.namespace, ident.name), _Children())


def _hash(obj: Mapping[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(HASH_ANNOTATION)
