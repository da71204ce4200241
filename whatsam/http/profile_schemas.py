"""Bodies and answers of the profile, presence, call, blocklist and privacy routes (spec §3.10)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from whatsam.contracts.profile import OwnPresence, PrivacyValue
from whatsam.http.schemas import MULTILINE, Body

# WhatsApp's limits: a push name of 25 characters, an about text of 139.
PUSH_NAME_MAX = 25
ABOUT_MAX = 139
PushName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PUSH_NAME_MAX)]
About = Annotated[str, StringConstraints(max_length=ABOUT_MAX), MULTILINE]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=64)]


class UpdateProfileRequest(Body):
    name: PushName | None = Field(default=None, description="The push name contacts see")
    about: About | None = Field(default=None, description="The about text (an empty string clears it)")

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateProfileRequest:
        if self.name is None and self.about is None:
            raise ValueError("give `name`, `about` or both")
        return self


class ProfilePictureRequest(Body):
    image_base64: str = Field(min_length=4, max_length=2_000_000, description="A JPEG picture, base64-encoded")


class PresenceRequest(Body):
    state: OwnPresence


class BlockRequest(Body):
    phone: Contact = Field(description="E.164 number or a person's JID")


class PrivacyView(BaseModel):
    """WhatsApp's value of each setting (null where WhatsApp did not say); also an answer."""

    last_seen: PrivacyValue | None = None
    online: PrivacyValue | None = None
    profile_picture: PrivacyValue | None = None
    about: PrivacyValue | None = None
    read_receipts: PrivacyValue | None = None
    groups_add: PrivacyValue | None = None
    call_add: PrivacyValue | None = None


class UpdatePrivacyRequest(Body, PrivacyView):
    """The settings to change, each to one of the values WhatsApp offers for it."""

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdatePrivacyRequest:
        if not self.changes():
            raise ValueError("give at least one privacy setting to change")
        return self

    def changes(self) -> dict[str, str]:
        return {name: value for name, value in self.model_dump(exclude_none=True).items()}


# -- answers (documented in /v1/openapi.json) ---------------------------------------------------


class ProfileView(BaseModel):
    name: str | None = Field(description="The push name")
    about: str | None
    picture_id: str | None = Field(default=None, description="The current picture's id, if any")


class ProfilePicture(BaseModel):
    picture_id: str


class ContactPicture(BaseModel):
    url: str = Field(description="WhatsApp's link to the picture (it expires)")
    id: str


class PresenceView(BaseModel):
    state: OwnPresence


class PresenceSubscription(BaseModel):
    contact: str
    subscribed: bool


class CallRejection(BaseModel):
    call_id: str
    rejected: bool


class Blocklist(BaseModel):
    blocked: list[str] = Field(description="JIDs of the blocked contacts")

