"""Contacts and identities in the engine interface (spec §3.9): a person's phone and LID, what the
engine's contact store knows about them, and whether numbers are on WhatsApp.

Phones are E.164 digits without '+'; LIDs are ``<digits>@lid`` JIDs. A lookup WhatsApp cannot
answer is refused with `IDENTITY_UNKNOWN`; a bad phone or JID raises `EngineError` (the caller's
invalid input)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from whatsam.contracts.contacts import CHECK_LIMIT as CHECK_LIMIT

# WhatsApp does not know the other identity of this phone or LID.
IDENTITY_UNKNOWN = "identity_unknown"


@dataclass(frozen=True, slots=True)
class IdentityPair:
    phone: str
    lid: str


@dataclass(frozen=True, slots=True)
class ContactCard:
    """One person in the engine's contact store: names as the address book (`name`), the person
    (`push_name`) and their business profile (`business_name`) give them; None where unset."""

    jid: str
    phone: str | None
    lid: str | None
    name: str | None
    push_name: str | None
    business_name: str | None


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    phone: str
    on_whatsapp: bool
    jid: str | None


class ContactOperations(Protocol):
    async def phone_of_lid(self, lid: str) -> IdentityPair:
        """The phone behind `lid`; refused with `IDENTITY_UNKNOWN` when WhatsApp never told."""
        ...

    async def lid_of_phone(self, phone: str) -> IdentityPair:
        """The LID of `phone`; refused with `IDENTITY_UNKNOWN` when WhatsApp never told."""
        ...

    async def contact_info(self, jid: str) -> ContactCard | None:
        """What the contact store knows about the person `jid` (a phone JID or a LID); None if nothing."""
        ...

    async def contacts(self) -> list[ContactCard]:
        """Everyone in the engine's contact store."""
        ...

    async def check_phones(self, phones: Sequence[str]) -> list[PhoneCheck]:
        """Which of up to `CHECK_LIMIT` numbers are on WhatsApp, in one round trip, in order."""
        ...
