"""Values of spec §3.10 shared by the API and the engines: WhatsApp's privacy settings and the
values each accepts, own and contacts' presence states."""

from __future__ import annotations

from typing import Literal, get_args

OwnPresence = Literal["available", "unavailable"]
TypingState = Literal["composing", "recording", "paused"]
PrivacyName = Literal["last_seen", "online", "profile_picture", "about", "read_receipts", "groups_add", "call_add"]
PrivacyValue = Literal["all", "contacts", "contact_blacklist", "match_last_seen", "known", "none"]
PRIVACY_NAMES: tuple[str, ...] = get_args(PrivacyName)
# WhatsApp accepts only some values per setting (those its apps offer).
PRIVACY_CHOICES: dict[str, tuple[str, ...]] = {
    "last_seen": ("all", "contacts", "contact_blacklist", "none"),
    "online": ("all", "match_last_seen"),
    "profile_picture": ("all", "contacts", "contact_blacklist", "none"),
    "about": ("all", "contacts", "contact_blacklist", "none"),
    "read_receipts": ("all", "none"),
    "groups_add": ("all", "contacts", "contact_blacklist"),
    "call_add": ("all", "known"),
}
