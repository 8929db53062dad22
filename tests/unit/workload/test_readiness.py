"""Readiness of a worker: model loading, failure, draining (no model needed)."""

from __future__ import annotations

import pytest
from handtracker_workload.errors import ApiError
from handtracker_workload.readiness import Readiness

DETECTOR = object()  # readiness never calls the detector, it only hands it out


def test_hands_out_the_detector_once_loaded():
    assert Readiness(detector=DETECTOR).detector() is DETECTOR


def test_not_ready_without_a_model_and_while_draining():
    loading = Readiness()
    assert not loading.ready
    with pytest.raises(ApiError) as caught:
        loading.detector()
    assert caught.value.code == "not_ready" and caught.value.headers["Retry-After"]

    serving = Readiness(detector=DETECTOR)
    assert serving.ready and not serving.draining
    serving.begin_drain()
    assert not serving.ready and serving.draining
    assert serving.detector() is DETECTOR  # requests already on their way still run


def test_a_failed_load_is_reported():
    def broken():
        raise OSError("no model bundle")

    readiness = Readiness(load=broken)
    assert readiness.wait_loaded(10)
    assert isinstance(readiness.failure, OSError) and not readiness.ready


def test_a_background_load_becomes_ready():
    readiness = Readiness(load=lambda: DETECTOR)
    assert readiness.wait_loaded(10)
    assert readiness.ready and readiness.detector() is DETECTOR
