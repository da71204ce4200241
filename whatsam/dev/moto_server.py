"""The moto server `whatsam dev` and the tests start, with DynamoDB requests made atomic.

moto's server is threaded, and its DynamoDB checks a condition and then writes without a lock:
two transactions at once can both pass `session_count < limit` and both add one (seen: 7 of 8
racing creates "succeeded" against a limit of 5, and lost updates). Real DynamoDB runs each
request, and each transaction, atomically; the product's limits and leases rely on that. One
lock around every DynamoDB request gives the emulator the same guarantee. Other services (SQS
long polls among them) keep running in parallel.

Run as `python -m whatsam.dev.moto_server` with moto.server's arguments."""

from __future__ import annotations

import functools
import threading
from typing import Any


def serialize_dynamodb_requests() -> None:
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    unlocked = DynamoHandler.call_action

    @functools.wraps(unlocked)
    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return unlocked(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def main() -> None:
    from moto.server import main as moto_main

    serialize_dynamodb_requests()
    moto_main()


if __name__ == "__main__":
    main()
