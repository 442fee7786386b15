"""A timeline's window: given as times (an offset, or local time in the home's zone) or as a night."""

import datetime as dt
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

NIGHT_STARTS = time(20, 0)
NIGHT_ENDS = time(8, 0)
LONGEST = timedelta(days=31)


class BadWindow(ValueError):
    pass


def local_or_aware(text: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 time; without an offset it is wall-clock time in `zone` (the earlier one when a clock change
    makes it ambiguous, as zoneinfo does with fold=0)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadWindow(f"{text!r} is not an ISO 8601 time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def night(date: dt.date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """20:00 on `date` to 08:00 the next morning on the home's wall clock: 11 or 13 hours across a clock change."""
    start = datetime.combine(date, NIGHT_STARTS, tzinfo=zone)
    end = datetime.combine(date + timedelta(days=1), NIGHT_ENDS, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def window(start: str | None, end: str | None, on_night: dt.date | None, zone: ZoneInfo) -> tuple[datetime, datetime]:
    if on_night is not None:
        if start is not None or end is not None:
            raise BadWindow("give either `night` or `from` and `to`, not both")
        return night(on_night, zone)
    if start is None or end is None:
        raise BadWindow("give `from` and `to` (ISO 8601; local time in the home's zone without an offset), "
                        "or `night=YYYY-MM-DD`")
    begins, ends = local_or_aware(start, zone), local_or_aware(end, zone)
    if ends <= begins:
        raise BadWindow("`to` must be after `from`")
    if ends - begins > LONGEST:
        raise BadWindow(f"a timeline covers at most {LONGEST.days} days; narrow the window")
    return begins, ends
