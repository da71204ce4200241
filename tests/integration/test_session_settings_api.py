"""Session settings over HTTP (spec §3.10): defaults, changes setting by setting, clearing,
validation, and the owner only."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from whatsam.adapters.session_settings import SessionSettingsRepository
from whatsam.domain.settings import SessionSettings

pytestmark = pytest.mark.integration

DEFAULTS = {"reject_calls": False, "reject_message": None, "history_sync": "recent"}


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
    assert history.body == {"reject_calls": True, "reject_message": "Busy, text me", "history_sync": "none"}
    cleared = api.call("PATCH", url, json_body={"reject_message": None}, token=owner.access_token)
    assert cleared.body == {"reject_calls": True, "reject_message": None, "history_sync": "none"}
    assert SessionSettingsRepository().get(sid) == SessionSettings(reject_calls=True, history_sync="none")
    # A rename does not touch the settings.
    api.call("PATCH", f"/v1/sessions/{sid}", json_body={"name": "Renamed"}, token=owner.access_token)
    assert api.call("GET", url, token=owner.access_token).body["history_sync"] == "none"


@pytest.mark.parametrize("body", [
    {}, {"history_sync": "everything"}, {"reject_calls": "yes"}, {"reject_calls": None},
    {"history_sync": None}, {"reject_message": ""}, {"reject_message": "x" * 1001}, {"proxy_typo": 1},
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
