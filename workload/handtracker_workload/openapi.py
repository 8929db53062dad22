"""GET /openapi.json: the HTTP API described for clients and generators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from .config import DETECTION_MODES
from .gestures import LABELS as GESTURES
from .hands import LANDMARK_NAMES
from .videofile import VIDEO_TYPES

bp = Blueprint("openapi", __name__)

_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "application/octet-stream")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


_ERROR_DETAIL = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}

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
    "400": _error(
        "Empty body, missing field, not an image, truncated or undecodable, or bad `mode`"
    ),
    "413": _error("Upload over the byte limit or image over the pixel limit"),
    "415": _error("Unsupported media type (e.g. GIF, TIFF, HEIC, text)"),
    "422": _error("Decodable but unusable (smaller than 16x16)"),
    "503": _error(
        "Model not ready, draining, or overloaded: the admission queue is full or the wait "
        "for a slot ran out (see Retry-After)"
    ),
}


_MAX_HANDS = {
    "name": "maxHands",
    "in": "query",
    "required": False,
    "description": "Hands to track, 1 to the configured maximum (HANDTRACKER_MAX_HANDS)",
    "schema": {"type": "integer", "minimum": 1, "default": 1},
}

_MODE = {
    "name": "mode",
    "in": "query",
    "required": False,
    "description": (
        "Detection mode: standard, one MediaPipe pass over the whole image; thorough, "
        "that pass plus a palm search on image tiles, which finds small hands at several "
        "times the CPU. Default: HANDTRACKER_DETECTION_MODE. Anything else is 400 bad_mode."
    ),
    "schema": {"type": "string", "enum": list(DETECTION_MODES)},
}

_VIDEO_UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["video"],
                "properties": {"video": {"type": "string", "format": "binary"}},
            }
        },
        **{t: {"schema": {"type": "string", "format": "binary"}} for t in VIDEO_TYPES},
    },
}

_STREAM_DESCRIPTION = """\
A WebSocket (RFC 6455): send a GET with `Upgrade: websocket`; a request without
the upgrade gets 400.

Client to server: each camera frame as one **binary** message, a JPEG, PNG or
WebP picture (at most 1920x1088 pixels; about 640 px wide is plenty). A message
over 2 MiB closes the connection with close code 1009. Text messages are
ignored. Keep one or two frames in flight.

Server to client: JSON text messages, in order.

- First, `StreamReady` once the session is admitted:
  `{"type": "ready", "idleSeconds": 30.0, "maxHands": 1, "model": "full"}`.
- Then one `StreamResult` per frame received:
  `{"type": "result", "frame": 1, "width": 640, "height": 480, "hands": [...],
  "timings": {"decodeMs": 1.2, "inferenceMs": 4.6, "totalMs": 6.3}}`.
  Each hand has the shape of /v1/landmarks' hands (`Hand`).
- `StreamError`, `{"type": "error", "error": {"code": "...", "message": "..."}}`:
  - a frame that is not a usable picture (`empty_body`, `not_an_image`,
    `unsupported_media_type`, `truncated_image`, `undecodable_image`,
    `too_many_pixels`, `unusable_image`): the session goes on;
  - `bad_max_hands`: then close code 1000;
  - `busy`, when this worker already runs its maximum number of sessions
    (HANDTRACKER_MAX_SESSIONS): then close code 1013, try again later;
  - `idle_timeout`, after HANDTRACKER_SESSION_IDLE_SECONDS without a message:
    then close code 1001;
  - `shutting_down`, when the server drains (SIGTERM): then close code 1001;
    reconnect.
"""


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


def _v2_paths() -> dict[str, Any]:
    """The Open Inference Protocol routes (v2.py), each model route also under /versions/{v}."""
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    version = {**name, "name": "version"}
    v2_error = {
        "description": "Error",
        "content": {"application/json": {"schema": _ref("InferenceError")}},
    }
    errors = {code: {**v2_error, "description": desc} for code, desc in (
        ("400", "Malformed tensors, or an image refused as by /v1/landmarks"),
        ("404", "No such model or version"),
        ("413", "Upload over the byte limit or image over the pixel limit"),
        ("415", "Unsupported image type"),
        ("422", "Decodable but unusable image"),
        ("503", "Not ready, or overloaded (see Retry-After)"),
    )}  # fmt: skip
    json_ok = {"200": {"description": "OK", "content": {"application/json": {"schema": {
        "type": "object"}}}}}  # fmt: skip
    infer = {
        "summary": "Landmarks of the hands in one image (BYTES input 'image')",
        "description": (
            "A JSON inference request, optionally followed by binary tensor data (header "
            "`Inference-Header-Content-Length`). Outputs: FP32 `landmarks` and "
            "`world_landmarks` [hands, 21, 3], BYTES `handedness` [hands], FP32 `scores` "
            "[hands]. The request's `parameters.mode` picks the detection mode, as ?mode= "
            "does for /v1/landmarks. See GET /v2/models/hand-landmarker."
        ),
        "parameters": [name],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        }},
        "responses": {
            "200": {"description": "Output tensors", "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            }},
            **errors,
        },
    }  # fmt: skip
    model = {"parameters": [name], "responses": {**json_ok, "404": errors["404"]}}
    ready = {"parameters": [name], "responses": {
        "200": {"description": "Ready"}, "404": errors["404"], "503": errors["503"]}}  # fmt: skip
    paths = {
        "/v2": {"get": {"summary": "Server metadata", "responses": json_ok}},
        "/v2/health/live": {"get": {"summary": "Liveness", "responses": json_ok}},
        "/v2/health/ready": {
            "get": {"summary": "Readiness", "responses": {**json_ok, "503": errors["503"]}}
        },  # fmt: skip
    }
    for prefix, extra in (("/v2/models/{name}", []), ("/v2/models/{name}/versions/{version}",
                                                      [version])):  # fmt: skip
        paths[prefix] = {"get": {**model, "summary": "Model metadata: inputs and outputs",
                                 "parameters": [name, *extra]}}  # fmt: skip
        paths[prefix + "/ready"] = {"get": {**ready, "summary": "Model readiness",
                                            "parameters": [name, *extra]}}  # fmt: skip
        paths[prefix + "/infer"] = {"post": {**infer, "parameters": [name, *extra]}}
    return paths


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "HandTracker workload API",
        "version": "1",
        "description": (
            "Hand landmarks (MediaPipe HandLandmarker) for uploaded images and videos, and "
            "live over a WebSocket (GET /v1/stream). `handedness` is "
            "the person's own hand in a non-mirrored photo. Landmarks are in MediaPipe order: "
            + ", ".join(LANDMARK_NAMES)
            + "."
        ),
    },
    "paths": {
        "/v1/landmarks": {
            "post": {
                "summary": "Detect hands and return their 21 landmarks",
                "parameters": [_MODE],
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
                "parameters": [_MODE],
                "requestBody": _UPLOAD,
                "responses": {"200": _image_response("image/jpeg", "image/png"), **_ERRORS},
            }
        },
        "/predict": {
            "post": {
                "summary": "Compatibility route: multipart `image` in, annotated JPEG out",
                "parameters": [_MODE],
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": _UPLOAD["content"]["multipart/form-data"]},
                },
                "responses": {"200": _image_response("image/jpeg"), **_ERRORS},
            }
        },
        "/v1/video": {
            "post": {
                "summary": "Track hands through a short video file, frame by frame",
                "description": (
                    "The raw body with its video content type, or the multipart field `video` "
                    "(its type is then taken from the part, else from the file name's suffix). "
                    "Frames run through MediaPipe's tracking (VIDEO) mode, which skips the palm "
                    "detector while it keeps `maxHands` hands in view. Limits: "
                    "HANDTRACKER_VIDEO_MAX_BYTES, _FRAMES, _SECONDS and _FRAME_PIXELS. "
                    "One video at a time per worker."
                ),
                "parameters": [_MAX_HANDS],
                "requestBody": _VIDEO_UPLOAD,
                "responses": {
                    "200": {
                        "description": "Hands in each frame",
                        "content": {"application/json": {"schema": _ref("VideoTracking")}},
                    },
                    "400": _error("Empty body, multipart without `video`, or bad `maxHands`"),
                    "413": _error(
                        "Over the byte, frame, duration or frame-size limit (`video_too_large`)"
                    ),
                    "415": _error("Not one of the accepted video types"),
                    "422": _error("Not a decodable video, or no decodable frame"),
                    "503": _error("Another video is being processed (see Retry-After)"),
                },
            }
        },
        "/v1/stream": {
            "get": {
                "summary": "Live camera tracking over a WebSocket",
                "description": _STREAM_DESCRIPTION,
                "parameters": [
                    _MAX_HANDS,
                    {
                        "name": "Upgrade",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "enum": ["websocket"]},
                    },
                    {
                        "name": "Connection",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "enum": ["Upgrade"]},
                    },
                ],
                "responses": {
                    "101": {"description": "Switched to the WebSocket protocol"},
                    "400": _error("Not a WebSocket upgrade request"),
                },
            }
        },
        **_v2_paths(),
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
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.0 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/": {
            "get": {
                "summary": "The web page: photo upload and live camera tracking",
                "responses": {
                    "200": {
                        "description": "HTML page; its scripts and styles are under /assets/",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    },
    "components": {
        "schemas": {
            "InferenceError": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "code": {"type": "string"}},
            },
            "Error": {
                "type": "object",
                "properties": {
                    "error": _ERROR_DETAIL,
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
                    "gesture": {
                        "type": "string",
                        "nullable": True,
                        "description": "One of " + ", ".join(GESTURES) + "; null if not classified",
                    },
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
            "VideoTracking": {
                "type": "object",
                "properties": {
                    "video": {
                        "type": "object",
                        "properties": {
                            "width": {"type": "integer"},
                            "height": {"type": "integer"},
                            "fps": {"type": "number"},
                            "frames": {
                                "type": "integer",
                                "description": "As the container states it (0 when unknown)",
                            },
                            "framesRead": {"type": "integer"},
                        },
                    },
                    "mode": {"type": "string", "enum": ["tracking"]},
                    "framesWithHands": {"type": "integer"},
                    "frames": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "index": {"type": "integer"},
                                "timestampMs": {"type": "integer"},
                                "hands": {"type": "array", "items": _ref("Hand")},
                            },
                        },
                    },
                    "timings": {
                        "type": "object",
                        "properties": {
                            k: {"type": "number"}
                            for k in ("inferenceMs", "inferenceMsPerFrame", "totalMs")
                        },
                    },
                },
            },
            "StreamReady": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["ready"]},
                    "idleSeconds": {"type": "number"},
                    "maxHands": {"type": "integer"},
                    "model": {"type": "string", "enum": ["lite", "full"]},
                },
            },
            "StreamResult": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["result"]},
                    "frame": {"type": "integer", "description": "1 for the first frame"},
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "hands": {"type": "array", "items": _ref("Hand")},
                    "timings": {
                        "type": "object",
                        "properties": {
                            k: {"type": "number"} for k in ("decodeMs", "inferenceMs", "totalMs")
                        },
                    },
                },
            },
            "StreamError": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["error"]},
                    "error": _ERROR_DETAIL,
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
                            k: {"type": "number"}
                            for k in ("queueMs", "decodeMs", "inferenceMs", "totalMs")
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
