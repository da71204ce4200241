"""Request ids, the OpenAPI document, and health."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.integration


def _assorted_replies(api: Any, new_account: Any) -> list[Any]:
    owner = new_account()
    card = api.call("POST", "/v1/sessions", json_body={"name": "rid"}, token=owner.access_token).body
    return [
        api.call("GET", "/health"),                                                   # 200, no auth
        api.call("GET", "/v1/me", token=owner.access_token),                          # 200, JWT
        api.call("GET", "/v1/session", api_key=card["api_key"]["key"]),               # 200, API key
        api.call("DELETE", f"/v1/sessions/{card['id']}/api-keys/key_x", token=owner.access_token),  # 404
        api.call("POST", f"/v1/sessions/{card['id']}/connect", token=owner.access_token),           # 202
        api.call("POST", "/v1/auth/logout", token=owner.access_token),                # 204
        api.call("GET", "/v1/me"),                                                    # 401
        api.call("POST", "/v1/auth/register", raw="{"),                               # 400
        api.call("POST", "/v1/auth/register", json_body={}, headers={"Content-Type": "text/plain"}),  # 415
        api.call("PUT", "/v1/sessions", json_body={}, token=owner.access_token),      # 405
    ]


def test_every_response_carries_a_request_id(api: Any, new_account: Any) -> None:
    replies = _assorted_replies(api, new_account)
    assert sorted({r.status for r in replies}) == [200, 202, 204, 400, 401, 404, 405, 415]
    ids = [r.headers.get("x-request-id") for r in replies]
    assert all(ids), [(r.status, r.headers) for r in replies]
    assert len(set(ids)) == len(ids), "each request gets its own id"
    for reply in replies:
        if reply.status >= 400:
            assert reply.body["error"]["request_id"] == reply.headers["x-request-id"], reply.body


def test_method_not_allowed_is_in_the_error_shape(api: Any, check_error: Any, new_account: Any) -> None:
    owner = new_account()
    check_error(api.call("PUT", "/v1/sessions", json_body={}, token=owner.access_token), 405, "method_not_allowed")


@pytest.mark.parametrize("incoming", ["req-12345678", "a1b2c3d4.e5:f6_g7-h8", str(uuid.uuid4()), "x" * 128])
def test_valid_incoming_request_id_is_echoed(api: Any, incoming: str, check_error: Any) -> None:
    ok = api.call("GET", "/health", headers={"X-Request-Id": incoming})
    assert ok.status == 200 and ok.headers["x-request-id"] == incoming
    error = check_error(api.call("GET", "/v1/me", headers={"X-Request-Id": incoming}), 401)
    assert error["request_id"] == incoming


@pytest.mark.parametrize("incoming", ["short", "has spaces in it", "x" * 129, "<script>alert(1)</script>",
                                      "evil\u00e9-unicode-id", "semi;colon;id;here"])
def test_unsafe_incoming_request_id_is_replaced(api: Any, incoming: str) -> None:
    reply = api.call("GET", "/health", headers={"X-Request-Id": incoming})
    assert reply.status == 200
    rid = reply.headers["x-request-id"]
    assert rid and rid != incoming
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", rid)


@pytest.fixture(scope="module")
def openapi_document(module_api: Any) -> dict[str, Any]:
    reply = module_api.call("GET", "/v1/openapi.json")
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    return dict(reply.body)


def test_openapi_document_is_valid_openapi_3(openapi_document: dict[str, Any]) -> None:
    assert openapi_document["openapi"].startswith("3.")
    validate(openapi_document)


def test_openapi_covers_every_route(openapi_document: dict[str, Any], chalice_app: Any) -> None:
    routes = {(path, method.lower()) for path, methods in chalice_app.routes.items() for method in methods}
    documented = {(path, method) for path, ops in openapi_document["paths"].items() for method in ops}
    assert routes, "the app has routes"
    missing = routes - documented
    assert not missing, f"routes missing from /v1/openapi.json: {sorted(missing)}"
    assert documented == routes
    for path, ops in openapi_document["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            assert "security" in op, (method, path)
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_openapi_body_schemas_resolve(openapi_document: dict[str, Any]) -> None:
    schemas = openapi_document["components"]["schemas"]
    for path, method in (("/v1/auth/register", "post"), ("/v1/sessions", "post"),
                         ("/v1/sessions/{session_id}", "patch")):
        ref = openapi_document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas
    register = schemas["RegisterRequest"]
    assert set(register["required"]) == {"email", "password"}
    assert openapi_document["paths"]["/v1/session"]["get"]["security"] != []
    assert openapi_document["paths"]["/health"]["get"]["security"] == []


def test_health_live_and_ready(api: Any) -> None:
    live = api.call("GET", "/health")
    assert live.status == 200 and live.body == {"status": "ok"}
    ready = api.call("GET", "/health/ready")
    assert ready.status == 200, ready.body
    assert ready.body["status"] == "ready"
    checks = ready.body["checks"]
    assert {"dynamodb", "sqs", "s3", "redis"} <= set(checks)
    assert all(check["ok"] is True for check in checks.values()), checks
