"""The engine's exceptions, in a module of their own so that `base` and `groups` can share them
(`base` re-exports them: import from either)."""

from __future__ import annotations


class EngineError(Exception):
    """An engine operation failed; the message says why."""


class EngineNotConnectedError(EngineError):
    """The operation needs a connected (or, for pairing codes, a pairing) session."""


class EngineRefusedError(EngineError):
    """WhatsApp (or the engine) refused an operation; `code` says why (`not_supported_by_engine`,
    `group_not_found`, …). The message travels across the shard boundary as ``"<code>: <text>"``
    so the code survives it (see `parse`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.detail = message

    @staticmethod
    def parse(text: str) -> tuple[str, str] | None:
        """(code, message) from the text of an `EngineRefusedError`, or None for another text."""
        code, sep, message = text.partition(": ")
        if sep and code and code.replace("_", "").isalpha() and code.islower():
            return code, message
        return None
