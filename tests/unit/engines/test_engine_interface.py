from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from worker_fleet.engines import ENGINE_NAMES, Engine, get_engine
from worker_fleet.engines.base import (
    AuthStateChanged,
    Connected,
    Disconnected,
    EngineError,
    LoggedOut,
    MessageReceived,
    PairSuccess,
    QRCode,
    Receipt,
    SendResult,
    StreamReplaced,
    TemporaryBan,
    e164_digits,
    split_jid,
)


def test_simulated_engine_by_name() -> None:
    engine = get_engine("simulated")
    assert isinstance(engine, Engine)
    assert engine.name == "simulated"


def test_unknown_engine_names_are_rejected_with_the_choices() -> None:
    with pytest.raises(ValueError, match="neonize, simulated"):
        get_engine("whatsapp-business")
    assert ENGINE_NAMES == ("neonize", "simulated")


@pytest.mark.parametrize(("given", "digits"), [("+15551234567", "15551234567"), (" 447700900123 ", "447700900123")])
def test_e164_digits(given: str, digits: str) -> None:
    assert e164_digits(given) == digits


@pytest.mark.parametrize("bad", ["", "+", "0123456789", "+1 555 123", "1555abc4567", "1" * 16, "12345"])
def test_not_e164(bad: str) -> None:
    with pytest.raises(EngineError):
        e164_digits(bad)


def test_split_jid() -> None:
    assert split_jid("15551234567:3@s.whatsapp.net") == ("15551234567:3", "s.whatsapp.net")
    for bad in ("15551234567", "@s.whatsapp.net", "1555@"):
        with pytest.raises(EngineError):
            split_jid(bad)


def test_events_and_results_survive_pickling() -> None:
    # Engine clients may run in a subprocess and send their events over a pipe.
    at = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    values = [
        QRCode("2@x", 20.0), PairSuccess("15551234567", "15551234567:1@s.whatsapp.net", None, "android"),
        Connected(), Disconnected("connection_lost", will_reconnect=True), LoggedOut("logged_out"),
        StreamReplaced(), TemporaryBan("broadcast_list", None), AuthStateChanged(),
        MessageReceived("3A1", "c@s.whatsapp.net", "c@s.whatsapp.net", "1555", "1@lid", at, False, False, "text",
                        "hi", {"conversation": "hi"}),
        Receipt(("3EB0",), "c@s.whatsapp.net", "played", at), SendResult("3EB0", at),
    ]
    for value in values:
        assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes
