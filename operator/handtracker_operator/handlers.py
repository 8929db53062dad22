"""kopf registrations, and nothing else: each hands its event to the Runtime (runtime.py).

Only watch-event handlers are used (no create/update/timer handlers): kopf then adds no
finalizer and no last-handled-configuration annotation, so `kubectl delete` never waits
for the operator and a reconcile that changes nothing writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import kopf

from . import identity, kinds
from .metrics import Metrics
from .runtime import OWNED_LABELS, Runtime
from .settings import OperatorConfig, tune


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: logging.Logger,
                **_: object) -> None:
    config = memo.get("config") or OperatorConfig.from_env()
    tune(settings, config)
    memo.runtime = Runtime(config, memo.get("metrics") or Metrics(), logger)
    await memo.runtime.start()


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: object) -> None:
    await memo.runtime.stop()


@kopf.on.event(kinds.HANDTRACKER.group, kinds.HANDTRACKER.version, kinds.HANDTRACKER.plural)
async def handtracker_event(type: str, event: kopf.RawEvent, namespace: str, name: str,
                            memo: kopf.Memo, **_: object) -> None:
    memo.runtime.on_handtracker(type, event["object"], (namespace, name))


def _owned_handler(kind: str) -> Callable[..., Coroutine[Any, Any, None]]:
    async def on_owned(type: str, event: kopf.RawEvent, namespace: str,
                       labels: dict[str, str], memo: kopf.Memo, **_: object) -> None:
        memo.runtime.on_owned(kind, type, event["object"], namespace,
                              identity.owner_of(labels) or None)

    return on_owned


for _kind in kinds.OWNED:
    kopf.on.event(_kind.group, _kind.version, _kind.plural, labels=OWNED_LABELS,
                  id=f"child-{_kind.plural}")(_owned_handler(_kind.name))


@kopf.on.event(kinds.GATEWAY.group, kinds.GATEWAY.version, kinds.GATEWAY.plural)
async def gateway_event(type: str, event: kopf.RawEvent, namespace: str, name: str,
                        memo: kopf.Memo, **_: object) -> None:
    memo.runtime.on_gateway(type, event["object"], (namespace, name))


@kopf.on.event(kinds.CRD.group, kinds.CRD.version, kinds.CRD.plural)
async def crd_event(type: str, event: kopf.RawEvent, name: str, memo: kopf.Memo,
                    **_: object) -> None:
    memo.runtime.on_crd(type, name, event["object"])
