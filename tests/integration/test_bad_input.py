"""Bad input of any kind on every route with a body: a clear 4xx in the spec's shape, never a
500, and nothing written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from whatsam.adapters.dynamo_models import (
    ApiKeyModel,
    RefreshFamilyModel,
    RefreshTokenModel,
    SessionModel,
    UserEmailModel,
    UserModel,
)
from whatsam.domain.tiers import Tier

pytestmark = pytest.mark.integration

LIMIT = 64 * 1024


@dataclass
class Ctx:
    api: Any
    token: str
    user_id: str
    sid: str
    email: str


@pytest.fixture(scope="module")
def ctx(module_api: Any, services: Any) -> Ctx:
    email = f"bad-{uuid.uuid4().hex[:12]}@example.com"
    registered = module_api.register(email=email)
    user_id = registered["user"]["id"]
    # PRO, so a create that wrongly got through would succeed (and be seen) rather than hit the limit.
    services.users.update_plan(user_id, tier=Tier.PRO)
    card = module_api.call("POST", "/v1/sessions", json_body={"name": "target", "description": "d"},
                           token=registered["access_token"])
    assert card.status == 201
    return Ctx(module_api, registered["access_token"], user_id, card.body["id"], email)


def _scan_count(model: Any) -> int:
    return sum(1 for _ in model.scan(consistent_read=True))


def _accounts_state(ctx: Ctx) -> Any:
    return _scan_count(UserModel), _scan_count(UserEmailModel)


def _chains_state(ctx: Ctx) -> Any:
    return _scan_count(RefreshFamilyModel), _scan_count(RefreshTokenModel)


def _sessions_state(ctx: Ctx) -> Any:
    user = UserModel.get(ctx.user_id, consistent_read=True)
    cards = sorted((c.session_id, c.name, c.description, c.status, int(c.status_version), c.updated_at.isoformat())
                   for c in SessionModel.tenant_index.query(ctx.user_id))
    keys = sorted((k.key_id, k.name, k.revoked_at is None)
                  for k in ApiKeyModel.scan(ApiKeyModel.tenant_id == ctx.user_id))
    return int(user.session_count), cards, keys


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    auth: bool
    valid: dict[str, Any]
    wrong_types: dict[str, Any]
    wrong_type_fields: set[str]
    missing: dict[str, Any] | None
    missing_fields: set[str]
    bad_value: dict[str, Any]
    bad_value_fields: set[str]
    state: Callable[[Ctx], Any]


ROUTES = [
    Route("register", "POST", "/v1/auth/register", False,
          {"email": "someone-new@example.com", "password": "long enough pw"},
          {"email": 5, "password": ["x"]}, {"email", "password"},
          {}, {"email", "password"},
          {"email": "short-pw@example.com", "password": "1234567"}, {"password"}, _accounts_state),
    Route("login", "POST", "/v1/auth/login", False,
          {"email": "who@example.com", "password": "whatever"},
          {"email": True, "password": 5}, {"email", "password"},
          {"email": "who@example.com"}, {"password"},
          {"email": "not-an-email", "password": "whatever"}, {"email"}, _chains_state),
    Route("refresh", "POST", "/v1/auth/refresh", False, {"refresh_token": "wrt_x"},
          {"refresh_token": 123}, {"refresh_token"},
          {}, {"refresh_token"},
          {"refresh_token": "x" * 600}, {"refresh_token"}, _chains_state),
    Route("create-session", "POST", "/v1/sessions", True, {"name": "new"},
          {"name": 5, "description": []}, {"name", "description"},
          {"description": "no name"}, {"name"},
          {"name": "   "}, {"name"}, _sessions_state),
    Route("update-session", "PATCH", "/v1/sessions/{sid}", True, {"name": "renamed"},
          {"name": 5}, {"name"},
          {}, {"(body)"},
          {"name": "x" * 101}, {"name"}, _sessions_state),
    Route("create-api-key", "POST", "/v1/sessions/{sid}/api-keys", True, {"name": "k"},
          {"name": 5}, {"name"},
          None, set(),
          {"name": "nul\u0000byte"}, {"name"}, _sessions_state),
]
IDS = [r.name for r in ROUTES]


def _send(ctx: Ctx, route: Route, *, raw: bytes | str | None = None, json_body: Any = None,
          headers: dict[str, str] | None = None, authenticated: bool = True) -> Any:
    path = route.path.format(sid=ctx.sid)
    token = ctx.token if route.auth and authenticated else None
    return ctx.api.call(route.method, path, raw=raw, json_body=json_body, headers=headers, token=token)


def _expect_nothing_written(ctx: Ctx, route: Route, before: Any) -> None:
    assert route.state(ctx) == before


def _fields(error: dict[str, Any]) -> set[str]:
    problems = error["details"]["errors"]
    assert problems and all(isinstance(p.get("message"), str) and p["message"] for p in problems)
    return {p["field"] for p in problems}


RAW_INVALID_JSON = [
    ('{"name": ', "truncated"),
    ("{'name': 'single quotes'}", "single-quotes"),
    ('{"name": "x",}', "trailing-comma"),
    ("name=x", "form-encoded"),
    (b'{"name": "\xff\xfe"}', "not-utf8"),
]


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
@pytest.mark.parametrize(("raw", "_case"), RAW_INVALID_JSON, ids=[c for _, c in RAW_INVALID_JSON])
def test_malformed_json_is_400_invalid_json(ctx: Ctx, check_error: Any, route: Route, raw: Any, _case: str) -> None:
    before = route.state(ctx)
    check_error(_send(ctx, route, raw=raw), 400, "invalid_json")
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
@pytest.mark.parametrize("raw", ['[{"name": "x"}]', "[]", '"a string"', "42", "null", "true"],
                         ids=["array", "empty-array", "string", "number", "null", "bool"])
def test_non_object_json_is_400(ctx: Ctx, check_error: Any, route: Route, raw: str) -> None:
    before = route.state(ctx)
    check_error(_send(ctx, route, raw=raw), 400, "invalid_json")
    _expect_nothing_written(ctx, route, before)


DEEP = '{"name": ' + "[" * 25_000 + "]" * 25_000 + "}"


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_deeply_nested_json_is_400_not_500(ctx: Ctx, check_error: Any, route: Route) -> None:
    # Valid JSON well under the size limit, but deep enough to exhaust a recursive decoder.
    assert len(DEEP) < LIMIT
    before = route.state(ctx)
    check_error(_send(ctx, route, raw=DEEP), 400)
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("raw", ["[" * 30_000 + "]" * 30_000, '{"a":' * 10_000 + "1" + "}" * 10_000],
                         ids=["nested-arrays", "nested-objects"])
def test_other_deep_shapes_are_400_not_500(ctx: Ctx, check_error: Any, raw: str) -> None:
    before = _accounts_state(ctx)
    check_error(ctx.api.call("POST", "/v1/auth/register", raw=raw), 400)
    assert _accounts_state(ctx) == before


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_wrong_types_are_400_with_fields(ctx: Ctx, check_error: Any, route: Route) -> None:
    before = route.state(ctx)
    error = check_error(_send(ctx, route, json_body=route.wrong_types), 400, "validation_error")
    assert _fields(error) == route.wrong_type_fields
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.missing is not None],
                         ids=[r.name for r in ROUTES if r.missing is not None])
def test_missing_fields_are_400_with_fields(ctx: Ctx, check_error: Any, route: Route) -> None:
    before = route.state(ctx)
    error = check_error(_send(ctx, route, json_body=route.missing), 400, "validation_error")
    assert _fields(error) == route.missing_fields
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.missing is not None],
                         ids=[r.name for r in ROUTES if r.missing is not None])
def test_empty_body_is_validated_like_an_empty_object(ctx: Ctx, check_error: Any, route: Route) -> None:
    before = route.state(ctx)
    error = check_error(_send(ctx, route, raw=""), 400, "validation_error")
    assert _fields(error) >= ({"(body)"} if route.name == "update-session" else route.missing_fields - {"(body)"})
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_bad_values_are_400_with_fields(ctx: Ctx, check_error: Any, route: Route) -> None:
    before = route.state(ctx)
    error = check_error(_send(ctx, route, json_body=route.bad_value), 400, "validation_error")
    assert _fields(error) == route.bad_value_fields
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_unknown_fields_are_400(ctx: Ctx, check_error: Any, route: Route) -> None:
    before = route.state(ctx)
    error = check_error(_send(ctx, route, json_body={**route.valid, "tenant_id": "usr_someone_else",
                                                     "role": "admin"}), 400, "validation_error")
    assert _fields(error) == {"tenant_id", "role"}
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_body_over_the_limit_is_413(ctx: Ctx, check_error: Any, route: Route) -> None:
    key = next(iter(route.valid))
    raw = json.dumps({**route.valid, key: "x" * (LIMIT + 1)})
    before = route.state(ctx)
    error = check_error(_send(ctx, route, raw=raw), 413, "payload_too_large")
    assert error["details"]["limit"] == LIMIT
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_non_json_content_type_is_415(ctx: Ctx, check_error: Any, route: Route, content_type: str) -> None:
    before = route.state(ctx)
    reply = _send(ctx, route, raw=json.dumps(route.valid), headers={"Content-Type": content_type})
    check_error(reply, 415, "unsupported_media_type")
    _expect_nothing_written(ctx, route, before)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.auth], ids=[r.name for r in ROUTES if r.auth])
@pytest.mark.parametrize(("authorization", "code"), [
    (None, "missing_token"), ("Bearer", "missing_token"), ("Basic dXNlcjpwdw==", "missing_token"),
    ("Bearer garbage", "invalid_token"), ("Bearer a.b.c", "invalid_token"),
], ids=["none", "empty-bearer", "basic", "garbage", "fake-jwt"])
def test_missing_or_garbage_bearer_is_401(ctx: Ctx, check_error: Any, route: Route, authorization: str | None,
                                          code: str) -> None:
    before = route.state(ctx)
    headers = {"Authorization": authorization} if authorization else None
    check_error(_send(ctx, route, json_body=route.valid, headers=headers, authenticated=False), 401, code)
    _expect_nothing_written(ctx, route, before)


def test_json_with_charset_is_accepted(ctx: Ctx) -> None:
    reply = ctx.api.call("PATCH", f"/v1/sessions/{ctx.sid}", raw=json.dumps({"description": "charset ok"}),
                         headers={"Content-Type": "application/json; charset=utf-8"}, token=ctx.token)
    assert reply.status == 200, reply.body
    assert reply.body["description"] == "charset ok"


def test_failed_register_leaves_the_email_free(ctx: Ctx, check_error: Any, services: Any) -> None:
    email = f"later-{uuid.uuid4().hex[:10]}@example.com"
    check_error(ctx.api.call("POST", "/v1/auth/register", json_body={"email": email, "password": "short"}),
                400, "validation_error")
    check_error(ctx.api.call("POST", "/v1/auth/register",
                             raw=json.dumps({"email": email, "password": "p" * (LIMIT + 1)})), 413)
    assert services.users.get_by_email(email) is None
    assert ctx.api.register(email=email)["user"]["email"] == email
