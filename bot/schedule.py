"""Delivery times, free of Telegram and of the real clock: local HH:MM in a time zone, to UTC slots, DST-correct."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retrieval.errors import PhrasedError

CATCH_UP = timedelta(hours=2)  # a slot missed while the bot was down is still sent this long after it
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)


class ScheduleError(PhrasedError, ValueError):
    """A bad /subscribe argument; `key` names the phrase that explains it, `value` is what was given."""

    def __init__(self, key: str, value: str):
        super().__init__(key, value=value)
        self.value = value


@dataclass(frozen=True)
class Schedule:
    hour: int
    minute: int
    tz: str  # an IANA name ("Asia/Baku") or a UTC offset ("+04:00")
    lang: str

    @property
    def zone(self) -> tzinfo:
        return zone(self.tz)

    def at(self, day: date) -> datetime:
        """The UTC instant of this schedule's local time on `day` (wall time, as zoneinfo resolves it across DST)."""
        return datetime.combine(day, time(self.hour, self.minute), tzinfo=self.zone).astimezone(UTC)

    def last_slot(self, now: datetime) -> datetime:
        """The latest delivery instant at or before `now`."""
        local_day = now.astimezone(self.zone).date()
        slot = self.at(local_day)
        return slot if slot <= now else self.at(local_day - timedelta(days=1))

    def next_slot(self, now: datetime) -> datetime:
        local_day = now.astimezone(self.zone).date()
        slot = self.at(local_day)
        return slot if slot > now else self.at(local_day + timedelta(days=1))

    def due(self, now: datetime, delivered: set[datetime]) -> datetime | None:
        """The slot to send now: the latest one, if it is not older than CATCH_UP and was not delivered yet."""
        slot = self.last_slot(now)
        return slot if now - slot <= CATCH_UP and slot not in delivered else None


def zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "GMT", "Z"):
        return UTC
    match = _OFFSET.match(name.strip())
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise ScheduleError("bad_timezone", name)
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(delta if sign == "+" else -delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError("bad_timezone", name) from exc


def parse_schedule(args: list[str], default_lang: str) -> Schedule:
    """/subscribe [HH:MM] [timezone] [ar|en], in any order; 08:00 UTC in the user's language by default."""
    hour, minute, tz, lang = 8, 0, "UTC", default_lang
    for arg in args:
        if re.fullmatch(r"\d{1,2}:\d{2}", arg):
            hour, minute = (int(x) for x in arg.split(":"))
            if hour > 23 or minute > 59:
                raise ScheduleError("bad_time", arg)
        elif arg.lower() in ("ar", "en"):
            lang = arg.lower()
        else:
            zone(arg)  # raises for a name that is neither an IANA zone nor an offset
            tz = arg
    return Schedule(hour, minute, tz, lang)
