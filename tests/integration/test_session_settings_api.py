"""Session settings over HTTP (spec §3.10): defaults, changes setting by setting, clearing,
validation, and the owner only."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from whatsam.adapters.session_settings import SessionSettingsRepository
from whatsam.domain.settings import SessionSettings
from whatsam.services.session_proxy import ProxySealer
from whatsam.webhooks.secret_box import SecretBox
from whatsam.webhooks.ssrf import SsrfGuard

pytestmark = pytest.mark.integration

DEFAULTS = {"reject_calls": False, "reject_message": None, "history_sync": "recent", "proxy": None}


def _card(api: Any, token: str) -> str:
    created = api.call("POST", "/v1/sessions", json_body={"name": "Settings"}, token=token)
    assert created.status == 201, created.body
    return str(created.body["id"])


def test_settings_start_at_their_defaults_and_change_one_by_one(api: Any, new_account: Any) -> None:
    owner = new_account()
    sid = _card(api, owner.access_token)
    url = f"/v1/sessions/{sid}/settings"
    assert api.call("GET", url, token=owner.access_token).body == DEFAULTS

    changed = api.call("PATCH", url, json_body={"reject_calls": True, "reject_message": " Busy, text me "},
                       token=owner.access_token)
    assert changed.status == 200, changed.body
    assert changed.body == {**DEFAULTS, "reject_calls": True, "reject_message": "Busy, text me"}
    history = api.call("PATCH", url, json_body={"history_sync": "none"}, token=owner.access_token)
    assert history.body == {**DEFAULTS, "reject_calls": True, "reject_message": "Busy, text me",
                            "history_sync": "none"}
    cleared = api.call("PATCH", url, json_body={"reject_message": None}, token=owner.access_token)
    assert cleared.body == {**DEFAULTS, "reject_calls": True, "history_sync": "none"}
    assert SessionSettingsRepository().get(sid) == SessionSettings(reject_calls=True, history_sync="none")
    # A rename does not touch the settings.
    api.call("PATCH", f"/v1/sessions/{sid}", json_body={"name": "Renamed"}, token=owner.access_token)
    assert api.call("GET", url, token=owner.access_token).body["history_sync"] == "none"


@pytest.mark.parametrize("body", [
    {}, {"history_sync": "everything"}, {"reject_calls": "yes"}, {"reject_calls": None},
    {"history_sync": None}, {"reject_message": ""}, {"reject_message": "x" * 1001}, {"proxy_typo": 1},
    {"proxy": 1080}, {"proxy": "socks5://h:1/" + "x" * 2048},
])
def test_bad_settings_are_400_and_change_nothing(api: Any, new_account: Any, check_error: Any,
                                                 body: dict[str, Any]) -> None:
    owner = new_account()
    sid = _card(api, owner.access_token)
    check_error(api.call("PATCH", f"/v1/sessions/{sid}/settings", json_body=body, token=owner.access_token),
                400, "validation_error")
    assert api.call("GET", f"/v1/sessions/{sid}/settings", token=owner.access_token).body == DEFAULTS


def test_another_tenants_settings_are_404(api: Any, new_account: Any, check_error: Any) -> None:
    owner, other = new_account(), new_account()
    sid = _card(api, owner.access_token)
    url = f"/v1/sessions/{sid}/settings"
    check_error(api.call("GET", url, token=other.access_token), 404, "session_not_found")
    check_error(api.call("PATCH", url, json_body={"reject_calls": True}, token=other.access_token), 404,
                "session_not_found")
    assert api.call("GET", url, token=owner.access_token).body == DEFAULTS


def test_concurrent_changes_of_different_settings_both_land(api: Any, new_account: Any) -> None:
    owner = new_account()
    sid = _card(api, owner.access_token)
    url = f"/v1/sessions/{sid}/settings"
    bodies = [{"reject_calls": True}, {"history_sync": "full"}]
    threads = [threading.Thread(target=api.call, args=("PATCH", url),
                                kwargs={"json_body": body, "token": owner.access_token}) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert api.call("GET", url, token=owner.access_token).body == {**DEFAULTS, "reject_calls": True,
                                                                   "history_sync": "full"}


@pytest.fixture
def deployed_proxies(services: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> ProxySealer:
    """The settings service as a deployed stack (dev mode off) has it; the resolver answers
    `proxy.example.com` with a public address and `inside.example.com` with a VPC one."""
    addresses = {"proxy.example.com": ["93.184.215.14"], "inside.example.com": ["10.1.2.3"]}
    guard = SsrfGuard(allow_insecure=False, resolver=lambda host, _port: addresses[host])
    sealer = ProxySealer(SecretBox(settings), guard, dev_mode=False)
    monkeypatch.setattr(services.session_settings, "_proxies", sealer)
    return sealer


def test_a_proxy_is_sealed_shown_masked_and_opened_only_with_its_session(
        api: Any, new_account: Any, deployed_proxies: ProxySealer) -> None:
    owner = new_account()
    sid = _card(api, owner.access_token)
    url = f"/v1/sessions/{sid}/settings"
    proxy = "socks5://ann:s3cret-pw@proxy.example.com:1080"
    changed = api.call("PATCH", url, json_body={"proxy": proxy}, token=owner.access_token)
    assert changed.status == 200, changed.body
    assert changed.body["proxy"] == "socks5://ann:***@proxy.example.com:1080"
    stored = SessionSettingsRepository().get(sid)
    assert stored is not None and stored.proxy_sealed and "s3cret" not in stored.proxy_sealed
    assert deployed_proxies.open(stored.proxy_sealed, tenant_id=owner.user_id, session_id=sid) == proxy
    with pytest.raises(Exception, match="InvalidCiphertext"):
        deployed_proxies.open(stored.proxy_sealed, tenant_id=owner.user_id, session_id="ses_other")
    assert "s3cret" not in str(api.call("GET", url, token=owner.access_token).body)
    https = api.call("PATCH", url, json_body={"proxy": "https://proxy.example.com"}, token=owner.access_token)
    assert https.body["proxy"] == "https://proxy.example.com"
    removed = api.call("PATCH", url, json_body={"proxy": None}, token=owner.access_token)
    assert removed.body["proxy"] is None and SessionSettingsRepository().get(sid) == SessionSettings()


@pytest.mark.parametrize(("proxy", "code"), [
    ("socks5://10.0.0.1:1080", "proxy_not_allowed"),
    ("http://127.0.0.1:3128", "proxy_not_allowed"),
    ("socks5://user:pw@inside.example.com:1080", "proxy_not_allowed"),
    ("http://[fd00::1]:8080", "proxy_not_allowed"),
    ("ftp://proxy.example.com", "proxy_scheme_not_allowed"),
    ("socks5://proxy.example.com:1080/path", "invalid_proxy"),
    ("socks5://proxy.example.com:99999", "invalid_proxy"),
    ("socks5://", "invalid_proxy"),
])
def test_outside_dev_mode_a_proxy_must_be_public_and_well_formed(
        api: Any, new_account: Any, check_error: Any, deployed_proxies: ProxySealer, proxy: str, code: str) -> None:
    owner = new_account()
    sid = _card(api, owner.access_token)
    check_error(api.call("PATCH", f"/v1/sessions/{sid}/settings", json_body={"proxy": proxy},
                         token=owner.access_token), 400, code)
    assert SessionSettingsRepository().get(sid) == SessionSettings()
