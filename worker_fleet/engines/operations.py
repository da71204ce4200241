"""The engine methods the control plane may run through an `EngineCall` (see
`worker_fleet.engine_calls`), by feature. Each feature of spec §3.9 to 3.10 lists its methods here;
the shard runs nothing that is not listed (`shard.CLIENT_OPERATIONS`).

Every method takes keyword arguments with JSON values and answers JSON values or dataclasses of
them. An engine that cannot do one (neonize 0.5.2 lacks a few calls) either does not define it
or raises `EngineRefusedError("not_supported_by_engine", …)`: both answer `501`."""

from __future__ import annotations

from worker_fleet.engines.chats import CHAT_OPERATIONS

# Dev only: the simulated WhatsApp produces an event (`simulations.Simulations.simulate`).
DEV_OPERATIONS = frozenset({"simulate"})

# Profile, presence, calls, blocklist and privacy (`engines.profile`).
PROFILE_OPERATIONS = frozenset({
    "get_profile", "update_profile", "set_profile_picture", "remove_profile_picture", "contact_picture",
    "set_own_presence", "subscribe_presence", "reject_call", "blocklist", "update_blocklist", "privacy_settings",
    "set_privacy",
})

# §3.9 contacts and identities (`engines.contacts`).
CONTACT_OPERATIONS = frozenset({"phone_of_lid", "lid_of_phone", "contact_info", "contacts", "check_phones"})

# Channels (newsletters): `engines.channels.ChannelOperations`.
CHANNEL_OPERATIONS = frozenset({"create_channel", "followed_channels", "channel_info", "follow_channel",
                                "unfollow_channel", "channel_messages"})

ENGINE_CALL_OPERATIONS: frozenset[str] = (DEV_OPERATIONS | PROFILE_OPERATIONS | CONTACT_OPERATIONS | CHANNEL_OPERATIONS
                                          | CHAT_OPERATIONS)
