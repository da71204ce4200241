"""Bodies of the dev-only routes (spec §5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from whatsam.errors import AppError, NotFound, Unprocessable
from whatsam.http.group_schemas import GROUP_SIZE_LIMIT, Participant, Subject
from whatsam.http.schemas import Body, Name

GROUP_SIMULATIONS = ("group.added", "group.join", "group.leave", "group.promote", "group.demote", "group.subject",
                     "group.announce", "group.removed", "group.request", "group.message")


# The simulated WhatsApp's refusals of a simulation → the error the API answers.
SIMULATION_REFUSALS: dict[str, type[AppError]] = {
    "message_not_found": NotFound, "poll_option_unknown": Unprocessable, "poll_too_many_options": Unprocessable,
    "not_playable": Unprocessable}

# What each of the other simulations needs besides `type`.
_NEEDS: dict[str, tuple[str, ...]] = {"poll.vote": ("phone", "message_id"), "status.post": ("phone", "text"),
                                      "message.played": ("message_id",), "call.ring": ("phone",),
                                      "presence.update": ("phone",), "chat.presence": ("phone",),
                                      "contact.saved": ("phone",), "chat.read_on_phone": ("phone",)}
# ... and what each of them takes at all.
_TAKES: dict[str, frozenset[str]] = {"poll.vote": frozenset({"phone", "message_id", "options"}),
                                     "status.post": frozenset({"phone", "text"}),
                                     "message.played": frozenset({"message_id", "phone"}),
                                     "call.ring": frozenset({"phone", "video"}),
                                     "presence.update": frozenset({"phone", "state"}),
                                     "chat.presence": frozenset({"phone", "state", "group"}),
                                     "contact.lid_message": frozenset({"phone", "name", "text"}),
                                     "contact.saved": frozenset({"phone", "name", "business_name"}),
                                     "history.sync": frozenset({"count"}),
                                     "chat.read_on_phone": frozenset({"phone"})}


class DevSimulateRequest(Body):
    """Dev: make the simulated WhatsApp produce an event of spec §3.8 to 3.10. ``group.*`` types
    act in one of the session's simulated groups; the others are run by the simulated engine's
    ``dev_<type>`` method (`worker_fleet.engines.simulations`): ``contact.lid_message`` (someone
    named by LID only writes), ``contact.saved`` (a contact with names reaches the contact store)."""

    type: Literal["group.added", "group.join", "group.leave", "group.promote", "group.demote", "group.subject",
                  "group.announce", "group.removed", "group.request", "group.message", "call.ring", "presence.update",
                  "chat.presence", "contact.lid_message", "contact.saved", "poll.vote", "status.post",
                  "message.played", "history.sync", "chat.read_on_phone"]
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
    message_id: str | None = Field(default=None, min_length=1, max_length=128,
                                   description="poll.vote: the poll; message.played: the voice or video note "
                                               "(our message id or WhatsApp's)")
    options: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=12, description="poll.vote: the options chosen (none: the vote is taken back)")
    count: int | None = Field(default=None, ge=0, le=100_000,
                              description="history.sync: messages of history the phone sends (default 50)")

    @model_validator(mode="after")
    def _group_simulations_name_who_acts(self) -> DevSimulateRequest:
        needs = _NEEDS.get(self.type, ("phone",) if self.type in GROUP_SIMULATIONS else ())
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"`{self.type}` needs `{missing[0]}`")
        takes = _TAKES.get(self.type)
        extra = sorted(self.model_fields_set - {"type"} - takes) if takes is not None else []
        if extra:
            raise ValueError(f"`{extra[0]}` does not apply to `{self.type}`")
        return self

    def engine_fields(self) -> dict[str, Any]:
        """The fields given, for the simulated engine's ``dev_<type>`` method."""
        return {name: getattr(self, name) for name in self.model_fields_set if name != "type"}


class Simulated(BaseModel):
    type: str
    group: str | None = Field(default=None, description="The group it happened in (group.* types)")
    result: dict[str, Any] | None = Field(default=None, description="What the simulated WhatsApp did")
