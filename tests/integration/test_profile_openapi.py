"""The profile, presence, call, blocklist and privacy routes in /v1/openapi.json: each with the
session API key, its request schema (where it takes a body) and the schema of its answer; the
session settings show `proxy`."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.support.openapi_routes import assert_documented

pytestmark = pytest.mark.integration

PREFIXES = ("/v1/profile", "/v1/contacts/{contact}/", "/v1/presence", "/v1/calls", "/v1/blocklist", "/v1/privacy")
WITH_BODY = {("/v1/profile", "patch"), ("/v1/profile/picture", "put"), ("/v1/presence", "post"),
             ("/v1/blocklist", "post"), ("/v1/privacy", "patch")}
WITHOUT_ANSWER = {("/v1/profile/picture", "delete")}


def test_every_profile_route_is_documented_with_its_schemas(module_api: Any) -> None:
    document = module_api.call("GET", "/v1/openapi.json").body
    validate(document)
    schemas = document["components"]["schemas"]
    routes = {(path, method): op for path, ops in document["paths"].items() for method, op in ops.items()
              if path.startswith(PREFIXES) and not path.endswith("/exists")}  # exists: the contacts' route
    assert len(routes) == 13, sorted(routes)
    assert_documented(document, routes, with_body=WITH_BODY, without_answer=WITHOUT_ANSWER,
                      errors=("401", "409", "504"))
    assert "404" in routes[("/v1/calls/{call_id}/reject", "post")]["responses"]
    assert "501" in routes[("/v1/profile/picture", "delete")]["responses"]
    privacy = schemas["UpdatePrivacyRequest"]["properties"]["last_seen"]["anyOf"][0]
    assert "contact_blacklist" in privacy["enum"]
    assert "proxy" in schemas["SessionSettingsView"]["properties"]
    assert schemas["PresenceRequest"]["properties"]["state"]["enum"] == ["available", "unavailable"]
