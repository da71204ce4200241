"""Hours, days and months of usage (UTC), and the query parameters that name them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from whatsam.errors import ValidationFailed
from whatsam.metering.periods import (
    MAX_RANGE_DAYS,
    Month,
    day_of_hour,
    days_between,
    first_hour_of_day,
    hour_label,
    hour_of,
    is_closed,
    parse_day,
    parse_day_range,
    parse_month,
)

TODAY = date(2024, 3, 15)


def test_hours() -> None:
    moment = datetime(2024, 2, 29, 13, 59, 59, tzinfo=UTC)
    hour = hour_of(moment)
    assert hour == int(moment.timestamp()) // 3600
    assert hour_label(hour) == "2024-02-29T13"
    assert day_of_hour(hour) == date(2024, 2, 29)
    assert first_hour_of_day(date(2024, 2, 29)) == hour - 13
    # Labels sort like the hours: a range key can lead with them.
    assert hour_label(hour) < hour_label(hour + 1) < hour_label(hour + 11)


def test_an_hour_closes_after_its_grace() -> None:
    hour = 100
    assert not is_closed(hour, 101 * 3600 + 299, 300)
    assert is_closed(hour, 101 * 3600 + 300, 300)
    assert not is_closed(hour, hour * 3600 + 10, 0)


@pytest.mark.parametrize(("month", "first", "last", "previous", "following"), [
    (Month(2024, 2), date(2024, 2, 1), date(2024, 2, 29), Month(2024, 1), Month(2024, 3)),
    (Month(2023, 2), date(2023, 2, 1), date(2023, 2, 28), Month(2023, 1), Month(2023, 3)),
    (Month(2024, 1), date(2024, 1, 1), date(2024, 1, 31), Month(2023, 12), Month(2024, 2)),
    (Month(2024, 12), date(2024, 12, 1), date(2024, 12, 31), Month(2024, 11), Month(2025, 1)),
])
def test_months(month: Month, first: date, last: date, previous: Month, following: Month) -> None:
    assert (month.first_day, month.last_day, month.previous(), month.next()) == (first, last, previous, following)
    assert month.end_hour - month.first_hour == 24 * last.day
    assert month.end == datetime(following.year, following.month, 1, tzinfo=UTC)
    assert Month.of(datetime(first.year, first.month, 9, tzinfo=UTC)) == month


def test_parse_month() -> None:
    assert parse_month("2024-02") == Month(2024, 2)
    assert str(Month(2024, 2)) == "2024-02"
    for bad in ("2024-13", "2024-00", "2024-2", "24-02", "2024/02", "2024-02-01", "", "1999-12",
                "\uff12\uff10\uff12\uff14-02", "2024-02\n"):
        with pytest.raises(ValidationFailed) as refused:
            parse_month(bad)
        assert refused.value.code == "invalid_month"


def test_parse_day_is_strict() -> None:
    assert parse_day("2024-02-29", "from") == date(2024, 2, 29)
    for bad in ("2023-02-29", "2024-1-01", "20240101", "2024-01-01T00:00", " 2024-01-01", "2024-W01-1", "today",
                "\u0662\u0660\u0662\u0664-01-01", "2024-01-01\n"):
        with pytest.raises(ValidationFailed) as refused:
            parse_day(bad, "from")
        assert refused.value.code == "invalid_query" and refused.value.details == {"parameter": "from"}


def test_day_range_defaults_to_the_last_30_days() -> None:
    assert parse_day_range(None, None, TODAY) == (date(2024, 2, 15), TODAY)
    assert parse_day_range(None, "2024-01-31", TODAY) == (date(2024, 1, 2), date(2024, 1, 31))
    assert parse_day_range("2024-03-01", None, TODAY) == (date(2024, 3, 1), TODAY)


def test_day_range_bounds() -> None:
    assert parse_day_range("2024-03-01", "2024-03-01", TODAY) == (date(2024, 3, 1), date(2024, 3, 1))
    start, end = parse_day_range("2024-01-01", "2024-04-02", TODAY)
    assert (end - start).days + 1 == MAX_RANGE_DAYS == 93
    with pytest.raises(ValidationFailed) as too_long:
        parse_day_range("2024-01-01", "2024-04-03", TODAY)
    assert too_long.value.code == "invalid_query" and too_long.value.details["max_days"] == 93
    with pytest.raises(ValidationFailed) as backwards:
        parse_day_range("2024-03-02", "2024-03-01", TODAY)
    assert backwards.value.details["parameter"] == "from"
    with pytest.raises(ValidationFailed):   # `to` defaults to today: 2023-12-01..2024-03-15 is 106 days
        parse_day_range("2023-12-01", None, TODAY)


def test_days_between() -> None:
    assert days_between(date(2024, 2, 28), date(2024, 3, 1)) == [date(2024, 2, 28), date(2024, 2, 29),
                                                                  date(2024, 3, 1)]
