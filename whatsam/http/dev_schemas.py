"""Bodies of the dev-only routes (spec §5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from whatsam.http.group_schemas import GROUP_SIZE_LIMIT, Participant, Subject
from whatsam.http.schemas import Body, Name

GROUP_SIMULATIONS = ("group.added", "group.join", "group.leave", "group.promote", "group.demote", "group.subject",
                     "group.announce", "group.removed", "group.request", "group.message")
PROFILE_SIMULATIONS = ("call.ring", "presence.update", "chat.presence")


class DevSimulateRequest(Body):
    """Dev: make the simulated WhatsApp produce an event of spec §3.8 to 3.10. ``group.*`` types
    act in one of the session's simulated groups; the others are run by the simulated engine's
    ``dev_<type>`` method (`worker_fleet.engines.simulations`): ``contact.lid_message`` (someone
    named by LID only writes), ``contact.saved`` (a contact with names reaches the contact store)."""

    type: Literal["group.added", "group.join", "group.leave", "group.promote", "group.demote", "group.subject",
                  "group.announce", "group.removed", "group.request", "group.message", "call.ring", "presence.update",
                  "chat.presence", "contact.lid_message", "contact.saved"]
    group: str | None = Field(default=None, max_length=64, description="The group (group.* but group.added)")
    phone: str | None = Field(default=None, min_length=4, max_length=32,
                              description="Who acts: adds, joins, leaves, renames, posts, calls, writes")
    subject: Subject | None = None
    participants: list[Participant] = Field(default_factory=list, max_length=GROUP_SIZE_LIMIT)
    text: str | None = Field(default=None, max_length=4096)
    video: bool | None = Field(default=None, description="call.ring: a video call")
    state: Literal["available", "unavailable", "composing", "recording", "paused"] | None = Field(
        default=None, description="presence.update: available or unavailable; chat.presence: composing, recording "
                                  "or paused")
    name: Name | None = Field(default=None, description="contact.*: the push name (lid_message) or the "
                                                       "address-book name (saved)")
    business_name: Name | None = Field(default=None, description="contact.saved: a business profile's name")

    @model_validator(mode="after")
    def _group_simulations_name_who_acts(self) -> DevSimulateRequest:
        if self.type in (*GROUP_SIMULATIONS, *PROFILE_SIMULATIONS) and self.phone is None:
            raise ValueError(f"`{self.type}` needs `phone`: who acts")
        return self

    def engine_fields(self) -> dict[str, Any]:
        """The fields given, for the simulated engine's ``dev_<type>`` method."""
        return {name: getattr(self, name) for name in self.model_fields_set if name != "type"}


class Simulated(BaseModel):
    type: str
    group: str | None = Field(default=None, description="The group it happened in (group.* types)")
    result: dict[str, Any] | None = Field(default=None, description="What the simulated WhatsApp did")
