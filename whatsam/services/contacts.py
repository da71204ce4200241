"""Contacts and identities (spec §3.9): who is behind a LID, what WhatsApp knows about a person,
which numbers are on WhatsApp.

Identity lookups answer from the session's identity map first and ask WhatsApp (an engine call
to the worker holding the session) only when the map does not know; what WhatsApp answers is
learnt into the map. Contacts come from the engine's contact store plus everyone the map knows
(all who wrote). Number checks go to WhatsApp in one round trip for up to 50 numbers."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from whatsam.adapters.identity_map import Identity, IdentityMap
from whatsam.errors import AppError, NotFound, ValidationFailed
from whatsam.messaging import recipients
from whatsam.services.engine_calls import EngineCalls
from whatsam.services.lifecycle import e164_digits

_LID = re.compile(r"^(\d{5,30})(?::\d{1,4})?(@lid)?$")
_PHONE_JID = re.compile(r"^(\d{5,20})(?::\d{1,4})?@s\.whatsapp\.net$")

# WhatsApp does not know the other identity: the API's 404.
_REFUSALS: dict[str, type[AppError]] = {"identity_unknown": NotFound}


def lid_of(raw: str) -> str:
    """A LID as ``<digits>@lid`` from the JID or its digits; else a 400."""
    match = _LID.match(raw.strip())
    if match is None:
        raise ValidationFailed("Not a LID; LIDs are `<digits>@lid`.", code="invalid_lid", details={"lid": raw})
    return f"{match.group(1)}@lid"


def person_of(raw: str) -> Identity:
    """A contact id (E.164 number, phone JID or LID) as the identity it names; else a 400."""
    value = raw.strip()
    phone_jid = _PHONE_JID.match(value)
    if phone_jid is not None:
        return Identity(e164_digits(phone_jid.group(1)), None)
    if value.endswith("@lid"):
        return Identity(None, lid_of(value))
    digits = recipients.phone_digits(value)
    if digits is None:
        raise ValidationFailed("Not a contact id: use an E.164 number, a phone JID or a LID.",
                               code="invalid_contact", details={"contact": raw})
    return Identity(digits, None)


def encode_cursor(jid: str) -> str:
    return base64.urlsafe_b64encode(jid.encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The last JID of the previous page; a 400 for anything `encode_cursor` did not write."""
    try:
        jid = base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        jid = ""
    if not jid.endswith((f"@{recipients.USER_SERVER}", "@lid")):
        raise ValidationFailed("Not a cursor this list returned.", code="invalid_cursor")
    return jid


def _contact(phone: str | None, lid: str | None, card: dict[str, Any] | None = None,
             on_whatsapp: bool | None = True) -> dict[str, Any]:
    card = card or {}
    jid = f"{phone}@{recipients.USER_SERVER}" if phone else lid
    return {"jid": jid, "phone": phone, "lid": lid, "name": card.get("name"), "push_name": card.get("push_name"),
            "business_name": card.get("business_name"), "on_whatsapp": on_whatsapp}


class ContactService:
    def __init__(self, engine_calls: EngineCalls, identities: IdentityMap):
        self._calls = engine_calls
        self._identities = identities

    # -- identities ----------------------------------------------------------------------------

    def phone_of_lid(self, session_id: str, raw_lid: str) -> dict[str, str]:
        lid = lid_of(raw_lid)
        self._calls.card(session_id)
        return self._pair(session_id, Identity(self._identities.phone_of(session_id, lid), lid), "phone_of_lid",
                          lid=lid)

    def lid_of_phone(self, session_id: str, raw_phone: str) -> dict[str, str]:
        phone = e164_digits(raw_phone)
        self._calls.card(session_id)
        return self._pair(session_id, Identity(phone, self._identities.lid_of(session_id, phone)), "lid_of_phone",
                          phone=phone)

    def _pair(self, session_id: str, known: Identity, operation: str, **args: str) -> dict[str, str]:
        """`known` when the map holds both; else WhatsApp's answer to `operation`, learnt."""
        if known.phone and known.lid:
            return {"lid": known.lid, "phone": known.phone}
        pair: dict[str, str] = self._calls.ask(session_id, operation, _REFUSALS, **args)
        self._identities.learn(session_id, [(pair["phone"], pair["lid"])])
        return {"lid": pair["lid"], "phone": pair["phone"]}

    # -- contacts ------------------------------------------------------------------------------

    def contact(self, session_id: str, raw_id: str) -> dict[str, Any]:
        """One person: both identities (map, then WhatsApp), names from the contact store, and
        whether the number is on WhatsApp."""
        asked = person_of(raw_id)
        self._calls.card(session_id)
        known = self._identities.complete(session_id, asked.phone, asked.lid)
        if known.phone is None or known.lid is None:
            known = self._resolved(session_id, known)
        card = self._calls.ask(session_id, "contact_info", jid=_contact(known.phone, known.lid)["jid"])
        on_whatsapp = self._on_whatsapp(session_id, known.phone) if known.phone else known.lid is not None
        if known.phone is None and card is None:
            raise NotFound("This session knows nobody by that LID.", code="contact_not_found")
        return _contact(known.phone, known.lid, card, on_whatsapp)

    def _resolved(self, session_id: str, known: Identity) -> Identity:
        try:
            if known.lid is not None:
                return Identity(self.phone_of_lid(session_id, known.lid)["phone"], known.lid)
            assert known.phone is not None
            return Identity(known.phone, self.lid_of_phone(session_id, known.phone)["lid"])
        except NotFound:  # WhatsApp does not know the other identity: the contact has one
            return known

    def _on_whatsapp(self, session_id: str, phone: str) -> bool:
        return bool(self.check(session_id, [phone])["results"][0]["on_whatsapp"])

    def contacts(self, session_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
        """The engine's contact store and everyone the identity map knows, by JID."""
        after = decode_cursor(cursor) if cursor else None
        self._calls.card(session_id)
        people: dict[str, dict[str, Any]] = {}
        for person in self._identities.people(session_id):
            entry = _contact(person.phone, person.lid)
            people[entry["jid"]] = entry
        for card in self._calls.ask(session_id, "contacts"):
            known = self._identities.complete(session_id, card.get("phone"), card.get("lid"))
            entry = _contact(known.phone, known.lid, card)
            people[entry["jid"]] = entry
        ordered = [people[jid] for jid in sorted(people) if after is None or jid > after]
        page = ordered[:limit]
        more = len(ordered) > limit
        return {"contacts": page, "next_cursor": encode_cursor(page[-1]["jid"]) if more else None}

    # -- numbers -------------------------------------------------------------------------------

    def check(self, session_id: str, phones: list[str]) -> dict[str, Any]:
        """Which numbers are on WhatsApp, in one round trip; in the order asked."""
        digits = [e164_digits(phone) for phone in phones]
        results = self._calls.ask(session_id, "check_phones", phones=digits)
        return {"results": [{"phone": r["phone"], "on_whatsapp": r["on_whatsapp"], "jid": r["jid"]}
                            for r in results]}

    def exists(self, session_id: str, phone: str) -> dict[str, Any]:
        """`GET /v1/contacts/{phone}/exists`: `check` for one number."""
        result = self.check(session_id, [phone])["results"][0]
        return {"phone": result["phone"], "exists": result["on_whatsapp"], "jid": result["jid"]}

