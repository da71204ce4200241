"""Hours, days and months of usage, all in UTC, and the query parameters that name them.

Counters are bucketed by epoch hour (unix seconds // 3600); records, days and months are
derived from it, so a day or a month is always a whole number of hours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from whatsam.errors import ValidationFailed

# The longest range GET /v1/usage answers in one call: a quarter, plus a little.
MAX_RANGE_DAYS = 93
DEFAULT_RANGE_DAYS = 30
# No usage is older; a range that starts earlier could run off the calendar (year 1).
FIRST_DAY = date(2000, 1, 1)

# ASCII digits only: `\d` would let other scripts' digits through to int().
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}\Z")


def hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, tz=UTC)


def hour_of(moment: datetime) -> int:
    return int(moment.timestamp() // 3600)


def hour_label(hour: int) -> str:
    """`2024-02-01T13`: sorts like the hour itself, so it can lead a range key."""
    return hour_start(hour).strftime("%Y-%m-%dT%H")


def day_of_hour(hour: int) -> date:
    return hour_start(hour).date()


def first_hour_of_day(day: date) -> int:
    return hour_of(datetime(day.year, day.month, day.day, tzinfo=UTC))


def is_closed(hour: int, now: float, grace_seconds: float) -> bool:
    """An hour is closed (safe to fold) once it ended `grace_seconds` ago."""
    return (hour + 1) * 3600 + grace_seconds <= now


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def of(cls, moment: datetime | date) -> Month:
        return cls(moment.year, moment.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def first_hour(self) -> int:
        return first_hour_of_day(self.first_day)

    @property
    def end_hour(self) -> int:
        """The first hour after the month."""
        return self.next().first_hour

    @property
    def end(self) -> datetime:
        return hour_start(self.end_hour)


def parse_month(raw: str) -> Month:
    """`YYYY-MM`, or a 400 `invalid_month`."""
    bad = ValidationFailed("The month must be written YYYY-MM, e.g. 2024-02.", code="invalid_month",
                           details={"month": raw[:16]})
    if not _MONTH.match(raw):
        raise bad
    year, month = int(raw[:4]), int(raw[5:])
    if not (1 <= month <= 12 and year >= FIRST_DAY.year):
        raise bad
    return Month(year, month)


def parse_day(raw: str, parameter: str) -> date:
    """A strict `YYYY-MM-DD` query parameter, or a 400 `invalid_query` that names it."""
    if not _DAY.match(raw):
        raise ValidationFailed(f"`{parameter}` must be a date written YYYY-MM-DD.", code="invalid_query",
                               details={"parameter": parameter})
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed(f"`{parameter}` is not a calendar date.", code="invalid_query",
                               details={"parameter": parameter}) from exc
    if day < FIRST_DAY:
        raise ValidationFailed(f"`{parameter}` must not be before {FIRST_DAY.isoformat()}.", code="invalid_query",
                               details={"parameter": parameter, "minimum": FIRST_DAY.isoformat()})
    return day


def parse_day_range(raw_from: str | None, raw_to: str | None, today: date) -> tuple[date, date]:
    """`from` and `to` (both inclusive); `to` defaults to today, `from` to 30 days before `to`."""
    end = parse_day(raw_to, "to") if raw_to else today
    start = parse_day(raw_from, "from") if raw_from else end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise ValidationFailed("`from` must not be after `to`.", code="invalid_query",
                               details={"parameter": "from", "from": start.isoformat(), "to": end.isoformat()})
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValidationFailed(f"At most {MAX_RANGE_DAYS} days per request; this range has {days}.",
                               code="invalid_query", details={"parameter": "to", "max_days": MAX_RANGE_DAYS})
    return start, end


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
