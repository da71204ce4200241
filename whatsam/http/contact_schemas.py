"""Bodies and answers of the contact and identity routes (spec §3.9); each is its route's OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from whatsam.contracts.contacts import CHECK_LIMIT
from whatsam.http.schemas import Body

PhoneNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=32)]


class IdentityView(BaseModel):
    lid: str = Field(description="The person's LID JID (`<digits>@lid`)")
    phone: str = Field(description="Their phone number, E.164 digits without `+`")


class ContactView(BaseModel):
    jid: str = Field(description="The phone JID where the phone is known, else the LID")
    phone: str | None = Field(description="E.164 digits without `+`, where known")
    lid: str | None = Field(description="The LID JID, where known")
    name: str | None = Field(description="The name the phone's address book gives them")
    push_name: str | None = Field(description="The name they gave themselves")
    business_name: str | None = Field(description="Their business profile's verified name")
    on_whatsapp: bool | None = Field(description="Whether the number is on WhatsApp")


class ContactList(BaseModel):
    contacts: list[ContactView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class CheckRequest(Body):
    phones: list[PhoneNumber] = Field(min_length=1, max_length=CHECK_LIMIT, description="E.164 numbers")


class PhoneCheckView(BaseModel):
    phone: str
    on_whatsapp: bool
    jid: str | None = Field(description="The number's JID when it is on WhatsApp")


class CheckResults(BaseModel):
    results: list[PhoneCheckView] = Field(description="One per number asked, in the order asked")


class ContactExists(BaseModel):
    phone: str
    exists: bool
    jid: str | None
