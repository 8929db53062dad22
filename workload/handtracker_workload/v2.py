"""The Open Inference Protocol (KServe v2 REST), so KServe and Triton clients can call us.

GET  /v2                                   server metadata
GET  /v2/health/live, /v2/health/ready     as /healthz and /readyz
GET  /v2/models/hand-landmarker            model metadata: inputs, outputs, datatypes, shapes
GET  /v2/models/hand-landmarker/ready
POST /v2/models/hand-landmarker/infer      BYTES "image" in, landmark tensors out (tensors.py);
                                           request parameter "mode": standard|thorough

Each model route also answers under /versions/1. Inference goes through the
same pipeline, limits, admission queue and metrics as /v1/landmarks, and
errors have the same statuses; their body is the protocol's
{"error": "<message>"}, with our stable "code" beside it.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

import handtracker_workload

from . import errors, model, pipeline, services, tensors

bp = Blueprint("v2", __name__, url_prefix="/v2")

VERSION = "1"
SERVER = {"name": "handtracker", "extensions": ["binary_tensor_data"]}


def _model(name: str, version: str | None) -> None:
    if name != model.NAME or version not in (None, VERSION):
        raise errors.model_not_found(name if version is None else f"{name}/{version}")


@bp.get("")
def server_metadata() -> Response:
    # Read when asked: this module is imported while the package (and its __version__)
    # is still being initialised.
    return jsonify({**SERVER, "version": handtracker_workload.__version__})


@bp.get("/health/live")
def live() -> Response:
    if services.current().readiness.failure is not None:
        raise errors.not_ready()
    return jsonify({"live": True})


@bp.get("/health/ready")
def ready() -> Response:
    if not services.current().readiness.ready:
        raise errors.not_ready()
    return jsonify({"ready": True})


@bp.get("/models/<name>")
@bp.get("/models/<name>/versions/<version>")
def metadata(name: str, version: str | None = None) -> Response:
    _model(name, version)
    return jsonify({
        "name": model.NAME,
        "versions": [VERSION],
        "platform": "mediapipe",
        "inputs": [tensors.INPUT],
        "outputs": list(tensors.OUTPUTS),
        "parameters": services.current().model_json,
    })  # fmt: skip


@bp.get("/models/<name>/ready")
@bp.get("/models/<name>/versions/<version>/ready")
def model_ready(name: str, version: str | None = None) -> Response:
    _model(name, version)
    return ready()


@bp.post("/models/<name>/infer")
@bp.post("/models/<name>/versions/<version>/infer")
def infer(name: str, version: str | None = None) -> Response:
    _model(name, version)
    app = services.current()
    wanted = tensors.parse(
        request.get_data(cache=False), request.headers.get("Inference-Header-Content-Length")
    )
    analysis = pipeline.analyse(wanted.image, app.stage(), wanted.mode)
    body, header_length = tensors.response(wanted, analysis.hands, model.NAME, VERSION)
    if header_length is None:
        return Response(body, mimetype="application/json")
    response = Response(body, mimetype="application/octet-stream")
    response.headers["Inference-Header-Content-Length"] = str(header_length)
    return response


def error_body(err: errors.ApiError) -> dict[str, str]:
    return {"error": err.message, "code": err.code}
