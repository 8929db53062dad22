"""Prometheus metrics, correct across gunicorn's pre-forked workers.

Under gunicorn, __main__ sets PROMETHEUS_MULTIPROC_DIR (under /tmp) before
anything imports prometheus_client, so every worker writes its samples to
files there and a scrape of any worker aggregates all of them. Without that
variable (tests, a single process) the default registry is used.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "handtracker_http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "code"],
)
HTTP_DURATION = Histogram(
    "handtracker_http_request_duration_seconds",
    "Time from receiving a request to returning its response.",
    ["route"],
    buckets=_LATENCY_BUCKETS,
)
INFERENCE_DURATION = Histogram(
    "handtracker_inference_duration_seconds",
    "Detection time per image (excluding lock wait in standard mode), by model "
    "complexity and detection mode.",
    ["model", "mode"],
    buckets=_LATENCY_BUCKETS,
)
DECODE_DURATION = Histogram(
    "handtracker_image_decode_duration_seconds",
    "Time to validate and decode an uploaded image.",
    buckets=_LATENCY_BUCKETS,
)
HANDS_DETECTED = Histogram(
    "handtracker_hands_detected",
    "Hands found per image, by detection mode.",
    ["mode"],
    buckets=(0, 1, 2, 3, 4),
)
REJECTED = Counter(
    "handtracker_rejected_requests_total",
    "Requests refused before or instead of inference, by error code.",
    ["reason"],
)
INFLIGHT = Gauge(
    "handtracker_inflight_requests",
    "Image requests past the admission queue (decoding, detecting, encoding), "
    "summed over live workers.",
    multiprocess_mode="livesum",
)
QUEUE_DEPTH = Gauge(
    "handtracker_queue_depth",
    "Image requests waiting in the admission queue, summed over live workers.",
    multiprocess_mode="livesum",
)
QUEUE_WAIT = Histogram(
    "handtracker_queue_wait_seconds",
    "Time an admitted image request waited for an in-flight slot (0 when one was free).",
    buckets=(0.0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def admission_changed(inflight: int, queued: int) -> None:
    """admission.Admission's listener: this worker's share of the two gauges."""
    INFLIGHT.set(inflight)
    QUEUE_DEPTH.set(queued)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> tuple[bytes, str]:
    """The text a scrape returns, aggregated over workers when pre-forked."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    """Drops a dead worker's live gauges (its counters stay in the totals)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
