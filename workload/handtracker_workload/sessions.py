"""Live tracking sessions of one worker process: bounded in number and in idle time.

A session is one camera stream over one WebSocket. It owns a Tracker (MediaPipe
VIDEO mode), which keeps the hands of the previous frame and so skips the palm
detector while they stay in view. Because a WebSocket stays on the connection
(and so the worker process) that accepted it, a session never moves between
workers and its tracking state stays valid.

Each session also holds one of the worker's threads for as long as it is open,
which is why their number is capped well below the thread count, and why a
session that receives nothing for idle_seconds is closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .config import Settings


class FrameTracker(Protocol):
    """What a session needs from inference.Tracker."""

    def run(self, rgb: np.ndarray, timestamp_ms: int):  # type: ignore[no-untyped-def]
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SessionLimits:
    max_sessions: int
    idle_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionLimits:
        """HANDTRACKER_MAX_SESSIONS (per worker) and HANDTRACKER_SESSION_IDLE_SECONDS."""
        return cls(settings.max_sessions, settings.session_idle_seconds)


class Session:
    """One stream's tracker and clock. Used by one thread at a time."""

    def __init__(self, tracker: FrameTracker) -> None:
        self._tracker = tracker
        self._start = time.monotonic()
        self._last_ms = -1
        self.frames = 0

    def track(self, rgb: np.ndarray):  # type: ignore[no-untyped-def]
        """Runs tracking on the next frame; returns a hands.Detection."""
        # VIDEO mode needs strictly increasing timestamps; the wall clock of
        # arrival is what tracking should extrapolate over.
        ms = max(self._last_ms + 1, int((time.monotonic() - self._start) * 1000))
        self._last_ms = ms
        self.frames += 1
        return self._tracker.run(rgb, ms)

    def close(self) -> None:
        self._tracker.close()


class SessionPool:
    """Admits at most limits.max_sessions sessions at once in this process."""

    def __init__(self, limits: SessionLimits, make_tracker: Callable[[int], FrameTracker]) -> None:
        self.limits = limits
        self._make_tracker = make_tracker
        self._lock = threading.Lock()
        self._active = 0

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    @contextmanager
    def session(self, max_hands: int = 1) -> Iterator[Session | None]:
        """A new session, or None when the worker is full; always released on exit."""
        with self._lock:
            admitted = self._active < self.limits.max_sessions
            if admitted:
                self._active += 1
        if not admitted:
            yield None
            return
        session: Session | None = None
        try:
            session = Session(self._make_tracker(max_hands))
            yield session
        finally:
            if session is not None:
                session.close()
            with self._lock:
                self._active -= 1
