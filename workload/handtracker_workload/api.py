"""The image routes: HTTP in, pipeline calls, HTTP out. No OpenCV or MediaPipe here.

POST /v1/landmarks   image -> JSON landmarks
POST /v1/annotate    image -> the image with the rainbow skeleton (JPEG or PNG)
POST /predict        the original app's route: multipart `image` -> annotated JPEG

The image is the multipart field `image` or the raw body (Content-Type
image/jpeg, image/png, image/webp, image/bmp or application/octet-stream).
`?mode=standard|thorough` picks the detection mode (config.DETECTION_MODES);
without it, HANDTRACKER_DETECTION_MODE does.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from . import errors, pipeline, services, upload

bp = Blueprint("api", __name__)

RAW_TYPES = {"image/jpeg", "image/png", "image/webp", "image/bmp", "application/octet-stream"}
MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}


@bp.post("/v1/landmarks")
def landmarks() -> Response:
    app = services.current()
    analysis = pipeline.analyse(read_upload(), app.stage(), request.args.get("mode"))
    return jsonify(pipeline.landmarks_json(analysis, app.model_json))


@bp.post("/v1/annotate")
def annotate() -> Response:
    best = request.accept_mimetypes.best_match(["image/jpeg", "image/png"], "image/jpeg")
    return _annotated(read_upload(), "png" if best == "image/png" else "jpeg")


@bp.post("/predict")
def predict() -> Response:
    if request.mimetype != "multipart/form-data":
        raise errors.missing_image()
    return _annotated(read_upload(), "jpeg")


def read_upload() -> bytes:
    """The uploaded image's bytes, from a multipart field or the raw body."""
    if request.mimetype == "multipart/form-data":
        body = request.get_data(cache=False)
        image = upload.file_part(body, request.mimetype_params.get("boundary", ""), "image")
        if image is None:
            raise errors.missing_image()
        return image
    if request.mimetype and request.mimetype not in RAW_TYPES:
        raise errors.unsupported(request.mimetype)
    return request.get_data(cache=False)


def _annotated(data: bytes, fmt: str) -> Response:
    app = services.current()
    analysis, body = pipeline.annotate(
        data, app.stage(), fmt, app.settings.jpeg_quality, request.args.get("mode")
    )
    response = Response(body, mimetype=MEDIA_TYPES[fmt])
    response.headers["X-Hands-Detected"] = str(len(analysis.hands))
    return response
