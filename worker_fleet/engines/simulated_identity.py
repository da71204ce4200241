"""Who is who in the simulated WhatsApp: deterministic phones, LIDs and reachability, shared by
the simulated client and its groups."""

from __future__ import annotations

import hashlib

from worker_fleet.engines.errors import EngineError


def digits_from(seed: str, count: int) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(str(byte % 10) for byte in digest[:count])


def simulated_phone(session_id: str) -> str:
    return "1555" + digits_from(f"phone:{session_id}", 7)


def simulated_lid(phone: str) -> str:
    return "1" + digits_from(f"lid:{phone}", 14) + "@lid"


def simulated_is_on_whatsapp(phone: str) -> bool:
    """Numbers ending in 0 are not on WhatsApp."""
    digits = phone.strip().removeprefix("+")
    if not digits.isdigit():
        raise EngineError(f"not an E.164 phone number: {phone!r}")
    return not digits.endswith("0")
