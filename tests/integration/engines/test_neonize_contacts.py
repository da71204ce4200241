"""Contacts and identities on the neonize engine, through neonize's own `NewAClient` with only the
Go library boundary faked (`FakeGo`, see test_neonize_groups): the serialized requests each call
makes and whatsmeow's answers as serialized protobufs of neonize's own proto classes."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from tests.integration.engines.test_neonize_engine import jid
from tests.integration.engines.test_neonize_groups import FakeGo, jid_arg, run_connected
from worker_fleet.engines.base import EngineError, EngineNotConnectedError
from worker_fleet.engines.contacts import IDENTITY_UNKNOWN, ContactCard, IdentityPair, PhoneCheck
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.neonize_engine import NeonizeClient
from worker_fleet.engines.neonize_runtime import neonize_proto

ANN_LID, ANN = "111222333444555", "14155552671"


def _store_answers(fake: FakeGo, client: NeonizeClient) -> None:
    """neonize's ContactStore calls Go through its own binding; the fake plays that one too."""
    attempt = client._attempt
    assert attempt is not None
    attempt.native.contact._ContactStore__client = fake


def _pair_known(fake: FakeGo) -> None:
    fake.answer("GetPNFromLID", neonize_proto.GetJIDFromStoreReturnFunction(Jid=jid(ANN, "s.whatsapp.net")))
    fake.answer("GetLIDFromPN", neonize_proto.GetJIDFromStoreReturnFunction(Jid=jid(ANN_LID, "lid")))


def _info(**names: str) -> Any:
    return neonize_proto.ContactInfo(Found=True, FirstName=names.get("first", ""), FullName=names.get("full", ""),
                                     PushName=names.get("push", ""), BusinessName=names.get("business", ""),
                                     RedactedPhone="")


def test_lid_lookups_read_whatsmeows_lid_map(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        for call in (client.phone_of_lid(f"{ANN_LID}@lid"), client.lid_of_phone(ANN)):
            with pytest.raises(EngineRefusedError) as unknown:  # the fake's store knows nobody yet
                await call
            assert unknown.value.code == IDENTITY_UNKNOWN
        _pair_known(fake)
        assert await client.phone_of_lid(f"{ANN_LID}:3@lid") == IdentityPair(ANN, f"{ANN_LID}@lid")
        assert await client.lid_of_phone(f"+{ANN}") == IdentityPair(ANN, f"{ANN_LID}@lid")
        asked = [jid_arg(args[1]) for name, args in fake.calls if name in ("GetPNFromLID", "GetLIDFromPN")]
        assert asked[-2:] == [f"{ANN_LID}@lid", f"{ANN}@s.whatsapp.net"], "the device part is dropped"

        fake.answer("GetPNFromLID", neonize_proto.GetJIDFromStoreReturnFunction(Error="sql: database is closed"))
        with pytest.raises(EngineRefusedError) as failed:
            await client.phone_of_lid(f"{ANN_LID}@lid")
        assert failed.value.code == "engine_operation_failed"
        for bad in ("12345@g.us", "abc@lid", f"{ANN}@s.whatsapp.net"):
            with pytest.raises(EngineError):
                await client.phone_of_lid(bad)

    run_connected(tmp_path, scenario)


def test_contact_info_reads_the_contact_store_under_the_phone(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        _store_answers(fake, client)
        _pair_known(fake)
        fake.answer("GetContact", neonize_proto.ContactsGetContactReturnFunction(
            ContactInfo=_info(first="Ann", full="Ann Smith", push="Annie")))
        card = await client.contact_info(f"{ANN_LID}@lid")
        assert card == ContactCard(f"{ANN}@s.whatsapp.net", ANN, f"{ANN_LID}@lid", "Ann Smith", "Annie", None)
        ((_, stored, length),) = fake.called("GetContact")
        assert jid_arg(stored) == f"{ANN}@s.whatsapp.net" and length == len(stored)

        fake.answer("GetContact", neonize_proto.ContactsGetContactReturnFunction(
            ContactInfo=neonize_proto.ContactInfo(Found=False, FirstName="", FullName="", PushName="",
                                                  BusinessName="", RedactedPhone="")))
        assert await client.contact_info(f"{ANN}@s.whatsapp.net") is None
        fake.answer("GetContact", neonize_proto.ContactsGetContactReturnFunction(Error="no store"))
        with pytest.raises(EngineRefusedError):
            await client.contact_info(f"{ANN}@s.whatsapp.net")

        fake.answer("GetAllContacts", neonize_proto.ContactsGetAllContactsReturnFunction(Contact=[
            neonize_proto.Contact(JID=jid(ANN, "s.whatsapp.net"), Info=_info(full="Ann Smith", business="Ann's")),
            neonize_proto.Contact(JID=jid("999888777666555", "lid"), Info=_info(push="Zed"))]))
        assert await client.contacts() == [
            ContactCard(f"{ANN}@s.whatsapp.net", ANN, None, "Ann Smith", None, "Ann's"),
            ContactCard("999888777666555@lid", None, "999888777666555@lid", None, "Zed", None)]

    run_connected(tmp_path, scenario)


def test_a_batch_check_is_one_is_on_whatsapp_query(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("IsOnWhatsApp", neonize_proto.IsOnWhatsAppReturnFunction(IsOnWhatsAppResponse=[
            neonize_proto.IsOnWhatsAppResponse(Query=f"+{ANN}", JID=jid(ANN, "s.whatsapp.net"), IsIn=True),
            neonize_proto.IsOnWhatsAppResponse(Query="+447911123450", JID=jid("447911123450", "s.whatsapp.net"),
                                               IsIn=False)]))
        checks = await client.check_phones([ANN, "+447911123450", "+16502530001"])
        assert checks == [PhoneCheck(ANN, True, f"{ANN}@s.whatsapp.net"), PhoneCheck("447911123450", False, None),
                          PhoneCheck("16502530001", False, None)]
        ((_, numbers, length),) = fake.called("IsOnWhatsApp")
        assert numbers == f"+{ANN} +447911123450 +16502530001".encode() and length == len(numbers)

        with pytest.raises(EngineError):
            await client.check_phones(["not a phone"])
        with pytest.raises(EngineError):
            await client.check_phones([ANN] * 51)
        assert len(fake.called("IsOnWhatsApp")) == 1, "bad input never reaches WhatsApp"
        fake.answer("IsOnWhatsApp", neonize_proto.IsOnWhatsAppReturnFunction(Error="usync failed"))
        with pytest.raises(EngineRefusedError) as failed:
            await client.check_phones([ANN])
        assert failed.value.code == "engine_operation_failed"

    run_connected(tmp_path, scenario)


def test_contact_calls_need_a_connected_session(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, *_: Any) -> None:
        await client.stop()
        for call in (client.phone_of_lid(f"{ANN_LID}@lid"), client.lid_of_phone(ANN), client.contacts(),
                     client.contact_info(f"{ANN}@s.whatsapp.net"), client.check_phones([ANN])):
            with pytest.raises(EngineNotConnectedError):
                await call

    run_connected(tmp_path, scenario)
