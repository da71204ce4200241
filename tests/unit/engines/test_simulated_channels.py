"""Channels and what contacts do to messages in the simulated WhatsApp: the same calls and events as
the neonize engine (test_neonize_channels), with WhatsApp's rules made deterministic."""

from __future__ import annotations

import asyncio
import hashlib
import pathlib
import shutil

import pytest

from tests.unit.engines.test_simulated_engine import open_client, paired
from worker_fleet.engines.base import EngineError, MessageReceived, Receipt
from worker_fleet.engines.channels import ChannelRefusedError
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.outgoing import Audio, Media, Poll, StatusText, Text

ANN, BOB = "15550001111@s.whatsapp.net", "15550002222@s.whatsapp.net"
THEIRS = "120363000000004321@newsletter"


def test_create_follow_post_and_read_channels_and_they_migrate(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        mine = await client.create_channel("News", "Daily")
        assert mine.jid.endswith("@newsletter") and mine.role == "owner" and mine.invite_code
        assert (await client.channel_info(THEIRS)).role is None
        await client.follow_channel(THEIRS)
        await client.follow_channel(THEIRS)  # twice is once
        followed = {c.jid: (c.role, c.subscribers) for c in await client.followed_channels()}
        assert followed == {mine.jid: ("owner", 1), THEIRS: ("subscriber", 322)}

        await client.send(mine.jid, Text("first"))
        await client.send(mine.jid, Text("second"))
        posts = await client.channel_messages(mine.jid, count=1)
        assert [(p.server_id, p.text) for p in posts] == [(101, "second")]
        older = await client.channel_messages(mine.jid, before=posts[0].server_id)
        assert [p.text for p in older] == ["first"]
        with pytest.raises(ChannelRefusedError, match=r"^not_channel_owner: "):
            await client.send(THEIRS, Text("not mine"))
        with pytest.raises(ChannelRefusedError, match=r"^channel_request_invalid: "):
            await client.unfollow_channel(mine.jid)
        await client.unfollow_channel(THEIRS)
        assert [c.jid for c in await client.followed_channels()] == [mine.jid]
        for missing in (client.channel_info("120363000000000010@newsletter"),
                        client.follow_channel("120363000000000010@newsletter")):
            with pytest.raises(ChannelRefusedError, match=r"^channel_not_found: "):
                await missing
        with pytest.raises(ChannelRefusedError, match=r"^channel_request_invalid: "):
            await client.create_channel(" ")
        await client.stop()

        shutil.copy(tmp_path / "store.db", tmp_path / "moved.db")
        moved, _ = open_client(tmp_path, store_name="moved.db")
        await moved.start()
        assert [(c.jid, c.name) for c in await moved.followed_channels()] == [(mine.jid, "News")]
        assert len(await moved.channel_messages(mine.jid)) == 2
        await moved.stop()

    asyncio.run(scenario())


def test_poll_votes_statuses_and_played_notes(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        poll = await client.send(ANN, Poll("Lunch?", ("Tea", "Coffee"), selectable_count=1))
        voted = await client.dev_poll_vote("+15550002222", poll.message_id, ["Tea"])
        assert voted["voter"] == BOB and voted["options"] == ["Tea"]
        vote = await recorder.wait_for(MessageReceived, where=lambda m: m.kind == "poll_vote")
        assert vote.chat_jid == BOB and vote.sender_phone == "15550002222"
        assert vote.raw["poll_vote"] == {"poll_id": poll.message_id, "decrypted": True,
                                         "selected_hashes": [hashlib.sha256(b"Tea").hexdigest()]}
        for options, code in ((["Juice"], "poll_option_unknown"), (["Tea", "Coffee"], "poll_too_many_options")):
            with pytest.raises(EngineRefusedError, match=rf"^{code}: "):
                await client.dev_poll_vote("+15550002222", poll.message_id, options)
        text = await client.send(ANN, Text("hi"))
        with pytest.raises(EngineRefusedError, match=r"^message_not_found: "):
            await client.dev_poll_vote("+15550002222", text.message_id, ["Tea"])

        await client.dev_status_post("+15550001111", "At the beach")
        story = await recorder.wait_for(MessageReceived, where=lambda m: m.chat_jid == "status@broadcast")
        assert (story.sender_jid, story.text, story.kind) == (ANN, "At the beach", "text")

        note = await client.send(BOB, Audio(Media(b"OggS", "audio/ogg"), voice_note=True))
        await client.dev_message_played(note.message_id)
        played = await recorder.wait_for(Receipt, where=lambda r: r.kind == "played")
        assert played.message_ids == (note.message_id,) and played.chat_jid == BOB
        song = await client.send(BOB, Audio(Media(b"OggS", "audio/ogg")))
        with pytest.raises(EngineRefusedError, match=r"^not_playable: "):
            await client.dev_message_played(song.message_id)
        await client.stop()

    asyncio.run(scenario())


def test_a_status_goes_only_to_status_broadcast(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        await client.send("status@broadcast", StatusText("Open till 6", background_argb=0xFF1E8C45, font=2))
        assert client.sent[-1].to_jid == "status@broadcast"
        for to, message, why in ((ANN, StatusText("x"), "posted to status@broadcast"),
                                 ("status@broadcast", StatusText("x", font=5), "status font"),
                                 ("status@broadcast", Text("plain"), "not Text"),
                                 ("status@broadcast", Audio(Media(b"OggS", "audio/ogg")), "not Audio")):
            with pytest.raises(EngineError, match=why):
                await client.send(to, message)
        await client.stop()

    asyncio.run(scenario())
