"""WhatsApp's poll votes name the chosen options by the SHA-256 of each option's name (whatsmeow's
``HashPollOptions``), so a vote can be read only by someone who knows the poll's options."""

from __future__ import annotations

import hashlib


def option_hash(name: str) -> str:
    """The hex SHA-256 a vote carries for the option called `name`."""
    return hashlib.sha256(name.encode()).hexdigest()
