"""A canary's health, judged from its pods' own /metrics (no Prometheus needed).

The workload's counters run from each pod's start, so the sum over the canary's pods is
everything the canary answered since it was made: no state between reconciles. Probes
and scrapes are left out, so that only clients' requests count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from .spec import CanaryAnalysis

REQUESTS = "handtracker_http_requests_total"
BUCKETS = "handtracker_http_request_duration_seconds_bucket"
NOT_CLIENTS = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live",
                         "/v2/health/ready"})


@dataclass(frozen=True)
class Sample:
    requests: float = 0.0
    errors: float = 0.0  # answered 5xx (503 included: the canary shed them)
    # the latency histogram: upper bound -> requests at most that slow (cumulative)
    buckets: dict[float, float] = field(default_factory=dict)

    def __add__(self, other: Sample) -> Sample:
        merged = dict(self.buckets)
        for bound, count in other.buckets.items():
            merged[bound] = merged.get(bound, 0.0) + count
        return Sample(self.requests + other.requests, self.errors + other.errors, merged)

    def p99(self) -> float | None:
        """The upper bound of the bucket holding the 99th percentile (inf past the last)."""
        total = self.buckets.get(math.inf, 0.0)
        if total <= 0:
            return None
        for bound in sorted(self.buckets):
            if self.buckets[bound] >= 0.99 * total:
                return bound
        return math.inf


def parse(text: str) -> Sample:
    """The client traffic in one pod's /metrics page."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("route") in NOT_CLIENTS:
                continue
            if sample.name == REQUESTS:
                requests += sample.value
                if sample.labels.get("code", "").startswith("5"):
                    errors += sample.value
            elif sample.name == BUCKETS:
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return Sample(requests, errors, buckets)


@dataclass(frozen=True)
class Verdict:
    breached: bool
    message: str


def judge(samples: Iterable[Sample], limits: CanaryAnalysis) -> Verdict:
    """Whether the canary's traffic so far breaks a limit; never before minRequests."""
    total = sum(samples, Sample())
    if total.requests < limits.min_requests:
        return Verdict(False, f"{total.requests:.0f} of {limits.min_requests} requests "
                              "needed for analysis")
    ratio = total.errors / total.requests
    p99 = total.p99()
    figures = (f"error ratio {ratio:.3f} (limit {limits.max_error_ratio:g}) over "
               f"{total.requests:.0f} requests")
    if p99 is not None and limits.max_p99_latency_seconds > 0:
        figures += f", p99 latency ≤ {p99:g} s (limit {limits.max_p99_latency_seconds:g} s)"
    breached = ratio > limits.max_error_ratio or (
        limits.max_p99_latency_seconds > 0 and p99 is not None
        and p99 > limits.max_p99_latency_seconds)
    return Verdict(breached, figures)
