"""Dashboard sessions, kept on the server (OWASP ASVS 5.0 level 2).

The browser's `threshold_session` cookie holds 256 random bits; the table keeps only their SHA-256, so a copy of the
database signs nobody in. Every sign-in starts a new session (a new id: nothing chosen before sign-in survives it),
each session has its own CSRF token, and a session ends when it has been idle too long, when it reaches its
absolute age, at sign-out, or when its account is disabled. Ended rows stay, with the reason.

Functions take the caller's SQLAlchemy session and leave the commit to the caller.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.db.models import Account, WebSession
from hub.people.passwords import token_digest

SESSION_COOKIE = "threshold_session"
TOUCH_EVERY = timedelta(seconds=60)
"""last_seen_at is written at most this often: a page and its API calls would otherwise write on every request.
The idle timeout is therefore accurate to within this much."""


class EndedReason(StrEnum):
    SIGNED_OUT = "signed_out"
    IDLE = "idle"
    ABSOLUTE = "absolute"
    ACCOUNT_DISABLED = "account_disabled"
    RENEWED = "renewed"
    """Replaced by a new session: at a second sign-in from the same browser, or after enrolling a second factor."""
    TABLET_PAIRED = "tablet_paired"
    """Whoever paired a tablet is signed out on it, leaving it ready for the room's resident."""


class SignInMethod(StrEnum):
    PASSWORD = "password"
    PAIRED_TABLET = "paired_tablet"
    STAFF_BESIDE = "staff_beside"


@dataclass(frozen=True)
class Started:
    """A new session: `cookie` is the value for the browser, seen only now."""

    cookie: str
    record: WebSession


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


def start_session(session: Session, account: Account, *, address: str | None, method: SignInMethod,
                  beside_staff_id: str | None = None, enrolling: bool = False,
                  now: datetime | None = None) -> Started:
    """A new session for the account (always a new id)."""
    now = now or datetime.now(UTC)
    cookie = secrets.token_urlsafe(32)
    record = WebSession(id_sha256=token_digest(cookie), account_id=account.id, csrf_token=secrets.token_urlsafe(32),
                        created_at=now, last_seen_at=now, address=address, method=method.value,
                        beside_staff_id=beside_staff_id, enrolling=enrolling)
    session.add(record)
    session.flush()
    return Started(cookie, record)


def end_session(session: Session, record: WebSession, reason: EndedReason, now: datetime | None = None) -> None:
    if record.ended_at is None:
        record.ended_at = now or datetime.now(UTC)
        record.ended_reason = reason.value
        session.flush()


def end_sessions_of(session: Session, account_id: int, reason: EndedReason, now: datetime | None = None) -> None:
    """End every open session of the account."""
    session.execute(update(WebSession).where(WebSession.account_id == account_id, WebSession.ended_at.is_(None))
                    .values(ended_at=now or datetime.now(UTC), ended_reason=reason.value),
                    execution_options={"synchronize_session": False})


def live_session(session: Session, cookie: str, timeouts: Timeouts,
                 now: datetime | None = None) -> tuple[WebSession, Account] | None:
    """The open session a cookie names and its account, if the account is enabled and neither timeout has passed.
    A session found past a timeout is ended here, with that reason; a live one is marked as seen now."""
    now = now or datetime.now(UTC)
    found = session.execute(select(WebSession, Account).join(Account, Account.id == WebSession.account_id)
                            .where(WebSession.id_sha256 == token_digest(cookie),
                                   WebSession.ended_at.is_(None))).one_or_none()
    if found is None:
        return None
    record, account = found
    if account.disabled:
        end_session(session, record, EndedReason.ACCOUNT_DISABLED, now)
        return None
    if now - record.created_at >= timeouts.absolute:
        end_session(session, record, EndedReason.ABSOLUTE, now)
        return None
    if now - record.last_seen_at >= timeouts.idle:
        end_session(session, record, EndedReason.IDLE, now)
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
        session.flush()
    return record, account


def csrf_matches(record: WebSession, presented: str | None) -> bool:
    """Whether a request carries its session's CSRF token (compared in constant time)."""
    return presented is not None and hmac.compare_digest(record.csrf_token.encode(), presented.encode())
