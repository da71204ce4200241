"""The wire format of every command and event: one pydantic schema per message, used by the
API, the Lambda handlers and the workers alike, so the two sides cannot drift apart."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    # Unknown fields are ignored, not refused: during a rolling deploy a newer worker or API
    # adds a field that the older side must still accept (it simply does not know it yet).
    # Request bodies typed by people are the opposite: `whatsam.http.schemas.Body` refuses them.
    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_json(self) -> str:
        return self.model_dump_json()
