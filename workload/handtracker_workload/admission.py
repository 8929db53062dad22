"""Per-worker admission: a bounded number of requests in flight, a bounded FIFO
queue in front of them, and a deadline for waiting in it.

A request that finds a free in-flight slot (and nobody queued before it) runs
at once. Otherwise it waits in the queue, in arrival order, for up to
`timeout` seconds; a full queue or an expired wait is answered 503 with
Retry-After. So a burst is absorbed at the cost of some latency, and sustained
overload is shed instead of piling up: a request is never admitted after it
waited longer than the deadline, which bounds the latency of admitted ones.

The in-flight bound limits memory (in-flight requests hold decoded pixels);
the queue bound limits what waiting requests hold (their uploads).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import errors
from .config import Settings


@dataclass(frozen=True)
class AdmissionLimits:
    max_inflight: int
    max_queue: int
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> AdmissionLimits:
        """HANDTRACKER_MAX_INFLIGHT, HANDTRACKER_MAX_QUEUE, HANDTRACKER_QUEUE_TIMEOUT."""
        return cls(settings.max_inflight, settings.max_queue, settings.queue_timeout)


class Admission:
    def __init__(
        self,
        limits: AdmissionLimits,
        on_change: Callable[[int, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        # Called with (in flight, queued) after every change, under the lock.
        self._listeners = [on_change] if on_change else []
        self._clock = clock
        self._cond = threading.Condition()
        self._inflight = 0
        self._queue: deque[object] = deque()

    def add_listener(self, listener: Callable[[int, int], None]) -> None:
        self._listeners.append(listener)

    @property
    def inflight(self) -> int:
        return self._inflight

    @property
    def queued(self) -> int:
        return len(self._queue)

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Holds an in-flight slot for the body and yields the seconds waited for it."""
        waited = self._enter()
        try:
            yield waited
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()
                self._changed()

    def _enter(self) -> float:
        limits = self.limits
        with self._cond:
            if self._inflight < limits.max_inflight and not self._queue:
                self._inflight += 1
                self._changed()
                return 0.0
            if len(self._queue) >= limits.max_queue:
                raise errors.queue_full(limits.max_queue)
            ticket = object()
            self._queue.append(ticket)
            self._changed()
            start = self._clock()
            deadline = start + limits.timeout
            try:
                while not (self._queue[0] is ticket and self._inflight < limits.max_inflight):
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        raise errors.queue_timeout(limits.timeout)
                    self._cond.wait(remaining)
                self._inflight += 1
                return self._clock() - start
            finally:
                self._queue.remove(ticket)
                # The next in line may now be at the head with a free slot.
                self._cond.notify_all()
                self._changed()

    def _changed(self) -> None:
        for listener in self._listeners:
            listener(self._inflight, len(self._queue))
