"""GET /openapi.json: the HTTP API described for clients and generators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from .hands import LANDMARK_NAMES

bp = Blueprint("openapi", __name__)

_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "application/octet-stream")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


_UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["image"],
                "properties": {"image": {"type": "string", "format": "binary"}},
            }
        },
        **{t: {"schema": {"type": "string", "format": "binary"}} for t in _IMAGE_TYPES},
    },
}

_ERRORS = {
    "400": _error("Empty body, missing field, not an image, truncated or undecodable"),
    "413": _error("Upload over the byte limit or image over the pixel limit"),
    "415": _error("Unsupported media type (e.g. GIF, TIFF, HEIC, text)"),
    "422": _error("Decodable but unusable (smaller than 16x16)"),
    "503": _error("Model not ready, draining, or too many requests in flight (see Retry-After)"),
}


def _image_response(*types: str) -> dict[str, Any]:
    return {
        "description": "The image with the rainbow skeleton drawn over each hand",
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in types},
    }


def _named_points(*axes: str) -> dict[str, Any]:
    props = {"name": {"type": "string", "enum": list(LANDMARK_NAMES)}}
    props.update({a: {"type": "number"} for a in axes})
    return {
        "type": "array",
        "minItems": 21,
        "maxItems": 21,
        "items": {"type": "object", "properties": props},
    }


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "HandTracker workload API",
        "version": "1",
        "description": (
            "Hand landmarks (MediaPipe HandLandmarker) for uploaded images. `handedness` is "
            "the person's own hand in a non-mirrored photo. Landmarks are in MediaPipe order: "
            + ", ".join(LANDMARK_NAMES)
            + "."
        ),
    },
    "paths": {
        "/v1/landmarks": {
            "post": {
                "summary": "Detect hands and return their 21 landmarks",
                "requestBody": _UPLOAD,
                "responses": {
                    "200": {
                        "description": "Detections",
                        "content": {"application/json": {"schema": _ref("Landmarks")}},
                    },
                    **_ERRORS,
                },
            }
        },
        "/v1/annotate": {
            "post": {
                "summary": "Draw the rainbow skeleton; JPEG unless Accept prefers image/png",
                "requestBody": _UPLOAD,
                "responses": {"200": _image_response("image/jpeg", "image/png"), **_ERRORS},
            }
        },
        "/predict": {
            "post": {
                "summary": "Compatibility route: multipart `image` in, annotated JPEG out",
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": _UPLOAD["content"]["multipart/form-data"]},
                },
                "responses": {"200": _image_response("image/jpeg"), **_ERRORS},
            }
        },
        "/healthz": {
            "get": {"summary": "Liveness", "responses": {"200": {"description": "Alive"}}}
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: model loaded and warmed up, not draining",
                "responses": {"200": {"description": "Ready"}, "503": _error("Not ready")},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "Text exposition"}},
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }
                },
            },
            "Hand": {
                "type": "object",
                "properties": {
                    "handedness": {
                        "type": "object",
                        "properties": {
                            "label": {"type": "string", "enum": ["Left", "Right"]},
                            "score": {"type": "number"},
                        },
                    },
                    "gesture": {"type": "string", "nullable": True},
                    "landmarks": _named_points("x", "y", "z"),
                    "pixel": _named_points("x", "y"),
                    "worldLandmarks": _named_points("x", "y", "z"),
                    "boundingBox": {
                        "type": "object",
                        "properties": {
                            k: {"type": "number"} for k in ("x", "y", "width", "height")
                        },
                    },
                },
            },
            "Landmarks": {
                "type": "object",
                "properties": {
                    "image": {
                        "type": "object",
                        "properties": {
                            "width": {"type": "integer"},
                            "height": {"type": "integer"},
                            "format": {"type": "string"},
                            "decodedWidth": {"type": "integer"},
                            "decodedHeight": {"type": "integer"},
                        },
                    },
                    "hands": {"type": "array", "items": _ref("Hand")},
                    "timings": {
                        "type": "object",
                        "properties": {
                            k: {"type": "number"} for k in ("decodeMs", "inferenceMs", "totalMs")
                        },
                    },
                    "model": {"type": "object"},
                },
            },
        }
    },
}


@bp.get("/openapi.json")
def spec() -> Response:
    return jsonify(SPEC)
