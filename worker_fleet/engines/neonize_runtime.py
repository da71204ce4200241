"""The parts of neonize this worker uses, imported once and without side effects on logging.

Importing any neonize module loads its Go library and runs ``neonize.utils.log``, which calls
``logging.basicConfig(level=INFO, ...)`` on the root logger at import time. That would silently
take over the worker's logging configuration (a later basicConfig becomes a no-op), so the root
logger is restored around the import.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def _root_logging_preserved() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


with _root_logging_preserved():
    from google.protobuf.json_format import MessageToDict
    from linkpreview import Link, LinkPreview
    from neonize._binder import ProxySettings
    from neonize.aioze import events as neonize_events
    from neonize.aioze.client import NewAClient
    from neonize.builder import build_edit, build_revoke
    from neonize.exc import NeonizeError
    from neonize.proto import Neonize_pb2 as neonize_proto
    from neonize.proto.waCommon.WACommon_pb2 import MessageKey
    from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
    from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as wa_e2e
    from neonize.utils import validate_link
    from neonize.utils.enum import (
        ChatPresence,
        ChatPresenceMedia,
        ClientName,
        ClientType,
        MediaType,
        ParticipantChange,
        ReceiptType,
    )
    from neonize.utils.jid import Jid2String, JIDToNonAD
    from neonize.utils.message import extract_text

__all__ = [
    "ChatPresence",
    "ChatPresenceMedia",
    "ClientName",
    "ClientType",
    "DeviceProps",
    "JIDToNonAD",
    "Jid2String",
    "Link",
    "LinkPreview",
    "MediaType",
    "MessageKey",
    "MessageToDict",
    "NeonizeError",
    "NewAClient",
    "ParticipantChange",
    "ProxySettings",
    "ReceiptType",
    "build_edit",
    "build_revoke",
    "extract_text",
    "neonize_events",
    "neonize_proto",
    "validate_link",
    "wa_e2e",
]
