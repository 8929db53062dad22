"""kopf registrations. Every watch event updates the store and queues its HandTracker for
a reconcile; none carries logic. The work queue (workqueue.py) coalesces the events and
its worker threads reconcile, one at a time per HandTracker, reading only the store.

Only watch-event handlers are used (no create/update/timer handlers): kopf then adds no
finalizer and no last-handled-configuration annotation, so `kubectl delete` never waits
for the operator and a reconcile that changes nothing writes nothing. The periodic
resync that a kopf timer would give (timers add a finalizer) is a background task
started here instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import kopf
import prometheus_client
from kubernetes.client.exceptions import ApiException

from . import identity, kinds, kube, spec
from .errors import InvalidSpec
from .leadership import POLL_SECONDS, Leadership
from .metrics import Metrics
from .ratelimit import TokenBucket
from .reconcile import Reconciler
from .settings import OperatorConfig, tune
from .store import Store
from .workqueue import WorkQueue, run_workers

OWNED = {identity.MANAGED_BY_LABEL: identity.MANAGER}
OWNED_SELECTOR = f"{identity.MANAGED_BY_LABEL}={identity.MANAGER}"
log = logging.getLogger(__name__)
T = TypeVar("T")
# How long start-up (or a takeover) waits between attempts to fill the store while the
# API is away.
FILL_RETRY_SECONDS = 2.0
# A watch's fresh listing arrives as a burst of events; the resync it calls for waits this
# long after the first of them.
RELIST_SETTLE_SECONDS = 2.0


# CRDs of the optional kinds (and of the Gateways routes attach to), by CRD name.
OPTIONAL_CRDS = {kind.crd_name: kind.name for kind in kinds.BY_NAME.values() if kind.optional}


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: logging.Logger,
                **_: object) -> None:
    config = memo.get("config") or OperatorConfig.from_env()
    tune(settings, config)
    metrics = memo.get("metrics") or Metrics()
    memo.config = config
    if config.metrics_port:
        prometheus_client.start_http_server(config.metrics_port, addr=config.metrics_address,
                                            registry=metrics.registry)
    client = kube.Kube(kube.load_client(), TokenBucket(config.api_qps, config.api_burst),
                       metrics.api_request)
    store = Store()
    metrics.watch_store(store.counts)
    memo.store = store
    memo.reconciler = Reconciler(client, store, metrics, config.default_image, config.identity)
    memo.queue = WorkQueue(on_start=metrics.queue_started)
    memo.queue.pause()  # until this replica is the active one and its store is filled
    # A reconcile whose write failed reports it in status (ReconcileError) and returns;
    # its key is retried with back-off like one that raised. One that keeps undoing
    # another writer's changes (conflicts.py) waits as long as it says.
    run_workers(memo.queue, config.concurrency, lambda key: memo.reconciler.run(*key).verdict())
    memo.active = asyncio.Event()
    memo.relisted = asyncio.Event()
    memo.tasks = [asyncio.create_task(
        _resync(client, store, memo.queue, memo.active, memo.relisted, config, metrics,
                logger))]
    if not config.peering:
        await _activate(client, store, memo.queue, config, logger)
        memo.active.set()
        metrics.active.set(1)
        return
    # HA: kopf pauses this replica's watches while another is active (leadership.py);
    # the workers and the resync follow the same decision.
    changes: asyncio.Queue[bool] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    memo.leadership = Leadership(
        lambda: _read_peerings(client, config), config.identity, config.priority,
        lambda active: loop.call_soon_threadsafe(changes.put_nowait, active),
        poll=min(POLL_SECONDS, config.peering_lifetime / 5))
    memo.leadership.start()
    memo.tasks.append(asyncio.create_task(
        _follow(changes, client, store, memo.queue, memo.active, config, metrics, logger)))


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: object) -> None:
    memo.queue.close()
    if memo.get("leadership"):
        memo.leadership.stop()
    for task in memo.tasks:
        task.cancel()
    for task in memo.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


@kopf.on.event(identity.GROUP, identity.VERSION, identity.PLURAL)
async def handtracker_event(type: str, event: kopf.RawEvent, namespace: str, name: str,
                            memo: kopf.Memo, **_: object) -> None:
    memo.store.event(identity.KIND, type, event["object"])
    if type is None:
        memo.relisted.set()
    if type == "DELETED":
        memo.queue.forget((namespace, name))
    else:
        memo.queue.add((namespace, name))


def _child_handler(kind: str) -> Callable[..., Coroutine[Any, Any, None]]:
    async def on_child(type: str, event: kopf.RawEvent, namespace: str,
                       labels: dict[str, str], memo: kopf.Memo, **_: object) -> None:
        memo.store.event(kind, type, event["object"])
        if type is None:
            memo.relisted.set()
        owner = labels.get(identity.INSTANCE_LABEL)
        if owner:
            memo.queue.add((namespace, owner))

    return on_child


for _kind in kinds.OWNED:
    kopf.on.event(_kind.group, _kind.version, _kind.plural, labels=OWNED,
                  id=f"child-{_kind.plural}")(_child_handler(_kind.name))


@kopf.on.event(kinds.GATEWAY.group, kinds.GATEWAY.version, kinds.GATEWAY.plural)
async def gateway_event(type: str, event: kopf.RawEvent, namespace: str, name: str,
                        memo: kopf.Memo, **_: object) -> None:
    """Gateways are not ours, but their addresses make the URL of the routes to them."""
    memo.store.event(kinds.GATEWAY.name, type, event["object"])
    for key in memo.store.routes_to(namespace, name):
        memo.queue.add(key)


@kopf.on.event("apiextensions.k8s.io", "v1", "customresourcedefinitions")
async def crd_event(type: str, event: kopf.RawEvent, name: str, memo: kopf.Memo,
                    **_: object) -> None:
    """An optional integration's CRD installed or removed: the HandTrackers that want it
    get their child, or a condition saying it is missing."""
    kind = OPTIONAL_CRDS.get(name)
    if kind is None:
        return
    if memo.store.set_served(kind, type != "DELETED" and _serves_v1(event["object"])):
        child = "HTTPRoute" if kind == "Gateway" else kind  # Gateways matter to routes
        for key in memo.store.keys(identity.KIND):
            body = memo.store.get(identity.KIND, *key)
            if body is not None and _wants(body, child, memo.config.default_image):
                memo.queue.add(key)


def _wants(body: dict[str, Any], kind: str, default_image: str) -> bool:
    """Whether this HandTracker's spec asks for a child of `kind` (the builders decide)."""
    try:
        parsed = spec.parse(body.get("spec"), default_image)
    except InvalidSpec:
        return False
    return kinds.desired(parsed, identity.of(body, parsed.image))[kind] is not None


async def _in_daemon_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a daemon thread, awaited. Not asyncio.to_thread: the interpreter
    joins its executor's threads at exit, so a listing under way at SIGTERM (each request
    may wait out the rate limit and a 30 s timeout) would hold the operator's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():  # cancelled meanwhile: nobody waits for the result
            outcome()

    def run() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting task, whatever it is
            answer = functools.partial(settle, functools.partial(future.set_exception, exc))
        else:
            answer = functools.partial(settle, functools.partial(future.set_result, result))
        with contextlib.suppress(RuntimeError):  # the loop closed: the operator has exited
            loop.call_soon_threadsafe(answer)

    threading.Thread(target=run, name=getattr(fn, "__name__", "list"), daemon=True).start()
    return await future


def _serves_v1(crd: dict[str, Any]) -> bool:
    established = any(c.get("type") == "Established" and c.get("status") == "True"
                      for c in (crd.get("status") or {}).get("conditions") or ())
    versions = (crd.get("spec") or {}).get("versions") or ()
    return established and any(v.get("name") == "v1" and v.get("served") for v in versions)


def _fill(client: kube.Kube, store: Store, config: OperatorConfig) -> set[tuple[str, str]]:
    """One list per kind replaces the store's copies (at start-up and at each resync).
    Returns the HandTrackers whose objects differed from the store's copies."""
    namespaces = list(config.namespaces) or None
    touched = store.replace(identity.KIND, *client.list_kind(identity.KIND, namespaces),
                            namespaces=namespaces)
    for kind in (*(k.name for k in kinds.OWNED), kinds.GATEWAY.name):
        selector = "" if kind == kinds.GATEWAY.name else OWNED_SELECTOR  # not ours
        try:
            listed = client.list_kind(kind, namespaces, selector)
        except ApiException as exc:
            if exc.status == 404 and kind in OPTIONAL_CRDS.values():
                if store.set_served(kind, False):
                    log.info("%s is not served (its CRD is not installed); HandTrackers "
                             "that ask for it say so in status", kind)
                continue
            raise
        store.set_served(kind, True)
        touched |= store.replace(kind, *listed, namespaces=namespaces)
    return touched


async def _activate(client: kube.Kube, store: Store, queue: WorkQueue,
                    config: OperatorConfig, logger: logging.Logger) -> None:
    """Fills the store, queues every HandTracker and lets the workers go: at start-up,
    and when a standby takes over (its watches were paused, so its store is stale, and
    whatever the previous replica left half-done is finished by these reconciles)."""
    while True:
        try:
            await _in_daemon_thread(_fill, client, store, config)
            break
        except Exception as exc:
            logger.warning("Failed to list the watched objects, retrying: %s", exc)
            await asyncio.sleep(FILL_RETRY_SECONDS)
    for key in store.keys(identity.KIND):
        queue.add(key)
    queue.resume()


async def _follow(changes: asyncio.Queue[bool], client: kube.Kube, store: Store,
                  queue: WorkQueue, active: asyncio.Event, config: OperatorConfig,
                  metrics: Metrics, logger: logging.Logger) -> None:
    """Applies the leadership decisions in order."""
    while True:
        if await changes.get():
            await _activate(client, store, queue, config, logger)
            active.set()
        else:
            queue.pause()
            active.clear()
        metrics.active.set(1 if active.is_set() else 0)


def _read_peerings(client: kube.Kube, config: OperatorConfig) -> list[dict[str, Any] | None]:
    """The peering object kopf keeps for our watch scope, created when missing."""
    found = []
    for namespace in config.namespaces or (None,):
        peering = client.peering(config.peering, namespace)
        if peering is None:
            client.create_peering(config.peering, namespace)
        found.append(peering)
    return found


async def _resync(client: kube.Kube, store: Store, queue: WorkQueue, active: asyncio.Event,
                  relisted: asyncio.Event, config: OperatorConfig, metrics: Metrics,
                  logger: logging.Logger) -> None:
    """Every --resync-seconds, and soon after a watch was listed afresh. kopf lists a
    kind again only when its watch expired (410 Gone) or was paused, and a listing says
    nothing of the objects deleted meanwhile: only a list of our own can drop them from
    the store (else a child deleted in the gap would not be recreated until the next
    periodic resync)."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(relisted.wait(), config.resync_seconds)
        if relisted.is_set():
            await asyncio.sleep(RELIST_SETTLE_SECONDS)  # the rest of kopf's listing
            relisted.clear()
        if not active.is_set():
            continue  # a standby's store is filled afresh when it takes over
        metrics.resyncs.inc()
        try:
            touched = await _in_daemon_thread(_fill, client, store, config)
        except Exception as exc:  # keep the loop alive through API outages
            logger.warning("Failed to list the watched objects for the resync: %s", exc)
            continue
        # Level-based: only what the lists show the watches missed needs a reconcile
        # (a HandTracker deleted meanwhile is queued too, and found gone).
        for key in touched:
            if key[1]:
                queue.add(key)
        if touched:
            logger.info("Resync found %d HandTracker(s) whose objects the watches had "
                        "missed", len(touched))
