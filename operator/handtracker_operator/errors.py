"""Typed failures of a reconcile; handlers and reconcile decide how each is reported."""

from __future__ import annotations


class InvalidSpec(ValueError):
    """The spec passed the schema but cannot be acted on; retrying will not help."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ApplyFailed(RuntimeError):
    """The API server refused or failed a write to a child; a later reconcile retries."""

    def __init__(self, kind: str, name: str, detail: str) -> None:
        super().__init__(f"{kind} {name}: {detail}")
        self.kind = kind
        self.name = name
        self.detail = detail


class ApiError(RuntimeError):
    """The API server answered a request with an error (kube.py raises it, and its
    subclasses, so that nothing else needs to know the Kubernetes client)."""

    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message or reason


class NotFound(ApiError):
    """404: the object, or its kind (a CRD not installed), does not exist."""


class Conflict(ApiError):
    """409: the object exists already, or was changed since it was read."""


class PeeringUnavailable(RuntimeError):
    """HA was asked for, but kopf's peering CRDs are not installed: no replica reconciles
    (kopf pauses too) until they are."""
