"""The moto server `whatsam dev` and the tests start, with DynamoDB requests made atomic.

moto's server is threaded, and its DynamoDB checks a condition and then writes without a lock:
two transactions at once can both pass `session_count < limit` and both add one (seen: 7 of 8
racing creates "succeeded" against a limit of 5, and lost updates). Real DynamoDB runs each
request, and each transaction, atomically; the product's limits and leases rely on that. One
lock around every DynamoDB request gives the emulator the same guarantee. Other services (SQS
long polls among them) keep running in parallel.

Under that lock, moto answers every Query by sorting the whole table and scanning it: with a
few thousand messages a query of one session's outbox or one WhatsApp id took 50 ms and more,
and every other DynamoDB request waited behind it (the local stack ingested a few events a
second). `narrow_queries` hands a query only the items it can match: its partition for the
table's own key, the items holding the index's key values for an index. moto still applies
every condition and sorts what it returns, so the answers are the same.

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


def narrow_queries() -> None:
    from moto.dynamodb.models.table import Table

    narrowed = threading.local()
    every_item = Table.all_items
    unnarrowed_query = Table.query

    def all_items(self: Table) -> Any:
        items = getattr(narrowed, "items", None)
        return every_item(self) if items is None else items

    @functools.wraps(unnarrowed_query)
    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        narrowed.items = _candidates(self, hash_key, args[6] if len(args) > 6 else kwargs.get("index_name"),
                                     kwargs.get("hash_key_conditions"))
        try:
            return unnarrowed_query(self, hash_key, *args, **kwargs)
        finally:
            narrowed.items = None

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


def _candidates(table: Any, hash_key: Any, index_name: str | None, hash_conditions: Any) -> list[Any] | None:
    """The items a query may match, in no order (moto sorts them); None: let moto scan all."""
    if index_name is None:
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)  # not table.items[...]: a defaultdict would grow
        if not partition:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    if not hash_conditions:
        return None
    items = [item for part in table.items.values()
             for item in (part.values() if table.range_key_attr else (part,))]
    return [item for item in items
            if all((held := item.attrs.get(name)) is not None and held == value for name, value in hash_conditions)]


def main() -> None:
    from moto.server import main as moto_main

    serialize_dynamodb_requests()
    narrow_queries()
    moto_main()


if __name__ == "__main__":
    main()
