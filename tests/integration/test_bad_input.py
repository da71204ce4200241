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



# ---------------------------------------------------------------- strict types, control characters, field names


@pytest.fixture(scope="module")
def key(ctx: Ctx) -> str:
    reply = ctx.api.call("POST", f"/v1/sessions/{ctx.sid}/api-keys", json_body={"name": "sender"}, token=ctx.token)
    assert reply.status == 201, reply.body
    return str(reply.body["key"])


@pytest.fixture(scope="module")
def webhook_id(ctx: Ctx) -> str:
    reply = ctx.api.call("POST", "/v1/webhooks", json_body={"url": "http://127.0.0.1:9/in", "events": ["*"]},
                         token=ctx.token)
    assert reply.status == 201, reply.body
    return str(reply.body["id"])


TO = "+14155552671"


@pytest.mark.parametrize("flag", ["false", "true", 0, 1, "0", None], ids=repr)
def test_flags_take_only_true_or_false(ctx: Ctx, check_error: Any, key: str, webhook_id: str, flag: Any) -> None:
    for path, body, field, credentials in [
        (f"/v1/webhooks/{webhook_id}", {"enabled": flag}, "enabled", {"token": ctx.token}),
        ("/v1/messages", {"type": "text", "to": TO, "text": "hi", "link_preview": flag}, "link_preview",
         {"api_key": key}),
        ("/v1/messages", {"type": "audio", "to": TO, "media": {"media_id": "med_x"}, "voice_note": flag},
         "voice_note", {"api_key": key}),
    ]:
        if flag is None and field == "enabled":
            continue  # `null` leaves an optional field unchanged
        method = "PATCH" if "webhooks" in path else "POST"
        error = check_error(ctx.api.call(method, path, json_body=body, **credentials), 400, "validation_error")
        assert _fields(error) == {field}, error
    assert ctx.api.call("GET", f"/v1/webhooks/{webhook_id}", token=ctx.token).body["enabled"] is True


def test_counts_and_coordinates_are_numbers_not_strings(ctx: Ctx, check_error: Any, key: str) -> None:
    poll = {"type": "poll", "to": TO, "poll": {"name": "q", "options": ["a", "b"], "selectable_count": "2"}}
    assert _fields(check_error(ctx.api.call("POST", "/v1/messages", json_body=poll, api_key=key), 400)) == {
        "poll.selectable_count"}
    where = {"type": "location", "to": TO, "latitude": "52.5", "longitude": 13}
    assert _fields(check_error(ctx.api.call("POST", "/v1/messages", json_body=where, api_key=key), 400)) == {
        "latitude"}


CONTROL = ["\x00", "\n", "\r", "\x1b", "\x7f", "\u2028"]


@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_no_control_characters_in_names_emails_or_descriptions(ctx: Ctx, check_error: Any, key: str,
                                                              char: str) -> None:
    for method, path, body, field, credentials in [
        ("POST", "/v1/auth/register", {"email": f"a{char}b@example.com", "password": "long enough pw"}, "email", {}),
        ("POST", "/v1/auth/register", {"email": "ctl@example.com", "password": "long enough pw",
                                       "name": f"Ann{char}X"}, "name", {}),
        ("POST", "/v1/auth/login", {"email": f"a{char}b@example.com", "password": "whatever"}, "email", {}),
        ("PATCH", f"/v1/sessions/{ctx.sid}", {"name": f"Sales{char}X"}, "name", {"token": ctx.token}),
        ("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/in", "events": ["*"], "description": f"d{char}\x00"},
         "description", {"token": ctx.token}),
        ("POST", "/v1/messages", {"type": "contact", "to": TO, "contact": {"name": f"Ann{char}TEL:+1", "phone": TO}},
         "contact.name", {"api_key": key}),
        ("POST", "/v1/messages", {"type": "image", "to": TO, "media": {"media_id": "med_x", "filename": f"a{char}"}},
         "media.filename", {"api_key": key}),
    ]:
        error = check_error(ctx.api.call(method, path, json_body=body, **credentials), 400, "validation_error")
        assert _fields(error) == {field}, (path, body, error)
        if field != "email":  # an email's pattern already refuses whitespace, and says so
            assert "control characters" in error["details"]["errors"][0]["message"], error


def test_message_text_may_hold_line_breaks(ctx: Ctx, key: str) -> None:
    # Validation passes (the card is not connected, so the send itself is refused with a 409).
    reply = ctx.api.call("POST", "/v1/messages", json_body={"type": "text", "to": TO, "text": "one\ntwo\tthree"},
                         api_key=key)
    assert reply.status == 409, reply.body


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"to": TO, "text": "hi"}, "type", "Field required"),
    ({"type": "fax", "to": TO}, "type", "Input should be one of 'text', 'image'"),
    ({"type": "text", "to": TO, "text": 5}, "text", "Input should be a valid string"),
    ({"type": "text", "to": TO}, "text", "Field required"),
    ({"type": "poll", "to": TO, "poll": {"name": 5, "options": ["a", "b"]}}, "poll.name", "valid string"),
    ({"type": "image", "to": TO, "media": {}}, "media", "give exactly one of `url`, `base64`, `media_id`"),
], ids=["no-type", "unknown-type", "wrong-type", "missing", "nested", "rule"])
def test_validation_errors_speak_the_api_field_names(ctx: Ctx, check_error: Any, key: str, body: dict[str, Any],
                                                     field: str, message: str) -> None:
    error = check_error(ctx.api.call("POST", "/v1/messages", json_body=body, api_key=key), 400, "validation_error")
    problems = error["details"]["errors"]
    assert [p["field"] for p in problems] == [field], problems
    assert message in problems[0]["message"] and "Value error" not in problems[0]["message"], problems
