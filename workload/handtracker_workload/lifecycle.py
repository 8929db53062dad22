"""What a worker process knows about itself: model loaded? draining? how busy?

One Runtime per Flask app (so per worker process). The detector is built in a
background thread so /readyz can answer 503 while the model loads instead of
the worker not answering at all; draining starts on SIGTERM (see
gunicorn_conf.py) and turns readiness off while in-flight requests finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from . import errors
from .inference import Detector

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        max_inflight: int,
        load: Callable[[], Detector] | None = None,
        detector: Detector | None = None,
    ) -> None:
        self.max_inflight = max_inflight
        self._detector = detector
        self._failure: BaseException | None = None
        self._loaded = threading.Event()
        self._draining = threading.Event()
        self._lock = threading.Lock()
        self._inflight = 0
        if detector is not None:
            self._loaded.set()
        elif load is not None:
            threading.Thread(
                target=self._load, args=(load,), name="model-load", daemon=True
            ).start()

    def _load(self, load: Callable[[], Detector]) -> None:
        try:
            self._detector = load()
            log.info("Loaded the hand landmarker and ran its warm-up")
        except BaseException as exc:  # reported by /readyz and every request
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

    @property
    def inflight(self) -> int:
        return self._inflight

    @contextmanager
    def admit(self) -> Iterator[Detector]:
        """Holds one of max_inflight slots for the body, or raises 503."""
        detector = self._detector
        if detector is None:
            raise errors.not_ready()
        with self._lock:
            if self._inflight >= self.max_inflight:
                raise errors.overloaded()
            self._inflight += 1
        try:
            yield detector
        finally:
            with self._lock:
                self._inflight -= 1
