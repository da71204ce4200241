"""Errors that map to an HTTP status and a stable, documented error code.

`AppError` derives from Chalice's `ChaliceUnhandledError` so a view can raise it and the
error middleware renders the spec's shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError


class AppError(ChaliceUnhandledError):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}
        # Extra response headers (e.g. a limited route's RateLimit headers survive its errors).
        self.headers: dict[str, str] = {}

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(AppError):
    status = 400
    code = "validation_error"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None,
                 details: dict[str, Any] | None = None):
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after
