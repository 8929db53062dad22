"""The inference routes: HTTP in, domain calls, HTTP out. No MediaPipe here.

POST /v1/landmarks   image -> JSON landmarks
POST /v1/annotate    image -> the image with the rainbow skeleton (JPEG or PNG)
POST /predict        the original app's route: multipart `image` -> annotated JPEG

The image is the multipart field `image` or the raw body (Content-Type
image/jpeg, image/png, image/webp, image/bmp or application/octet-stream).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
from flask import Blueprint, Response, jsonify, request

from . import decode, errors, gestures, render, state
from .hands import Hand
from .metrics import DECODE_DURATION, HANDS_DETECTED, INFERENCE_DURATION, INFLIGHT

bp = Blueprint("api", __name__)

RAW_TYPES = {"image/jpeg", "image/png", "image/webp", "image/bmp", "application/octet-stream"}


@dataclass(frozen=True)
class Result:
    image: decode.DecodedImage
    hands: tuple[Hand, ...]
    inference_seconds: float


@bp.post("/v1/landmarks")
def landmarks() -> Response:
    start = time.perf_counter()
    result = _detect(read_upload(), for_drawing=False)
    image = result.image
    return jsonify(
        {
            "image": {
                "width": image.width,
                "height": image.height,
                "format": image.format,
                "decodedWidth": image.rgb.shape[1],
                "decodedHeight": image.rgb.shape[0],
            },
            "hands": [hand.to_json(image.width, image.height) for hand in result.hands],
            "timings": {
                "decodeMs": round(image.decode_seconds * 1000, 2),
                "inferenceMs": round(result.inference_seconds * 1000, 2),
                "totalMs": round((time.perf_counter() - start) * 1000, 2),
            },
            "model": state.current().model.to_json(),
        }
    )


@bp.post("/v1/annotate")
def annotate() -> Response:
    best = request.accept_mimetypes.best_match(["image/jpeg", "image/png"], "image/jpeg")
    return _annotated(read_upload(), "png" if best == "image/png" else "jpeg")


@bp.post("/predict")
def predict() -> Response:
    if "image" not in request.files:
        raise errors.missing_image()
    return _annotated(read_upload(), "jpeg")


def read_upload() -> bytes:
    """The uploaded image's bytes, from a multipart field or the raw body."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise errors.missing_image()
        return upload.read()
    if request.mimetype and request.mimetype not in RAW_TYPES:
        raise errors.unsupported(request.mimetype)
    return request.get_data(cache=False)


def _annotated(data: bytes, fmt: str) -> Response:
    result = _detect(data, for_drawing=True)
    bgr = cv2.cvtColor(result.image.rgb, cv2.COLOR_RGB2BGR)
    body = render.encode(render.draw(bgr, result.hands), fmt)
    response = Response(body, mimetype=render.MEDIA_TYPES[fmt])
    response.headers["X-Hands-Detected"] = str(len(result.hands))
    return response


def _detect(data: bytes, *, for_drawing: bool) -> Result:
    """Decode and detect, holding one of the worker's in-flight slots."""
    app = state.current()
    with app.runtime.admit() as detector:
        INFLIGHT.inc()
        try:
            # Drawing needs every pixel of the original; detection does not.
            image = decode.to_rgb(data, app.limits, allow_reduced=not for_drawing)
            DECODE_DURATION.observe(image.decode_seconds)
            detection = detector.run(decode.for_detection(image))
        finally:
            INFLIGHT.dec()
    INFERENCE_DURATION.labels(model=app.model.complexity).observe(detection.inference_seconds)
    HANDS_DETECTED.observe(len(detection.hands))
    hands = gestures.labelled(detection.hands, (image.width, image.height))
    return Result(image, hands, detection.inference_seconds)
