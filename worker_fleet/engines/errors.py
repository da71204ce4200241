"""The engine's exceptions, in a module of their own so that `base` and `groups` can share them
(`base` re-exports them: import from either)."""

from __future__ import annotations


class EngineError(Exception):
    """An engine operation failed; the message says why."""


class EngineNotConnectedError(EngineError):
    """The operation needs a connected (or, for pairing codes, a pairing) session."""
