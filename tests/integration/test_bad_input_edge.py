"""Bad input around the bodies: path ids, query parameters and cursors on every route, dates
that would run off the calendar, and what every answer says about caching and credentials.
Each is a clear 4xx in the spec's shape, never a 500 and never a DynamoDB error."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from whatsam.adapters.cursors import encode_cursor
from whatsam.domain.model import Role
from whatsam.domain.tiers import Tier
from whatsam.http.params import PATH_PARAMS, IntQuery, Query

pytestmark = pytest.mark.integration



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
            "group": "120363000000000001@g.us",
            "community": "120363000000000002@g.us", "code": "AbCdEf012345", "contact": "+14155552671",
            "call_id": "ABCDEF0123456789", "lid": "123456789012345@lid",
            "channel": "120363000000000003@newsletter"}[name]


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
                # The router drops a trailing slash, as API Gateway does: another route, or none, answers
                # (`/v1/groups/invites/` is `/v1/groups/{group}` with a group id that cannot be one: 400;
                # `/v1/contacts/` and `/v1/channels/` are lists that need the caller's session connected: 409).
                assert reply.status in (200, 400, 404, 405, 409), (method, url, reply.status, reply.body)
                continue
            check_error(reply, 404 if declared.not_found else 400, declared.code)


def test_the_issue_examples_of_empty_ids(caller: Caller, check_error: Any) -> None:
    api, token = caller.api, caller.token
    check_error(api.call("GET", "/v1/sessions//status", token=token), 404, "session_not_found")
    check_error(api.call("POST", "/v1/webhooks//test", token=token), 404, "webhook_not_found")
    check_error(api.call("GET", "/v1/sessions//api-keys", token=token), 404, "session_not_found")
    check_error(api.call("POST", f"/v1/webhooks/whk_{'0' * 25}/deliveries//redeliver", token=token), 404,
                "delivery_not_found")
    check_error(api.call("GET", "/v1/contacts//exists", api_key=caller.key), 400, "invalid_contact")


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


# ---------------------------------------------------------------- caching and credentials


def test_no_answer_may_be_cached(caller: Caller, module_api: Any, check_error: Any) -> None:
    """Tokens, keys and secrets travel in these answers: `no-store` on every one, errors included."""
    api = module_api
    email = f"cache-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery"
    registered = api.call("POST", "/v1/auth/register", json_body={"email": email, "password": password})
    login = api.call("POST", "/v1/auth/login", json_body={"email": email, "password": password})
    refreshed = api.call("POST", "/v1/auth/refresh", json_body={"refresh_token": login.body["refresh_token"]})
    card = api.call("POST", "/v1/sessions", json_body={"name": "c"}, token=caller.token)
    key = api.call("POST", f"/v1/sessions/{caller.sid}/api-keys", json_body={"name": "k"}, token=caller.token)
    hook = api.call("POST", "/v1/webhooks", json_body={"url": "http://127.0.0.1:9/in", "events": ["*"]},
                    token=caller.token)
    rotated = api.call("POST", f"/v1/webhooks/{hook.body['id']}/rotate-secret", token=caller.token)
    answers = {"register": (registered, 201), "login": (login, 200), "refresh": (refreshed, 200),
               "session": (card, 201), "api-key": (key, 201), "webhook": (hook, 201), "rotate": (rotated, 200),
               "me": (api.call("GET", "/v1/me", token=caller.token), 200),
               "openapi": (api.call("GET", "/v1/openapi.json"), 200),
               "error": (api.call("GET", "/v1/me"), 401)}
    for name, (reply, status) in answers.items():
        assert reply.status == status, (name, reply.status, reply.body)
        assert reply.headers.get("cache-control") == "no-store", (name, reply.headers)


def test_the_wrong_kind_of_credential_says_which_kind_the_route_takes(caller: Caller, check_error: Any) -> None:
    api = caller.api
    # A user's token on an API-key route.
    error = check_error(api.call("GET", "/v1/session", token=caller.token), 401, "invalid_api_key")
    assert "takes a session API key" in error["message"] and "not a user access token" in error["message"]
    # A session API key on a user route, as a bearer or in X-Api-Key.
    for sent in ({"token": caller.key}, {"api_key": caller.key}):
        error = check_error(api.call("GET", "/v1/sessions", **sent), 401)
        assert "takes a user access token" in error["message"] and "not a session API key" in error["message"]
    # Nothing at all: still says what to send.
    assert "takes a session API key" in check_error(api.call("GET", "/v1/session"), 401, "missing_api_key")["message"]
    assert "takes a user access token" in check_error(api.call("GET", "/v1/me"), 401, "missing_token")["message"]


def test_events_from_a_newer_worker_with_extra_fields_are_taken(caller: Caller, settings: Any) -> None:
    """A rolling deploy: a newer worker's event carries a field this API does not know yet. It
    is answered exactly as the same event without that field (whatever admission decides)."""

    def post(**extra: Any) -> tuple[int, Any]:
        event = {"type": "session.status", "event_id": f"evt_{uuid.uuid4().hex}", "session_id": caller.sid,
                 "tenant_id": caller.user_id, "seq": 1, "status": "connecting", **extra}
        reply = caller.api.call("POST", "/v1/internal/events", json_body={"events": [event]},
                                token=settings.worker_token)
        return reply.status, (reply.body.get("error") or {}).get("code")

    plain, newer = post(), post(added_in_a_later_version={"x": 1})
    assert newer[0] != 400, newer
    assert newer == plain
