"""Monthly statements: written once per user and month by a conditional put, never changed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from whatsam.adapters.conditions import save_if
from whatsam.adapters.usage_models import StatementModel
from whatsam.metering.periods import Month


class StatementRepository:
    def add(self, user_id: str, month: Month, *, tier: str, currency: str, total_cents: int,
            document: dict[str, Any], closed_at: datetime) -> bool:
        """Store the statement; False (and nothing written) if the month was closed before."""
        item = StatementModel(user_id=user_id, month=str(month), tier=tier, currency=currency,
                              total_cents=total_cents, document=json.dumps(document, sort_keys=True),
                              closed_at=closed_at)
        return save_if(item, StatementModel.user_id.does_not_exist())

    def get(self, user_id: str, month: Month) -> dict[str, Any] | None:
        try:
            item = StatementModel.get(user_id, str(month), consistent_read=True)
        except DoesNotExist:
            return None
        return dict(json.loads(item.document))

    def list(self, user_id: str) -> list[dict[str, Any]]:
        """Newest month first."""
        return [dict(json.loads(item.document))
                for item in StatementModel.query(user_id, scan_index_forward=False, consistent_read=True)]
