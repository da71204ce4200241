"""Telling a failed DynamoDB condition (an expected race outcome) from a real error."""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model


def conditional_failed(exc: Exception) -> bool:
    if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def transaction_conflicted(exc: Exception) -> bool:
    """Another transaction touched the same item at once; retrying is the remedy."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "TransactionConflict" for r in reasons)


def update_if(item: Model, actions: Sequence[Action], condition: Condition) -> bool:
    """Apply `actions` if `condition` holds; False (not an error) when it does not."""
    try:
        item.update(actions=list(actions), condition=condition)
    except UpdateError as exc:
        if conditional_failed(exc):
            return False
        raise
    return True


def save_if(item: Model, condition: Condition) -> bool:
    """Save `item` if `condition` holds (usually: nothing has its key yet); False (not an
    error) when it does not."""
    try:
        item.save(condition=condition)
    except PutError as exc:
        if conditional_failed(exc):
            return False
        raise
    return True
