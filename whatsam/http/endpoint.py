"""`endpoint`: one decorator per route that authenticates the caller, parses and validates
the JSON body, and records what the OpenAPI document says about the route.

Views stay one-liners that call a service; the route table Chalice builds stays the single
source the OpenAPI document is generated from."""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from chalice.app import Blueprint, Request, Response
from pydantic import BaseModel, ValidationError

from whatsam.bootstrap import container
from whatsam.domain.model import User
from whatsam.errors import AppError, Forbidden, PayloadTooLarge, Unauthorized, ValidationFailed
from whatsam.http.params import PATH_PARAMS, QueryParam, check_path
from whatsam.http.rate_limits import Gate, RouteLimit, charges_for
from whatsam.metering.counters import Metric
from whatsam.services.principals import KeyPrincipal, UserPrincipal

Auth = Literal["none", "user", "admin", "api_key", "worker", "dev"]


@dataclass(frozen=True)
class RouteDoc:
    summary: str
    tag: str
    auth: Auth
    body: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    response_description: str
    # Its answers carry RateLimit-Policy / RateLimit headers and it may answer 429.
    rate_limited: bool = False
    # The success answer's schema, where the route documents one.
    response: type[BaseModel] | None = None
    query: tuple[QueryParam, ...] = ()


@dataclass(frozen=True)
class Call:
    """What a view gets: the caller, the validated body, and the raw request."""

    request: Request
    principal: UserPrincipal | KeyPrincipal | None
    body: Any

    @property
    def owner(self) -> User | None:
        """The calling user, or None for the operator (worker token on a dev route)."""
        return self.principal.user if isinstance(self.principal, UserPrincipal) else None

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


# What to send, said when a route gets none or the other kind of credential.
_ASK_FOR_KEY = ("This route takes a session API key: send it as `Authorization: Bearer wsk_…` or `X-Api-Key`"
                "{not_the_other}.")
_ASK_FOR_LOGIN = ("This route takes a user access token (from /v1/auth/login): send it as "
                  "`Authorization: Bearer <access token>`{not_the_other}.")


def _looks_like_api_key(credential: str) -> bool:
    return credential.startswith("wsk_")


def _looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


def authenticate(request: Request, auth: Auth) -> UserPrincipal | KeyPrincipal | None:
    if auth == "none":
        return None
    if auth == "worker" or (auth == "dev" and _is_worker_token(bearer_token(request))):
        if not _is_worker_token(bearer_token(request)):
            raise Unauthorized("Send the worker token as `Authorization: Bearer …`.", code="invalid_worker_token")
        return None
    authenticator = container().authenticator
    if auth == "api_key":
        key = request.headers.get("x-api-key") or bearer_token(request)
        if not key:
            raise Unauthorized(_ASK_FOR_KEY.format(not_the_other=""), code="missing_api_key")
        if _looks_like_jwt(key):
            raise Unauthorized(_ASK_FOR_KEY.format(not_the_other=", not a user access token"),
                               code="invalid_api_key")
        return authenticator.from_api_key(key)
    token = bearer_token(request)
    if not token:
        sent_a_key = bool(request.headers.get("x-api-key"))
        raise Unauthorized(_ASK_FOR_LOGIN.format(not_the_other=", not a session API key" if sent_a_key else ""),
                           code="missing_token")
    if _looks_like_api_key(token):
        raise Unauthorized(_ASK_FOR_LOGIN.format(not_the_other=", not a session API key"), code="invalid_token")
    principal = authenticator.user_from_token(token)
    if auth == "admin" and not principal.user.is_admin:
        raise Forbidden("Administrators only.", code="admin_required")
    return principal


def _is_worker_token(presented: str | None) -> bool:
    expected = container().settings.worker_token
    return bool(expected and presented and hmac.compare_digest(presented.encode(), expected.encode()))


def parse_body(request: Request, model: type[BaseModel], limit: int | None = None) -> BaseModel:
    raw = request.raw_body or b""
    limit = limit or container().settings.max_body_bytes
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.", details={"limit": limit})
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: nesting deep enough to exhaust the parser's stack is not JSON we accept.
        raise ValidationFailed("The body is not valid JSON.", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, data) for err in exc.errors(include_url=False, include_input=False)]
        raise ValidationFailed("The body is not valid.", details={"errors": problems}) from exc


def _field_path(loc: tuple[int | str, ...], data: Any) -> list[str]:
    """The field as the caller wrote it. Pydantic puts the tag of a discriminated union
    (`text` in `text.text`) and the member of a plain union (`str`) into the location: the
    first step into an object that equals its `type` is the tag, and a step that is neither a
    key nor an index of what was sent is a union member; both are left out."""
    path: list[str] = []
    node = data
    tag_taken = False
    for step in loc:
        if isinstance(node, dict) and not tag_taken and node.get("type") == step:
            tag_taken = True  # `type` already names the member
        elif isinstance(node, dict) and isinstance(step, str):
            path.append(step)
            node, tag_taken = node.get(step), False
        elif isinstance(node, list) and isinstance(step, int):
            path.append(str(step))
            node, tag_taken = (node[step] if 0 <= step < len(node) else None), False
        elif node is None:
            path.append(str(step))  # below a missing field
    return path


def _problem(err: Any, data: Any) -> dict[str, str]:
    path = _field_path(tuple(err["loc"]), data)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "union_tag_not_found":
        path, message = [*path, "type"], "Field required"
    elif err["type"] == "union_tag_invalid":
        path = [*path, "type"]
        message = f"Input should be one of {err['ctx']['expected_tags']}"
    return {"field": ".".join(path) or "(body)", "message": message}


_DEFAULT_ERRORS: dict[Auth, tuple[int, ...]] = {
    "none": (), "user": (401,), "admin": (401, 403), "api_key": (401,), "worker": (401,), "dev": (401,),
}


# Callers whose every call is charged the API-call limits (and counted as an API call).
_METERED_AUTH = frozenset({"user", "admin", "api_key", "dev"})
# Limits keyed by something in the body: the body is parsed before they are charged.
_BODY_KEYED: frozenset[RouteLimit] = frozenset({"login"})


def count_api_call(principal: UserPrincipal | KeyPrincipal | None) -> None:
    if principal is None:
        return
    session_id = principal.session_id if isinstance(principal, KeyPrincipal) else None
    container().usage_counters.add(principal.user.user_id, Metric.API_CALLS, session_id=session_id)


def rate_gate(limits: tuple[RouteLimit, ...], request: Request, principal: UserPrincipal | KeyPrincipal | None,
              body: Any) -> Gate:
    services = container()
    return Gate(services.rate_limiter, charges_for(limits, principal, request, body, services.rate_policies))


def _path_errors(path: str) -> tuple[int, ...]:
    """A path id that names nothing is a 404; a malformed value (a month, a phone) a 400."""
    names = re.findall(r"{(\w+)}", path)
    unknown = set(names) - set(PATH_PARAMS)
    assert not unknown, f"{path}: declare {unknown} in whatsam.http.params.PATH_PARAMS"
    declared = [PATH_PARAMS[name] for name in names]
    return tuple({404 if param.not_found else 400 for param in declared})


def endpoint(bp: Blueprint, method: str, path: str, *, summary: str, tag: str, auth: Auth,
             body: type[BaseModel] | None = None, status: int = 200, errors: tuple[int, ...] = (),
             response_description: str = "OK", max_body: int | None = None,
             limits: tuple[RouteLimit, ...] = (), response: type[BaseModel] | None = None,
             query: tuple[QueryParam, ...] = (),
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`limits`: the route's own rate limits on top of the API-call limits every authenticated
    call is charged (`messages`, `session_ops`, `login`, `register`). `query`: the query
    parameters it reads, checked before the view runs and documented. Path parameters are
    checked by their name (`whatsam.http.params.PATH_PARAMS`)."""
    rate_limited = auth in _METERED_AUTH or bool(limits)
    doc_errors = tuple(sorted(set(_DEFAULT_ERRORS[auth] + errors + ((400, 413) if body else ())
                                  + ((400,) if query else ()) + _path_errors(path)
                                  + ((429,) if rate_limited else ()))))
    doc = RouteDoc(summary=summary, tag=tag, auth=auth, body=body, status=status, errors=doc_errors,
                   response_description=response_description, rate_limited=rate_limited, response=response,
                   query=query)
    body_first = bool(_BODY_KEYED.intersection(limits))

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def chalice_view(**path_params: str) -> Any:
            request = bp.current_request
            principal = authenticate(request, auth)
            parsed = parse_body(request, body, max_body) if body is not None and body_first else None
            gate = rate_gate(limits, request, principal, parsed) if rate_limited else None
            if gate is not None:
                gate.admit()
            try:
                if auth in _METERED_AUTH:
                    count_api_call(principal)
                check_path(path_params)
                for param in query:
                    param.read(request)
                if body is not None and parsed is None:
                    parsed = parse_body(request, body, max_body)
                result = view(Call(request=request, principal=principal, body=parsed), **path_params)
                if gate is not None:
                    gate.succeeded()
            except AppError as error:
                if gate is not None:
                    error.headers.update(gate.headers)
                raise
            if not isinstance(result, Response):
                result = Response(body=result if result is not None else "", status_code=status,
                                  headers={"Content-Type": "application/json"} if result is not None else {})
            if gate is not None:
                result.headers.update(gate.headers)
            return result

        chalice_view.openapi = doc  # type: ignore[attr-defined]
        bp.route(path, methods=[method])(chalice_view)
        return chalice_view

    return register
