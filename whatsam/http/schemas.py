"""Request bodies. Each model validates its route's input and is the OpenAPI schema of it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from whatsam.contracts.events import AnyEvent

_EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$"

Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=_EMAIL)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterRequest(Body):
    email: Email
    # OWASP ASVS: at least 8 characters, long passphrases allowed; argon2 cost is per call, not per byte.
    password: str = Field(min_length=8, max_length=256)
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


class LoginRequest(Body):
    email: Email
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(Body):
    refresh_token: str = Field(min_length=1, max_length=512)


class CreateSessionRequest(Body):
    name: Name
    description: Description = ""


class UpdateSessionRequest(Body):
    name: Name | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateSessionRequest:
        if self.name is None and self.description is None:
            raise ValueError("give `name` or `description`")
        return self


class CreateApiKeyRequest(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must be printable text")
        return value


class PairingCodeRequest(Body):
    phone: str = Field(min_length=4, max_length=32)


class DevInboundRequest(Body):
    from_: str = Field(alias="from", min_length=4, max_length=32)
    text: str = Field(min_length=1, max_length=4096)


class InternalEventsRequest(Body):
    events: list[AnyEvent] = Field(min_length=1, max_length=100)


class MarkReadRequest(Body):
    message_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] = Field(min_length=1,
                                                                                                 max_length=100)
    sender: str | None = Field(default=None, max_length=64, description="The messages' author (groups)")


class PresenceRequest(Body):
    state: Literal["composing", "recording", "paused"]


class MediaUploadRequest(Body):
    mimetype: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
