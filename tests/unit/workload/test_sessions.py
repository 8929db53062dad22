"""The per-worker session pool: its count limit and its bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
from handtracker_workload.config import Settings
from handtracker_workload.sessions import SessionLimits, SessionPool


class RecordingTracker:
    def __init__(self, max_hands: int) -> None:
        self.max_hands = max_hands
        self.stamps: list[int] = []
        self.closed = False

    def run(self, rgb: np.ndarray, timestamp_ms: int) -> int:
        self.stamps.append(timestamp_ms)
        return timestamp_ms

    def close(self) -> None:
        self.closed = True


def test_pool_admits_up_to_the_limit_and_frees_slots() -> None:
    made: list[RecordingTracker] = []

    def make(n: int) -> RecordingTracker:
        made.append(RecordingTracker(n))
        return made[-1]

    pool = SessionPool(SessionLimits(max_sessions=2, idle_seconds=30.0), make)
    with pool.session(2) as a, pool.session() as b:
        assert a is not None and b is not None
        with pool.session() as c:
            assert c is None
        assert pool.active == 2
    assert pool.active == 0
    assert [t.max_hands for t in made] == [2, 1]
    assert all(t.closed for t in made)
    with pool.session() as again:
        assert again is not None


def test_slot_is_freed_when_the_session_fails() -> None:
    pool = SessionPool(SessionLimits(max_sessions=1, idle_seconds=30.0), RecordingTracker)
    with pytest.raises(RuntimeError), pool.session():
        raise RuntimeError("client went away")
    assert pool.active == 0


def test_timestamps_strictly_increase_even_within_one_millisecond() -> None:
    tracker = RecordingTracker(1)
    pool = SessionPool(SessionLimits(4, 30.0), lambda n: tracker)
    frame = np.zeros((4, 4, 3), np.uint8)
    with pool.session() as session:
        for _ in range(50):
            session.track(frame)
    assert all(b > a for a, b in zip(tracker.stamps, tracker.stamps[1:], strict=False))
    assert len(tracker.stamps) == 50


def test_limits_come_from_the_settings() -> None:
    env = {"HANDTRACKER_MAX_SESSIONS": "3", "HANDTRACKER_SESSION_IDLE_SECONDS": "12.5"}
    assert SessionLimits.from_settings(Settings.from_env(env)) == SessionLimits(3, 12.5)
    assert SessionLimits.from_settings(Settings.from_env({})) == SessionLimits(4, 30.0)


def test_a_zero_limit_admits_no_session() -> None:
    pool = SessionPool(SessionLimits(max_sessions=0, idle_seconds=30.0), RecordingTracker)
    with pool.session() as session:
        assert session is None
    assert pool.active == 0
