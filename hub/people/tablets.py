"""Tablets paired to rooms: where a resident may sign in to their own page without a member of staff beside them.

A night lead or manager pairs a tablet from the tablet itself; it gets a long-lived `threshold_tablet` cookie with
256 random bits, and the room's row keeps only their SHA-256. A room has at most one paired tablet: pairing
another replaces it, so a lost tablet stops working as soon as a new one is paired (or the room is unpaired). The
pairing follows the room, not the resident: a resident who moves signs in on their new room's tablet.
"""

import secrets
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.db.models import Account, TabletPairing
from hub.people.environment_limits import get_room
from hub.people.homes import current_tenancy
from hub.people.passwords import token_digest

TABLET_COOKIE = "threshold_tablet"


def current_pairing(session: Session, home_id: str, room_id: str) -> TabletPairing | None:
    return session.scalar(select(TabletPairing).where(TabletPairing.home_id == home_id,
                                                      TabletPairing.room_id == room_id,
                                                      TabletPairing.revoked_at.is_(None)))


def unpair_room(session: Session, home_id: str, room_id: str, by: Account, now: datetime | None = None) -> bool:
    """Unpair the room's tablet, if it has one; the caller commits."""
    get_room(session, home_id, room_id)
    result = session.execute(
        update(TabletPairing).where(TabletPairing.home_id == home_id, TabletPairing.room_id == room_id,
                                    TabletPairing.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC), revoked_by=by.username),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def pair_tablet(session: Session, home_id: str, room_id: str, by: Account, now: datetime | None = None) -> str:
    """Pair a new tablet with the room, replacing any before it; returns the tablet's cookie value (seen only
    now). The caller commits."""
    now = now or datetime.now(UTC)
    unpair_room(session, home_id, room_id, by, now)
    secret = secrets.token_urlsafe(32)
    session.add(TabletPairing(home_id=home_id, room_id=room_id, token_sha256=token_digest(secret),
                              paired_by=by.username, paired_at=now))
    session.flush()
    return secret


def tablet_room(session: Session, cookie: str) -> TabletPairing | None:
    """The live pairing a tablet's cookie names."""
    return session.scalar(select(TabletPairing).where(TabletPairing.token_sha256 == token_digest(cookie),
                                                      TabletPairing.revoked_at.is_(None)))


def on_own_tablet(session: Session, resident_id: str, cookie: str | None) -> bool:
    """Whether `cookie` is a tablet paired to the room the resident lives in now."""
    if not cookie:
        return False
    pairing = tablet_room(session, cookie)
    tenancy = current_tenancy(session, resident_id)
    return (pairing is not None and tenancy is not None
            and (pairing.home_id, pairing.room_id) == (tenancy.home_id, tenancy.room_id))
