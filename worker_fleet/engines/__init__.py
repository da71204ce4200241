"""WhatsApp engines behind one interface: `neonize` (real WhatsApp) and `simulated` (dev and tests).

Only the interface is imported here; `get_engine` loads an implementation when asked, so that
importing this package never loads neonize's Go runtime.
"""

from worker_fleet.engines.base import (
    ENGINE_NAMES,
    AuthStateChanged,
    ChatPresenceState,
    Connected,
    Disconnected,
    Emit,
    Engine,
    EngineClient,
    EngineError,
    EngineEvent,
    EngineNotConnectedError,
    LoggedOut,
    MessageKind,
    MessageReceived,
    PairSuccess,
    QRCode,
    Receipt,
    ReceiptKind,
    SendResult,
    StreamReplaced,
    TemporaryBan,
    get_engine,
)
from worker_fleet.engines.outgoing import Media, MessageRef, Outgoing
from worker_fleet.engines.reconnect import ReconnectPolicy

__all__ = [
    "ENGINE_NAMES",
    "AuthStateChanged",
    "ChatPresenceState",
    "Connected",
    "Disconnected",
    "Emit",
    "Engine",
    "EngineClient",
    "EngineError",
    "EngineEvent",
    "EngineNotConnectedError",
    "LoggedOut",
    "Media",
    "MessageKind",
    "MessageReceived",
    "MessageRef",
    "Outgoing",
    "PairSuccess",
    "QRCode",
    "Receipt",
    "ReceiptKind",
    "ReconnectPolicy",
    "SendResult",
    "StreamReplaced",
    "TemporaryBan",
    "get_engine",
]
