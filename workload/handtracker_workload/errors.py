"""Typed errors raised anywhere below the routes, rendered once as JSON.

Every error body is {"error": {"code": "<snake_case>", "message": "<human>"}};
`code` is stable (clients and the rejected-requests metric key on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ApiError(Exception):
    message: str
    status: int = 400
    code: str = "bad_request"
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(message, 400, code)


def empty_body() -> ApiError:
    return ApiError("the request carries no image data", 400, "empty_body")


def missing_image() -> ApiError:
    return ApiError("multipart upload without an 'image' file field", 400, "missing_image")


def not_an_image() -> ApiError:
    return ApiError("the data is not a JPEG, PNG, WebP or BMP image", 400, "not_an_image")


def truncated(kind: str) -> ApiError:
    return ApiError(f"the {kind} image is truncated", 400, "truncated_image")


def undecodable(kind: str) -> ApiError:
    return ApiError(f"the {kind} image could not be decoded", 400, "undecodable_image")


def unusable(message: str) -> ApiError:
    return ApiError(message, 422, "unusable_image")


def unsupported(what: str) -> ApiError:
    return ApiError(
        f"unsupported media type {what}: send image/jpeg, image/png, image/webp or image/bmp",
        415,
        "unsupported_media_type",
    )


def too_many_bytes(limit: int) -> ApiError:
    return ApiError(f"the upload exceeds the {limit}-byte limit", 413, "payload_too_large")


def too_many_pixels(width: int, height: int, limit: int) -> ApiError:
    return ApiError(
        f"the image is {width}x{height} = {width * height} pixels, over the {limit}-pixel limit",
        413,
        "too_many_pixels",
    )


def overloaded(why: str = "too many requests in flight", retry_after: int = 1) -> ApiError:
    return ApiError(f"{why}; retry shortly", 503, "overloaded", {"Retry-After": str(retry_after)})


def queue_full(limit: int) -> ApiError:
    return overloaded(f"{limit} requests are already waiting in this worker")


def queue_timeout(seconds: float) -> ApiError:
    return overloaded(f"no capacity within {seconds:g} s")


def video_busy() -> ApiError:
    return overloaded("another video is being processed", retry_after=2)


def not_ready(retry_after: int = 2) -> ApiError:
    return ApiError(
        "the model is still loading or the server is shutting down",
        503,
        "not_ready",
        {"Retry-After": str(retry_after)},
    )


def bad_max_hands(limit: int) -> ApiError:
    return ApiError(f"maxHands must be an integer from 1 to {limit}", 400, "bad_max_hands")


def bad_mode(value: str, modes: tuple[str, ...]) -> ApiError:
    return ApiError(
        f"unknown detection mode {value!r}: use one of {', '.join(modes)}", 400, "bad_mode"
    )


def empty_video() -> ApiError:
    return ApiError("the request carries no video data", 400, "empty_body")


def missing_video() -> ApiError:
    return ApiError("multipart upload without a 'video' file field", 400, "missing_video")


def unsupported_video(what: str, accepted: str) -> ApiError:
    return ApiError(
        f"unsupported media type {what}: send one of {accepted}", 415, "unsupported_media_type"
    )


def video_too_large(message: str) -> ApiError:
    return ApiError(message, 413, "video_too_large")


def undecodable_video(message: str) -> ApiError:
    return ApiError(message, 422, "undecodable_video")


def model_load_failed(failure: BaseException) -> ApiError:
    return ApiError(str(failure), 503, "model_load_failed")


# Live sessions (GET /v1/stream): sent as WebSocket messages, so the status is
# only what the same condition would be over plain HTTP.


def busy() -> ApiError:
    return ApiError("this server is tracking as many cameras as it can", 503, "busy")


def idle_timeout() -> ApiError:
    return ApiError("no frame received; session closed", 408, "idle_timeout")


def shutting_down() -> ApiError:
    return ApiError("the server is restarting; reconnect", 503, "shutting_down")


# Open Inference Protocol (/v2).


def model_not_found(name: str) -> ApiError:
    return ApiError(f"no model named {name!r} here", 404, "model_not_found")


def bad_tensor(message: str) -> ApiError:
    return ApiError(message, 400, "bad_tensor")


# Anything not raised as an ApiError.


def http_error(status: int, name: str, description: str) -> ApiError:
    """werkzeug's own errors (404, 405, ...), in our shape."""
    return ApiError(description, status, name.lower().replace(" ", "_") or "error")


def internal() -> ApiError:
    return ApiError("unexpected server error", 500, "internal_error")
