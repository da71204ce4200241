"""`endpoint`: one decorator per route that authenticates the caller, parses and validates
the JSON body, and records what the OpenAPI document says about the route.

Views stay one-liners that call a service; the route table Chalice builds stays the single
source the OpenAPI document is generated from."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from chalice.app import Blueprint, Request, Response
from pydantic import BaseModel, ValidationError

from whatsam.bootstrap import container
from whatsam.errors import Forbidden, PayloadTooLarge, Unauthorized, ValidationFailed
from whatsam.services.principals import KeyPrincipal, UserPrincipal

Auth = Literal["none", "user", "admin", "api_key"]


@dataclass(frozen=True)
class RouteDoc:
    summary: str
    tag: str
    auth: Auth
    body: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    response_description: str


@dataclass(frozen=True)
class Call:
    """What a view gets: the caller, the validated body, and the raw request."""

    request: Request
    principal: UserPrincipal | KeyPrincipal | None
    body: Any

    @property
    def user(self) -> UserPrincipal:
        assert isinstance(self.principal, UserPrincipal)
        return self.principal

    @property
    def key(self) -> KeyPrincipal:
        assert isinstance(self.principal, KeyPrincipal)
        return self.principal


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(request: Request, auth: Auth) -> UserPrincipal | KeyPrincipal | None:
    if auth == "none":
        return None
    authenticator = container().authenticator
    if auth == "api_key":
        key = request.headers.get("x-api-key") or bearer_token(request)
        if not key:
            raise Unauthorized("Send the session API key as `Authorization: Bearer wsk_…` or `X-Api-Key`.",
                               code="missing_api_key")
        return authenticator.from_api_key(key)
    token = bearer_token(request)
    if not token:
        raise Unauthorized("Send `Authorization: Bearer <access token>`.", code="missing_token")
    principal = authenticator.user_from_token(token)
    if auth == "admin" and not principal.user.is_admin:
        raise Forbidden("Administrators only.", code="admin_required")
    return principal


def parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    raw = request.raw_body or b""
    limit = container().settings.max_body_bytes
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.", details={"limit": limit})
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("The body is not valid JSON.", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
                    for err in exc.errors(include_url=False, include_input=False)]
        raise ValidationFailed("The body is not valid.", details={"errors": problems}) from exc


_DEFAULT_ERRORS: dict[Auth, tuple[int, ...]] = {
    "none": (), "user": (401,), "admin": (401, 403), "api_key": (401,),
}


def endpoint(bp: Blueprint, method: str, path: str, *, summary: str, tag: str, auth: Auth,
             body: type[BaseModel] | None = None, status: int = 200, errors: tuple[int, ...] = (),
             response_description: str = "OK") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    doc_errors = tuple(sorted(set(_DEFAULT_ERRORS[auth] + errors + ((400, 413) if body else ()))))
    doc = RouteDoc(summary=summary, tag=tag, auth=auth, body=body, status=status, errors=doc_errors,
                   response_description=response_description)

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def chalice_view(**path_params: str) -> Any:
            request = bp.current_request
            principal = authenticate(request, auth)
            parsed = parse_body(request, body) if body is not None else None
            result = view(Call(request=request, principal=principal, body=parsed), **path_params)
            if isinstance(result, Response):
                return result
            return Response(body=result if result is not None else "", status_code=status,
                            headers={"Content-Type": "application/json"} if result is not None else {})

        chalice_view.openapi = doc  # type: ignore[attr-defined]
        bp.route(path, methods=[method])(chalice_view)
        return chalice_view

    return register
