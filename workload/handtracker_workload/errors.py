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


def overloaded(retry_after: int = 1) -> ApiError:
    return ApiError(
        "too many requests in flight; retry shortly",
        503,
        "overloaded",
        {"Retry-After": str(retry_after)},
    )


def not_ready(retry_after: int = 2) -> ApiError:
    return ApiError(
        "the model is still loading or the server is shutting down",
        503,
        "not_ready",
        {"Retry-After": str(retry_after)},
    )
