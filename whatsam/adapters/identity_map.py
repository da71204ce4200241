"""The identity map (spec §3.9): every phone↔LID pair a session learns, kept per session in
DynamoDB, so events and answers can carry both identities of a person WhatsApp named by one.

Pairs come from message events (WhatsApp's `SenderAlt`, or the worker's lookup in the engine's
own store), group participant lists, lookups through the API and history sync: whoever learns a
pair calls `learn(session_id, pairs)` with ``(phone digits, LID JID)`` tuples. Someone who wrote
under one identity only is remembered too (`note`), so the contact list holds everyone who wrote.

A pair is stored under both identities (``pn:…`` and ``lid:…`` items of the session), so a
lookup either way is one strongly consistent read."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from whatsam.adapters.conditions import save_if
from whatsam.adapters.identity_models import IdentityModel
from whatsam.adapters.messages import delete_all
from whatsam.domain.model import utcnow

LID_SERVER = "lid"
# Pairs this process wrote lately: a chatty contact's pair is written once, not per message.
_RECENT_PAIRS = 4096


@dataclass(frozen=True, slots=True)
class Identity:
    """A person's phone (E.164 digits) and LID JID, as far as the session knows them."""

    phone: str | None
    lid: str | None


def phone_key(phone: str) -> str:
    return f"pn:{phone}"


def lid_key(lid: str) -> str:
    return f"lid:{lid}"


def normal_phone(value: str) -> str:
    """Digits of a phone number or phone JID, without '+', device or server."""
    return value.strip().removeprefix("+").split("@", 1)[0].split(":", 1)[0]


def normal_lid(value: str) -> str:
    """A LID as its JID without device: ``<digits>@lid``."""
    user = value.strip().split("@", 1)[0].split(":", 1)[0]
    return f"{user}@{LID_SERVER}"


class IdentityMap:
    def __init__(self) -> None:
        self._recent: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def learn(self, session_id: str, pairs: Iterable[tuple[str, str]]) -> int:
        """Store ``(phone digits or phone JID, LID JID)`` pairs of one session; a LID now paired
        with another phone takes the newer pair. Answers how many pairs were written."""
        fresh = {(normal_phone(phone), normal_lid(lid)) for phone, lid in pairs if phone and lid}
        fresh = {pair for pair in fresh if not self._seen(session_id, *pair)}
        if not fresh:
            return 0
        now = utcnow()
        with IdentityModel.batch_write() as batch:
            for phone, lid in fresh:
                for key in (phone_key(phone), lid_key(lid)):
                    batch.save(IdentityModel(session_id=session_id, key=key, phone=phone, lid=lid, updated_at=now))
        with self._lock:
            for phone, lid in fresh:
                self._recent[(session_id, phone, lid)] = None
            while len(self._recent) > _RECENT_PAIRS:
                self._recent.popitem(last=False)
        return len(fresh)

    def note(self, session_id: str, *, phone: str | None = None, lid: str | None = None) -> None:
        """Someone who showed up under one identity only: remembered unless already known."""
        if phone:
            key, phone = phone_key(normal_phone(phone)), normal_phone(phone)
        elif lid:
            key, lid = lid_key(normal_lid(lid)), normal_lid(lid)
        else:
            return
        save_if(IdentityModel(session_id=session_id, key=key, phone=phone, lid=lid, updated_at=utcnow()),
                IdentityModel.key.does_not_exist())

    def phone_of(self, session_id: str, lid: str) -> str | None:
        return self._read(session_id, lid_key(normal_lid(lid))).phone

    def lid_of(self, session_id: str, phone: str) -> str | None:
        return self._read(session_id, phone_key(normal_phone(phone))).lid

    def complete(self, session_id: str, phone: str | None, lid: str | None) -> Identity:
        """Both identities where the map knows the one missing."""
        if phone and not lid:
            return Identity(phone, self.lid_of(session_id, phone))
        if lid and not phone:
            return Identity(self.phone_of(session_id, lid), lid)
        return Identity(phone, lid)

    def people(self, session_id: str) -> list[Identity]:
        """Everyone the session knows, once each (a pair appears once, not under both keys)."""
        found: dict[tuple[str | None, str | None], Identity] = {}
        for item in IdentityModel.query(session_id):
            if item.key.startswith("lid:") and item.phone:
                continue  # the same pair is listed under its phone
            found[(item.phone, item.lid)] = Identity(item.phone, item.lid)
        return list(found.values())

    def purge_session(self, session_id: str) -> int:
        """Forget everyone the session knew (it was deleted); how many items."""
        with self._lock:
            self._recent = OrderedDict((key, None) for key in self._recent if key[0] != session_id)
        return delete_all(IdentityModel, IdentityModel.query(session_id))

    def _read(self, session_id: str, key: str) -> Identity:
        try:
            item = IdentityModel.get(session_id, key, consistent_read=True)
        except DoesNotExist:
            return Identity(None, None)
        return Identity(item.phone, item.lid)

    def _seen(self, session_id: str, phone: str, lid: str) -> bool:
        with self._lock:
            return (session_id, phone, lid) in self._recent
