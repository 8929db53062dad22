"""Operator metrics, in a registry of their own (served by __main__ / settings)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import storedversions

# The states of handtracker_operator_storage_migration: storedversions.py's outcomes once
# acted on (a migration done is CURRENT), and an attempt that failed.
FAILED = "failed"
STORAGE_STATES = (storedversions.CURRENT, storedversions.PARTIAL_SCOPE,
                  storedversions.UNKNOWN_VERSION, storedversions.OUTDATED_CRD, FAILED)


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        # The dataclass is frozen for callers; the collectors are created once, here.
        set_ = object.__setattr__
        set_(self, "reconciles", Counter(
            "handtracker_operator_reconcile", "Reconciles by result (ok, invalid, error).",
            ["result"], registry=self.registry))
        set_(self, "duration", Histogram(
            "handtracker_operator_reconcile_duration_seconds", "Time one reconcile took.",
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)))
        set_(self, "queue_depth", Gauge(
            "handtracker_operator_workqueue_depth", "HandTrackers waiting to be reconciled.",
            registry=self.registry))
        set_(self, "queue_wait", Histogram(
            "handtracker_operator_workqueue_queue_duration_seconds",
            "Time a HandTracker waited in the work queue before its reconcile started.",
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)))
        set_(self, "api_requests", Counter(
            "handtracker_operator_api_requests",
            "Requests the operator's reconciles and resyncs sent to the API server, by HTTP "
            "verb and status code (watches are kopf's and not counted).",
            ["verb", "code"], registry=self.registry))
        set_(self, "resyncs", Counter(
            "handtracker_operator_resyncs", "Periodic resyncs (one list per watched kind).",
            registry=self.registry))
        set_(self, "active", Gauge(
            "handtracker_operator_active",
            "1 on the replica that reconciles, 0 on a standby (HA peering).",
            registry=self.registry))
        set_(self, "storage_migration", Gauge(
            "handtracker_operator_storage_migration",
            "1 for the state of the HandTracker CRD's storage migration, 0 for the others: "
            "current, partial_scope, unknown_version, outdated_crd or failed.",
            ["state"], registry=self.registry))
        set_(self, "drift", Counter(
            "handtracker_operator_drift_corrections", "Children restored after outside changes.",
            ["kind"], registry=self.registry))

    def queue_started(self, depth: int, waited: float) -> None:
        """The work queue's hook: a key left the queue after `waited` seconds."""
        self.queue_depth.set(depth)
        self.queue_wait.observe(waited)

    def storage_state(self, state: str) -> None:
        for known in STORAGE_STATES:
            self.storage_migration.labels(known).set(1 if known == state else 0)

    def api_request(self, verb: str, code: str) -> None:
        self.api_requests.labels(verb, code).inc()

    def watch_store(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Exposes the store's object counts per kind at each scrape."""
        self.registry.register(_StoreCollector(counts))


class _StoreCollector(Collector):
    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "handtracker_operator_store_objects",
            "Objects held in the operator's watch-fed store, by kind.", labels=["kind"])
        for kind, count in sorted(self._counts().items()):
            family.add_metric([kind], count)
        yield family
