"""Contacts and identities on the neonize engine (mixed into `NeonizeClient`).

Through neonize 0.5.2's own async client, names and signatures as installed:
``get_pn_from_lid(JID) -> JID`` and ``get_lid_from_pn(JID) -> JID`` read whatsmeow's LID map
(filled from every message's `SenderAlt`, group lists and usync answers; an empty JID when it does
not know); ``contact.get_contact(JID) -> ContactInfo`` and ``contact.get_all_contacts() ->
[Contact]`` read its contact store (address-book names from app state, push names from messages,
business names from verified names); ``is_on_whatsapp(*numbers) -> [IsOnWhatsAppResponse]`` asks
WhatsApp about several numbers in one usync query.

neonize 0.5.2 binds no usync LID query, so a pair whatsmeow never saw is ``identity_unknown``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from worker_fleet.engines.base import EngineError, e164_digits, split_jid
from worker_fleet.engines.contacts import CHECK_LIMIT, IDENTITY_UNKNOWN, ContactCard, IdentityPair, PhoneCheck
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.neonize_mapping import LID_SERVER, PHONE_SERVER, jid_from_text, jid_text
from worker_fleet.engines.neonize_runtime import NeonizeError

log = logging.getLogger(__name__)

def _person_jid(jid: str) -> Any:
    """A neonize JID of a person (phone JID or LID, without device); `EngineError` otherwise."""
    user, server = split_jid(jid)
    if server not in (PHONE_SERVER, LID_SERVER) or not user.split(":", 1)[0].isdigit():
        raise EngineError(f"not a person's JID: {jid!r}")
    return jid_from_text(f"{user.split(':', 1)[0]}@{server}")


def _failed(operation: str, error: NeonizeError) -> EngineRefusedError:
    return EngineRefusedError("engine_operation_failed", f"{operation} failed: {error}")


def _card(jid: Any, info: Any, pair: IdentityPair | None) -> ContactCard:
    phone = jid.User if jid.Server == PHONE_SERVER else (pair.phone if pair else None)
    lid = jid_text(jid) if jid.Server == LID_SERVER else (pair.lid if pair else None)
    return ContactCard(jid=jid_text(jid), phone=phone, lid=lid, name=info.FullName or info.FirstName or None,
                       push_name=info.PushName or None, business_name=info.BusinessName or None)


class NeonizeContacts:
    """The contact calls of `NeonizeClient`."""

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_native(self) -> contextlib.AbstractAsyncContextManager[Any]: ...

    @contextlib.asynccontextmanager
    async def _native_call(self, operation: str,
                           refusal: Callable[[str, NeonizeError], Exception]) -> AsyncIterator[Any]:
        """The connected neonize client; a neonize error inside becomes `refusal(operation, error)`."""
        async with self._connected_native() as native:
            try:
                yield native
            except NeonizeError as exc:
                raise refusal(operation, exc) from exc

    def _contact_call(self, operation: str) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._native_call(operation, _failed)

    async def phone_of_lid(self, lid: str) -> IdentityPair:
        lid_jid = _person_jid(lid if "@" in lid else f"{lid}@{LID_SERVER}")
        if lid_jid.Server != LID_SERVER:
            raise EngineError(f"not a LID: {lid!r}")
        async with self._contact_call("get_pn_from_lid") as native:
            found = await native.get_pn_from_lid(lid_jid)
        if found.Server != PHONE_SERVER or not found.User:
            raise EngineRefusedError(IDENTITY_UNKNOWN, f"WhatsApp never told this device who {lid} is")
        return IdentityPair(found.User, jid_text(lid_jid))

    async def lid_of_phone(self, phone: str) -> IdentityPair:
        digits = e164_digits(phone)
        async with self._contact_call("get_lid_from_pn") as native:
            found = await native.get_lid_from_pn(jid_from_text(f"{digits}@{PHONE_SERVER}"))
        if found.Server != LID_SERVER or not found.User:
            raise EngineRefusedError(IDENTITY_UNKNOWN, f"WhatsApp never told this device the LID of {digits}")
        return IdentityPair(digits, jid_text(found))

    async def contact_info(self, jid: str) -> ContactCard | None:
        person = _person_jid(jid)
        pair = await self._pair_of(jid_text(person))
        # whatsmeow's contact store is keyed by phone JID; a LID is looked up under its phone.
        stored = jid_from_text(f"{pair.phone}@{PHONE_SERVER}") if pair is not None else person
        async with self._contact_call("contact.get_contact") as native:
            info = await native.contact.get_contact(stored)
        if not info.Found:
            return None
        return _card(stored, info, pair)

    async def contacts(self) -> list[ContactCard]:
        async with self._contact_call("contact.get_all_contacts") as native:
            found = await native.contact.get_all_contacts()
        return [_card(contact.JID, contact.Info, None) for contact in found]

    async def check_phones(self, phones: Sequence[str]) -> list[PhoneCheck]:
        if len(phones) > CHECK_LIMIT:
            raise EngineError(f"at most {CHECK_LIMIT} numbers at once")
        digits = [e164_digits(phone) for phone in phones]
        if not digits:
            return []
        async with self._contact_call("is_on_whatsapp") as native:
            answers = await native.is_on_whatsapp(*[f"+{number}" for number in digits])
        by_number = {answer.Query.removeprefix("+"): answer for answer in answers}
        checks = []
        for number in digits:
            answer = by_number.get(number)
            found = answer.IsIn if answer is not None else False
            checks.append(PhoneCheck(number, found, jid_text(answer.JID) if answer is not None and found else None))
        return checks

    async def _pair_of(self, jid: str) -> IdentityPair | None:
        """Both identities of a person (phone JID or LID), where whatsmeow's LID map knows the
        other one; None when it does not, or the session went down meanwhile."""
        try:
            if jid.endswith(f"@{LID_SERVER}"):
                return await self.phone_of_lid(jid)
            return await self.lid_of_phone(jid.split("@", 1)[0])
        except EngineError as exc:
            log.debug("no other identity for %s: %s", jid, exc)
            return None
