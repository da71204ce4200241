"""Request bodies. Each model validates its route's input and is the OpenAPI schema of it."""

from __future__ import annotations

import typing
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from whatsam.contracts.events import AnyEvent
from whatsam.domain.settings import REJECT_MESSAGE_MAX, HistorySync

_EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$"


class _Multiline:
    """Marks a text field that may hold line breaks and tabs (a message, a caption, a password)."""


MULTILINE = _Multiline()
_LINE_BREAKS = frozenset("\t\n\r")

Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=_EMAIL)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MULTILINE]


def _control_character(text: str, *, multiline: bool) -> str | None:
    """The first character no text field may hold (control characters, lone surrogates; line
    breaks too, unless `multiline`), or None."""
    for char in text:
        if multiline and char in _LINE_BREAKS:
            continue
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            return char
    return None


def _marked_multiline(annotation: Any) -> bool:
    """MULTILINE anywhere in the annotation (inside `Annotated[...] | None` too)."""
    if typing.get_origin(annotation) is typing.Annotated and MULTILINE in typing.get_args(annotation)[1:]:
        return True
    return any(_marked_multiline(arg) for arg in typing.get_args(annotation))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


class Body(BaseModel):
    """A request body: unknown fields are refused (a typo is a 400, not silently ignored), and
    no text field holds control characters (NUL, ESC, line breaks that would start another
    vCard or log line); fields marked MULTILINE may hold line breaks and tabs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        multiline = field is not None and (MULTILINE in field.metadata or _marked_multiline(field.annotation))
        for text in _strings(value):
            found = _control_character(text, multiline=multiline)
            if found is not None:
                raise ValueError(f"must not contain control characters (found U+{ord(found):04X})")
        return value


class RegisterRequest(Body):
    email: Email
    # OWASP ASVS: at least 8 characters, long passphrases allowed; argon2 cost is per call, not per byte.
    password: Annotated[str, Field(min_length=8, max_length=256), MULTILINE]
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


class LoginRequest(Body):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=256), MULTILINE]


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


class PairingCodeRequest(Body):
    phone: str = Field(min_length=4, max_length=32)


class DevInboundRequest(Body):
    from_: str = Field(alias="from", min_length=4, max_length=32)
    text: Annotated[str, Field(min_length=1, max_length=4096), MULTILINE]


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


RejectMessage = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                 max_length=REJECT_MESSAGE_MAX), MULTILINE]


class SessionSettingsView(BaseModel):
    reject_calls: bool = Field(description="Reject incoming calls at once")
    reject_message: str | None = Field(description="Sent to a caller whose call was rejected automatically")
    history_sync: HistorySync = Field(description="What of the history sent when a phone links is kept")
    proxy: str | None = Field(description="The proxy WhatsApp is reached through, its password masked")


class UpdateSessionSettingsRequest(Body):
    """The settings to change; `reject_message: null` removes the message, `proxy: null` the proxy."""

    reject_calls: StrictBool | None = None
    reject_message: RejectMessage | None = None
    history_sync: HistorySync | None = None
    proxy: str | None = Field(default=None, max_length=2048,
                              description="http://, https:// or socks5:// URL, with user:password@ if it needs "
                                          "them; applies at the next connect")

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateSessionSettingsRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one setting to change")
        for name in ("reject_calls", "history_sync"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"`{name}` cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}
