"""Operator configuration (from the command line / environment) and kopf settings."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

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
    default_image: str = spec.DEFAULT_IMAGE
    namespaces: tuple[str, ...] = ()  # empty: the whole cluster
    resync_seconds: float = DEFAULT_RESYNC_SECONDS
    concurrency: int = DEFAULT_CONCURRENCY
    api_qps: float = DEFAULT_API_QPS
    api_burst: int = DEFAULT_API_BURST
    metrics_port: int = 0  # 0: no metrics endpoint
    metrics_address: str = "127.0.0.1"
    # HA: the kopf peering object's name ("" runs standalone), this replica's name in it
    # and its priority there (see leadership.py), and how long its keep-alive lasts.
    peering: str = ""
    identity: str = field(default_factory=lambda: replica_identity(os.environ))
    priority: int = field(default_factory=leadership.start_priority)
    peering_lifetime: int = leadership.DEFAULT_LIFETIME

    @classmethod
    def from_env(cls) -> OperatorConfig:
        env = os.environ
        return cls(
            default_image=env.get("HANDTRACKER_DEFAULT_IMAGE", spec.DEFAULT_IMAGE),
            namespaces=tuple(n for n in env.get("HANDTRACKER_NAMESPACES", "").split(",") if n),
            resync_seconds=float(env.get("HANDTRACKER_RESYNC_SECONDS", DEFAULT_RESYNC_SECONDS)),
            concurrency=int(env.get("HANDTRACKER_CONCURRENCY", DEFAULT_CONCURRENCY)),
            api_qps=float(env.get("HANDTRACKER_API_QPS", DEFAULT_API_QPS)),
            api_burst=int(env.get("HANDTRACKER_API_BURST", DEFAULT_API_BURST)),
            metrics_port=int(env.get("HANDTRACKER_METRICS_PORT", "0")),
            metrics_address=env.get("HANDTRACKER_METRICS_ADDRESS", "127.0.0.1"),
            peering=env.get("HANDTRACKER_PEERING", ""),
            peering_lifetime=int(env.get("HANDTRACKER_PEERING_LIFETIME",
                                         leadership.DEFAULT_LIFETIME)),
        )


def replica_identity(env: os._Environ[str] | dict[str, str]) -> str:
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
