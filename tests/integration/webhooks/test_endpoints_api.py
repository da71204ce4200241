"""Webhook endpoints over HTTP: create (secret once, encrypted at rest), list, read,
update, delete, rotate; the SSRF guard at registration; bad input; tenant isolation."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.webhooks.helpers import Owner, create_endpoint, new_owner
from whatsam.adapters.aws import client
from whatsam.adapters.dynamo_models import UserModel
from whatsam.adapters.webhook_models import WebhookEndpointModel
from whatsam.errors import Conflict, NotFound

pytestmark = pytest.mark.integration

LOCAL = "http://127.0.0.1:9/hooks"


def test_create_shows_the_secret_once_and_stores_it_encrypted(api: Any, owner: Owner, settings: Any) -> None:
    created = create_endpoint(api, owner, LOCAL, ["session.status", "message.*"], description=" crm ")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert created["id"].startswith("whk_")
    assert (created["url"], created["events"], created["session_id"]) == (LOCAL, ["session.status", "message.*"],
                                                                          None)
    assert (created["status"], created["enabled"], created["description"]) == ("enabled", True, "crm")

    listed = api.call("GET", "/v1/webhooks", token=owner.token)
    assert listed.status == 200 and [w["id"] for w in listed.body["webhooks"]] == [created["id"]]
    one = api.call("GET", f"/v1/webhooks/{created['id']}", token=owner.token)
    assert one.status == 200
    for reply in (listed, one):
        assert secret not in json.dumps(reply.body) and "secret" not in json.dumps(reply.body).replace(
            "previous_secret_expires_at", "")

    # At rest: a KMS ciphertext bound to this tenant and endpoint, never the secret.
    item = WebhookEndpointModel.get(created["id"], consistent_read=True)
    raw = json.dumps(item.serialize())
    assert secret not in raw and secret[6:] not in raw
    kms = client("kms", settings)
    blob = base64.b64decode(item.secret_sealed)
    context = {"purpose": "webhook-secret", "tenant": owner.user_id, "endpoint": created["id"]}
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"].decode() == secret
    with pytest.raises(Exception, match="InvalidCiphertext"):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={**context, "endpoint": "whk_other"})


def test_session_scoped_endpoints_need_an_own_session(api: Any, owner: Owner, check_error: Any) -> None:
    scoped = create_endpoint(api, owner, LOCAL, session=True)
    assert scoped["session_id"] == owner.session_id
    other = new_owner(api)
    reply = api.call("POST", "/v1/webhooks", json_body={"url": LOCAL, "events": ["*"],
                                                        "session_id": other.session_id}, token=owner.token)
    check_error(reply, 404, "session_not_found")


@pytest.mark.parametrize("url", [
    "https://10.0.0.1/hooks", "http://169.254.169.254/latest/meta-data/", "http://169.254.170.2/v2/credentials",
    "https://100.64.0.1/", "https://192.168.1.10/", "https://172.16.0.1/", "https://0.0.0.0/",
    "https://[fd00:ec2::254]/", "https://[fe80::1]/", "https://[::ffff:10.0.0.1]/", "https://[::ffff:a9fe:a9fe]/",
    "ftp://example.com/", "https://user:pw@127.0.0.1/",
])
def test_registration_refuses_non_public_targets_even_in_dev_mode(api: Any, owner: Owner, check_error: Any,
                                                                 url: str) -> None:
    error = check_error(api.call("POST", "/v1/webhooks", json_body={"url": url, "events": ["*"]}, token=owner.token),
                        422, "webhook_url_not_allowed")
    assert error["details"]["reason"] in {"address_not_allowed", "scheme_not_allowed", "credentials_in_url"}
    assert api.call("GET", "/v1/webhooks", token=owner.token).body["webhooks"] == []


def test_a_refused_url_does_not_say_where_its_host_leads(api: Any, owner: Owner, check_error: Any) -> None:
    answers = []
    for url in ("https://10.20.30.40/hooks", "https://[::ffff:a9fe:a9fe]/", "https://[::ffff:0:a9fe:a9fe]/",
                "https://nowhere.invalid/hooks"):
        error = check_error(api.call("POST", "/v1/webhooks", json_body={"url": url, "events": ["*"]},
                                     token=owner.token), 422, "webhook_url_not_allowed")
        assert error["details"] == {"reason": "address_not_allowed"}, error
        answers.append(error["message"])
        for leak in ("10.20.30.40", "a9fe", "169.254", "private", "link-local", "resolve to a non-public"):
            assert leak not in error["message"], error
    # A private address, a mapped one, a translated one and a name that does not resolve: one answer.
    assert len(set(answers)) == 1, answers


def test_update_rechecks_the_url_and_changes_only_what_was_given(api: Any, owner: Owner, check_error: Any) -> None:
    created = create_endpoint(api, owner, LOCAL, ["session.status"])
    path = f"/v1/webhooks/{created['id']}"
    check_error(api.call("PATCH", path, json_body={"url": "https://10.1.2.3/"}, token=owner.token), 422,
                "webhook_url_not_allowed")
    assert api.call("GET", path, token=owner.token).body["url"] == LOCAL
    reply = api.call("PATCH", path, json_body={"events": ["session.qr"], "description": "qr only"}, token=owner.token)
    assert reply.status == 200, reply.body
    assert (reply.body["events"], reply.body["description"], reply.body["url"]) == (["session.qr"], "qr only", LOCAL)
    disabled = api.call("PATCH", path, json_body={"enabled": False}, token=owner.token).body
    assert (disabled["status"], disabled["disabled_reason"]) == ("disabled", "disabled by its owner")
    enabled = api.call("PATCH", path, json_body={"enabled": True}, token=owner.token).body
    assert (enabled["status"], enabled["disabled_reason"], enabled["disabled_at"]) == ("enabled", None, None)


def test_delete(api: Any, owner: Owner, check_error: Any) -> None:
    created = create_endpoint(api, owner, LOCAL)
    assert api.call("DELETE", f"/v1/webhooks/{created['id']}", token=owner.token).status == 204
    check_error(api.call("GET", f"/v1/webhooks/{created['id']}", token=owner.token), 404, "webhook_not_found")
    check_error(api.call("DELETE", f"/v1/webhooks/{created['id']}", token=owner.token), 404, "webhook_not_found")


def test_rotate_returns_a_new_secret_once_and_keeps_the_old_for_the_overlap(api: Any, owner: Owner) -> None:
    created = create_endpoint(api, owner, LOCAL)
    rotated = api.call("POST", f"/v1/webhooks/{created['id']}/rotate-secret", token=owner.token)
    assert rotated.status == 200, rotated.body
    assert rotated.body["secret"].startswith("whsec_") and rotated.body["secret"] != created["secret"]
    assert rotated.body["previous_secret_expires_at"] is not None
    assert "secret" not in api.call("GET", f"/v1/webhooks/{created['id']}", token=owner.token).body


def test_the_endpoint_limit(api: Any, owner: Owner, services: Any, check_error: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(services.webhooks.service, "_max_endpoints", 2)
    create_endpoint(api, owner, LOCAL)
    create_endpoint(api, owner, LOCAL)
    check_error(api.call("POST", "/v1/webhooks", json_body={"url": LOCAL, "events": ["*"]}, token=owner.token), 409,
                "webhook_limit_reached")


def test_parallel_creates_never_pass_the_limit(api: Any, owner: Owner, services: Any, monkeypatch: Any) -> None:
    """Counted in the same transaction that writes the endpoint: reading the count first let 21 of 20 in."""
    limit, callers = 3, 10
    monkeypatch.setattr(services.webhooks.service, "_max_endpoints", limit)
    user = services.users.get(owner.user_id)
    barrier = threading.Barrier(callers)
    outcomes: list[str] = []

    def create(_: int) -> None:
        barrier.wait()
        try:
            services.webhooks.service.create(user, url=LOCAL, event_types=("*",), session_id=None, description="")
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(exc.code)

    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(create, range(callers)))
    assert sorted(outcomes) == ["created"] * limit + ["webhook_limit_reached"] * (callers - limit)
    assert len(api.call("GET", "/v1/webhooks", token=owner.token).body["webhooks"]) == limit
    assert UserModel.get(owner.user_id, consistent_read=True).webhook_count == limit

    # A delete frees its slot, once.
    doomed = api.call("GET", "/v1/webhooks", token=owner.token).body["webhooks"][0]["id"]
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: services_delete(services, user, doomed), range(4)))
    assert sorted(statuses) == ["deleted", "webhook_not_found", "webhook_not_found", "webhook_not_found"]
    assert UserModel.get(owner.user_id, consistent_read=True).webhook_count == limit - 1
    create_endpoint(api, owner, LOCAL)
    assert api.call("POST", "/v1/webhooks", json_body={"url": LOCAL, "events": ["*"]},
                    token=owner.token).status == 409


def services_delete(services: Any, user: Any, endpoint_id: str) -> str:
    try:
        services.webhooks.service.delete(user, endpoint_id)
    except NotFound as exc:
        return exc.code
    return "deleted"


def test_an_account_from_before_the_counter_is_counted_once(api: Any, owner: Owner, services: Any,
                                                            monkeypatch: Any) -> None:
    monkeypatch.setattr(services.webhooks.service, "_max_endpoints", 3)
    create_endpoint(api, owner, LOCAL)
    create_endpoint(api, owner, LOCAL)
    UserModel(user_id=owner.user_id).update(actions=[UserModel.webhook_count.remove()])
    create_endpoint(api, owner, LOCAL)
    assert UserModel.get(owner.user_id, consistent_read=True).webhook_count == 3
    assert api.call("POST", "/v1/webhooks", json_body={"url": LOCAL, "events": ["*"]},
                    token=owner.token).status == 409


BAD_BODIES = [
    ({"events": ["*"]}, "url"),
    ({"url": LOCAL}, "events"),
    ({"url": LOCAL, "events": []}, "events"),
    ({"url": LOCAL, "events": ["message.nonsense"]}, "events"),
    ({"url": LOCAL, "events": ["nothing.*"]}, "events"),
    ({"url": LOCAL, "events": "*"}, "events"),
    ({"url": 5, "events": ["*"]}, "url"),
    ({"url": "", "events": ["*"]}, "url"),
    ({"url": LOCAL, "events": ["*"], "tenant_id": "usr_x"}, "tenant_id"),
    ({"url": LOCAL, "events": ["*"], "session_id": 7}, "session_id"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
def test_bad_create_bodies_are_400(api: Any, owner: Owner, check_error: Any, body: dict, field: str) -> None:
    error = check_error(api.call("POST", "/v1/webhooks", json_body=body, token=owner.token), 400, "validation_error")
    assert field in {e["field"].split(".")[0] for e in error["details"]["errors"]}
    assert api.call("GET", "/v1/webhooks", token=owner.token).body["webhooks"] == []


def test_other_bad_input(api: Any, owner: Owner, check_error: Any) -> None:
    created = create_endpoint(api, owner, LOCAL)
    base = f"/v1/webhooks/{created['id']}"
    check_error(api.call("POST", "/v1/webhooks", raw="{", token=owner.token), 400, "invalid_json")
    check_error(api.call("PATCH", base, json_body={}, token=owner.token), 400, "validation_error")
    check_error(api.call("PATCH", base, json_body={"enabled": "yes please"}, token=owner.token), 400,
                "validation_error")
    check_error(api.call("POST", f"{base}/recover", json_body={"since": "yesterday"}, token=owner.token), 400,
                "validation_error")
    check_error(api.call("POST", f"{base}/recover", json_body={"since": "2024-05-01T10:00:00"}, token=owner.token),
                400, "validation_error")
    check_error(api.call("POST", f"{base}/recover", json_body={"since": "2999-01-01T00:00:00Z"}, token=owner.token),
                400, "invalid_range")
    check_error(api.call("POST", f"{base}/recover", json_body={"since": "2000-01-01T00:00:00Z"}, token=owner.token),
                400, "invalid_range")
    for query, code in (("?limit=0", "invalid_query"), ("?limit=x", "invalid_query"),
                        ("?status=great", "invalid_query"), ("?cursor=nonsense", "invalid_cursor"),
                        ("?cursor=e30", "invalid_cursor")):
        check_error(api.call("GET", f"{base}/deliveries{query}", token=owner.token), 400, code)
    check_error(api.call("GET", "/v1/webhooks"), 401, "missing_token")


ISOLATED_ROUTES = [
    ("GET", "/v1/webhooks/{wid}", None),
    ("PATCH", "/v1/webhooks/{wid}", {"description": "pwned"}),
    ("PATCH", "/v1/webhooks/{wid}", {"url": "http://127.0.0.1:1/mine"}),
    ("DELETE", "/v1/webhooks/{wid}", None),
    ("POST", "/v1/webhooks/{wid}/test", None),
    ("POST", "/v1/webhooks/{wid}/rotate-secret", None),
    ("POST", "/v1/webhooks/{wid}/recover", {"since": "2024-05-01T10:00:00Z"}),
    ("GET", "/v1/webhooks/{wid}/deliveries", None),
    # A well-formed delivery id: the endpoint is what must not be found.
    ("POST", "/v1/webhooks/{wid}/deliveries/msg_aaaaaaaaaaaaaaaaaaaaaaaaaa/redeliver", None),
]


@pytest.mark.parametrize(("method", "template", "body"), ISOLATED_ROUTES,
                         ids=[f"{m} {p} {b}" for m, p, b in ISOLATED_ROUTES])
def test_another_tenants_endpoint_is_404(api: Any, owner: Owner, check_error: Any, method: str, template: str,
                                         body: Any) -> None:
    created = create_endpoint(api, owner, LOCAL, description="theirs")
    before = api.call("GET", f"/v1/webhooks/{created['id']}", token=owner.token).body
    intruder = new_owner(api)
    reply = api.call(method, template.format(wid=created["id"]), json_body=body, token=intruder.token)
    check_error(reply, 404, "webhook_not_found")
    assert "theirs" not in json.dumps(reply.body)
    assert api.call("GET", f"/v1/webhooks/{created['id']}", token=owner.token).body == before
    assert api.call("GET", "/v1/webhooks", token=intruder.token).body["webhooks"] == []


def test_a_delivery_of_another_endpoint_is_404(api: Any, owner: Owner, check_error: Any, services: Any) -> None:
    mine = create_endpoint(api, owner, LOCAL)
    intruder = new_owner(api)
    theirs = create_endpoint(api, intruder, LOCAL)
    # Disabled, so the event is logged as a skipped delivery and nothing is sent.
    api.call("PATCH", f"/v1/webhooks/{mine['id']}", json_body={"enabled": False}, token=owner.token)
    services.ingestion.apply(owner.status("connecting"))
    [delivery] = services.webhooks.service.deliveries(
        services.users.get(owner.user_id), mine["id"], limit=10, cursor=None, status=None)[0]
    reply = api.call("POST", f"/v1/webhooks/{theirs['id']}/deliveries/{delivery.delivery_id}/redeliver",
                     token=intruder.token)
    check_error(reply, 404, "delivery_not_found")
