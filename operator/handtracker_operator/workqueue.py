"""The queue of HandTrackers to reconcile, with controller-runtime's work-queue semantics.

- Events coalesce: a key waits in the queue at most once, however many events name it.
- One worker at a time per key: a key added while it is being reconciled runs again
  once, after that reconcile finishes.
- A fixed number of worker threads reconcile keys concurrently.
- A failed key is retried after a per-key exponential back-off with jitter, capped. Events
  for a key waiting out its back-off do not bring it forward, so a failing API server
  never sees a hot loop. A reconcile may name its own delay instead (RetryIn: a child
  in conflict with another writer, conflicts.py), with the same effect.
- A reconcile that succeeded may ask to run again later (RequeueAfter: a canary's next
  analysis, the end of its drain); events still run it sooner.
- Namespaces take turns: each worker takes the next namespace's oldest key, so one
  namespace with many keys cannot starve the others.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Backoff:
    """Delay before the n-th retry: base * 2**(n-1), capped, scaled by a random factor in
    [1 - jitter, 1] so that keys failing together do not retry together."""

    base: float = 0.5
    cap: float = 60.0
    jitter: float = 0.5

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        raw = min(self.cap, self.base * 2 ** max(0, failures - 1))
        return raw * (1 - self.jitter * rand())


@dataclass(frozen=True)
class RetryIn:
    """A reconcile's verdict: run the key again after this many seconds, not sooner."""

    seconds: float


@dataclass(frozen=True)
class RequeueAfter:
    """A reconcile's verdict: done, but run the key again after this many seconds (or
    sooner, on an event)."""

    seconds: float


Verdict = bool | RetryIn | RequeueAfter


@dataclass
class WorkQueue:
    """Thread-safe; `add` may be called from any thread, workers call `get`/`done`."""

    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    # Called with (depth, seconds a key waited) so metrics stay out of this module.
    on_start: Callable[[int, float], None] = lambda depth, waited: None
    _cond: threading.Condition = field(default_factory=threading.Condition)
    # namespace -> its queued keys, oldest first; namespaces in turn order.
    _queues: OrderedDict[str, deque[Key]] = field(default_factory=OrderedDict)
    _added_at: dict[Key, float] = field(default_factory=dict)  # queued keys
    _running: set[Key] = field(default_factory=set)
    _dirty: set[Key] = field(default_factory=set)  # added while running
    _failures: dict[Key, int] = field(default_factory=dict)
    _waiting: dict[Key, float] = field(default_factory=dict)  # key -> when its retry is due
    _later: dict[Key, float] = field(default_factory=dict)  # key -> when it runs again
    _timers: list[tuple[float, Key]] = field(default_factory=list)  # heap of both
    _closed: bool = False
    _paused: bool = False

    # -- producers ---------------------------------------------------------------------
    def add(self, key: Key) -> None:
        with self._cond:
            if self._closed or key in self._waiting:
                return  # a retry is scheduled: the back-off stands
            if key in self._running:
                self._dirty.add(key)
                return
            self._enqueue(key)

    def close(self) -> None:
        """Workers finish their current key and `get` returns None from then on."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def pause(self) -> None:
        """Workers finish their current key and take no other until `resume` (a standby
        replica keeps its queue but reconciles nothing)."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    # -- workers -----------------------------------------------------------------------
    def get(self) -> Key | None:
        """The next key to reconcile, blocking until there is one; None once closed."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                if self._paused:
                    self._cond.wait()
                    continue
                self._release_due_retries()
                key = self._next()
                if key is not None:
                    self._running.add(key)
                    waited = self.clock() - self._added_at.pop(key)
                    self.on_start(len(self._added_at), waited)
                    return key
                timeout = self._timers[0][0] - self.clock() if self._timers else None
                self._cond.wait(timeout=max(0.0, timeout) if timeout is not None else None)

    def done(self, key: Key, ok: bool, retry_in: float | None = None,
             requeue_after: float | None = None) -> None:
        """Ends a reconcile: a failure schedules the retry (after `retry_in` seconds when
        given, else after the back-off), a success resets the count and schedules the next
        run when `requeue_after` is given."""
        with self._cond:
            self._running.discard(key)
            if ok:
                self._failures.pop(key, None)
                if requeue_after is not None:
                    due = self.clock() + requeue_after
                    if due < self._later.get(key, float("inf")):
                        self._later[key] = due
                        heapq.heappush(self._timers, (due, key))
                        self._cond.notify()
            else:
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                delay = self.backoff.delay(failures) if retry_in is None else retry_in
                due = self.clock() + delay
                self._waiting[key] = due
                heapq.heappush(self._timers, (due, key))
                self._dirty.discard(key)  # the retry covers what came in meanwhile
                self._cond.notify()
                return
            if key in self._dirty:
                self._dirty.discard(key)
                self._enqueue(key)

    def forget(self, key: Key) -> None:
        """Drops everything known about a deleted object."""
        with self._cond:
            self._failures.pop(key, None)
            self._waiting.pop(key, None)
            self._later.pop(key, None)
            self._dirty.discard(key)

    def failures(self, key: Key) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    def __len__(self) -> int:
        with self._cond:
            return len(self._added_at)

    # -- internals (called with the lock held) -------------------------------------------
    def _enqueue(self, key: Key) -> None:
        if key in self._added_at:
            return  # already queued: the events coalesce
        self._added_at[key] = self.clock()
        self._queues.setdefault(key[0], deque()).append(key)
        self._cond.notify()

    def _next(self) -> Key | None:
        """The oldest key of the namespace whose turn it is; that namespace goes last."""
        if not self._queues:
            return None
        namespace, keys = next(iter(self._queues.items()))
        key = keys.popleft()
        if keys:
            self._queues.move_to_end(namespace)
        else:
            del self._queues[namespace]
        return key

    def _release_due_retries(self) -> None:
        now = self.clock()
        while self._timers and self._timers[0][0] <= now:
            due, key = heapq.heappop(self._timers)
            if self._waiting.get(key) == due:
                del self._waiting[key]
            elif self._later.get(key) == due:
                del self._later[key]
            else:
                continue  # forgotten, or superseded by another schedule
            if key in self._running:
                self._dirty.add(key)
            else:
                self._enqueue(key)


def run_workers(queue: WorkQueue, count: int, work: Callable[[Key], Verdict],
                name: str = "reconcile") -> list[threading.Thread]:
    """Starts `count` daemon threads that take keys from `queue` and call `work` on each.
    `work` returning False, or raising (logged), marks the key failed: it is retried
    with back-off; returning RetryIn retries it after that delay, RequeueAfter runs it
    again after that delay."""

    def loop() -> None:
        while (key := queue.get()) is not None:
            verdict: Verdict = False
            try:
                verdict = work(key)
            except Exception:
                log.exception("Failed to reconcile HandTracker %s/%s (retry #%d follows)",
                              key[0], key[1], queue.failures(key) + 1)
            finally:
                if isinstance(verdict, RetryIn):
                    queue.done(key, False, verdict.seconds)
                elif isinstance(verdict, RequeueAfter):
                    queue.done(key, True, requeue_after=verdict.seconds)
                else:
                    queue.done(key, verdict)

    threads = [threading.Thread(target=loop, name=f"{name}-{i}", daemon=True)
               for i in range(count)]
    for thread in threads:
        thread.start()
    return threads
