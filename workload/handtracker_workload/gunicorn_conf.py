"""gunicorn configuration: `gunicorn -c python:handtracker_workload.gunicorn_conf`.

Serving model: pre-forked processes, one MediaPipe detector each (two
detectors in one process do not scale across cores; two processes do), built
after fork because a MediaPipe graph does not survive it. Threaded (`gthread`)
workers: inference is serialised per process, but the threads let uploads, JPEG
decoding and encoding overlap with it (above ~2 MP those cost more than the
model), answer probes while a long request runs, and hold long-lived
connections (WebSocket sessions). The worker class is gthread with one change,
see worker.py: a worker that already holds connections leaves a new one to an
idle sibling for a few milliseconds, so keep-alive clients spread over the
workers (and so over the detectors) instead of piling onto one. Admission
is per worker (admission.py): HANDTRACKER_MAX_INFLIGHT requests at once, then
a queue of HANDTRACKER_MAX_QUEUE waiting up to HANDTRACKER_QUEUE_TIMEOUT;
beyond that, 503 + Retry-After.

`python -m handtracker_workload` validates the settings, prepares /tmp and
execs gunicorn with this file; it can also be used directly.
"""

from __future__ import annotations

import shutil
import signal
import threading
from typing import Any

import cv2
from gunicorn.glogging import Logger

from handtracker_workload import logs, metrics, services
from handtracker_workload.config import Settings
from handtracker_workload.loadboard import LoadBoard

_settings = Settings.from_env()

wsgi_app = "handtracker_workload:create_app()"
bind = [f"0.0.0.0:{_settings.port}"]
workers = _settings.workers
worker_class = "handtracker_workload.worker.BalancedThreadWorker"
threads = _settings.worker_threads
preload_app = False  # each worker builds its own app, so its own detector, after fork
timeout = 60
# Kubernetes waits 30 s by default between SIGTERM and SIGKILL.
graceful_timeout = 25
keepalive = 5
accesslog = None  # the app logs each request as JSON with its route and timing
loglevel = _settings.log_level
logconfig_dict = logs.config(_settings.log_level)


class AppLogger(Logger):
    """gunicorn's logger without its access log. With a logging config, gunicorn
    formats every request's access-log fields (about 0.2 ms) even when that
    logger drops the line; the app logs requests itself (see create_app)."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


logger_class = AppLogger
proc_name = "handtracker-workload"


# Made here, in the arbiter, so that every worker forked from it shares it. Twice
# the workers: a replacement may start before the arbiter reaps the old one.
_board = LoadBoard(2 * _settings.workers + 2)


def pre_fork(server: Any, worker: Any) -> None:
    worker.board_slot = _board.reserve()


def post_fork(server: Any, worker: Any) -> None:
    # Workers already use every core; OpenCV's own thread pool would oversubscribe.
    cv2.setNumThreads(1)
    _board.occupy(worker.board_slot, worker.pid)


# The request each of a worker's threads is handling (one value per thread).
_handling = threading.local()


def _close_after_response() -> None:
    """Ends the keep-alive connection of the current request once it is answered."""
    req = getattr(_handling, "req", None)
    if req is not None:
        req.must_close = True


def pre_request(worker: Any, req: Any) -> None:
    _handling.req = req
    # Ask the client to reconnect (to a less busy sibling) after this request;
    # not a WebSocket upgrade, whose connection stays with its session.
    upgrade = any(name == "UPGRADE" for name, _ in req.headers)
    if not upgrade and _board.should_leave(worker.board_slot):
        req.must_close = True


def post_worker_init(worker: Any) -> None:
    """Publish this worker's load; on SIGTERM, turn readiness off before gunicorn
    lets in-flight requests finish."""
    app = worker.wsgi.extensions[services.KEY]
    worker.wsgi.config[services.CLOSE_CONNECTION] = _close_after_response
    slot = worker.board_slot
    app.admission.add_listener(lambda inflight, queued: _board.publish(slot, inflight + queued))
    readiness = app.readiness
    stop = signal.getsignal(signal.SIGTERM)

    def drain(signum: int, frame: Any) -> None:
        readiness.begin_drain()
        if callable(stop):
            stop(signum, frame)

    signal.signal(signal.SIGTERM, drain)


def child_exit(server: Any, worker: Any) -> None:
    metrics.worker_exited(worker.pid)
    _board.release(worker.pid)


def on_exit(server: Any) -> None:
    directory = metrics.multiprocess_dir()
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
