"""The per-worker admission queue: in-flight bound, FIFO queue, deadline (no model needed)."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

import pytest
from handtracker_workload.admission import Admission, AdmissionLimits
from handtracker_workload.errors import ApiError


def _waiter(admission: Admission, order: list[str], name: str, hold: threading.Event):
    def run() -> None:
        try:
            with admission.slot():
                order.append(name)
                hold.wait(10)
        except ApiError as err:
            order.append(f"{name}:{err.code}")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.005)


def test_runs_at_once_below_the_in_flight_bound():
    admission = Admission(AdmissionLimits(max_inflight=2, max_queue=0, timeout=1.0))
    with admission.slot() as first, admission.slot() as second:
        assert (first, second) == (0.0, 0.0)
        assert (admission.inflight, admission.queued) == (2, 0)
    assert admission.inflight == 0


def test_waiters_queue_in_arrival_order_and_run_when_a_slot_frees():
    admission = Admission(AdmissionLimits(max_inflight=1, max_queue=4, timeout=10.0))
    order: list[str] = []
    release = threading.Event()
    with admission.slot():
        threads = []
        for name in "abc":
            threads.append(_waiter(admission, order, name, release))
            waiting = len(threads)
            _until(lambda: admission.queued == waiting)  # noqa: B023
        assert order == []  # all three wait behind the running request
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["a", "b", "c"]
    assert (admission.inflight, admission.queued) == (0, 0)


def test_a_full_queue_answers_503_at_once():
    admission = Admission(AdmissionLimits(max_inflight=1, max_queue=1, timeout=10.0))
    order: list[str] = []
    release = threading.Event()
    with admission.slot():
        waiter = _waiter(admission, order, "queued", release)
        _until(lambda: admission.queued == 1)
        start = time.monotonic()
        with pytest.raises(ApiError) as caught, admission.slot():
            pass
        assert time.monotonic() - start < 1.0  # refused without waiting
    release.set()
    waiter.join(10)
    err = caught.value
    assert (err.status, err.code) == (503, "overloaded") and int(err.headers["Retry-After"]) >= 1
    assert "waiting" in err.message
    assert order == ["queued"]


def test_a_wait_longer_than_the_deadline_answers_503_and_leaves_the_queue():
    admission = Admission(AdmissionLimits(max_inflight=1, max_queue=4, timeout=0.2))
    with admission.slot():
        start = time.monotonic()
        with pytest.raises(ApiError) as caught, admission.slot():
            pass
        waited = time.monotonic() - start
        assert admission.queued == 0
    assert waited >= 0.2
    assert caught.value.code == "overloaded" and caught.value.headers["Retry-After"]
    assert "0.2 s" in caught.value.message
    with admission.slot() as wait:  # the slot and the queue are whole again
        assert wait == 0.0


def test_no_queue_when_its_bound_is_zero():
    admission = Admission(AdmissionLimits(max_inflight=2, max_queue=0, timeout=10.0))
    with ExitStack() as stack:
        for _ in range(2):
            stack.enter_context(admission.slot())
        with pytest.raises(ApiError), admission.slot():
            pass


def test_a_failing_request_gives_its_slot_back_and_listeners_see_every_change():
    seen: list[tuple[int, int]] = []
    admission = Admission(AdmissionLimits(1, 1, 1.0), lambda *change: seen.append(change))
    admission.add_listener(lambda inflight, queued: None)
    with pytest.raises(RuntimeError), admission.slot():
        raise RuntimeError("decode failed")
    assert admission.inflight == 0
    assert seen == [(1, 0), (0, 0)]


def test_a_queued_request_reports_how_long_it_waited():
    admission = Admission(AdmissionLimits(max_inflight=1, max_queue=1, timeout=5.0))
    waits: list[float] = []

    def queued() -> None:
        with admission.slot() as waited:
            waits.append(waited)

    with admission.slot():
        thread = threading.Thread(target=queued)
        thread.start()
        _until(lambda: admission.queued == 1)
        time.sleep(0.1)
    thread.join(10)
    assert waits and waits[0] >= 0.1
