"""Contacts and identities in the simulated WhatsApp (mixed into `SimulatedClient`).

The simulated WhatsApp gives every number on WhatsApp the LID `simulated_lid(phone)`. The
device's contact store (its LID map and names, as whatsmeow keeps them) is the session store's
``simulated_contact`` table: WhatsApp tells the device a person's pair when it asks for their
LID, when it checks their number, and when they write. So `phone_of_lid` knows whoever wrote,
and nobody else (``identity_unknown``), as whatsmeow's store does.

Dev types (`POST /v1/dev/sessions/{id}/simulate`):
- ``contact.lid_message {phone?, text?, name?}``: someone WhatsApp names by LID only (no phone in
  the message, as in a LID-addressed chat) writes; answers the LID and the phone behind it;
- ``contact.saved {phone, name?, business_name?}``: a contact saved in the phone's address book
  (or a business profile's name) reaches the device's contact store.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker_fleet.engines.base import EngineEvent, MessageReceived, e164_digits, split_jid
from worker_fleet.engines.contacts import CHECK_LIMIT, IDENTITY_UNKNOWN, ContactCard, IdentityPair, PhoneCheck
from worker_fleet.engines.errors import EngineError, EngineRefusedError
from worker_fleet.engines.simulated_identity import simulated_is_on_whatsapp, simulated_lid
from worker_fleet.engines.simulated_store import LinkedDevice, SimulatedCredentialStore

PHONE_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"


def lid_jid(value: str) -> str:
    """A LID as ``<digits>@lid`` from the JID or its digits; `EngineError` for anything else."""
    user, server = split_jid(value) if "@" in value else (value, LID_SERVER)
    user = user.split(":", 1)[0]
    if server != LID_SERVER or not user.isdigit():
        raise EngineError(f"not a LID: {value!r}")
    return f"{user}@{LID_SERVER}"


def new_contact_phone() -> str:
    """A valid, random US number (on WhatsApp: it does not end in 0)."""
    return "1415555" + "".join(secrets.choice("0123456789") for _ in range(3)) + secrets.choice("123456789")


def _card(body: dict[str, Any]) -> ContactCard:
    return ContactCard(jid=f"{body['phone']}@{PHONE_SERVER}", phone=body["phone"], lid=body["lid"],
                       name=body.get("name"), push_name=body.get("push_name"),
                       business_name=body.get("business_name"))


class SimulatedContacts:
    """The contact calls of `SimulatedClient`."""

    _store: SimulatedCredentialStore

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_device(self) -> LinkedDevice: ...
        def _push(self, event: EngineEvent) -> None: ...

    # -- calls ------------------------------------------------------------------------------

    async def phone_of_lid(self, lid: str) -> IdentityPair:
        self._connected_device()
        known = self._store.contact(lid=lid_jid(lid))
        if known is None:
            raise EngineRefusedError(IDENTITY_UNKNOWN, f"WhatsApp never told this device who {lid} is")
        return IdentityPair(known["phone"], known["lid"])

    async def lid_of_phone(self, phone: str) -> IdentityPair:
        self._connected_device()
        digits = e164_digits(phone)
        if not simulated_is_on_whatsapp(digits):
            raise EngineRefusedError(IDENTITY_UNKNOWN, f"{digits} is not on WhatsApp")
        body = self._tell_device(digits)
        return IdentityPair(body["phone"], body["lid"])

    async def contact_info(self, jid: str) -> ContactCard | None:
        self._connected_device()
        user, server = split_jid(jid)
        if server == LID_SERVER:
            body = self._store.contact(lid=lid_jid(jid))
        elif server == PHONE_SERVER:
            body = self._store.contact(phone=e164_digits(user.split(":", 1)[0]))
        else:
            raise EngineError(f"not a person's JID: {jid!r}")
        return _card(body) if body is not None else None

    async def contacts(self) -> list[ContactCard]:
        self._connected_device()
        return [_card(body) for body in self._store.contacts()]

    async def check_phones(self, phones: Sequence[str]) -> list[PhoneCheck]:
        self._connected_device()
        if len(phones) > CHECK_LIMIT:
            raise EngineError(f"at most {CHECK_LIMIT} numbers at once")
        checks = []
        for phone in phones:
            digits = e164_digits(phone)
            found = simulated_is_on_whatsapp(digits)
            if found:
                self._tell_device(digits)
            checks.append(PhoneCheck(digits, found, f"{digits}@{PHONE_SERVER}" if found else None))
        return checks

    # -- dev simulations --------------------------------------------------------------------

    async def dev_contact_lid_message(self, phone: str | None = None, text: str | None = None,
                                      name: str | None = None) -> dict[str, Any]:
        self._connected_device()
        digits = e164_digits(phone) if phone else new_contact_phone()
        if not simulated_is_on_whatsapp(digits):
            raise EngineRefusedError("not_on_whatsapp", f"{digits} is not on WhatsApp")
        body = self._tell_device(digits, push_name=name)
        message = MessageReceived(
            message_id="3A" + secrets.token_hex(9).upper(), chat_jid=body["lid"], sender_jid=body["lid"],
            sender_phone=None, sender_lid=body["lid"], timestamp=datetime.now(UTC), is_from_me=False,
            is_group=False, kind="text", text=text or "Hello", raw={"conversation": text or "Hello"})
        self._push(message)
        return {"lid": body["lid"], "phone": digits, "wa_id": message.message_id}

    async def dev_contact_saved(self, phone: str | None = None, name: str | None = None,
                                business_name: str | None = None) -> dict[str, Any]:
        self._connected_device()
        if phone is None:
            raise EngineError("contact.saved needs `phone`")
        digits = e164_digits(phone)
        if not simulated_is_on_whatsapp(digits):
            raise EngineRefusedError("not_on_whatsapp", f"{digits} is not on WhatsApp")
        body = self._tell_device(digits, name=name, business_name=business_name)
        return {"phone": body["phone"], "lid": body["lid"], "name": body.get("name"),
                "business_name": body.get("business_name")}

    def _tell_device(self, phone: str, **names: str | None) -> dict[str, Any]:
        """WhatsApp tells the device `phone`'s LID (and any names given): into its contact store."""
        body = self._store.contact(phone=phone) or {"phone": phone, "lid": simulated_lid(phone)}
        body.update({key: value for key, value in names.items() if value})
        self._store.save_contact(body)
        return body
