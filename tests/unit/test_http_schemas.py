"""Request bodies: normalisation and rejection."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from whatsam.http.schemas import (
    CreateApiKeyRequest,
    CreateSessionRequest,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    UpdateSessionRequest,
)


def _fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in err["loc"]) for err in exc.errors()}


def test_email_is_lower_cased_and_stripped() -> None:
    body = RegisterRequest.model_validate({"email": "  Ada.Lovelace@Example.COM ", "password": "12345678"})
    assert body.email == "ada.lovelace@example.com"
    assert body.name == ""
    assert LoginRequest.model_validate({"email": "X@Y.ORG", "password": "p"}).email == "x@y.org"


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "a b@example.com", "a@@example.com",
                                   "a@example.c", "@example.com", "x" * 65 + "@example.com",
                                   "a@" + "b" * 250 + ".com"])
def test_bad_emails_are_rejected(email: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RegisterRequest.model_validate({"email": email, "password": "12345678"})
    assert _fields(caught.value) == {"email"}


def test_password_length() -> None:
    with pytest.raises(ValidationError) as caught:
        RegisterRequest.model_validate({"email": "a@example.com", "password": "1234567"})
    assert _fields(caught.value) == {"password"}
    assert RegisterRequest.model_validate({"email": "a@example.com", "password": "12345678"}).password == "12345678"
    with pytest.raises(ValidationError):
        RegisterRequest.model_validate({"email": "a@example.com", "password": "x" * 257})


@pytest.mark.parametrize(("model", "data"), [
    (RegisterRequest, {"email": "a@example.com", "password": "12345678", "role": "admin"}),
    (RegisterRequest, {"email": "a@example.com", "password": "12345678", "tier": "MAX"}),
    (LoginRequest, {"email": "a@example.com", "password": "x", "remember": True}),
    (RefreshRequest, {"refresh_token": "wrt_x", "user_id": "usr_1"}),
    (CreateSessionRequest, {"name": "a", "status": "connected"}),
    (UpdateSessionRequest, {"name": "a", "tenant_id": "usr_2"}),
    (CreateApiKeyRequest, {"name": "a", "key": "wsk_chosen"}),
])
def test_extra_fields_are_rejected(model: type, data: dict) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)  # type: ignore[attr-defined]
    assert [e["type"] for e in caught.value.errors()] == ["extra_forbidden"]


@pytest.mark.parametrize("data", [{}, {"name": None}, {"description": None}, {"name": None, "description": None}])
def test_patch_with_nothing_to_change_is_rejected(data: dict) -> None:
    with pytest.raises(ValidationError):
        UpdateSessionRequest.model_validate(data)


def test_patch_with_one_field_is_accepted() -> None:
    assert UpdateSessionRequest.model_validate({"name": " New "}).name == "New"
    only_description = UpdateSessionRequest.model_validate({"description": ""})
    assert only_description.description == "" and only_description.name is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_session_name_bounds(name: str) -> None:
    with pytest.raises(ValidationError):
        CreateSessionRequest.model_validate({"name": name})
    with pytest.raises(ValidationError):
        UpdateSessionRequest.model_validate({"name": name})


def test_session_description_bound() -> None:
    with pytest.raises(ValidationError):
        CreateSessionRequest.model_validate({"name": "ok", "description": "d" * 501})
    assert CreateSessionRequest.model_validate({"name": " ok "}).model_dump() == {"name": "ok", "description": ""}


@pytest.mark.parametrize(("model", "data"), [
    (RegisterRequest, {"email": 5, "password": "12345678"}),
    (RegisterRequest, {"email": "a@example.com", "password": 12345678}),
    (CreateSessionRequest, {"name": ["x"]}),
    (CreateSessionRequest, {"name": True}),
    (RefreshRequest, {"refresh_token": None}),
    (RefreshRequest, {"refresh_token": ""}),
])
def test_wrong_types_are_rejected_not_coerced(model: type, data: dict) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(data)  # type: ignore[attr-defined]


def test_api_key_name_must_be_printable() -> None:
    with pytest.raises(ValidationError):
        CreateApiKeyRequest.model_validate({"name": "bad\x00name"})
    with pytest.raises(ValidationError):
        CreateApiKeyRequest.model_validate({"name": "line\nbreak"})
    assert CreateApiKeyRequest.model_validate({}).name == ""
    assert CreateApiKeyRequest.model_validate({"name": " ci "}).name == "ci"
