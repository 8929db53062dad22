"""The client-side token bucket: a burst at once, then the average rate."""

from __future__ import annotations

from handtracker_operator.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_burst_passes_at_once_then_requests_are_spaced_by_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(qps=10, burst=5, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(8)]
    assert waits[:5] == [0.0] * 5
    assert [round(w, 3) for w in waits[5:]] == [0.1, 0.1, 0.1]
    assert round(clock.now, 3) == 0.3


def test_idle_time_refills_up_to_the_burst_only() -> None:
    clock = Clock()
    bucket = TokenBucket(qps=10, burst=2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    clock.now += 100  # long idle: still only 2 tokens
    assert [bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    assert bucket.acquire() > 0


def test_zero_qps_means_no_limit() -> None:
    bucket = TokenBucket(qps=0, burst=1)
    assert all(bucket.acquire() == 0.0 for _ in range(1000))
