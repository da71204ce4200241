"""The worker's side of group calls, with the shard and Redis replaced by recorders: which engine
calls a request makes, and how every outcome becomes a reply (never silence)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.engine_recorder import Recorder
from whatsam.contracts.commands import DevSimulateGroup, GroupRequest
from whatsam.contracts.events import GroupJoinedEvent, GroupLeftEvent, GroupParticipantsEvent, GroupUpdatedEvent
from worker_fleet.engines.groups import (
    GroupInfo,
    GroupJoined,
    GroupLeft,
    GroupParticipant,
    GroupParticipantsChanged,
    GroupUpdated,
    ParticipantResult,
)
from worker_fleet.group_requests import GroupRequests, group_event
from worker_fleet.supervisor import ShardGone, ShardOperationError

GROUP = "120363000000000001@g.us"
ANN = GroupParticipant("14155552671@s.whatsapp.net", "14155552671", "100000000000002@lid", "admin")
INFO = GroupInfo(GROUP, "Team", created_at=datetime(2026, 1, 2, tzinfo=UTC), participants=(ANN,))


def run(command: GroupRequest | DevSimulateGroup, **answers: Any) -> tuple[Recorder, dict[str, Any]]:
    recorder = Recorder(answers)
    GroupRequests(recorder.call, recorder, None).handle("ses_1", command)  # type: ignore[arg-type]
    ((reply_to, reply),) = recorder.replies
    assert reply_to == command.reply_to
    return recorder, reply


def request(operation: str, **fields: Any) -> GroupRequest:
    return GroupRequest(session_id="ses_1", tenant_id="usr_1", operation=operation, reply_to="r:1",  # type: ignore[arg-type]
                        **fields)


def test_create_with_a_description_and_update_make_one_engine_call_per_setting() -> None:
    recorder, reply = run(request("create", subject="Team", participants=[ANN.jid], description="About"),
                          create_group=INFO)
    assert [c[0] for c in recorder.calls] == ["create_group", "set_group_description"]
    assert recorder.calls[0][1] == {"subject": "Team", "participants": [ANN.jid], "community": False}
    assert reply["ok"] and reply["result"]["description"] == "About"
    assert reply["result"]["created_at"].startswith("2026-01-02") and reply["result"]["participants"][0] == {
        "jid": ANN.jid, "phone": "14155552671", "lid": "100000000000002@lid", "role": "admin"}

    recorder, reply = run(request("update", group_jid=GROUP, subject="New", announce=False, join_approval=True),
                          group_info=INFO)
    assert recorder.calls == [("set_group_subject", {"group_jid": GROUP, "subject": "New"}),
                              ("set_group_announce", {"group_jid": GROUP, "announce": False}),
                              ("set_group_join_approval", {"group_jid": GROUP, "enabled": True}),
                              ("group_info", {"group_jid": GROUP})]


def test_participants_invites_and_communities_answer_plain_json() -> None:
    _, reply = run(request("participants", group_jid=GROUP, action="add", participants=[ANN.jid]),
                   update_group_participants=[ParticipantResult(ANN.jid, ANN.phone, ANN.lid, "ok")])
    assert reply["result"] == [{"jid": ANN.jid, "phone": ANN.phone, "lid": ANN.lid, "status": "ok"}]
    recorder, reply = run(request("revoke_invite", group_jid=GROUP),
                          group_invite_link="https://chat.whatsapp.com/AbC123")
    assert recorder.calls == [("group_invite_link", {"group_jid": GROUP, "revoke": True})]
    assert reply["result"] == {"invite_link": "https://chat.whatsapp.com/AbC123", "code": "AbC123"}
    recorder, _ = run(request("link", group_jid=GROUP, community_jid="120363000000000009@g.us"))
    assert recorder.calls == [("link_group", {"group_jid": GROUP, "community_jid": "120363000000000009@g.us"})]
    recorder, _ = run(DevSimulateGroup(session_id="ses_1", tenant_id="usr_1", kind="group.join", reply_to="r:1",
                                       group_jid=GROUP, phone="16502530001"), simulate_group={"group": GROUP})
    assert recorder.calls[0][0] == "simulate_group" and recorder.calls[0][1]["phone"] == "16502530001"


@pytest.mark.parametrize(("failure", "code"), [
    (ShardOperationError("GroupRefusedError", "not_group_admin: only admins"), "not_group_admin"),
    (ShardOperationError("EngineNotConnectedError", "session is idle"), "session_not_connected"),
    (ShardOperationError("EngineError", "a group subject has 1 to 100 characters"), "group_request_invalid"),
    (ShardOperationError("RuntimeError", "boom"), "group_operation_failed"),
    (ShardGone("shard 0 is gone"), "session_not_connected"),
    (LookupError("session ses_1 is not open in this shard"), "session_not_connected"),
    (TimeoutError(), "engine_timeout"),
    (OSError("S3 is unreachable"), "group_operation_failed"),
])
def test_every_failure_is_answered_with_a_code(failure: BaseException, code: str) -> None:
    _, reply = run(request("info", group_jid=GROUP), group_info=failure)
    assert reply["ok"] is False and reply["code"] == code and reply["error"]


def test_engine_group_events_become_control_plane_events() -> None:
    envelope = {"session_id": "ses_1", "tenant_id": "usr_1", "seq": 7, "worker_id": "w-1"}
    joined = group_event(envelope, GroupJoined(INFO, by=ANN, reason="added"))
    assert isinstance(joined, GroupJoinedEvent) and joined.group.participants[0].lid == ANN.lid
    assert joined.by is not None and joined.by.role == "admin"
    updated = group_event(envelope, GroupUpdated(GROUP, {"subject": "New"}, by=ANN))
    assert isinstance(updated, GroupUpdatedEvent) and updated.by is not None and updated.by.role is None
    joins = group_event(envelope, GroupParticipantsChanged(GROUP, "join", (ANN,), by=ANN))
    assert isinstance(joins, GroupParticipantsEvent) and joins.participants[0].role is None
    promoted = group_event(envelope, GroupParticipantsChanged(GROUP, "promote", (ANN,)))
    assert isinstance(promoted, GroupParticipantsEvent) and promoted.participants[0].role == "admin"
    left = group_event(envelope, GroupLeft(GROUP, reason="removed"))
    assert isinstance(left, GroupLeftEvent) and left.seq == 7 and left.by is None
