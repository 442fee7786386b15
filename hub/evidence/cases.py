"""Investigations. A case names its scope — a home, rooms and/or staff, a window — and while it is open it is a
legal hold: the retention purge leaves everything in its scope alone. The same scope picks what its bundle shows."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import Case

# Where an event's signed data names a member of staff: a device's knock or override (`staff`), the hub's entry
# decisions (`who`) and alert changes (`by`).
STAFF_FIELDS = ("staff", "who", "by")


class CaseError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def open_case(
    session: Session, *, site: str, opened_by: str, reason: str, rooms: list[str], staff: list[str],
    window_from: datetime, window_to: datetime, now: datetime,
) -> Case:
    if not rooms and not staff:
        raise CaseError("empty_scope", "a case names at least one room or one member of staff")
    if window_to <= window_from:
        raise CaseError("bad_window", "the window must end after it starts")
    if not reason.strip():
        raise CaseError("no_reason", "a case records why it was opened")
    case = Case(site=site, opened_by=opened_by, opened_at=now, reason=reason, rooms=sorted(set(rooms)),
                staff=sorted(set(staff)), window_from=window_from, window_to=window_to)
    session.add(case)
    session.flush()
    return case


def close_case(session: Session, case_id: int, now: datetime) -> Case:
    """End the hold; the case and what it exported stay."""
    case = get_case(session, case_id)
    if case.closed_at is None:
        case.closed_at = now
    return case


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseError("unknown_case", f"there is no case {case_id}")
    return case


def cases_of(session: Session, site: str) -> list[Case]:
    """A home's cases, open and closed, newest first."""
    return list(session.scalars(select(Case).where(Case.site == site).order_by(Case.id.desc())))


def open_cases(session: Session) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.closed_at.is_(None)).order_by(Case.id)))


def staff_named(signed: str) -> set[str]:
    """The staff ids an event's signed data names."""
    try:
        data = json.loads(signed).get("data")
    except (ValueError, AttributeError):
        return set()
    if not isinstance(data, dict):
        return set()
    return {value for key in STAFF_FIELDS if isinstance(value := data.get(key), str)}


def window_ms(case: Case) -> tuple[int, int]:
    return int(case.window_from.timestamp() * 1000), int(case.window_to.timestamp() * 1000)


def in_scope(case: Case, site: str, room: str | None, ts_ms: int, signed: str) -> bool:
    start, end = window_ms(case)
    if site != case.site or not start <= ts_ms <= end:
        return False
    return (room is not None and room in case.rooms) or bool(staff_named(signed) & set(case.staff))


def case_summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.id, "site": case.site, "opened_by": case.opened_by, "opened_at": case.opened_at.isoformat(),
        "reason": case.reason, "rooms": case.rooms, "staff": case.staff,
        "window_from": case.window_from.isoformat(), "window_to": case.window_to.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }
