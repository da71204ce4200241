"""Request bodies of the webhook routes (and their OpenAPI schemas)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, StrictBool, StringConstraints, field_validator, model_validator

from whatsam.http.schemas import Body, Description
from whatsam.webhooks.models import valid_filter
from whatsam.webhooks.ssrf import MAX_URL_LENGTH

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH)]
EventFilter = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Events = Annotated[list[EventFilter], Field(min_length=1, max_length=50,
                                            description="Event types, `family.*`, or `*` for all")]


def _check_events(events: list[str] | None) -> list[str] | None:
    if events is None:
        return None
    unknown = [e for e in events if not valid_filter(e)]
    if unknown:
        raise ValueError(f"unknown event type(s): {', '.join(sorted(set(unknown)))}")
    return list(dict.fromkeys(events))


class CreateWebhookRequest(Body):
    url: Url
    events: Events
    session_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    description: Description = ""

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        return _check_events(value) or value


class UpdateWebhookRequest(Body):
    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    # Strict: `"false"` or `0` is a 400, not a guess.
    enabled: StrictBool | None = None

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        return _check_events(value)

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateWebhookRequest:
        if self.url is None and self.events is None and self.description is None and self.enabled is None:
            raise ValueError("give `url`, `events`, `description` or `enabled`")
        return self


class RecoverWebhookRequest(Body):
    since: AwareDatetime
    until: AwareDatetime | None = None
