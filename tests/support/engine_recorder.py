"""A stand-in for the worker's shard and reply lists in unit tests of engine calls: records each
engine call (answering from `answers`, raising the exceptions among them) and each reply."""

from __future__ import annotations

from typing import Any


class Recorder:
    def __init__(self, answers: dict[str, Any]):
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.replies: list[tuple[str, dict[str, Any]]] = []

    def call(self, operation: str, session_id: str, **args: Any) -> Any:
        args.pop("timeout")
        self.calls.append((operation, args))
        answer = self.answers.get(operation)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def push_reply(self, reply_to: str, payload: dict[str, Any]) -> None:
        self.replies.append((reply_to, payload))
