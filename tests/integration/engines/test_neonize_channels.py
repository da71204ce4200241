"""Channels, poll votes, status and the new outgoing shapes on the neonize engine, through neonize's
own client and event dispatch, with only the Go boundary faked (`FakeGo`, see test_neonize_groups):
each call's serialized request is read back with neonize's proto classes, each answer is one."""

from __future__ import annotations

import hashlib
import pathlib
from typing import Any

import pytest

from tests.integration.engines.test_neonize_engine import jid
from tests.integration.engines.test_neonize_groups import FakeGo, jid_arg, run_connected
from tests.integration.engines.test_neonize_inbound import CONTACT, CONTACT_DEVICE, inbound
from worker_fleet.engines.base import MessageReceived, Receipt
from worker_fleet.engines.channels import ChannelRefusedError
from worker_fleet.engines.neonize_engine import NeonizeClient
from worker_fleet.engines.neonize_runtime import MessageKey, neonize_proto, wa_e2e
from worker_fleet.engines.outgoing import Image, Media, StatusText, Text
from worker_fleet.engines.recording import EventRecorder

CHANNEL_USER = "120363000000000777"
CHANNEL = f"{CHANNEL_USER}@newsletter"
STATUS = jid("status", "broadcast")


def metadata(*, role: Any = None, name: str = "News", description: str = "Daily") -> Any:
    thread = neonize_proto.NewsletterThreadMetadata(
        CreationTime=1_717_000_000, InviteCode="AbC123", Name=neonize_proto.NewsletterText(Text=name, ID="n",
                                                                                          UpdateTime=1),
        Description=neonize_proto.NewsletterText(Text=description, ID="d", UpdateTime=1), SubscriberCount=42,
        VerificationState=neonize_proto.NewsletterThreadMetadata.NewsletterVerificationState.Value("VERIFIED"),
        Picture=neonize_proto.ProfilePictureInfo(URL="https://pps.whatsapp.net/p.jpg", ID="1", Type="image",
                                                 DirectPath="/p"))
    meta = neonize_proto.NewsletterMetadata(ID=jid(CHANNEL_USER, "newsletter"), ThreadMeta=thread)
    if role is not None:
        meta.ViewerMeta.CopyFrom(neonize_proto.NewsletterViewerMetadata(
            Role=role, Mute=neonize_proto.NewsletterMuteState.OFF))
    return meta


def test_channel_calls_go_to_whatsmeow_and_refusals_carry_codes(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("CreateNewsletter", neonize_proto.CreateNewsLetterReturnFunction(
            NewsletterMetadata=metadata(role=neonize_proto.NewsletterRole.OWNER)))
        created = await client.create_channel("News", "Daily")
        ((_, request, length),) = fake.called("CreateNewsletter")
        sent = neonize_proto.CreateNewsletterParams.FromString(request)
        assert (sent.Name, sent.Description, sent.Picture, length) == ("News", "Daily", b"", len(request))
        assert (created.jid, created.name, created.description, created.role) == (CHANNEL, "News", "Daily", "owner")
        assert (created.subscribers, created.verified, created.muted, created.invite_code) == (42, True, False,
                                                                                              "AbC123")
        assert created.picture_url == "https://pps.whatsapp.net/p.jpg" and created.created_at is not None

        fake.answer("GetSubscribedNewsletters", neonize_proto.GetSubscribedNewslettersReturnFunction(
            Newsletter=[metadata(role=neonize_proto.NewsletterRole.SUBSCRIBER)]))
        assert [(c.jid, c.role) for c in await client.followed_channels()] == [(CHANNEL, "subscriber")]

        fake.answer("GetNewsletterInfo", neonize_proto.CreateNewsLetterReturnFunction(NewsletterMetadata=metadata()))
        info = await client.channel_info(CHANNEL)
        assert info.role is None and jid_arg(fake.called("GetNewsletterInfo")[0][1]) == CHANNEL

        for name in ("FollowNewsletter", "UnfollowNewsletter"):
            fake.answer(name, "")
        await client.follow_channel(CHANNEL)
        await client.unfollow_channel(CHANNEL)
        assert jid_arg(fake.called("FollowNewsletter")[0][1]) == CHANNEL
        assert jid_arg(fake.called("UnfollowNewsletter")[0][1]) == CHANNEL

        posts = [neonize_proto.NewsletterMessage(MessageServerID=server_id, ViewsCount=views,
                                                 Message=wa_e2e.Message(conversation=text))
                 for server_id, views, text in ((101, 5, "first"), (102, 9, "second"))]
        fake.answer("GetNewsletterMessages", neonize_proto.GetNewsletterMessageUpdateReturnFunction(
            NewsletterMessage=posts))
        got = await client.channel_messages(CHANNEL, count=500, before=103)
        assert [(m.server_id, m.kind, m.text, m.views) for m in got] == [(102, "text", "second", 9),
                                                                         (101, "text", "first", 5)]
        ((_, channel, _, count, before),) = fake.called("GetNewsletterMessages")
        assert (jid_arg(channel), count, before) == (CHANNEL, 100, 103), "the count is capped at 100"

        for text, code in (("info query returned status 404: item-not-found", "channel_not_found"),
                           ("info query returned status 403: forbidden", "not_channel_owner"),
                           ("websocket not connected", "channel_operation_failed")):
            fake.answer("GetNewsletterInfo", neonize_proto.CreateNewsLetterReturnFunction(Error=text))
            with pytest.raises(ChannelRefusedError) as refused:
                await client.channel_info(CHANNEL)
            assert refused.value.code == code
        fake.calls.clear()
        with pytest.raises(ChannelRefusedError) as refused:
            await client.channel_info("120363000000000001@g.us")
        assert refused.value.code == "channel_request_invalid" and fake.calls == []

    run_connected(tmp_path, scenario)


def test_a_poll_vote_is_decrypted_into_option_hashes(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, recorder: EventRecorder, go: Any) -> None:
        tea = hashlib.sha256(b"Tea").digest()
        fake.answer("DecryptPollVote", neonize_proto.ReturnFunctionWithError(
            PollVoteMessage=wa_e2e.PollVoteMessage(selectedOptions=[tea])))
        vote = wa_e2e.Message(pollUpdateMessage=wa_e2e.PollUpdateMessage(
            pollCreationMessageKey=MessageKey(remoteJID="15550001111@s.whatsapp.net", fromMe=True, ID="3EB0POLL"),
            vote=wa_e2e.PollEncValue(encPayload=b"E" * 16, encIV=b"I" * 12)))
        await go.event(inbound("VOTE1", vote))
        received = await recorder.wait_for(MessageReceived)
        assert received.kind == "poll_vote"
        assert received.raw["poll_vote"] == {"poll_id": "3EB0POLL", "selected_hashes": [tea.hex()],
                                             "decrypted": True}
        ((_, payload, length),) = fake.called("DecryptPollVote")
        sent = neonize_proto.Message.FromString(payload)
        assert length == len(payload) and sent.Info.ID == "VOTE1", "neonize gets the whole Message event"
        assert sent.Message.pollUpdateMessage.vote.encPayload == b"E" * 16

        recorder.events.clear()
        fake.answer("DecryptPollVote", neonize_proto.ReturnFunctionWithError(Error="no secret for 3EB0POLL"))
        await go.event(inbound("VOTE2", vote))
        undecrypted = await recorder.wait_for(MessageReceived)
        assert undecrypted.raw["poll_vote"] == {"poll_id": "3EB0POLL", "decrypted": False}

    run_connected(tmp_path, scenario)


def test_played_receipts_and_statuses_of_contacts(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, recorder: EventRecorder, go: Any) -> None:
        source = neonize_proto.MessageSource(Chat=CONTACT, Sender=CONTACT_DEVICE, SenderAlt=jid("", ""),
                                             IsFromMe=False, IsGroup=False, RecipientAlt=jid("", ""),
                                             BroadcastListOwner=jid("", ""))
        await go.event(neonize_proto.Receipt(MessageSource=source, MessageIDs=["3EB0NOTE"], Timestamp=1_717_000_000,
                                             Type=neonize_proto.Receipt.PLAYED))
        receipt = await recorder.wait_for(Receipt)
        assert (receipt.kind, receipt.message_ids) == ("played", ("3EB0NOTE",))

        await go.event(inbound("STORY", wa_e2e.Message(conversation="At the beach"), chat=STATUS))
        story = await recorder.wait_for(MessageReceived)
        assert (story.chat_jid, story.sender_phone, story.text) == ("status@broadcast", "15550001111", "At the beach")

    run_connected(tmp_path, scenario)


def test_statuses_channel_posts_forwarded_and_view_once_sends(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("SendMessage", neonize_proto.SendMessageReturnFunction(
            SendResponse=neonize_proto.SendResponse(Timestamp=1_717_000_000, ID="3EB0SENT", ServerID=0,
                                                    DebugTimings=neonize_proto.MessageDebugTimings())))
        upload = neonize_proto.UploadReturnFunction(UploadResponse=neonize_proto.UploadResponse(
            url="https://mmg/x", DirectPath="/x", Handle="h", MediaKey=b"", FileEncSHA256=b"",
            FileSHA256=b"S" * 32, FileLength=8))
        fake.answer("UploadNewsletter", upload)

        await client.send("status@broadcast", StatusText("Open till 6", background_argb=0xFF1E8C45, font=2))
        await client.send(CHANNEL, Image(Media(b"\x89PNG\r\n\x1a\n", "image/png"), caption="new"))
        await client.send("15550001111@s.whatsapp.net", Text("pass it on", forwarded=True))
        fake.answer("Upload", upload)
        await client.send("15550001111@s.whatsapp.net", Image(Media(b"\x89PNG\r\n\x1a\n", "image/png"),
                                                              view_once=True))
        sends = fake.called("SendMessage")
        (to, status), (channel_to, post), (_, forwarded), (_, once) = (
            (jid_arg(args[1]), wa_e2e.Message.FromString(args[3])) for args in sends)
        assert to == "status@broadcast" and status.extendedTextMessage.text == "Open till 6"
        assert (status.extendedTextMessage.backgroundArgb, status.extendedTextMessage.textArgb,
                status.extendedTextMessage.font) == (0xFF1E8C45, 0xFFFFFFFF, 2)
        assert channel_to == CHANNEL and post.imageMessage.caption == "new"
        assert len(fake.called("UploadNewsletter")) == 1, "a channel's media goes up unencrypted"
        context = forwarded.extendedTextMessage.contextInfo
        assert forwarded.extendedTextMessage.text == "pass it on" and context.isForwarded
        assert context.forwardingScore == 1
        assert once.imageMessage.viewOnce and len(fake.called("Upload")) == 1

    run_connected(tmp_path, scenario)
