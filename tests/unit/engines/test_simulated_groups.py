"""Groups in the simulated WhatsApp: the same calls and events as the neonize engine, with
WhatsApp's rules made deterministic."""

from __future__ import annotations

import asyncio
import pathlib
import pickle
import shutil

import pytest

from tests.unit.engines.test_simulated_engine import open_client, paired
from worker_fleet.engines.base import EngineError, EngineNotConnectedError, MessageReceived
from worker_fleet.engines.groups import (
    GROUP_SIZE_LIMIT,
    GroupJoined,
    GroupLeft,
    GroupParticipantsChanged,
    GroupRefusedError,
    GroupUpdated,
)
from worker_fleet.engines.outgoing import Image, Media, Text
from worker_fleet.engines.simulated import simulated_lid, simulated_phone

ANN, BOB, CAT = "15550001111@s.whatsapp.net", "15550002222@s.whatsapp.net", "15550003333@s.whatsapp.net"
OFFLINE = "15550004440@s.whatsapp.net"  # ends in 0: not on WhatsApp
PRIVATE = "15550005559@s.whatsapp.net"  # ends in 9: only takes invites


def refused(code: str) -> pytest.RaisesContext[GroupRefusedError]:
    return pytest.raises(GroupRefusedError, match=f"^{code}: ")


def test_create_then_manage_participants_with_a_result_each(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        own = f"{simulated_phone('sess-1')}@s.whatsapp.net"
        group = await client.create_group("Team", [ANN, BOB, OFFLINE, PRIVATE])
        assert group.jid.endswith("@g.us") and group.subject == "Team" and group.owner_jid == own
        roles = {p.jid: p.role for p in group.participants}
        assert roles == {own: "superadmin", ANN: "member", BOB: "member"}
        ann = next(p for p in group.participants if p.jid == ANN)
        assert (ann.phone, ann.lid) == ("15550001111", simulated_lid("15550001111"))
        joined = await recorder.wait_for(GroupJoined)
        assert joined.group == group and joined.reason == "create"
        assert pickle.loads(pickle.dumps(joined)) == joined  # noqa: S301 - crosses the shard pipe, our own bytes

        results = await client.update_group_participants(group.jid, "add", [CAT, ANN, OFFLINE, PRIVATE])
        assert [(r.jid, r.status) for r in results] == [
            (CAT, "ok"), (ANN, "already_in_group"), (OFFLINE, "not_on_whatsapp"), (PRIVATE, "invite_required")]
        added = await recorder.wait_for(GroupParticipantsChanged)
        assert added.action == "join" and [p.jid for p in added.participants] == [CAT] and added.by.jid == own

        results = await client.update_group_participants(group.jid, "promote", [ANN, "15550009991@s.whatsapp.net"])
        assert [r.status for r in results] == ["ok", "not_in_group"]
        results = await client.update_group_participants(group.jid, "demote", [own])
        assert [r.status for r in results] == ["not_authorized"], "nobody demotes the creator"
        results = await client.update_group_participants(group.jid, "remove", [BOB])
        assert [r.status for r in results] == ["ok"]
        info = await client.group_info(group.jid)
        assert {p.jid: p.role for p in info.participants} == {own: "superadmin", ANN: "admin", CAT: "member"}
        await client.stop()

    asyncio.run(scenario())


def test_settings_invites_and_what_a_plain_member_may_not_do(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        group = await client.create_group("Team", [ANN])
        await client.set_group_subject(group.jid, "Renamed")
        await client.set_group_description(group.jid, "About")
        await client.set_group_announce(group.jid, True)
        await client.set_group_locked(group.jid, True)
        await client.set_group_join_approval(group.jid, False)  # unchanged: no event
        assert await client.set_group_picture(group.jid, b"\xff\xd8jpeg")
        with pytest.raises(EngineError, match="JPEG"):
            await client.set_group_picture(group.jid, b"GIF89a")
        await client.remove_group_picture(group.jid)
        await recorder.wait_for(GroupUpdated, count=6)
        changes = [event.changes for event in recorder.of_type(GroupUpdated)]
        assert changes[:4] == [{"subject": "Renamed"}, {"description": "About"}, {"announce": True}, {"locked": True}]
        assert [list(change) for change in changes[4:]] == [["picture"], ["picture"]]
        info = await client.group_info(group.jid)
        assert (info.subject, info.description, info.announce, info.locked) == ("Renamed", "About", True, True)

        link = await client.group_invite_link(group.jid)
        assert link.startswith("https://chat.whatsapp.com/") and len(link.rsplit("/", 1)[1]) == 22
        new_link = await client.group_invite_link(group.jid, revoke=True)
        assert new_link != link
        assert (await client.group_invite_preview(new_link)).jid == group.jid
        with refused("invite_revoked"):
            await client.group_invite_preview(link)
        with refused("invite_invalid"):
            await client.join_group("NoSuchCode1234")
        with refused("invite_invalid"):
            await client.join_group("not a code!")

        outsider = await client.simulate_group("group.added", phone="15550007777", subject="Theirs")
        theirs = outsider["group"]
        with refused("not_group_admin"):
            await client.update_group_participants(theirs, "add", [CAT])
        with refused("not_group_admin"):
            await client.group_invite_link(theirs)
        with refused("not_group_admin"):
            await client.set_group_announce(theirs, True)
        await client.set_group_subject(theirs, "Members may rename an unlocked group")
        with refused("group_not_found"):
            await client.group_info("120363999999999999@g.us")
        await client.stop()

    asyncio.run(scenario())


def test_leave_rejoin_by_link_and_join_approval(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        group = await client.create_group("Team", [ANN])
        await client.update_group_participants(group.jid, "promote", [ANN])
        code = (await client.group_invite_link(group.jid)).rsplit("/", 1)[1]
        await client.leave_group(group.jid)
        left = await recorder.wait_for(GroupLeft)
        assert (left.group_jid, left.reason) == (group.jid, "left")
        assert await client.joined_groups() == []
        with refused("group_not_found"):
            await client.group_info(group.jid)
        assert await client.join_group(code) == group.jid
        rejoined = await recorder.wait_for(GroupJoined, count=2)
        assert rejoined.reason == "invite" and [g.jid for g in await client.joined_groups()] == [group.jid]

        with refused("not_group_admin"):
            await client.update_group_participants(group.jid, "add", [CAT])  # rejoined as a plain member
        await client.simulate_group("group.request", group_jid=group.jid, phone="15550008888")
        with refused("not_group_admin"):
            await client.group_join_requests(group.jid)
        await client.stop()

    asyncio.run(scenario())


def test_join_requests_are_answered_per_participant(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        group = await client.create_group("Team", [])
        await client.set_group_join_approval(group.jid, True)
        for phone in ("15550008888", "15550006666"):
            await client.simulate_group("group.request", group_jid=group.jid, phone=phone)
        requests = await client.group_join_requests(group.jid)
        assert [r.phone for r in requests] == ["15550006666", "15550008888"]
        approved = await client.answer_join_requests(group.jid, ["15550008888@s.whatsapp.net", ANN], approve=True)
        assert [r.status for r in approved] == ["ok", "no_request"]
        rejected = await client.answer_join_requests(group.jid, ["15550006666@s.whatsapp.net"], approve=False)
        assert [r.status for r in rejected] == ["ok"]
        assert await client.group_join_requests(group.jid) == []
        joined = await recorder.wait_for(GroupParticipantsChanged)
        assert [p.phone for p in joined.participants] == ["15550008888"]
        await client.stop()

    asyncio.run(scenario())


def test_communities_link_and_unlink_groups(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        community = await client.create_group("Town", [], community=True)
        group = await client.create_group("Street", [ANN])
        assert community.is_community and not group.is_community
        with refused("not_a_community"):
            await client.link_group(group.jid, community.jid)
        await client.link_group(community.jid, group.jid)
        assert [(g.jid, g.subject) for g in await client.linked_groups(community.jid)] == [(group.jid, "Street")]
        assert (await client.group_info(group.jid)).parent_jid == community.jid
        await client.unlink_group(community.jid, group.jid)
        assert await client.linked_groups(community.jid) == []
        with refused("group_not_found"):
            await client.unlink_group(community.jid, group.jid)
        await recorder.wait_for(GroupUpdated, count=2, where=lambda e: e.group_jid == community.jid)
        changes = [e.changes for e in recorder.of_type(GroupUpdated) if e.group_jid == community.jid]
        assert changes == [{"linked_group": group.jid}, {"unlinked_group": group.jid}]
        await client.stop()

    asyncio.run(scenario())


def test_simulated_others_add_join_leave_promote_rename_remove_and_post(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        added = await client.simulate_group("group.added", phone="15550007777", subject="Family",
                                            participants=["15550001111"])
        group = added["group"]
        joined = await recorder.wait_for(GroupJoined)
        assert joined.reason == "added" and joined.by.phone == "15550007777" and joined.by.role == "superadmin"
        assert {p.phone: p.role for p in joined.group.participants}["15550001111"] == "member"

        await client.simulate_group("group.join", group_jid=group, phone="15550002222")
        await client.simulate_group("group.leave", group_jid=group, phone="15550001111")
        await client.simulate_group("group.promote", group_jid=group, phone="15550007777",
                                    participants=["15550002222"])
        await client.simulate_group("group.subject", group_jid=group, phone="15550002222", subject="Fam")
        await client.simulate_group("group.message", group_jid=group, phone="15550002222", text="hi all")
        await recorder.wait_for(GroupParticipantsChanged, count=3)
        actions = [(e.action, [p.phone for p in e.participants], e.by.phone)
                   for e in recorder.of_type(GroupParticipantsChanged)]
        assert actions == [("join", ["15550002222"], "15550002222"), ("leave", ["15550001111"], "15550001111"),
                           ("promote", ["15550002222"], "15550007777")]
        renamed = await recorder.wait_for(GroupUpdated)
        assert renamed.changes == {"subject": "Fam"} and renamed.by.phone == "15550002222"
        posted = await recorder.wait_for(MessageReceived)
        assert (posted.chat_jid, posted.is_group, posted.sender_phone, posted.text) == (
            group, True, "15550002222", "hi all")
        # Now an admin, the new member can be seen as one.
        roles = {p.phone: p.role for p in (await client.group_info(group)).participants}
        assert roles["15550002222"] == "admin" and "15550001111" not in roles

        await client.simulate_group("group.removed", group_jid=group, phone="15550007777")
        removed = await recorder.wait_for(GroupLeft)
        assert (removed.reason, removed.by.phone) == ("removed", "15550007777")
        with refused("group_not_found"):
            await client.simulate_group("group.join", group_jid=group, phone="15550003333")
        with pytest.raises(EngineError, match="unknown group simulation"):
            await client.simulate_group("group.explode")
        await client.stop()

    asyncio.run(scenario())


def test_limits_and_a_connected_session(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = open_client(tmp_path)
        with pytest.raises(EngineNotConnectedError):
            await client.create_group("Team", [ANN])
        await client.start()
        with pytest.raises(EngineNotConnectedError):
            await client.joined_groups()
        await client.simulate_scan()
        too_many = [f"1555{n:07d}1@s.whatsapp.net" for n in range(GROUP_SIZE_LIMIT)]
        with refused("group_full"):
            await client.create_group("Crowd", too_many)
        with pytest.raises(EngineError, match="subject"):
            await client.create_group(" ", [ANN])
        await client.stop()

    asyncio.run(scenario())


def test_groups_migrate_with_the_store(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        group = await client.create_group("Team", [ANN])
        await client.stop()
        shutil.copy(tmp_path / "store.db", tmp_path / "moved.db")
        moved, _ = open_client(tmp_path, store_name="moved.db")
        await moved.start()
        assert [g.jid for g in await moved.joined_groups()] == [group.jid]
        await moved.stop()

    asyncio.run(scenario())


def test_mention_everyone_expands_to_the_other_members(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        group = await client.create_group("Team", [ANN, BOB])
        await client.send(group.jid, Text("hi all", mentions=(CAT,), mention_all=True))
        await client.send(group.jid, Image(Media(b"\x89PNG", "image/png"), caption="@15550001111",
                                           mentions=(ANN,)))
        sent = client.sent
        assert sent[0].message.mentions == (CAT, ANN, BOB) and not sent[0].message.mention_all
        assert sent[1].message.mentions == (ANN,)
        with pytest.raises(EngineError, match="only messages to a group"):
            await client.send(ANN, Text("hi", mention_all=True))
        with pytest.raises(EngineError, match="person"):
            await client.send(group.jid, Text("hi", mentions=(group.jid,)))
        with refused("group_not_found"):
            await client.send("120363999999999999@g.us", Text("hi", mention_all=True))
        await client.stop()

    asyncio.run(scenario())


def test_sends_follow_membership_and_announce_mode(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        group = await client.create_group("Team", [ANN])
        await client.set_group_announce(group.jid, True)
        await client.send(group.jid, Text("admins may"))
        theirs = (await client.simulate_group("group.added", phone="15550007777", subject="News"))["group"]
        await client.send(theirs, Text("members may, until announce mode"))
        await client.simulate_group("group.announce", group_jid=theirs, phone="15550007777")
        with refused("not_group_admin"):
            await client.send(theirs, Text("only admins now"))
        await client.leave_group(group.jid)
        with refused("group_not_found"):
            await client.send(group.jid, Text("after leaving"))
        await client.send("120363999999999999@g.us", Text("a group this WhatsApp never heard of"))
        await client.stop()

    asyncio.run(scenario())
