"""Reads shared by the events of one batch, and only within it."""

from __future__ import annotations

import threading

from whatsam.services.batch_reads import forget, read_once, shared_reads


def test_outside_a_batch_every_read_goes_to_the_store() -> None:
    reads: list[str] = []
    for _ in range(2):
        assert read_once("card", lambda: reads.append("card") or 1) == 1
    assert reads == ["card", "card"]
    assert forget("card") is False


def test_a_batch_reads_each_key_once_until_forgotten() -> None:
    reads: list[str] = []

    def load(key: str) -> str:
        reads.append(key)
        return f"{key}#{len(reads)}"

    with shared_reads():
        assert read_once("a", lambda: load("a")) == "a#1"
        assert read_once("a", lambda: load("a")) == "a#1"
        assert read_once("b", lambda: load("b")) == "b#2"
        assert forget("a", "missing") is True
        assert forget("missing") is False
        assert read_once("a", lambda: load("a")) == "a#3"
    with shared_reads():
        assert read_once("a", lambda: load("a")) == "a#4", "the next batch reads again"
    assert reads == ["a", "b", "a", "a"]


def test_a_batch_is_its_threads_own() -> None:
    seen: list[int] = []
    with shared_reads():
        read_once("k", lambda: 1)
        other = threading.Thread(target=lambda: seen.append(read_once("k", lambda: 2)))
        other.start()
        other.join()
    assert seen == [2]
