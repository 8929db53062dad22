"""The work queue: coalescing, one reconcile per key at a time, bounded concurrency,
back-off on failure without hot loops, and namespaces taking turns."""

from __future__ import annotations

import threading
import time

from handtracker_operator.workqueue import Backoff, RetryIn, WorkQueue, run_workers

from tests.support.waiting import eventually


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_events_for_one_key_coalesce_while_it_waits() -> None:
    queue = WorkQueue()
    for _ in range(100):
        queue.add(("ns", "a"))
    queue.add(("ns", "b"))
    assert len(queue) == 2
    assert queue.get() == ("ns", "a")
    assert queue.get() == ("ns", "b")
    assert len(queue) == 0


def test_a_key_added_while_running_runs_once_more_afterwards_never_in_parallel() -> None:
    queue = WorkQueue()
    queue.add(("ns", "a"))
    key = queue.get()
    for _ in range(10):
        queue.add(key)  # events while the reconcile runs
    assert len(queue) == 0  # not handed to a second worker meanwhile
    queue.done(key, ok=True)
    assert len(queue) == 1
    assert queue.get() == key
    queue.done(key, ok=True)
    assert len(queue) == 0


def test_a_failure_retries_after_an_exponential_capped_backoff() -> None:
    clock = FakeClock()
    queue = WorkQueue(backoff=Backoff(base=1, cap=8, jitter=0), clock=clock)
    key = ("ns", "a")
    delays = []
    queue.add(key)
    for _ in range(6):
        assert queue.get() == key
        started = clock.now
        queue.done(key, ok=False)
        queue.add(key)  # an event during the back-off does not bring the retry forward
        assert len(queue) == 0
        due = queue._timers[0][0]
        clock.now = due
        delays.append(due - started)
    assert delays == [1, 2, 4, 8, 8, 8]
    assert queue.get() == key
    queue.done(key, ok=True)  # success resets the count
    assert queue.failures(key) == 0


def test_jitter_spreads_retries_below_the_nominal_delay() -> None:
    backoff = Backoff(base=1, cap=60, jitter=0.5)
    assert backoff.delay(3, rand=lambda: 0.0) == 4
    assert backoff.delay(3, rand=lambda: 1.0) == 2
    assert backoff.delay(20, rand=lambda: 0.0) == 60


def test_namespaces_take_turns() -> None:
    queue = WorkQueue()
    for i in range(50):
        queue.add(("noisy", f"ht-{i}"))
    queue.add(("quiet", "one"))
    first_two = [queue.get(), queue.get()]
    assert ("quiet", "one") in first_two


def test_workers_are_bounded_and_never_share_a_key() -> None:
    queue = WorkQueue()
    running: dict[tuple[str, str], int] = {}
    peak = 0
    lock = threading.Lock()
    done = []

    def work(key: tuple[str, str]) -> bool:
        nonlocal peak
        with lock:
            running[key] = running.get(key, 0) + 1
            assert running[key] == 1, f"{key} reconciled twice at once"
            peak = max(peak, sum(running.values()))
        time.sleep(0.01)
        with lock:
            running[key] -= 1
            done.append(key)
        return True

    threads = run_workers(queue, 3, work)
    keys = [(f"ns-{i % 4}", f"ht-{i % 10}") for i in range(200)]
    for key in keys:
        queue.add(key)
    eventually(lambda: set(done) >= set(keys) and len(queue) == 0, timeout=10)
    queue.close()
    for thread in threads:
        thread.join(timeout=5)
    assert peak <= 3
    assert len(done) < len(keys)  # coalesced: far fewer reconciles than events


def test_a_failed_reconcile_raised_or_reported_is_retried_with_backoff() -> None:
    queue = WorkQueue(backoff=Backoff(base=0.01, cap=0.05, jitter=0))
    attempts = []

    def work(key: tuple[str, str]) -> bool:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise RuntimeError("the API answered 503")
        return len(attempts) >= 4  # a reconcile that reports its failure in status

    threads = run_workers(queue, 1, work)
    queue.add(("ns", "a"))
    eventually(lambda: len(attempts) == 4, timeout=5)
    assert queue.failures(("ns", "a")) == 0
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(gap >= 0.009 for gap in gaps), gaps
    queue.close()
    for thread in threads:
        thread.join(timeout=5)


def test_a_reconcile_that_names_its_delay_waits_that_long_whatever_its_events() -> None:
    clock = FakeClock()
    queue = WorkQueue(backoff=Backoff(base=1, cap=8, jitter=0), clock=clock)
    key = ("ns", "a")
    queue.add(key)
    assert queue.get() == key
    queue.done(key, ok=False, retry_in=45)
    queue.add(key)  # the other writer's change arrives as an event: no earlier run
    assert len(queue) == 0
    assert queue._timers[0][0] == clock.now + 45  # not the back-off's 1 s
    clock.now += 45
    assert queue.get() == key


def test_workers_hand_a_retryin_verdict_to_the_queue() -> None:
    queue = WorkQueue()
    runs = []

    def work(key: tuple[str, str]) -> bool | RetryIn:
        runs.append(key)
        return RetryIn(3600)

    threads = run_workers(queue, 1, work)
    queue.add(("ns", "a"))
    eventually(lambda: queue._waiting, timeout=5, message="the key waits for its retry")
    queue.add(("ns", "a"))
    assert len(runs) == 1 and queue.failures(("ns", "a")) == 1
    assert queue._timers[0][0] - time.monotonic() > 3500
    queue.close()
    for thread in threads:
        thread.join(timeout=5)


def test_a_paused_queue_hands_out_nothing_until_resumed() -> None:
    queue = WorkQueue()
    queue.pause()
    queue.add(("ns", "a"))
    got: list = []
    worker = threading.Thread(target=lambda: got.append(queue.get()))
    worker.start()
    worker.join(0.2)
    assert worker.is_alive() and got == [] and len(queue) == 1
    queue.resume()
    worker.join(2)
    assert got == [("ns", "a")]
    queue.pause()
    queue.close()  # a paused worker still ends when the queue closes
    assert queue.get() is None


def test_a_requeue_runs_the_key_again_later_and_events_still_run_it_sooner() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    key = ("ns", "a")
    queue.add(key)
    assert queue.get() == key
    queue.done(key, ok=True, requeue_after=10)
    assert len(queue) == 0 and queue.failures(key) == 0
    queue.add(key)  # an event: at once, unlike a retry
    assert queue.get() == key
    queue.done(key, ok=True)
    clock.now += 10
    assert queue.get() == key  # and the requeue still comes
    queue.done(key, ok=True, requeue_after=30)
    queue.done(key, ok=True, requeue_after=5)  # the sooner of two wins
    clock.now += 5
    assert queue.get() == key
