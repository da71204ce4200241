"""The worker applies a session's QR (and other status news that keeps it hosted) before
other sessions' queued receipts, and never lets an ending overtake what came before it."""

from __future__ import annotations

from datetime import UTC, datetime

from worker_fleet.engines.base import Connected, Disconnected, EngineEvent, LoggedOut, QRCode, Receipt
from worker_fleet.event_lanes import EngineEventLanes


def _receipt(n: int) -> Receipt:
    return Receipt(message_ids=(f"WA{n}",), chat_jid="14155552671@s.whatsapp.net", kind="read",
                   timestamp=datetime.now(UTC))


def _drain(lanes: EngineEventLanes[str]) -> list[tuple[str, object]]:
    lanes.close()
    taken = []
    while (item := lanes.get()) is not None:
        session_id, event, host = item
        assert host == f"host of {session_id}", "each event keeps who hosted its session on arrival"
        taken.append((session_id, event))
    return taken


def _put(lanes: EngineEventLanes[str], session_id: str, event: EngineEvent) -> None:
    lanes.put(session_id, event, f"host of {session_id}")


def test_a_new_sessions_qr_jumps_a_backlog_of_receipts() -> None:
    lanes: EngineEventLanes[str] = EngineEventLanes()
    backlog = [_receipt(n) for n in range(500)]
    for receipt in backlog:
        _put(lanes, "ses_busy", receipt)
    qr = QRCode(code="2@new", expires_in=20)
    _put(lanes, "ses_new", qr)
    _put(lanes, "ses_new", Connected())
    taken = _drain(lanes)
    assert taken[:2] == [("ses_new", qr), ("ses_new", Connected())]
    assert [event for _, event in taken[2:]] == backlog, "receipts keep their order"


def test_a_reconnect_under_way_jumps_but_an_ending_waits_its_turn() -> None:
    lanes: EngineEventLanes[str] = EngineEventLanes()
    first, second = _receipt(1), _receipt(2)
    _put(lanes, "ses_a", first)
    _put(lanes, "ses_a", Disconnected(reason="network", will_reconnect=True))
    _put(lanes, "ses_a", second)
    _put(lanes, "ses_a", LoggedOut(reason="device removed"))
    _put(lanes, "ses_a", Disconnected(reason="gave up", will_reconnect=False))
    events = [event for _, event in _drain(lanes)]
    assert events == [Disconnected(reason="network", will_reconnect=True), first, second,
                      LoggedOut(reason="device removed"), Disconnected(reason="gave up", will_reconnect=False)]


def test_close_ends_after_everything_put_before_it() -> None:
    lanes: EngineEventLanes[str] = EngineEventLanes()
    _put(lanes, "ses_a", _receipt(1))
    assert [session for session, _ in _drain(lanes)] == ["ses_a"]
