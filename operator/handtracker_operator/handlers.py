"""kopf registrations. Every trigger reconciles the whole HandTracker; none carries logic.

Only watch-event handlers are used (no create/update/timer handlers): kopf then adds no
finalizer and no last-handled-configuration annotation, so `kubectl delete` never waits
for the operator and a reconcile that changes nothing writes nothing. The periodic
resync that a kopf timer would give (timers add a finalizer) is a background task
started here instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import kopf
import prometheus_client

from . import identity, kube
from .metrics import Metrics
from .reconcile import Reconciler
from .settings import OperatorConfig, tune

OWNED = {identity.MANAGED_BY_LABEL: identity.MANAGER}
CHILDREN = (
    ("", "v1", "configmaps"),
    ("apps", "v1", "deployments"),
    ("", "v1", "services"),
    ("networking.k8s.io", "v1", "ingresses"),
    ("autoscaling", "v2", "horizontalpodautoscalers"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("", "v1", "pods"),  # pod failures (CrashLoopBackOff …) are reported in status
)


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: logging.Logger,
                **_: object) -> None:
    config = memo.get("config") or OperatorConfig.from_env()
    tune(settings)
    metrics = memo.get("metrics") or Metrics()
    memo.config = config
    if config.metrics_port:
        prometheus_client.start_http_server(config.metrics_port, addr=config.metrics_address,
                                            registry=metrics.registry)
    memo.reconciler = Reconciler(kube.Kube(kube.load_client()), metrics, config.default_image)
    memo.resync = asyncio.create_task(_resync(memo.reconciler, config, logger))


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: object) -> None:
    memo.resync.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await memo.resync


@kopf.on.event(identity.GROUP, identity.VERSION, identity.PLURAL)
def handtracker_event(type: str, namespace: str, name: str, memo: kopf.Memo, **_: object) -> None:
    if type == "DELETED":
        memo.reconciler.forget(namespace, name)
    else:
        memo.reconciler.run(namespace, name)


def _on_child(namespace: str, labels: dict[str, str], memo: kopf.Memo, **_: object) -> None:
    owner = labels.get(identity.INSTANCE_LABEL)
    if owner:
        memo.reconciler.run(namespace, owner)


for _group, _version, _plural in CHILDREN:
    kopf.on.event(_group, _version, _plural, labels=OWNED, id=f"child-{_plural}")(_on_child)


async def _resync(reconciler: Reconciler, config: OperatorConfig,
                  logger: logging.Logger) -> None:
    namespaces = list(config.namespaces) or None
    while True:
        await asyncio.sleep(config.resync_seconds)
        try:
            count = await asyncio.to_thread(reconciler.run_all, namespaces)
            logger.debug("Resynced %d HandTracker(s)", count)
        except Exception as exc:  # keep the loop alive through API outages
            logger.warning("Failed to resync HandTrackers: %s", exc)

