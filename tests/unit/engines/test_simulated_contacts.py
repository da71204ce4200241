"""Contacts and identities in the simulated WhatsApp: its device store knows a person's LID once
WhatsApp told it (a lookup, a number check, a message), and nobody else's; dev simulations."""

from __future__ import annotations

import asyncio
import pathlib

import pytest

from tests.unit.engines.test_simulated_engine import open_client, paired
from worker_fleet.engines.base import EngineError, EngineNotConnectedError, MessageReceived
from worker_fleet.engines.contacts import CHECK_LIMIT, IDENTITY_UNKNOWN, ContactCard, IdentityPair, PhoneCheck
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.simulated import simulated_lid

BOB = "447911123456"


def test_a_lid_is_unknown_until_whatsapp_told_the_device(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        with pytest.raises(EngineRefusedError) as unknown:
            await client.phone_of_lid(simulated_lid(BOB))
        assert unknown.value.code == IDENTITY_UNKNOWN
        assert await client.lid_of_phone(f"+{BOB}") == IdentityPair(BOB, simulated_lid(BOB))
        assert await client.phone_of_lid(simulated_lid(BOB)) == IdentityPair(BOB, simulated_lid(BOB))
        assert await client.phone_of_lid(simulated_lid(BOB).removesuffix("@lid")) == IdentityPair(
            BOB, simulated_lid(BOB))
        with pytest.raises(EngineRefusedError) as not_on_whatsapp:
            await client.lid_of_phone("447911123450")
        assert not_on_whatsapp.value.code == IDENTITY_UNKNOWN
        for bad in ("12@s.whatsapp.net", "abc@lid"):
            with pytest.raises(EngineError):
                await client.phone_of_lid(bad)
        await client.stop()

    asyncio.run(scenario())


def test_a_lid_message_names_its_sender_by_lid_only(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        result = await client.dev_contact_lid_message(phone="+16502530001", text="hi", name="Cleo")
        message = await recorder.wait_for(MessageReceived)
        lid = simulated_lid("16502530001")
        assert result == {"lid": lid, "phone": "16502530001", "wa_id": message.message_id}
        assert (message.sender_jid, message.chat_jid, message.sender_lid, message.sender_phone) == (
            lid, lid, lid, None)
        assert await client.phone_of_lid(lid) == IdentityPair("16502530001", lid)
        assert await client.contact_info(lid) == ContactCard(
            "16502530001@s.whatsapp.net", "16502530001", lid, None, "Cleo", None)
        with pytest.raises(EngineRefusedError):
            await client.dev_contact_lid_message(phone="+447911123450")
        await client.stop()

    asyncio.run(scenario())


def test_saved_contacts_their_names_and_the_batch_check(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        assert await client.contact_info(f"{BOB}@s.whatsapp.net") is None
        await client.dev_contact_saved(phone=f"+{BOB}", name="Bob", business_name="Bob's Bikes")
        bob = ContactCard(f"{BOB}@s.whatsapp.net", BOB, simulated_lid(BOB), "Bob", None, "Bob's Bikes")
        assert await client.contact_info(f"{BOB}@s.whatsapp.net") == bob
        assert await client.contacts() == [bob]
        checks = await client.check_phones(["+14155552671", "447911123450"])
        assert checks == [PhoneCheck("14155552671", True, "14155552671@s.whatsapp.net"),
                          PhoneCheck("447911123450", False, None)]
        assert {c.phone for c in await client.contacts()} == {BOB, "14155552671"}, "a check tells the device"
        with pytest.raises(EngineError):
            await client.check_phones(["+14155552671"] * (CHECK_LIMIT + 1))
        with pytest.raises(EngineError):
            await client.dev_contact_saved(name="nobody")
        with pytest.raises(EngineError):
            await client.contact_info("120363000000000001@g.us")
        await client.stop()

    asyncio.run(scenario())


def test_contact_calls_need_a_connected_session(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = open_client(tmp_path)
        await client.start()
        for call in (client.phone_of_lid("1234567@lid"), client.lid_of_phone(BOB), client.contacts(),
                     client.contact_info(f"{BOB}@s.whatsapp.net"), client.check_phones([BOB]),
                     client.dev_contact_lid_message()):
            with pytest.raises(EngineNotConnectedError):
                await call
        await client.stop()

    asyncio.run(scenario())
