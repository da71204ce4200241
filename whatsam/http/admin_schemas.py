"""Request bodies of the admin routes."""

from __future__ import annotations

from pydantic import StrictBool, model_validator

from whatsam.domain.tiers import Tier
from whatsam.http.schemas import Body


class UpdateUserRequest(Body):
    # Strict: `"false"` or `0` for `active` is a 400, not a guess.
    tier: Tier | None = None
    active: StrictBool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateUserRequest:
        if self.tier is None and self.active is None:
            raise ValueError("give `tier` or `active`")
        return self
