"""Groups on the neonize engine, through neonize's own client and event dispatch.

The client is a real `NewAClient` started offline (see test_neonize_engine); only the Go library
boundary is replaced: `FakeGo` stands where neonize keeps its ``goneonize`` binding, records the
serialized protobuf requests each call makes, and answers with serialized protobufs built from
neonize's own proto classes (or whatsmeow's error texts). Group events go in through the callback
neonize gave Go at connect, as event code + serialized protobuf.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.engines.test_neonize_engine import ManualReconnectClock, connected, device_event, jid
from worker_fleet.engines.base import EngineError, EngineNotConnectedError
from worker_fleet.engines.groups import (
    GroupJoined,
    GroupLeft,
    GroupParticipant,
    GroupParticipantsChanged,
    GroupRefusedError,
    GroupUpdated,
    ParticipantResult,
)
from worker_fleet.engines.neonize_engine import NeonizeClient, NeonizeEngine
from worker_fleet.engines.neonize_runtime import neonize_proto, wa_e2e
from worker_fleet.engines.outgoing import Document, Media, Text
from worker_fleet.engines.recording import EventRecorder

GROUP = "120363000000000001@g.us"
COMMUNITY = "120363000000000009@g.us"
OWN_PHONE, OWN_LID = "15551234567", "98765432109876"

Reply = bytes | Callable[..., bytes]


def as_go_sends(message: Any) -> Any:
    """`message` with every required field it lacks set to its zero value, recursively: neonize's Go
    encoder writes every field (an unknown JID as an empty one), and proto2 refuses to serialize a
    message without its required fields."""
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None:
            if field.is_repeated:
                for item in value:
                    as_go_sends(item)
            elif field.is_required or message.HasField(field.name):
                value.SetInParent()
                as_go_sends(value)
        elif field.is_required and not message.HasField(field.name):
            setattr(message, field.name, field.default_value)
    return message


class FakeGo:
    """Plays neonize's Go library for the functions given answers; everything else goes to the
    real one (connect, stop, …). Each answered call is recorded as (function name, arguments)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.answers: dict[str, Reply] = {"GenerateMessageID": b"3EB0CREATEKEY"}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        # whatsmeow's LID <-> phone store: knows nobody until a test says otherwise.
        for lookup in ("GetPNFromLID", "GetLIDFromPN"):
            self.answer(lookup, neonize_proto.GetJIDFromStoreReturnFunction(Jid=jid("", "")))

    def answer(self, name: str, reply: Any) -> None:
        """`reply`: a proto message (serialized), an error text (for Go functions that return one),
        or a function of the call's arguments."""
        if isinstance(reply, str):
            self.answers[name] = reply.encode()
        elif hasattr(reply, "SerializeToString"):
            self.answers[name] = as_go_sends(reply).SerializeToString()
        else:
            self.answers[name] = reply

    def __getattr__(self, name: str) -> Any:
        if name not in self.answers:
            return getattr(self._real, name)
        reply = self.answers[name]

        async def call(*args: Any) -> bytes:
            self.calls.append((name, args))
            return reply(*args) if callable(reply) else reply

        return call

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]


async def install_fake_go(client: NeonizeClient) -> FakeGo:
    """Put `FakeGo` behind the client's current neonize client. The offline start had released
    its Go client (the real connect failed); from here the fake plays a Go side that holds it,
    including the Stop that ends it."""
    await asyncio.gather(*client._release_tasks)  # the real Go release of the failed connect is over
    attempt = client._attempt
    assert attempt is not None
    native = attempt.native
    fake = FakeGo(native._NewAClient__client)  # type: ignore[attr-defined]
    fake.answer("Stop", "")
    native._NewAClient__client = fake  # type: ignore[attr-defined]
    attempt.go_released = False
    return fake


def member(user: str, server: str = "s.whatsapp.net", *, admin: bool = False, superadmin: bool = False,
           phone: str | None = None, lid: str | None = None, error: int = 0, add_code: str = "") -> Any:
    participant = neonize_proto.GroupParticipant(JID=jid(user, server), IsAdmin=admin or superadmin,
                                                 IsSuperAdmin=superadmin, DisplayName="", Error=error)
    if phone:
        participant.PhoneNumber.CopyFrom(jid(phone, "s.whatsapp.net"))
    if lid:
        participant.LID.CopyFrom(jid(lid, "lid"))
    if add_code:
        participant.AddRequest.CopyFrom(neonize_proto.GroupParticipantAddRequest(Code=add_code, Expiration=1))
    return participant


def group_info(group: str = GROUP, *, name: str = "Team", topic: str = "", parent: bool = False,
               linked_to: str | None = None) -> Any:
    user, server = group.split("@")
    info = neonize_proto.GroupInfo(
        JID=jid(user, server), OwnerJID=jid(OWN_PHONE, "s.whatsapp.net"),
        GroupName=neonize_proto.GroupName(Name=name, NameSetAt=1_717_000_000),
        GroupTopic=neonize_proto.GroupTopic(Topic=topic, TopicID="T1", TopicDeleted=False),
        GroupLocked=neonize_proto.GroupLocked(isLocked=True),
        GroupAnnounce=neonize_proto.GroupAnnounce(IsAnnounce=False),
        GroupParent=neonize_proto.GroupParent(IsParent=parent), GroupCreated=1_717_000_000,
        Participants=[member(OWN_PHONE, superadmin=True, lid=OWN_LID),
                      member("111222333444555", "lid", admin=True, phone="15550002222"),
                      member("15550003333")],
    )
    if linked_to:
        parent_user, parent_server = linked_to.split("@")
        info.GroupLinkedParent.LinkedParentJID.CopyFrom(jid(parent_user, parent_server))
    return info


def jid_arg(raw: bytes) -> str:
    parsed = neonize_proto.JID.FromString(raw)
    return f"{parsed.User}@{parsed.Server}"


def run_connected(tmp_path: pathlib.Path, scenario: Callable[..., Any]) -> None:
    async def main() -> None:
        clock = ManualReconnectClock()
        client, recorder, go = await connected(tmp_path, clock)
        await go.event(device_event(OWN_PHONE, OWN_LID))
        fake = await install_fake_go(client)
        try:
            await scenario(client, fake, recorder, go)
        finally:
            await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(main())


def test_create_a_group_and_a_community(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("CreateGroup", neonize_proto.GetGroupInfoReturnFunction(GroupInfo=group_info()))
        created = await client.create_group("Team", ["15550003333@s.whatsapp.net", "111222333444555@lid"])
        ((_, request, length),) = fake.called("CreateGroup")
        sent = neonize_proto.ReqCreateGroup.FromString(request)
        assert length == len(request)
        assert sent.name == "Team" and sent.CreateKey == "3EB0CREATEKEY"
        assert [f"{p.User}@{p.Server}" for p in sent.Participants] == ["15550003333@s.whatsapp.net",
                                                                        "111222333444555@lid"]
        assert not sent.GroupParent.IsParent
        assert created.jid == GROUP and created.subject == "Team" and created.locked and not created.announce
        assert created.owner_jid == f"{OWN_PHONE}@s.whatsapp.net" and created.join_approval is None
        assert created.participants == (
            GroupParticipant(f"{OWN_PHONE}@s.whatsapp.net", OWN_PHONE, f"{OWN_LID}@lid", "superadmin"),
            GroupParticipant("111222333444555@lid", "15550002222", "111222333444555@lid", "admin"),
            GroupParticipant("15550003333@s.whatsapp.net", "15550003333", None, "member"),
        )

        fake.answer("CreateGroup", neonize_proto.GetGroupInfoReturnFunction(
            GroupInfo=group_info(COMMUNITY, name="Town", parent=True)))
        community = await client.create_group("Town", [], community=True)
        sent = neonize_proto.ReqCreateGroup.FromString(fake.called("CreateGroup")[1][1])
        assert sent.GroupParent.IsParent and community.is_community

        fake.answer("CreateGroup", neonize_proto.GetGroupInfoReturnFunction(
            Error="info query returned status 500: resource-constraint"))
        with pytest.raises(GroupRefusedError) as refused:
            await client.create_group("Huge", ["15550003333@s.whatsapp.net"])
        assert refused.value.code == "group_full"

    run_connected(tmp_path, scenario)


def test_read_groups_and_refusals_for_groups_the_session_is_not_in(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("GetJoinedGroups", neonize_proto.GetJoinedGroupsReturnFunction(
            Group=[group_info(topic="Weekly sync"), group_info("120363000000000002@g.us", linked_to=COMMUNITY)]))
        joined = await client.joined_groups()
        assert [group.jid for group in joined] == [GROUP, "120363000000000002@g.us"]
        assert joined[0].description == "Weekly sync" and joined[1].parent_jid == COMMUNITY

        fake.answer("GetGroupInfo", neonize_proto.GetGroupInfoReturnFunction(GroupInfo=group_info()))
        assert (await client.group_info(GROUP)).subject == "Team"
        assert jid_arg(fake.called("GetGroupInfo")[0][1]) == GROUP

        for text, code in (("you're not participating in that group", "group_not_found"),
                           ("that group does not exist", "group_not_found"),
                           ("websocket not connected", "group_operation_failed")):
            fake.answer("GetGroupInfo", neonize_proto.GetGroupInfoReturnFunction(Error=text))
            with pytest.raises(GroupRefusedError) as refused:
                await client.group_info(GROUP)
            assert refused.value.code == code and text in str(refused.value)

    run_connected(tmp_path, scenario)


def test_settings_go_to_whatsmeow_and_a_non_admin_is_refused(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        for name in ("SetGroupName", "SetGroupTopic", "SetGroupAnnounce", "SetGroupLocked", "LeaveGroup"):
            fake.answer(name, "")
        fake.answer("SetGroupPhoto", neonize_proto.SetGroupPhotoReturnFunction(PictureID="1717"))
        await client.set_group_subject(GROUP, "Renamed")
        await client.set_group_description(GROUP, "About us")
        await client.set_group_announce(GROUP, True)
        await client.set_group_locked(GROUP, False)
        assert await client.set_group_picture(GROUP, b"\xff\xd8jpeg") == "1717"
        await client.leave_group(GROUP)

        ((_, group, _, name),) = fake.called("SetGroupName")
        assert jid_arg(group) == GROUP and name.value == b"Renamed"
        ((_, group, _, previous_id, new_id, topic),) = fake.called("SetGroupTopic")
        assert (previous_id, new_id, topic) == (b"", b"", b"About us"), "whatsmeow fills in the topic ids"
        assert fake.called("SetGroupAnnounce")[0][3] is True and fake.called("SetGroupLocked")[0][3] is False
        ((_, group, _, picture, length),) = fake.called("SetGroupPhoto")
        assert (picture, length) == (b"\xff\xd8jpeg", 6)
        assert jid_arg(fake.called("LeaveGroup")[0][1]) == GROUP

        fake.answer("SetGroupName", "info query returned status 403: forbidden")
        with pytest.raises(GroupRefusedError) as refused:
            await client.set_group_subject(GROUP, "Mine now")
        assert refused.value.code == "not_group_admin"

        fake.calls.clear()
        for unsupported in (client.set_group_join_approval(GROUP, True), client.remove_group_picture(GROUP),
                            client.answer_join_requests(GROUP, ["15550003333@s.whatsapp.net"], approve=True)):
            with pytest.raises(GroupRefusedError) as refused:
                await unsupported
            assert refused.value.code == "not_supported_by_engine"
        assert fake.calls == [], "what neonize cannot do never reaches Go"

    run_connected(tmp_path, scenario)


def test_participant_changes_answer_per_participant(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("UpdateGroupParticipants", neonize_proto.UpdateGroupParticipantsReturnFunction(participants=[
            member("15550004444"), member("15550005555", error=409), member("15550006666", error=403, add_code="AbC"),
            member("15550007777", error=404), member("15550008888", error=403)]))
        wanted = [f"1555000{digit * 4}@s.whatsapp.net" for digit in "45678"]
        results = await client.update_group_participants(GROUP, "add", wanted)
        ((_, group, _, jids, jids_length, action),) = fake.called("UpdateGroupParticipants")
        assert jid_arg(group) == GROUP and action == b"add" and jids_length == len(jids)
        assert [f"{p.User}@{p.Server}" for p in neonize_proto.JIDArray.FromString(jids).JIDS] == wanted
        assert [result.status for result in results] == [
            "ok", "already_in_group", "invite_required", "not_on_whatsapp", "not_authorized"]
        assert results[0] == ParticipantResult("15550004444@s.whatsapp.net", "15550004444", None, "ok")

        fake.answer("UpdateGroupParticipants", neonize_proto.UpdateGroupParticipantsReturnFunction(
            participants=[member("15550004444"), member("15550009999", error=404)]))
        demoted = await client.update_group_participants(GROUP, "demote", ["15550004444@s.whatsapp.net",
                                                                          "15550009999@s.whatsapp.net"])
        assert fake.called("UpdateGroupParticipants")[1][5] == b"demote"
        assert [result.status for result in demoted] == ["ok", "not_in_group"]

        fake.answer("UpdateGroupParticipants", neonize_proto.UpdateGroupParticipantsReturnFunction(
            Error="info query returned status 403: forbidden"))
        with pytest.raises(GroupRefusedError) as refused:
            await client.update_group_participants(GROUP, "remove", ["15550004444@s.whatsapp.net"])
        assert refused.value.code == "not_group_admin"

    run_connected(tmp_path, scenario)


def test_invites_join_requests_and_communities(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("GetGroupInviteLink", neonize_proto.GetGroupInviteLinkReturnFunction(
            InviteLink="https://chat.whatsapp.com/AbCdEf123"))
        assert await client.group_invite_link(GROUP) == "https://chat.whatsapp.com/AbCdEf123"
        await client.group_invite_link(GROUP, revoke=True)
        assert [args[3] for args in fake.called("GetGroupInviteLink")] == [False, True]

        fake.answer("GetGroupInfoFromLink", neonize_proto.GetGroupInfoReturnFunction(GroupInfo=group_info()))
        assert (await client.group_invite_preview("https://chat.whatsapp.com/AbCdEf123")).jid == GROUP
        assert fake.called("GetGroupInfoFromLink")[0][1] == b"AbCdEf123", "the code, without the link prefix"
        fake.answer("GetGroupInfoFromLink", neonize_proto.GetGroupInfoReturnFunction(
            Error="that group invite link has been revoked"))
        with pytest.raises(GroupRefusedError) as refused:
            await client.group_invite_preview("AbCdEf123")
        assert refused.value.code == "invite_revoked"
        with pytest.raises(GroupRefusedError) as malformed:
            await client.group_invite_preview("https://chat.whatsapp.com/not a code!")
        assert malformed.value.code == "invite_invalid"
        assert len(fake.called("GetGroupInfoFromLink")) == 2, "a malformed invite never reaches Go"

        fake.answer("JoinGroupWithLink", neonize_proto.JoinGroupWithLinkReturnFunction(
            Jid=jid("120363000000000001", "g.us")))
        assert await client.join_group("AbCdEf123") == GROUP
        fake.answer("JoinGroupWithLink", neonize_proto.JoinGroupWithLinkReturnFunction(
            Error="that group invite link is not valid"))
        with pytest.raises(GroupRefusedError) as invalid:
            await client.join_group("Zz9")
        assert invalid.value.code == "invite_invalid"

        fake.answer("GetGroupRequestParticipants", neonize_proto.GetGroupRequestParticipantsReturnFunction(
            Participants=[neonize_proto.GroupParticipantRequest(Participant=jid("15550004444", "s.whatsapp.net"),
                                                                TimeAt=1_717_000_000)]))
        (request,) = await client.group_join_requests(GROUP)
        assert (request.jid, request.phone) == ("15550004444@s.whatsapp.net", "15550004444")
        assert request.requested_at is not None and request.requested_at.year == 2024

        fake.answer("GetSubGroups", neonize_proto.GetSubGroupsReturnFunction(GroupLinkTarget=[
            neonize_proto.GroupLinkTarget(JID=jid("120363000000000001", "g.us"),
                                          GroupName=neonize_proto.GroupName(Name="Team"),
                                          GroupIsDefaultSub=neonize_proto.GroupIsDefaultSub(IsDefaultSubGroup=True))]))
        (linked,) = await client.linked_groups(COMMUNITY)
        assert (linked.jid, linked.subject, linked.is_default_subgroup) == (GROUP, "Team", True)
        fake.answer("LinkGroup", "")
        fake.answer("UnlinkGroup", "")
        await client.link_group(COMMUNITY, GROUP)
        await client.unlink_group(COMMUNITY, GROUP)
        for name in ("LinkGroup", "UnlinkGroup"):
            ((_, parent, _, child, _),) = fake.called(name)
            assert (jid_arg(parent), jid_arg(child)) == (COMMUNITY, GROUP)

    run_connected(tmp_path, scenario)


def test_group_events_from_neonize_dispatch(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, recorder: EventRecorder, go: Any) -> None:
        store = {"222333444555666": jid("15550005555", "s.whatsapp.net"),
                 "15550004444": jid("333444555666777", "lid")}
        for lookup in ("GetPNFromLID", "GetLIDFromPN"):
            fake.answer(lookup, lambda _go_id, raw, _length: as_go_sends(neonize_proto.GetJIDFromStoreReturnFunction(
                Jid=store.get(neonize_proto.JID.FromString(raw).User, jid("", "")))).SerializeToString())
        adder = jid("15550002222", "s.whatsapp.net")
        await go.event(as_go_sends(neonize_proto.JoinedGroup(Reason="", Type="new", CreateKey="",
                                                             GroupInfo=group_info(), Sender=adder, SenderPN=adder)))
        joined = await recorder.wait_for(GroupJoined)
        assert joined.group.jid == GROUP and joined.reason == "new"
        assert joined.by == GroupParticipant("15550002222@s.whatsapp.net", "15550002222", None, "member")

        change = neonize_proto.GroupInfoEvent(
            JID=jid("120363000000000001", "g.us"), Sender=adder, Timestamp=1_717_000_100,
            Name=neonize_proto.GroupName(Name="New name"), Join=[jid("15550004444", "s.whatsapp.net")],
            Promote=[jid("222333444555666", "lid")], NewInviteLink="")
        await go.event(as_go_sends(change))
        updated = await recorder.wait_for(GroupUpdated)
        assert updated.changes == {"subject": "New name"} and updated.by is not None
        joins = await recorder.wait_for(GroupParticipantsChanged, where=lambda e: e.action == "join")
        assert joins.participants == (
            GroupParticipant("15550004444@s.whatsapp.net", "15550004444", "333444555666777@lid"),
        ), "the LID comes from whatsmeow's store"
        promoted = await recorder.wait_for(GroupParticipantsChanged, where=lambda e: e.action == "promote")
        assert (promoted.participants[0].lid, promoted.participants[0].phone) == (
            "222333444555666@lid", "15550005555"), "and the phone of a LID"
        assert [e.action for e in recorder.of_type(GroupParticipantsChanged)] == ["join", "promote"], "in order"
        assert updated.by is not None and updated.by.lid is None, "the store does not know the admin's LID"

        removal = neonize_proto.GroupInfoEvent(JID=jid("120363000000000001", "g.us"), Sender=adder,
                                               Leave=[jid(OWN_LID, "lid"), jid("15550003333", "s.whatsapp.net")])
        await go.event(as_go_sends(removal))
        left = await recorder.wait_for(GroupLeft)
        assert (left.group_jid, left.reason, left.by) == (GROUP, "removed", updated.by)
        others = await recorder.wait_for(GroupParticipantsChanged, where=lambda e: e.action == "leave")
        assert [p.jid for p in others.participants] == ["15550003333@s.whatsapp.net"], "this account is no 'other'"
        assert {name for name, _ in fake.calls} == {"GetPNFromLID", "GetLIDFromPN"}, "lookups only"

    run_connected(tmp_path, scenario)


def test_group_calls_need_a_connected_session(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client = NeonizeEngine().open("sess-g", tmp_path / "neonize.db", EventRecorder())
        for call in (client.group_info(GROUP), client.create_group("x", []), client.join_group("AbC"),
                     client.update_group_participants(GROUP, "add", ["15550004444@s.whatsapp.net"])):
            with pytest.raises(EngineNotConnectedError):
                await call
        assert client.native_client is None

    asyncio.run(scenario())


def test_mentions_reach_whatsapp_as_mentioned_jids(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("SendMessage", neonize_proto.SendMessageReturnFunction(
            SendResponse=neonize_proto.SendResponse(ID="3EB0MENTION", Timestamp=1_717_171_900)))
        fake.answer("GetGroupInfo", neonize_proto.GetGroupInfoReturnFunction(GroupInfo=group_info()))
        sent = await client.send(GROUP, Text("hi @15550003333", mentions=("15550003333@s.whatsapp.net",)))
        assert sent.message_id == "3EB0MENTION"
        ((_, to, _, wire, _),) = fake.called("SendMessage")
        message = wa_e2e.Message.FromString(wire)
        assert jid_arg(to) == GROUP and message.extendedTextMessage.text == "hi @15550003333"
        assert list(message.extendedTextMessage.contextInfo.mentionedJID) == ["15550003333@s.whatsapp.net"]
        assert fake.called("GetGroupInfo") == [], "explicit mentions need no lookup"

        await client.send(GROUP, Text("hello all", mentions=("15550009999@s.whatsapp.net",), mention_all=True))
        message = wa_e2e.Message.FromString(fake.called("SendMessage")[1][3])
        assert list(message.extendedTextMessage.contextInfo.mentionedJID) == [
            "15550009999@s.whatsapp.net", "111222333444555@lid", "15550003333@s.whatsapp.net"
        ], "every participant but this account, as WhatsApp lists them now"
        assert jid_arg(fake.called("GetGroupInfo")[0][1]) == GROUP

        upload = neonize_proto.UploadReturnFunction(UploadResponse=neonize_proto.UploadResponse(
            url="https://mmg.whatsapp.net/x", DirectPath="/x", Handle="", MediaKey=b"k" * 32,
            FileEncSHA256=b"e" * 32, FileSHA256=b"s" * 32, FileLength=4))
        fake.answer("Upload", upload)
        await client.send(GROUP, Document(Media(b"%PDF", "application/pdf"), caption="for @15550003333",
                                          mentions=("15550003333@s.whatsapp.net",)))
        message = wa_e2e.Message.FromString(fake.called("SendMessage")[2][3])
        document = message.documentWithCaptionMessage.message.documentMessage
        assert list(document.contextInfo.mentionedJID) == ["15550003333@s.whatsapp.net"]

        with pytest.raises(EngineError, match="group"):
            await client.send("15550003333@s.whatsapp.net", Text("hi", mention_all=True))
        with pytest.raises(EngineError, match="person"):
            await client.send(GROUP, Text("hi", mentions=(COMMUNITY,)))
        assert len(fake.called("SendMessage")) == 3, "refused mentions never reach Go"

    run_connected(tmp_path, scenario)


def test_every_kind_of_group_info_change_maps(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, recorder: EventRecorder, go: Any) -> None:
        admin = jid("15550002222", "s.whatsapp.net")
        group = jid("120363000000000001", "g.us")
        await go.event(as_go_sends(neonize_proto.GroupInfoEvent(
            JID=group, Sender=admin, Topic=neonize_proto.GroupTopic(Topic="New rules", TopicID="T2"),
            Locked=neonize_proto.GroupLocked(isLocked=True), Announce=neonize_proto.GroupAnnounce(IsAnnounce=True),
            NewInviteLink="https://chat.whatsapp.com/Fresh123")))
        await go.event(as_go_sends(neonize_proto.GroupInfoEvent(
            JID=jid("120363000000000009", "g.us"), Sender=admin,
            Link=neonize_proto.GroupLinkChange(Type=neonize_proto.GroupLinkChange.SUB,
                                               Group=neonize_proto.GroupLinkTarget(JID=group)))))
        await go.event(as_go_sends(neonize_proto.GroupInfoEvent(
            JID=group, Sender=admin, Topic=neonize_proto.GroupTopic(TopicDeleted=True),
            Delete=neonize_proto.GroupDelete(Deleted=True, DeletedReason="admin"))))
        first, linked, last = [await recorder.wait_for(GroupUpdated, count=n) for n in (1, 2, 3)]
        assert first.changes == {"description": "New rules", "locked": True, "announce": True,
                                 "invite_link_reset": True}
        assert first.by is not None and first.by.phone == "15550002222"
        assert (linked.group_jid, linked.changes) == (COMMUNITY, {"linked_group": GROUP})
        assert last.changes == {"description": None, "deleted": True}
        deleted = await recorder.wait_for(GroupLeft)
        assert (deleted.group_jid, deleted.reason) == (GROUP, "admin")

    run_connected(tmp_path, scenario)
