"""Admission and readiness bookkeeping of a worker (no model needed)."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from handtracker_workload.errors import ApiError
from handtracker_workload.lifecycle import Runtime

DETECTOR = object()  # admission never calls the detector, it only hands it out


def test_admits_up_to_the_limit_then_answers_503_with_retry_after():
    runtime = Runtime(3, detector=DETECTOR)
    with ExitStack() as stack:
        for _ in range(3):
            assert stack.enter_context(runtime.admit()) is DETECTOR
        assert runtime.inflight == 3
        with pytest.raises(ApiError) as caught, runtime.admit():
            pass
        assert (caught.value.status, caught.value.code) == (503, "overloaded")
        assert int(caught.value.headers["Retry-After"]) >= 1
    assert runtime.inflight == 0
    with runtime.admit():
        assert runtime.inflight == 1


def test_a_failing_request_gives_its_slot_back():
    runtime = Runtime(1, detector=DETECTOR)
    with pytest.raises(RuntimeError), runtime.admit():
        raise RuntimeError("decode failed")
    assert runtime.inflight == 0


def test_not_ready_without_a_model_and_while_draining():
    loading = Runtime(2)
    assert not loading.ready
    with pytest.raises(ApiError) as caught, loading.admit():
        pass
    assert caught.value.code == "not_ready" and caught.value.headers["Retry-After"]

    serving = Runtime(2, detector=DETECTOR)
    assert serving.ready and not serving.draining
    serving.begin_drain()
    assert not serving.ready and serving.draining


def test_a_failed_load_is_reported():
    def broken():
        raise OSError("no model bundle")

    runtime = Runtime(2, load=broken)
    assert runtime.wait_loaded(10)
    assert isinstance(runtime.failure, OSError) and not runtime.ready
