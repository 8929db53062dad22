"""`python -m handtracker_operator`: run the operator (kopf) with our handlers.

Examples:
    python -m handtracker_operator                       # the whole cluster
    python -m handtracker_operator -n team-a -n team-b   # only these namespaces
    python -m handtracker_operator --peering handtracker # HA: one active replica
"""

from __future__ import annotations

import argparse
import logging
import os

import kopf

from . import (
    handlers,  # noqa: F401  (registers the handlers)
    leadership,
)
from .settings import (
    DEFAULT_API_BURST,
    DEFAULT_API_QPS,
    DEFAULT_CONCURRENCY,
    DEFAULT_RESYNC_SECONDS,
    OperatorConfig,
)
from .spec import DEFAULT_IMAGE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="handtracker_operator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--namespace", action="append", default=[],
                        help="watch only this namespace (repeatable; default: all namespaces)")
    # Local runs bind to loopback on ports the workload (8080) does not use; the in-cluster
    # Deployment passes 0.0.0.0 explicitly.
    parser.add_argument("--liveness", default=env.get("HANDTRACKER_LIVENESS",
                                                      "http://127.0.0.1:8081/healthz"),
                        help="liveness endpoint URL served by kopf (default: %(default)s)")
    parser.add_argument("--metrics-port", type=int,
                        default=int(env.get("HANDTRACKER_METRICS_PORT", "9090")),
                        help="Prometheus metrics port, 0 to disable (default: %(default)s)")
    parser.add_argument("--metrics-address", default=env.get("HANDTRACKER_METRICS_ADDRESS",
                                                             "127.0.0.1"),
                        help="address the metrics endpoint binds to (default: %(default)s)")
    parser.add_argument("--peering", default=env.get("HANDTRACKER_PEERING", ""),
                        help="kopf peering object name for active/standby replicas "
                             "(needs kopf's peering CRDs, deploy/peering); default: standalone")
    parser.add_argument("--peering-lifetime", type=int,
                        default=int(env.get("HANDTRACKER_PEERING_LIFETIME",
                                            leadership.DEFAULT_LIFETIME)),
                        help="seconds after its last keep-alive that a replica counts as "
                             "gone and a standby takes over (default: %(default)s)")
    parser.add_argument("--default-image",
                        default=env.get("HANDTRACKER_DEFAULT_IMAGE", DEFAULT_IMAGE),
                        help="image for HandTrackers that set none (default: %(default)s)")
    parser.add_argument("--resync-seconds", type=float,
                        default=float(env.get("HANDTRACKER_RESYNC_SECONDS",
                                              DEFAULT_RESYNC_SECONDS)),
                        help="reconcile everything this often as a safety net")
    parser.add_argument("--concurrency", type=int,
                        default=int(env.get("HANDTRACKER_CONCURRENCY", DEFAULT_CONCURRENCY)),
                        help="HandTrackers reconciled at the same time (default: %(default)s)")
    parser.add_argument("--api-qps", type=float,
                        default=float(env.get("HANDTRACKER_API_QPS", DEFAULT_API_QPS)),
                        help="average API requests per second of reconciles and resyncs, "
                             "0 for no limit (default: %(default)s)")
    parser.add_argument("--api-burst", type=int,
                        default=int(env.get("HANDTRACKER_API_BURST", DEFAULT_API_BURST)),
                        help="API requests allowed at once above that rate "
                             "(default: %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # kopf logs every handler call ("Handler ... succeeded"): one line per watch event.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        # kopf repeats "Unresolved resources cannot be served" at every CRD change for the
        # optional integrations' kinds; handlers.py reports a missing CRD once instead.
        logging.getLogger("kopf._core.reactor.observation").setLevel(logging.ERROR)
    config = OperatorConfig(
        default_image=args.default_image,
        namespaces=tuple(args.namespace),
        resync_seconds=args.resync_seconds,
        concurrency=max(1, args.concurrency),
        api_qps=args.api_qps,
        api_burst=args.api_burst,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        peering=args.peering,
        peering_lifetime=max(2, args.peering_lifetime),
    )
    kopf.run(
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness or None,
        standalone=not args.peering,
        peering_name=args.peering or None,
        identity=config.identity,
        priority=config.priority,
        memo=kopf.Memo(config=config),
    )


if __name__ == "__main__":
    main()
