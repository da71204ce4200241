"""The wire format of every command and event: one pydantic schema per message, used by the
API, the Lambda handlers and the workers alike, so the two sides cannot drift apart."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> str:
        return self.model_dump_json()
