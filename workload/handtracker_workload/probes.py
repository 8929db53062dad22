"""Liveness, readiness and metrics for the kubelet and Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from . import errors, metrics, state

bp = Blueprint("probes", __name__)


@bp.get("/healthz")
def healthz() -> Response | tuple[Response, int]:
    # A worker whose model failed to load will never become useful: let the
    # kubelet restart the container rather than leave it unready forever.
    failure = state.current().runtime.failure
    if failure is not None:
        body = {"error": {"code": "model_load_failed", "message": str(failure)}}
        return jsonify(body), 503
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    app = state.current()
    if not app.runtime.ready:
        raise errors.not_ready()
    return jsonify({"status": "ready", "model": app.model.to_json()})


@bp.get("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
