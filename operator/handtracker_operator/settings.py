"""Operator configuration (environment, then command line: one table, OPTIONS) and kopf
settings."""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import kopf

from . import leadership, spec

# How often every HandTracker is reconciled even without events: a safety net for
# missed watch events, not the way drift is normally noticed (child watches are).
DEFAULT_RESYNC_SECONDS = 120.0
# HandTrackers reconciled at the same time (worker threads of the work queue).
DEFAULT_CONCURRENCY = 4
# The operator's own requests (writes, and the lists of a resync), like client-go's QPS
# and burst: enough for hundreds of HandTrackers converging at once, yet bounded so that
# an operator restart with thousands of them cannot flood the API server.
DEFAULT_API_QPS = 100.0
DEFAULT_API_BURST = 200


@dataclass(frozen=True)
class OperatorConfig:
    """Every setting, with its default. Read from the environment (from_env) and the
    command line (from_args) through OPTIONS, and nowhere else."""

    default_image: str = spec.DEFAULT_IMAGE
    namespaces: tuple[str, ...] = ()  # empty: the whole cluster
    resync_seconds: float = DEFAULT_RESYNC_SECONDS
    concurrency: int = DEFAULT_CONCURRENCY
    api_qps: float = DEFAULT_API_QPS
    api_burst: int = DEFAULT_API_BURST
    # Local runs bind to loopback on ports the workload (8080) does not use; the in-cluster
    # Deployment passes 0.0.0.0 explicitly.
    liveness: str = "http://127.0.0.1:8081/healthz"  # "" for none
    metrics_port: int = 9090  # 0: no metrics endpoint
    metrics_address: str = "127.0.0.1"
    # HA: the kopf peering object's name ("" runs standalone), this replica's name in it
    # and its priority there (see leadership.py), and how long its keep-alive lasts.
    peering: str = ""
    peering_lifetime: int = leadership.DEFAULT_LIFETIME
    identity: str = field(default_factory=lambda: replica_identity(os.environ))
    priority: int = field(default_factory=leadership.start_priority)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        """The defaults, overridden by the HANDTRACKER_* variables that are set."""
        env = os.environ if env is None else env
        values = {o.field: o.parse(env[o.env]) for o in OPTIONS if env.get(o.env)}
        return cls(**values)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> OperatorConfig:
        """From parse_args' result, whose defaults came from from_env."""
        values = {o.field: getattr(args, o.field) for o in OPTIONS}
        values["namespaces"] = tuple(values["namespaces"])
        values["concurrency"] = max(1, values["concurrency"])
        values["peering_lifetime"] = max(2, values["peering_lifetime"])
        return cls(**values)


@dataclass(frozen=True)
class Option:
    """One setting: the field of OperatorConfig it fills, its help, and its command-line
    flag and environment variable, which follow from the field's name unless given."""

    field: str
    help: str
    short: str = ""
    flag_name: str = ""  # default: --field-name

    @property
    def flag(self) -> str:
        return self.flag_name or "--" + self.field.replace("_", "-")

    @property
    def env(self) -> str:
        return "HANDTRACKER_" + self.field.upper()

    @property
    def kind(self) -> type:
        """The type of the field's default: str, int, float or tuple."""
        default = next(f.default for f in fields(OperatorConfig) if f.name == self.field)
        return type(default)

    def parse(self, text: str) -> Any:
        if self.kind is tuple:  # a comma-separated list in the environment
            return tuple(item for item in text.split(",") if item)
        return self.kind(text)


OPTIONS = (
    Option("namespaces", "watch only this namespace (repeatable; default: all namespaces)",
           short="-n", flag_name="--namespace"),
    Option("liveness", "liveness endpoint URL served by kopf"),
    Option("metrics_port", "Prometheus metrics port, 0 to disable"),
    Option("metrics_address", "address the metrics endpoint binds to"),
    Option("peering", "kopf peering object name for active/standby replicas (needs kopf's "
                      "peering CRDs, deploy/peering); empty: standalone"),
    Option("peering_lifetime", "seconds after its last keep-alive that a replica counts as "
                               "gone and a standby takes over"),
    Option("default_image", "image for HandTrackers that set none"),
    Option("resync_seconds", "reconcile everything this often as a safety net"),
    Option("concurrency", "HandTrackers reconciled at the same time"),
    Option("api_qps", "average API requests per second of reconciles and resyncs, "
                      "0 for no limit"),
    Option("api_burst", "API requests allowed at once above that rate"),
)


def replica_identity(env: Mapping[str, str]) -> str:
    """The pod's name (POD_NAME from the Downward API) or host and PID for local runs."""
    return env.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


def tune(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    # Without a server-side timeout a watch on a silently dropped connection never ends
    # and no event arrives again (kopf docs, "configuration": API timeouts).
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    settings.networking.request_timeout = 60
    # Our own Events are posted by kube.py with stable reasons; kopf's log-line events
    # would duplicate them.
    settings.posting.enabled = False
    settings.peering.lifetime = config.peering_lifetime
    # kopf keeps a worker task per object for this long after its last event. Our handlers
    # only update the store and the queue, so idle workers are memory and nothing else:
    # with thousands of objects changing at once they were a good part of the peak.
    settings.batching.idle_timeout = 1.0
