"""kopf registrations. Every trigger queues the whole HandTracker for a reconcile; none
carries logic. The work queue (workqueue.py) coalesces the events and its worker threads
reconcile, one at a time per HandTracker.

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
from .workqueue import WorkQueue, run_workers

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
    reconciler = Reconciler(kube.Kube(kube.load_client()), metrics, config.default_image)
    memo.reconciler = reconciler
    memo.queue = WorkQueue(on_start=metrics.queue_started)
    run_workers(memo.queue, config.concurrency, lambda key: reconciler.run(*key))
    memo.resync = asyncio.create_task(_resync(memo.reconciler, memo.queue, config, logger))


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: object) -> None:
    memo.queue.close()
    memo.resync.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await memo.resync


@kopf.on.event(identity.GROUP, identity.VERSION, identity.PLURAL)
async def handtracker_event(type: str, namespace: str, name: str, memo: kopf.Memo,
                            **_: object) -> None:
    if type == "DELETED":
        memo.queue.forget((namespace, name))
    else:
        memo.queue.add((namespace, name))


async def _on_child(namespace: str, labels: dict[str, str], memo: kopf.Memo,
                    **_: object) -> None:
    owner = labels.get(identity.INSTANCE_LABEL)
    if owner:
        memo.queue.add((namespace, owner))


for _group, _version, _plural in CHILDREN:
    kopf.on.event(_group, _version, _plural, labels=OWNED, id=f"child-{_plural}")(_on_child)


async def _resync(reconciler: Reconciler, queue: WorkQueue, config: OperatorConfig,
                  logger: logging.Logger) -> None:
    namespaces = list(config.namespaces) or None
    while True:
        await asyncio.sleep(config.resync_seconds)
        try:
            bodies = await asyncio.to_thread(reconciler.kube.list_handtrackers, namespaces)
        except Exception as exc:  # keep the loop alive through API outages
            logger.warning("Failed to list HandTrackers for the resync: %s", exc)
            continue
        for body in bodies:
            queue.add((body["metadata"]["namespace"], body["metadata"]["name"]))
        logger.debug("Queued %d HandTracker(s) for the resync", len(bodies))

