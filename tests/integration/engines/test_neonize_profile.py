"""Profile, presence, calls, blocklist and privacy on the neonize engine, through neonize's own
client and event dispatch, with only the Go library boundary faked (`FakeGo`, see
test_neonize_groups): each call's serialized request is checked, answers are neonize's own
protobufs, and presence and call events go in through the callback neonize gave Go."""

from __future__ import annotations

import asyncio
import ctypes
import pathlib
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.engines.test_neonize_engine import unreachable_proxy
from tests.integration.engines.test_neonize_groups import OWN_PHONE, FakeGo, as_go_sends, jid, jid_arg, run_connected
from worker_fleet.engines.base import EngineError, EngineNotConnectedError
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.neonize_engine import NeonizeClient, NeonizeEngine, NeonizeOptions
from worker_fleet.engines.neonize_runtime import neonize_proto
from worker_fleet.engines.profile import (
    CallEnded,
    CallOffered,
    ChatPresenceChanged,
    PictureInfo,
    PresenceUpdated,
    ProfileInfo,
)
from worker_fleet.engines.recording import EventRecorder

ANN = "15550003333"


def call_meta(call_id: str, caller: Any, *, creator: Any | None = None) -> Any:
    return neonize_proto.BasicCallMeta(**{"from": caller}, timestamp=1_717_171_717, callCreator=creator or caller,
                                       callID=call_id)


def test_own_profile_name_about_and_picture(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("GetMe", neonize_proto.Device(JID=jid(OWN_PHONE, "s.whatsapp.net", 12), PushName="Acme"))
        fake.answer("GetUserInfo", neonize_proto.GetUserInfoReturnFunction(UsersInfo=[
            neonize_proto.GetUserInfoSingleReturnFunction(
                JID=jid(OWN_PHONE, "s.whatsapp.net"),
                UserInfo=neonize_proto.UserInfo(Status="Open 9-5", PictureID="1717"))]))
        fake.answer("SetPushName", "")
        fake.answer("SetStatusMessage", "")
        assert await client.get_profile() == ProfileInfo("Acme", "Open 9-5", "1717")
        asked = neonize_proto.JIDArray.FromString(fake.called("GetUserInfo")[0][1])
        assert [f"{j.User}@{j.Server}:{j.Device}" for j in asked.JIDS] == [f"{OWN_PHONE}@s.whatsapp.net:0"]

        await client.update_profile(name="Acme Support", about="Back at 9")
        assert [args[1] for args in fake.called("SetPushName")] == [b"Acme Support"]
        assert [args[1] for args in fake.called("SetStatusMessage")] == [b"Back at 9"]

        fake.answer("SetProfilePhoto", neonize_proto.SetGroupPhotoReturnFunction(PictureID="1718"))
        assert await client.set_profile_picture(b"\xff\xd8jpeg") == "1718"
        assert fake.called("SetProfilePhoto")[0][1:] == (b"\xff\xd8jpeg", 6)
        with pytest.raises(EngineRefusedError) as missing:
            await client.remove_profile_picture()
        assert missing.value.code == "not_supported_by_engine"

        fake.answer("SetPushName", "server refused the push name")
        with pytest.raises(EngineError, match="refused the push name"):
            await client.update_profile(name="x")

    run_connected(tmp_path, scenario)


def test_a_contacts_picture_or_none(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("GetProfilePicture", neonize_proto.GetProfilePictureReturnFunction(
            Picture=neonize_proto.ProfilePictureInfo(URL="https://pps.whatsapp.net/v/x.jpg", ID="42", Type="image")))
        picture = await client.contact_picture(f"{ANN}@s.whatsapp.net")
        assert picture == PictureInfo("https://pps.whatsapp.net/v/x.jpg", "42")
        assert jid_arg(fake.called("GetProfilePicture")[0][1]) == f"{ANN}@s.whatsapp.net"

        fake.answer("GetProfilePicture", neonize_proto.GetProfilePictureReturnFunction(
            Picture=neonize_proto.ProfilePictureInfo()))
        with pytest.raises(EngineRefusedError) as none:
            await client.contact_picture(f"{ANN}@s.whatsapp.net")
        assert none.value.code == "no_profile_picture"
        fake.answer("GetProfilePicture", neonize_proto.GetProfilePictureReturnFunction(
            Error="the user has hidden their profile picture from you"))
        with pytest.raises(EngineRefusedError) as hidden:
            await client.contact_picture(f"{ANN}@s.whatsapp.net")
        assert hidden.value.code == "no_profile_picture"

    run_connected(tmp_path, scenario)


def test_presence_own_and_subscribed_and_its_events(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, recorder: EventRecorder, go: Any) -> None:
        fake.answer("SendPresence", "")
        fake.answer("SubscribePresence", "")
        await client.set_own_presence("available")
        await client.set_own_presence("unavailable")
        assert [args[1] for args in fake.called("SendPresence")] == [b"available", b"unavailable"]
        await client.subscribe_presence(f"{ANN}@s.whatsapp.net")
        assert jid_arg(fake.called("SubscribePresence")[0][1]) == f"{ANN}@s.whatsapp.net"

        await go.event(as_go_sends(neonize_proto.Presence(From=jid(ANN, "s.whatsapp.net"), Unavailable=True,
                                                          LastSeen=1_717_171_000)))
        away = await recorder.wait_for(PresenceUpdated)
        assert away == PresenceUpdated(f"{ANN}@s.whatsapp.net", "unavailable",
                                       datetime.fromtimestamp(1_717_171_000, UTC))
        await go.event(as_go_sends(neonize_proto.Presence(From=jid(ANN, "s.whatsapp.net"), Unavailable=False)))
        back = await recorder.wait_for(PresenceUpdated, count=2)
        assert (back.state, back.last_seen) == ("available", None)

        group = jid("120363000000000001", "g.us")
        for state, media in ((neonize_proto.ChatPresence.COMPOSING, neonize_proto.ChatPresence.TEXT),
                             (neonize_proto.ChatPresence.COMPOSING, neonize_proto.ChatPresence.AUDIO),
                             (neonize_proto.ChatPresence.PAUSED, neonize_proto.ChatPresence.TEXT)):
            await go.event(as_go_sends(neonize_proto.ChatPresence(
                MessageSource=neonize_proto.MessageSource(Chat=group, Sender=jid(ANN, "s.whatsapp.net", 3),
                                                          IsGroup=True), State=state, Media=media)))
        typing = [await recorder.wait_for(ChatPresenceChanged, count=n) for n in (1, 2, 3)]
        assert [t.state for t in typing] == ["composing", "recording", "paused"]
        assert (typing[0].chat_jid, typing[0].participant_jid) == ("120363000000000001@g.us",
                                                                   f"{ANN}@s.whatsapp.net")

    run_connected(tmp_path, scenario)


def test_a_call_offer_rejected_by_id_then_its_terminate_is_no_news(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, recorder: EventRecorder, go: Any) -> None:
        fake.answer("RejectCall", "")
        caller = jid(ANN, "s.whatsapp.net", 7)
        offer = neonize_proto.CallOffer(basicCallMeta=call_meta("CALL1", caller),
                                        data=neonize_proto.Node(Tag="offer", Nodes=[neonize_proto.Node(Tag="video")]))
        await go.event(as_go_sends(offer))
        offered = await recorder.wait_for(CallOffered)
        assert offered == CallOffered("CALL1", f"{ANN}@s.whatsapp.net", True, False)

        await client.reject_call("CALL1")
        ((_, to, length, call_id),) = fake.called("RejectCall")
        rejected_jid = neonize_proto.JID.FromString(to)
        assert length == len(to) and ctypes.string_at(call_id) == b"CALL1"
        assert (rejected_jid.User, rejected_jid.Device) == (ANN, 7), "the caller exactly as the offer named it"
        assert await recorder.wait_for(CallEnded) == CallEnded("CALL1", f"{ANN}@s.whatsapp.net", "rejected")
        with pytest.raises(EngineRefusedError) as again:
            await client.reject_call("CALL1")
        assert again.value.code == "call_not_found"

        await go.event(as_go_sends(neonize_proto.CallTerminate(basicCallMeta=call_meta("CALL1", caller),
                                                               reason="reject")))
        # A call nobody rejected ends with WhatsApp's reason; the first terminate was no news.
        await go.event(as_go_sends(neonize_proto.CallOfferNotice(
            basicCallMeta=call_meta("CALL2", jid("120363000000000001", "g.us"), creator=caller), media="audio",
            type="group")))
        group_call = await recorder.wait_for(CallOffered, count=2)
        assert (group_call.call_id, group_call.group, group_call.video) == ("CALL2", True, False)
        await go.event(as_go_sends(neonize_proto.CallTerminate(basicCallMeta=call_meta("CALL2", caller),
                                                               reason="timeout")))
        ended = await recorder.wait_for(CallEnded, count=2)
        assert (ended.call_id, ended.reason) == ("CALL2", "timeout")
        assert [e.call_id for e in recorder.of_type(CallEnded)] == ["CALL1", "CALL2"]
        with pytest.raises(EngineRefusedError):
            await client.reject_call("NEVERRANG")
        assert len(fake.called("RejectCall")) == 1

    run_connected(tmp_path, scenario)


def test_blocklist_and_privacy_settings(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        blocked = neonize_proto.Blocklist(DHash="h1", JIDs=[jid(ANN, "s.whatsapp.net")])
        fake.answer("GetBlocklist", neonize_proto.GetBlocklistReturnFunction(Blocklist=blocked))
        fake.answer("UpdateBlocklist", neonize_proto.GetBlocklistReturnFunction(Blocklist=neonize_proto.Blocklist(
            DHash="h2")))
        assert await client.blocklist() == [f"{ANN}@s.whatsapp.net"]
        assert await client.update_blocklist(f"{ANN}@s.whatsapp.net", False) == []
        ((_, target, _, action),) = fake.called("UpdateBlocklist")
        assert (jid_arg(target), action) == (f"{ANN}@s.whatsapp.net", b"unblock")

        settings = neonize_proto.PrivacySettings(
            GroupAdd=neonize_proto.PrivacySettings.CONTACT_BLACKLIST, LastSeen=neonize_proto.PrivacySettings.CONTACTS,
            Status=neonize_proto.PrivacySettings.ALL, Profile=neonize_proto.PrivacySettings.NONE,
            ReadReceipts=neonize_proto.PrivacySettings.ALL, CallAdd=neonize_proto.PrivacySettings.KNOWN,
            Online=neonize_proto.PrivacySettings.MATCH_LAST_SEEN)
        fake.answer("GetPrivacySettings", settings)
        fake.answer("SetPrivacySetting", "")
        assert await client.privacy_settings() == {
            "last_seen": "contacts", "online": "match_last_seen", "profile_picture": "none", "about": "all",
            "read_receipts": "all", "groups_add": "contact_blacklist", "call_add": "known"}
        await client.set_privacy("groups_add", "contact_blacklist")
        await client.set_privacy("about", "contacts")
        assert [args[1:] for args in fake.called("SetPrivacySetting")] == [
            (b"groupadd", b"contact_blacklist"), (b"status", b"contacts")], "WhatsApp's own names and values"

        fake.answer("GetBlocklist", neonize_proto.GetBlocklistReturnFunction(Error="not connected to server"))
        with pytest.raises(EngineError, match="get_blocklist failed"):
            await client.blocklist()

    run_connected(tmp_path, scenario)


def test_contact_calls_need_a_connected_session(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client = NeonizeEngine().open("sess-c", tmp_path / "neonize.db", EventRecorder())
        for call in (client.get_profile(), client.subscribe_presence(f"{ANN}@s.whatsapp.net"), client.blocklist(),
                     client.set_privacy("about", "all"), client.contact_picture(f"{ANN}@s.whatsapp.net")):
            with pytest.raises(EngineNotConnectedError):
                await call

    asyncio.run(scenario())


def test_a_sessions_own_proxy_is_what_its_connects_use(tmp_path: pathlib.Path) -> None:
    """`open(..., proxy_url=)` wins over the fleet's proxy: the connect goes to the session's."""
    async def scenario() -> None:
        fleet_proxy, own_proxy = unreachable_proxy(), unreachable_proxy()
        engine = NeonizeEngine(NeonizeOptions(proxy_url=fleet_proxy))
        own = engine.open("sess-p", tmp_path / "own.db", EventRecorder(), proxy_url=own_proxy)
        plain = engine.open("sess-q", tmp_path / "plain.db", EventRecorder())
        assert own._proxy_settings().proxy_address == own_proxy
        assert plain._proxy_settings().proxy_address == fleet_proxy

    asyncio.run(scenario())
