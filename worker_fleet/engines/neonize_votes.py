"""Poll votes on the neonize engine (mixed into `NeonizeClient`): a vote arrives encrypted with the
poll's secret, which whatsmeow kept when this session sent the poll; neonize's
``decrypt_poll_vote(message)`` (the whole Message event) answers a ``PollVoteMessage`` whose
``selectedOptions`` are the SHA-256 hashes of the chosen option names. The engine reports them as
hex; the control plane, which keeps each poll's options, turns them back into names
(`whatsam.messaging.polls`)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from worker_fleet.engines.base import EngineError, MessageReceived
from worker_fleet.engines.neonize_runtime import NeonizeError

log = logging.getLogger(__name__)


class NeonizeVotes:
    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_native(self) -> contextlib.AbstractAsyncContextManager[Any]: ...

    async def _with_decrypted_vote(self, event: Any, received: MessageReceived) -> MessageReceived:
        """`received` (a poll vote) with ``raw["poll_vote"]["selected_hashes"]``; a vote that cannot
        be decrypted (a poll this device never sent, or whose secret it lost) arrives without them."""
        vote = dict(received.raw.get("poll_vote") or {})
        try:
            async with self._connected_native() as native:
                decrypted = await native.decrypt_poll_vote(event)
        except (NeonizeError, EngineError) as exc:
            log.info("poll vote %s could not be decrypted: %s", received.message_id, exc)
            vote["decrypted"] = False
        else:
            vote["selected_hashes"] = [bytes(option).hex() for option in decrypted.selectedOptions]
            vote["decrypted"] = True
        return dataclasses.replace(received, raw={**received.raw, "poll_vote": vote})
