"""Recipients as WhatsApp JIDs: phone numbers in any common format become
`<E.164 digits>@s.whatsapp.net`; group, LID and channel (newsletter) JIDs are accepted as they are."""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

from whatsam.errors import Unprocessable, ValidationFailed

USER_SERVER = "s.whatsapp.net"
_GROUP = re.compile(r"^\d{5,30}(-\d{5,20})?@g\.us$")
_LID = re.compile(r"^\d{5,30}@lid$")
_USER = re.compile(r"^(\d{7,15})@s\.whatsapp\.net$")
# A channel (newsletter); sending to one needs this account to own it.
_CHANNEL = re.compile(r"^\d{5,30}@newsletter$")


def phone_digits(raw: str) -> str | None:
    """E.164 digits (no '+') of a valid phone number, or None."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text if text.startswith("+") else f"+{text}", None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def to_jid(raw: str) -> str:
    """The JID to send to (a person, group or channel), or a 400 `invalid_recipient` that says what
    was wrong."""
    value = raw.strip()
    if "@" in value:
        user = _USER.match(value)
        if user and phone_digits(user.group(1)):
            return value
        if _GROUP.match(value) or _LID.match(value) or _CHANNEL.match(value):
            return value
        raise ValidationFailed("Not a WhatsApp JID we can send to.", code="invalid_recipient", details={"to": raw})
    digits = phone_digits(value)
    if digits is None:
        raise ValidationFailed("Not a valid phone number; use E.164, e.g. +14155552671.", code="invalid_recipient",
                               details={"to": raw})
    return f"{digits}@{USER_SERVER}"


def phone_of(jid: str) -> str | None:
    user = _USER.match(jid)
    return user.group(1) if user else None


def is_person(jid: str) -> bool:
    """A phone or LID JID: someone's chat, not a group, channel or status."""
    return bool(_USER.match(jid) or _LID.match(jid))


def is_valid_channel(jid: str) -> bool:
    """A well-formed channel JID (``<digits>@newsletter``)."""
    return bool(_CHANNEL.match(jid))


def is_group(jid: str) -> bool:
    return jid.endswith("@g.us")


def is_valid_group(jid: str) -> bool:
    """A well-formed group JID (``<digits>[-<digits>]@g.us``)."""
    return bool(_GROUP.match(jid))


def jid_from_path(raw: str, server: str, valid: Callable[[str], bool], *, what: str, code: str) -> str:
    """A group or channel id from a path: its JID on `server`, or just its digits; else a 400 `code`."""
    value = raw.strip()
    candidate = value if "@" in value else f"{value}@{server}"
    if not valid(candidate):
        raise ValidationFailed(f"Not a {what} id; {what}s are `…@{server}` JIDs.", code=code, details={what: raw})
    return candidate


def mentions_of(to: str, mentions: list[str] | None, mention_all: bool) -> dict[str, object]:
    """The stored form of a message's mentions: people as JIDs (each once), and `mention_all`
    only for a group chat, where the worker expands it to the participants when it sends."""
    stored: dict[str, object] = {}
    if mentions:
        jids = [to_jid(item) for item in mentions]
        if any(is_group(jid) for jid in jids):
            raise ValidationFailed("`mentions` name people, not groups.", code="invalid_mention")
        stored["mentions"] = list(dict.fromkeys(jids))
    if mention_all:
        if not is_group(to_jid(to)):
            raise Unprocessable("`mention_all` needs a group chat as `to`.", code="mention_all_needs_group")
        stored["mention_all"] = True
    return stored
