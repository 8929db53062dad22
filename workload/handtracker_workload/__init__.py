"""HandTracker workload: a hand-landmark HTTP service on MediaPipe.

`create_app()` builds the Flask app; under gunicorn (`python -m
handtracker_workload`) each worker process builds its own, after fork, and so
its own detector.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import replace
from importlib.metadata import version
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from . import api, errors, live, metrics, openapi, probes, services, ui, v2, video
from .admission import Admission, AdmissionLimits
from .config import Settings
from .decode import Limits
from .jsonprovider import OrjsonProvider
from .model import ModelInfo
from .readiness import Readiness
from .sessions import SessionLimits, SessionPool
from .upload import InMemoryUploadRequest
from .videofile import VideoLimits

__all__ = ["__version__", "create_app"]

# From the installed distribution's metadata, so pyproject.toml is the one place it is written.
__version__ = version("handtracker")

log = logging.getLogger(__name__)

# Room for multipart boundaries and headers on top of the image byte limit;
# the limit itself is enforced on the image bytes by decode.check.
MULTIPART_SLACK = 64 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    detector: Any = None,
    make_tracker: Any = None,
) -> Flask:
    """The service. Without `detector` (a standard, single-pass detector), one is
    built in the background (see readiness.py); either way thorough mode runs
    over it. Without `make_tracker`, live and video tracking build MediaPipe
    trackers."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.request_class = InMemoryUploadRequest
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + MULTIPART_SLACK
    app.config["HANDTRACKER_SETTINGS"] = settings
    model = ModelInfo.from_settings(settings)
    tracker = make_tracker or (lambda hands: _tracker(settings, hands))
    app.extensions[services.KEY] = services.Services(
        settings=settings,
        limits=Limits.from_settings(settings),
        frame_limits=Limits(live.FRAME_MAX_BYTES, live.FRAME_MAX_PIXELS),
        video_limits=VideoLimits.from_settings(settings),
        model=model,
        model_json=model.to_json(),
        readiness=Readiness(
            load=(lambda: _detectors(settings)) if detector is None else None,
            detector=None if detector is None else _by_mode(detector, settings),
        ),
        admission=Admission(AdmissionLimits.from_settings(settings), metrics.admission_changed),
        sessions=SessionPool(SessionLimits.from_settings(settings), tracker),
        video_slot=threading.BoundedSemaphore(1),
        make_tracker=tracker,
    )
    for blueprint in (api.bp, v2.bp, live.bp, video.bp, probes.bp, openapi.bp, ui.bp):
        app.register_blueprint(blueprint)
    _install_error_handlers(app)
    _install_request_metrics(app)
    return app


def _detectors(settings: Settings) -> dict[str, Any]:
    from .inference import Detector  # MediaPipe is imported by the worker that needs it

    detectors = _by_mode(Detector(settings), settings)
    # What is loaded by now (modules, app, model) lives as long as the worker:
    # out of the collector's full passes, which otherwise walk its ~100k objects
    # for 30-40 ms every few hundred requests.
    gc.freeze()
    return detectors


def _by_mode(standard: Any, settings: Settings) -> dict[str, Any]:
    from .thorough import by_mode  # the TFLite runtime too, in the worker that needs it

    return by_mode(standard, settings)


def _tracker(settings: Settings, max_hands: int) -> Any:
    from .inference import Tracker

    return Tracker(replace(settings, max_hands=max_hands))


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(errors.ApiError)
    def api_error(exc: errors.ApiError) -> tuple[Response, int, dict[str, str]]:
        metrics.REJECTED.labels(reason=exc.code).inc()
        if exc.code == "overloaded" and (close := app.config.get(services.CLOSE_CONNECTION)):
            # A client that retries at once must reconnect, and worker.py hands the
            # new connection to the least busy worker after a short wait: shed
            # load comes back slower and elsewhere, not as a tight loop here.
            close()
        body = v2.error_body(exc) if request.path.startswith("/v2") else exc.to_json()
        return jsonify(body), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int, dict[str, str]]:
        if exc.code == 413:  # werkzeug's MAX_CONTENT_LENGTH check, before our own
            return api_error(errors.too_many_bytes(services.current().limits.max_bytes))
        err = errors.http_error(exc.code or 500, exc.name or "", exc.description or "")
        body = v2.error_body(err) if request.path.startswith("/v2") else err.to_json()
        return jsonify(body), err.status, err.headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("Failed to handle %s %s", request.method, request.path)
        return jsonify(errors.internal().to_json()), 500


def _install_request_metrics(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        # The route template, never the raw path, keeps label values bounded.
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        metrics.HTTP_DURATION.labels(route).observe(elapsed)
        log.info(
            "Answered request",
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "durationMs": round(elapsed * 1000, 2),
            },
        )
        return response
