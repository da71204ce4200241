"""What the API and the engines agree on about contacts (spec §3.9)."""

from __future__ import annotations

# The most numbers one check asks WhatsApp about, in one round trip (`POST /v1/contacts/check`).
CHECK_LIMIT = 50
