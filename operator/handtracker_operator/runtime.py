"""The operator's running parts, wired at start-up: the API client, the store the watches
fill, the work queue and its reconcile workers, leadership (HA) and the resync loop.

handlers.py hands it kopf's watch events and nothing else. Every event updates the store
and queues its HandTracker; the work queue (workqueue.py) coalesces them and its worker
threads reconcile, one at a time per HandTracker, reading only the store. The periodic
resync that a kopf timer would give (timers add a finalizer) is a task of its own here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import prometheus_client

from . import gateway, identity, kinds, kube, migration, spec, storedversions
from .errors import InvalidSpec, NotFound
from .leadership import POLL_SECONDS, Leadership
from .metrics import FAILED, Metrics
from .ratelimit import TokenBucket
from .reconcile import Reconciler
from .settings import OperatorConfig
from .store import Store
from .workqueue import WorkQueue, run_workers

# The label every object the operator makes carries, and that its watches select by.
OWNED_LABELS = {identity.MANAGED_BY_LABEL: identity.MANAGER}
OWNED_SELECTOR = f"{identity.MANAGED_BY_LABEL}={identity.MANAGER}"
# CRDs of the optional kinds (and of the Gateways routes attach to), by CRD name.
OPTIONAL_CRDS = {kind.crd_name: kind.name for kind in kinds.BY_NAME.values() if kind.optional}
# How long start-up (or a takeover) waits between attempts to fill the store while the
# API is away.
FILL_RETRY_SECONDS = 2.0
# A watch's fresh listing arrives as a burst of events; the resync it calls for waits this
# long after the first of them.
RELIST_SETTLE_SECONDS = 2.0
# A storage migration that failed (API errors, objects that kept changing) is tried again
# after this long, doubling up to the maximum.
MIGRATION_RETRY_SECONDS = (10.0, 300.0)
log = logging.getLogger(__name__)
T = TypeVar("T")
Key = tuple[str, str]


class Runtime:
    def __init__(self, config: OperatorConfig, metrics: Metrics, logger: logging.Logger) -> None:
        self.config = config
        self.metrics = metrics
        self.logger = logger
        self.client = kube.Kube(kube.load_client(),
                                TokenBucket(config.api_qps, config.api_burst),
                                metrics.api_request)
        self.store = Store()
        metrics.watch_store(self.store.counts)
        self.reconciler = Reconciler(self.client, self.store, metrics, config.default_image,
                                     config.identity)
        self.queue = WorkQueue(on_start=metrics.queue_started)
        self.active = asyncio.Event()
        self.relisted = asyncio.Event()
        self.crd_changed = asyncio.Event()  # our own CRD: its storedVersions to look at
        self.crd_changed.set()
        self.leadership: Leadership | None = None
        self.tasks: list[asyncio.Task[None]] = []

    # -- life cycle ----------------------------------------------------------------------
    async def start(self) -> None:
        config = self.config
        if config.metrics_port:
            prometheus_client.start_http_server(config.metrics_port, addr=config.metrics_address,
                                                registry=self.metrics.registry)
        self.queue.pause()  # until this replica is the active one and its store is filled
        # A reconcile whose write failed reports it in status (ReconcileError) and returns;
        # its key is retried with back-off like one that raised. One that keeps undoing
        # another writer's changes (conflicts.py) waits as long as it says.
        run_workers(self.queue, config.concurrency,
                    lambda key: self.reconciler.run(*key).verdict())
        self.tasks.append(asyncio.create_task(self._resync()))
        self.tasks.append(asyncio.create_task(self._migrate_storage()))
        if not config.peering:
            await self._activate()
            self._set_active(True)
            return
        # HA: kopf pauses this replica's watches while another is active (leadership.py);
        # the workers and the resync follow the same decision.
        changes: asyncio.Queue[bool] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.leadership = Leadership(
            self._read_peerings, config.identity, config.priority,
            lambda active: loop.call_soon_threadsafe(changes.put_nowait, active),
            poll=min(POLL_SECONDS, config.peering_lifetime / 5))
        self.leadership.start()
        self.tasks.append(asyncio.create_task(self._follow(changes)))

    async def stop(self) -> None:
        """Workers finish their current reconcile and take no other; a listing under way
        is left to its daemon thread. The next active replica's listing finds whatever
        was left undone."""
        self.queue.close()
        if self.leadership:
            self.leadership.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- watch events --------------------------------------------------------------------
    def on_handtracker(self, type_: str | None, body: Mapping[str, Any], key: Key) -> None:
        self.store.event(identity.KIND, type_, body)
        if type_ is None:
            self.relisted.set()
        if type_ == "DELETED":
            self.queue.forget(key)
        else:
            self.queue.add(key)

    def on_owned(self, kind: str, type_: str | None, body: Mapping[str, Any],
                 namespace: str, owner: str | None) -> None:
        """A child or a pod, by the HandTracker its labels name."""
        self.store.event(kind, type_, body)
        if type_ is None:
            self.relisted.set()
        if owner:
            self.queue.add((namespace, owner))

    def on_gateway(self, type_: str | None, body: Mapping[str, Any], key: Key) -> None:
        """Gateways are not ours, but their addresses make the URL of the routes to them."""
        self.store.event(kinds.GATEWAY.name, type_, body)
        for owner in gateway.routes_to(self.store.objects("HTTPRoute"), *key):
            self.queue.add(owner)

    def on_crd(self, type_: str | None, name: str, body: Mapping[str, Any]) -> None:
        """An optional integration's CRD installed or removed: the HandTrackers that want
        it get their child, or a condition saying it is missing."""
        if name == migration.CRD_NAME:
            self.crd_changed.set()
        kind = OPTIONAL_CRDS.get(name)
        if kind is None:
            return
        if self.store.set_served(kind, type_ != "DELETED" and serves_v1(body)):
            child = "HTTPRoute" if kind == kinds.GATEWAY.name else kind  # for routes
            for key in self.store.keys(identity.KIND):
                tracker = self.store.get(identity.KIND, *key)
                if tracker is not None and wants(tracker, child, self.config.default_image):
                    self.queue.add(key)

    # -- filling the store, leadership, resync -------------------------------------------
    def _fill(self) -> set[Key]:
        """One list per kind replaces the store's copies (at start-up and at each resync).
        Returns the HandTrackers whose objects differed from the store's copies."""
        client, store = self.client, self.store
        namespaces = list(self.config.namespaces) or None
        touched = store.replace(identity.KIND, *client.list_kind(identity.KIND, namespaces),
                                namespaces=namespaces)
        for kind in (*(k.name for k in kinds.OWNED), kinds.GATEWAY.name):
            selector = "" if kind == kinds.GATEWAY.name else OWNED_SELECTOR  # not ours
            try:
                listed = client.list_kind(kind, namespaces, selector)
            except NotFound:
                if kind in OPTIONAL_CRDS.values():
                    if store.set_served(kind, False):
                        log.info("%s is not served (its CRD is not installed); HandTrackers "
                                 "that ask for it say so in status", kind)
                    continue
                raise
            store.set_served(kind, True)
            touched |= store.replace(kind, *listed, namespaces=namespaces)
        return touched

    async def _activate(self) -> None:
        """Fills the store, queues every HandTracker and lets the workers go: at start-up,
        and when a standby takes over (its watches were paused, so its store is stale, and
        whatever the previous replica left half-done is finished by these reconciles)."""
        while True:
            try:
                await in_daemon_thread(self._fill)
                break
            except Exception as exc:
                self.logger.warning("Failed to list the watched objects, retrying: %s", exc)
                await asyncio.sleep(FILL_RETRY_SECONDS)
        for key in self.store.keys(identity.KIND):
            self.queue.add(key)
        self.queue.resume()

    def _set_active(self, active: bool) -> None:
        if active:
            self.active.set()
        else:
            self.active.clear()
        self.metrics.active.set(1 if active else 0)

    async def _follow(self, changes: asyncio.Queue[bool]) -> None:
        """Applies the leadership decisions in order."""
        while True:
            if await changes.get():
                self.crd_changed.set()  # this replica's CRD watch was paused
                await self._activate()
                self._set_active(True)
            else:
                self.queue.pause()
                self._set_active(False)

    def _read_peerings(self) -> list[dict[str, Any] | None]:
        """The peering object kopf keeps for our watch scope, created when missing."""
        found = []
        for namespace in self.config.namespaces or (None,):
            peering = self.client.peering(self.config.peering, namespace)
            if peering is None:
                self.client.create_peering(self.config.peering, namespace)
            found.append(peering)
        return found

    async def _resync(self) -> None:
        """Every --resync-seconds, and soon after a watch was listed afresh. kopf lists a
        kind again only when its watch expired (410 Gone) or was paused, and a listing says
        nothing of the objects deleted meanwhile: only a list of our own can drop them from
        the store (else a child deleted in the gap would not be recreated until the next
        periodic resync)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.relisted.wait(), self.config.resync_seconds)
            if self.relisted.is_set():
                await asyncio.sleep(RELIST_SETTLE_SECONDS)  # the rest of kopf's listing
                self.relisted.clear()
            if not self.active.is_set():
                continue  # a standby's store is filled afresh when it takes over
            self.metrics.resyncs.inc()
            try:
                touched = await in_daemon_thread(self._fill)
            except Exception as exc:  # keep the loop alive through API outages
                self.logger.warning("Failed to list the watched objects for the resync: %s",
                                    exc)
                continue
            # Level-based: only what the lists show the watches missed needs a reconcile
            # (a HandTracker deleted meanwhile is queued too, and found gone).
            for key in touched:
                if key[1]:
                    self.queue.add(key)
            if touched:
                self.logger.info("Resync found %d HandTracker(s) whose objects the watches "
                                 "had missed", len(touched))


    async def _migrate_storage(self) -> None:
        """On the active replica: HandTrackers still stored at an older version are
        rewritten and dropped from the CRD's storedVersions (migration.py), at start-up,
        on taking over, and whenever the CRD changes. A standby writes nothing (and the
        steps are idempotent, should two replicas overlap). Whatever happens is logged
        and shown by handtracker_operator_storage_migration; a failure is retried with
        back-off and never stops the operator, which serves every version it knows."""
        first, most = MIGRATION_RETRY_SECONDS
        delay, reported = first, ""
        while True:
            await self.active.wait()
            self.crd_changed.clear()
            try:
                outcome = await in_daemon_thread(migration.migrate, self.client,
                                                 self.config.namespaces)
            except Exception as exc:
                self.metrics.storage_state(FAILED)
                self.logger.warning("Failed to migrate the stored HandTrackers to %s, "
                                    "retrying in %.0f s: %s", identity.VERSION, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, most)
                continue
            delay = first
            decision = outcome.decision
            if decision.action == storedversions.MIGRATE:
                self.metrics.storage_state(storedversions.CURRENT)
                self.logger.info("Migrated %d HandTracker(s) to %s and set storedVersions "
                                 "of %s to [%s] (was [%s])", outcome.rewritten,
                                 identity.VERSION, migration.CRD_NAME, identity.VERSION,
                                 ", ".join(decision.stored))
                reported = ""
            else:
                self.metrics.storage_state(decision.action)
                if decision.message != reported:  # once, not at every change of the CRD
                    level = (logging.ERROR if decision.refused else logging.WARNING
                             if decision.action == storedversions.PARTIAL_SCOPE
                             else logging.INFO)
                    self.logger.log(level, "Storage: %s", decision.message)
                reported = decision.message
            await self.crd_changed.wait()


def serves_v1(crd: Mapping[str, Any]) -> bool:
    established = any(c.get("type") == "Established" and c.get("status") == "True"
                      for c in (crd.get("status") or {}).get("conditions") or ())
    versions = (crd.get("spec") or {}).get("versions") or ()
    return established and any(v.get("name") == "v1" and v.get("served") for v in versions)


def wants(body: Mapping[str, Any], kind: str, default_image: str) -> bool:
    """Whether this HandTracker's spec asks for a child of `kind` (the builders decide)."""
    try:
        parsed = spec.parse(body.get("spec"), default_image)
    except InvalidSpec:
        return False
    return kinds.desired(parsed, identity.of(body, parsed.image))[kind] is not None


async def in_daemon_thread(fn: Callable[..., T], *args: Any) -> T:
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
