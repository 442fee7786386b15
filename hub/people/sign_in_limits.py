"""Sign-in rate limits, per username and per network address, over a sliding window of failed attempts.

A limited sign-in is refused before its password is checked, and is not itself recorded: the wait ends when the
oldest counted failure leaves the window, however often someone keeps trying.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hub.db.models import SignInAttempt, UTCDateTime

MAX_USERNAME = 64


@dataclass(frozen=True)
class Limits:
    window: timedelta
    per_account: int
    per_address: int


def _key(username: str) -> str:
    return username.strip().lower()[:MAX_USERNAME]


def _failures(session: Session, column: InstrumentedAttribute[str], value: str,
              since: datetime) -> tuple[int, datetime | None]:
    count, oldest = session.execute(
        select(func.count(), func.min(SignInAttempt.at, type_=UTCDateTime()))
        .where(column == value, SignInAttempt.at > since, SignInAttempt.succeeded.is_(False))
    ).one()
    return count, oldest


def retry_after(session: Session, usernames: list[str], address: str, limits: Limits,
                now: datetime | None = None) -> int | None:
    """Seconds to wait when any of `usernames` or the address has reached its limit; None when sign-in may go on."""
    now = now or datetime.now(UTC)
    since = now - limits.window
    waits: list[timedelta] = []
    checks = [(SignInAttempt.username, _key(name), limits.per_account) for name in usernames if name.strip()]
    checks.append((SignInAttempt.address, address, limits.per_address))
    for column, value, limit in checks:
        count, oldest = _failures(session, column, value, since)
        if count >= limit and oldest is not None:
            waits.append(oldest + limits.window - now)
    if not waits:
        return None
    return max(1, int(max(waits).total_seconds() + 0.999))


def record_attempt(session: Session, username: str, address: str, succeeded: bool,
                   now: datetime | None = None) -> None:
    """Record one attempt; the caller commits."""
    session.add(SignInAttempt(username=_key(username), address=address, at=now or datetime.now(UTC),
                              succeeded=succeeded))
    session.flush()
