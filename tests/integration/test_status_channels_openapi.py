"""The status, channel and poll-vote routes in /v1/openapi.json: each with the session API key, its
request schema (where it takes a body) and the schema of its answer."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.support.openapi_routes import assert_documented

pytestmark = pytest.mark.integration

ROUTES = {("/v1/status", "post"), ("/v1/channels", "post"), ("/v1/channels", "get"),
          ("/v1/channels/{channel}", "get"), ("/v1/channels/{channel}/follow", "post"),
          ("/v1/channels/{channel}/unfollow", "post"), ("/v1/channels/{channel}/messages", "get"),
          ("/v1/messages/{message_id}/votes", "get")}
WITH_BODY = {("/v1/status", "post"), ("/v1/channels", "post")}


def test_every_status_channel_and_vote_route_is_documented_with_its_schemas(module_api: Any) -> None:
    document = module_api.call("GET", "/v1/openapi.json").body
    validate(document)
    schemas = document["components"]["schemas"]
    assert_documented(document, {(path, method): document["paths"][path][method] for path, method in ROUTES},
                      with_body=WITH_BODY)
    channel_param = next(p for p in document["paths"]["/v1/channels/{channel}"]["get"]["parameters"]
                         if p["name"] == "channel")
    assert channel_param["schema"]["pattern"] == "^[0-9]{5,30}(@newsletter)?$"
    assert set(schemas["Channel"]["properties"]) >= {"jid", "name", "role", "subscribers", "invite_link"}
    assert set(schemas["PollTally"]["properties"]) == {"message_id", "name", "selectable_count", "options", "voters"}
    assert schemas["CreateChannelRequest"]["properties"]["name"]["maxLength"] == 100
    send = document["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "ForwardMessage" in str(send) or "ForwardMessage" in schemas
    assert "view_once" in schemas["ImageMessage"]["properties"]
