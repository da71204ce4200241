"""Cross-cutting HTTP behaviour: a request id and `Cache-Control: no-store` on every
response, and every error (ours, Chalice's own, or an unexpected one) in the spec's shape."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from whatsam.errors import AppError, TooManyRequests

log = logging.getLogger("whatsam.http")

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

# Chalice renders its own errors as {"Code": ..., "Message": ...}; map them to our codes.
_CHALICE_CODES = {
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "BadRequest": "bad_request",
    "BadRequestError": "bad_request",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


def request_id_for(request: Request | None) -> str:
    if request is not None:
        incoming = request.headers.get("x-request-id", "")
        if _SAFE_REQUEST_ID.match(incoming):
            return incoming
        context_id = (request.context or {}).get("requestId")
        if context_id:
            return str(context_id)
    return str(uuid.uuid4())


def error_response(error: AppError, request_id: str) -> Response:
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json", **error.headers}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    body = error.to_body()
    body["error"]["request_id"] = request_id
    return Response(body=body, status_code=error.status, headers=headers)


def _normalise_chalice_error(response: Response, request_id: str) -> Response:
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if not isinstance(body, dict) or "Code" not in body or "error" in body:
        return response
    code = _CHALICE_CODES.get(str(body["Code"]), "error")
    message = body.get("Message") or body.get("message") or "Request failed."
    return Response(body={"error": {"code": code, "message": str(message), "details": {},
                                    "request_id": request_id}},
                    status_code=response.status_code, headers=dict(response.headers))


def http_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    request_id = request_id_for(request)
    try:
        response = get_response(request)
        if response.status_code >= 400:
            response = _normalise_chalice_error(response, request_id)
    except AppError as error:
        response = error_response(error, request_id)
    except Exception:
        log.exception("unhandled error", extra={"request_id": request_id})
        response = error_response(AppError("An internal error occurred."), request_id)
    response.headers[REQUEST_ID_HEADER] = request_id
    # Answers carry tokens, keys, secrets and account data: no browser or proxy may keep one.
    # A route that chose its own policy keeps it.
    if not any(name.lower() == "cache-control" for name in response.headers):
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Any) -> None:
    app.register_middleware(http_middleware, "http")
