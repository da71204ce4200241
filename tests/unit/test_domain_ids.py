"""Prefixed, time-ordered ids."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.support.waiting import wait_until
from whatsam.domain import ids


def test_prefix_shape_and_is_id() -> None:
    value = ids.new_id("ses")
    assert value.startswith("ses_")
    assert len(value) == len("ses_") + 25
    assert ids.is_id(value, "ses")
    assert not ids.is_id(value, "usr")


def test_ids_are_unique() -> None:
    assert len({ids.new_id("key") for _ in range(2000)}) == 2000


@pytest.mark.parametrize("value", [
    "ses_", "ses", "", "ses-0000000000000000000000000", "ses_" + "0" * 24, "ses_" + "0" * 26,
    "ses_" + "A" * 25, "ses_" + "0" * 24 + "_", "SES_" + "0" * 25, "usr_" + "0" * 25,
])
def test_is_id_rejects(value: str) -> None:
    assert not ids.is_id(value, "ses")


def test_sortable_by_creation_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Millisecond values chosen to cross base36 digit boundaries (35 → 36, 1295 → 1296, ...).
    moments = [0.035, 0.036, 1.295, 1.296, 1_700_000_000.000, 1_700_000_000.001, 1_700_000_001.5,
               4_102_444_800.0]
    made = []
    for moment in moments:
        monkeypatch.setattr(ids, "time", SimpleNamespace(time=lambda moment=moment: moment))
        made.append(ids.new_id("ses"))
    assert sorted(made) == made
    assert all(ids.is_id(v, "ses") for v in made)


def test_real_clock_ids_sort_in_creation_order() -> None:
    import time

    first = ids.new_id("ses")
    started_ms = time.time_ns() // 1_000_000
    wait_until(lambda: time.time_ns() // 1_000_000 > started_ms, every=0.0005, what="the clock's next millisecond")
    second = ids.new_id("ses")
    assert first < second
