"""Whether this worker can serve: its detector loaded (in the background) and not draining.

One Readiness per Flask app, so per worker process. The detector is built in a
background thread so /readyz can answer 503 while the model loads instead of
the worker not answering at all; draining starts on SIGTERM (see
gunicorn_conf.py) and turns readiness off while in-flight requests finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from . import errors

log = logging.getLogger(__name__)

D = TypeVar("D")


class Readiness(Generic[D]):
    def __init__(self, load: Callable[[], D] | None = None, detector: D | None = None) -> None:
        self._detector = detector
        self._failure: BaseException | None = None
        self._loaded = threading.Event()
        self._draining = threading.Event()
        if detector is not None:
            self._loaded.set()
        elif load is not None:
            threading.Thread(
                target=self._load, args=(load,), name="model-load", daemon=True
            ).start()

    def _load(self, load: Callable[[], D]) -> None:
        try:
            self._detector = load()
            log.info("Loaded the hand landmarker and ran its warm-up")
        except BaseException as exc:  # reported by /healthz, /readyz and every request
            self._failure = exc
            log.exception("Failed to load the hand landmarker")
        finally:
            self._loaded.set()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)

    @property
    def ready(self) -> bool:
        return self._detector is not None and not self._draining.is_set()

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def begin_drain(self) -> None:
        self._draining.set()

    def detector(self) -> D:
        """The loaded detector, or 503 not_ready while it loads."""
        detector = self._detector
        if detector is None:
            raise errors.not_ready()
        return detector
