"""HandTracker workload: a hand-landmark HTTP service on MediaPipe.

`create_app()` builds the Flask app; under gunicorn (`python -m
handtracker_workload`) each worker process builds its own, after fork, and so
its own detector.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from . import api, errors, metrics, openapi, probes, state, stream, ui
from .config import Settings
from .decode import Limits
from .inference import Detector, model_info
from .lifecycle import Runtime

__all__ = ["create_app"]

log = logging.getLogger(__name__)

# Room for multipart boundaries and headers on top of the image byte limit;
# the limit itself is enforced on the image bytes by decode.check.
MULTIPART_SLACK = 64 * 1024


def create_app(settings: Settings | None = None, *, detector: Detector | None = None) -> Flask:
    """The service. Without `detector`, one is built in the background (see lifecycle.py)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + MULTIPART_SLACK
    app.json.sort_keys = False  # keep the documented field order (image, hands, timings, model)
    app.config["HANDTRACKER_SETTINGS"] = settings
    runtime = Runtime(
        settings.max_inflight,
        load=None if detector else (lambda: Detector(settings)),
        detector=detector,
    )
    app.extensions[state.KEY] = state.AppState(
        settings=settings,
        limits=Limits(settings.max_upload_bytes, settings.max_pixels),
        model=model_info(settings),
        runtime=runtime,
    )

    # Every blueprint the service serves.
    blueprints = [
        api.bp,
        probes.bp,
        openapi.bp,
        ui.create_blueprint(settings),
        stream.create_blueprint(settings),
    ]
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    _install_error_handlers(app)
    _install_request_metrics(app)
    return app


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(errors.ApiError)
    def api_error(exc: errors.ApiError) -> tuple[Response, int, dict[str, str]]:
        metrics.REJECTED.labels(reason=exc.code).inc()
        return jsonify(exc.to_json()), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        if status == 413:  # werkzeug's MAX_CONTENT_LENGTH check, before our own
            return api_error(errors.too_many_bytes(app.extensions[state.KEY].limits.max_bytes))
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": exc.description}}), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("Failed to handle %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": "unexpected server error"}}
        return jsonify(body), 500


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
