"""Bad input of any kind on every route with a body: a clear 4xx in the spec's shape, never a
500, and nothing written."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from whatsam.adapters.cursors import encode_cursor
from whatsam.adapters.dynamo_models import (
    ApiKeyModel,
    RefreshFamilyModel,
    RefreshTokenModel,
    SessionModel,
    UserEmailModel,
    UserModel,
)
from whatsam.domain.model import Role
from whatsam.domain.tiers import Tier
from whatsam.http.params import PATH_PARAMS, IntQuery, Query

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


# ---------------------------------------------------------------- path ids, query parameters, dates


@dataclass
class Caller:
    api: Any
    token: str
    key: str
    sid: str
    user_id: str


@pytest.fixture(scope="module")
def caller(module_api: Any, services: Any) -> Caller:
    """An admin on MAX (so no route refuses it and no limit gets in the way), with a card and its key."""
    registered = module_api.register(email=f"edge-{uuid.uuid4().hex[:12]}@example.com")
    user_id = registered["user"]["id"]
    services.users.update_plan(user_id, tier=Tier.MAX, role=Role.ADMIN)
    card = module_api.call("POST", "/v1/sessions", json_body={"name": "edge"}, token=registered["access_token"])
    assert card.status == 201, card.body
    return Caller(module_api, registered["access_token"], card.body["api_key"]["key"], card.body["id"], user_id)


def _credentials(caller: Caller, auth: str) -> dict[str, str]:
    return {"api_key": caller.key} if auth == "api_key" else {"token": caller.token}


def _routes_with(chalice_app: Any, wanted: Callable[[str, Any], bool]) -> list[tuple[str, str, Any]]:
    routes = []
    for path, methods in chalice_app.routes.items():
        for method, entry in methods.items():
            doc = getattr(entry.view_function, "openapi", None)
            if doc is not None and doc.auth not in ("none", "worker") and wanted(path, doc):
                routes.append((method, path, doc))
    return sorted(routes, key=lambda r: (r[1], r[0]))


def _valid_path_value(caller: Caller, name: str) -> str:
    """A value of the right shape: the caller's own card, or an id that names nothing."""
    return {"session_id": caller.sid, "user_id": caller.user_id, "key_id": "key_" + "0" * 25,
            "webhook_id": "whk_" + "0" * 25, "delivery_id": "msg_" + "a" * 26, "worker_id": "worker-x",
            "message_id": "msg_" + "0" * 25, "month": "2024-02", "chat": "+14155552671",
            "phone": "+14155552671"}[name]


BAD_IDS = [("empty", ""), ("2-kb", "x" * 2048), ("other-kind", "usr_" + "0" * 25), ("percent-nul", "a%00b")]


@pytest.mark.parametrize(("_case", "bad"), BAD_IDS, ids=[c for c, _ in BAD_IDS])
def test_a_malformed_path_id_is_a_4xx_on_every_route(caller: Caller, chalice_app: Any, check_error: Any,
                                                     _case: str, bad: str) -> None:
    routes = _routes_with(chalice_app, lambda path, _doc: "{" in path)
    assert len(routes) >= 25
    for method, path, doc in routes:
        names = re.findall(r"{(\w+)}", path)
        for broken in names:
            declared = PATH_PARAMS[broken]
            if declared.accepts(bad):
                continue  # e.g. `usr_…` is a fine message id: nothing to refuse
            url = path
            for name in names:
                url = url.replace(f"{{{name}}}", bad if name == broken else _valid_path_value(caller, name))
            reply = caller.api.call(method, url, json_body={}, **_credentials(caller, doc.auth))
            if url.endswith("/"):
                # The router drops a trailing slash, as API Gateway does: another route, or none, answers.
                assert reply.status in (200, 404, 405), (method, url, reply.status, reply.body)
                continue
            check_error(reply, 404 if declared.not_found else 400, declared.code)


def test_the_issue_examples_of_empty_ids(caller: Caller, check_error: Any) -> None:
    api, token = caller.api, caller.token
    check_error(api.call("GET", "/v1/sessions//status", token=token), 404, "session_not_found")
    check_error(api.call("POST", "/v1/webhooks//test", token=token), 404, "webhook_not_found")
    check_error(api.call("GET", "/v1/sessions//api-keys", token=token), 404, "session_not_found")
    check_error(api.call("POST", f"/v1/webhooks/whk_{'0' * 25}/deliveries//redeliver", token=token), 404,
                "delivery_not_found")
    check_error(api.call("GET", "/v1/contacts//exists", api_key=caller.key), 400, "invalid_recipient")


QUERY_ABUSE = [("2-kb", "x" * 2048), ("control", "a%01b"), ("not-a-number", "12abc"), ("huge", "9" * 40)]


@pytest.mark.parametrize(("_case", "bad"), QUERY_ABUSE, ids=[c for c, _ in QUERY_ABUSE])
def test_a_bad_query_parameter_is_a_4xx_on_every_route(caller: Caller, chalice_app: Any, check_error: Any,
                                                       _case: str, bad: str) -> None:
    routes = _routes_with(chalice_app, lambda _path, doc: bool(doc.query))
    assert {p for _m, p, _d in routes} >= {"/v1/messages", "/v1/usage", "/v1/webhooks/{webhook_id}/deliveries",
                                           "/v1/admin/users", "/v1/admin/sessions", "/v1/sessions/{session_id}/status"}
    for method, path, doc in routes:
        url = path
        for name in re.findall(r"{(\w+)}", path):
            url = url.replace(f"{{{name}}}", _valid_path_value(caller, name))
        for param in doc.query:
            if _case == "not-a-number" and not isinstance(param, IntQuery) and param.id_of is None:
                continue  # a fine value for free text
            reply = caller.api.call(method, f"{url}?{param.name}={bad}", **_credentials(caller, doc.auth))
            assert reply.status in (400, 404), (method, url, param.name, reply.status, reply.body)
            expected = param.id_of.code if isinstance(param, Query) and param.id_of else None
            check_error(reply, reply.status, expected)


@pytest.mark.parametrize("query", ["to=0001-01-05", "from=0001-01-01&to=0001-01-05", "to=1999-12-31",
                                   "to=2000-01-05"])
def test_usage_dates_before_2000_are_400_not_an_overflow(caller: Caller, check_error: Any, query: str) -> None:
    reply = caller.api.call("GET", f"/v1/usage?{query}", token=caller.token)
    if query == "to=2000-01-05":
        # Its default `from` falls in 1999: still a plain answer, with no usage.
        assert reply.status == 200, reply.body
        assert reply.body["totals"]["messages_sent"] == 0
    else:
        check_error(reply, 400, "invalid_query")


def test_a_long_cursor_is_400_before_it_reaches_dynamodb(caller: Caller, check_error: Any) -> None:
    for url, credentials in [("/v1/messages", {"api_key": caller.key}), ("/v1/admin/users", {"token": caller.token}),
                             ("/v1/admin/sessions", {"token": caller.token})]:
        check_error(caller.api.call("GET", f"{url}?cursor={'c' * 2048}", **credentials), 400, "invalid_cursor")


def test_message_history_cursors_survive_the_query_string(caller: Caller) -> None:
    # The raw sort key held `+` (a space once decoded): the cursor is opaque and URL-safe now.
    reply = caller.api.call("GET", "/v1/messages?limit=1", api_key=caller.key)
    assert reply.status == 200, reply.body
    cursor = encode_cursor({"before": "2030-01-01T00:00:00+00:00#msg_x"})
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert caller.api.call("GET", f"/v1/messages?cursor={cursor}", api_key=caller.key).status == 200
