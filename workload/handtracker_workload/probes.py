"""Liveness, readiness and metrics for the kubelet and Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from . import errors, metrics, services

bp = Blueprint("probes", __name__)


@bp.get("/healthz")
def healthz() -> Response | tuple[Response, int]:
    # A worker whose model failed to load will never become useful: let the
    # kubelet restart the container rather than leave it unready forever.
    failure = services.current().readiness.failure
    if failure is not None:
        return jsonify(errors.model_load_failed(failure).to_json()), 503
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    app = services.current()
    if not app.readiness.ready:
        raise errors.not_ready()
    return jsonify({"status": "ready", "model": app.model_json})


@bp.get("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
