"""Commands: requests for a worker to act, sent on the connect queue or a worker's inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from whatsam.contracts.base import Message


class ConnectSession(Message):
    """Ask any worker with free capacity to claim the session's lease and open its socket."""

    type: Literal["session.connect"] = "session.connect"
    session_id: str
    tenant_id: str
    # The card's status version when the connect was asked for, so a worker can drop a
    # command that a later disconnect or delete has overtaken.
    status_version: int
    requested_at: datetime


Command = Annotated[ConnectSession, Field(discriminator="type")]

_command_adapter: TypeAdapter[Command] = TypeAdapter(Command)


def decode_command(raw: str | bytes) -> Command:
    """Parse a queue body into its command; raises pydantic.ValidationError on a bad body."""
    return _command_adapter.validate_json(raw)
