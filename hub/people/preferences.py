"""A resident's entry preferences: versioned, each version saying who set it and on what authority.

A change is a new version; nothing here (or in the database, which refuses it) edits one. Recording a version
republishes the config of the door to the resident's room in the same transaction.
"""

from datetime import UTC, date, datetime
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.chain import record_for_chain
from hub.db.models import Account, AccountRole, Basis, Home, PreferenceVersion, Resident, Staff
from hub.people.doors import bump_configs
from hub.people.errors import PeopleError
from hub.people.homes import current_tenancy
from protocol.config import QuietHours
from protocol.hub_events import HubEventType
from protocol.topics import ID_PATTERN

MAX_SPANS = 12


class PermissionRefused(PeopleError):
    """The caller may act for this resident, but not on this basis."""


class QuietSpan(QuietHours):
    """Quiet hours as a resident sets them: local time, may cross midnight (22:00 to 07:00)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError(f"a span from {self.start} to {self.end} is empty; give different times")
        return self


class NightCheck(QuietSpan):
    """A care-plan night check agreed with the resident: a window in local time, and how staff come in."""

    how: str = Field(min_length=1, max_length=200, title="How", examples=["open quietly, no knock"])


class EntryPreferences(BaseModel):
    """What a resident says about entry to their room."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wait_s: Annotated[int | None, Field(ge=0, le=3600)] = Field(
        title="Wait for an answer (seconds)",
        description='How long staff wait for an answer before "may enter" shows; null: never enter without an answer.',
    )
    quiet_hours: list[QuietSpan] = Field(default_factory=list, max_length=MAX_SPANS, title="Quiet hours",
                                         description="Knocks chime softly inside these local-time spans.")
    dnd_allowed: bool = Field(default=True, title='"Do not disturb" allowed')
    not_now_hold_s: int = Field(default=120, ge=0, le=86_400, title='"Not now" holds (seconds)',
                                description="After this a gentle re-knock is allowed.")
    show_knocker: bool = Field(default=False, title="Show who is knocking on the inside panel")
    excluded_staff: list[Annotated[str, Field(pattern=ID_PATTERN.pattern)]] = Field(
        default_factory=list, max_length=100, title="Staff the resident does not want in their room"
    )
    night_checks: list[NightCheck] = Field(default_factory=list, max_length=MAX_SPANS,
                                           title="Care-plan night checks agreed with the resident")

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        if len(set(self.excluded_staff)) != len(self.excluded_staff):
            raise ValueError("excluded_staff names someone twice")
        return self


DEFAULT_PREFERENCES = EntryPreferences(wait_s=30)
"""What a door uses for a room whose resident has set nothing yet (or has no resident)."""

# Who may record a version on which basis; the resident-or-home scoping is checked before this.
ALLOWED_BASES: dict[AccountRole, frozenset[Basis]] = {
    AccountRole.RESIDENT: frozenset({Basis.OWN_CHOICE}),
    AccountRole.STAFF: frozenset({Basis.WITH_SUPPORT}),
    AccountRole.NIGHT_LEAD: frozenset({Basis.WITH_SUPPORT}),
    AccountRole.MANAGER: frozenset({Basis.WITH_SUPPORT, Basis.BEST_INTERESTS}),
}


def preferences_of(version: PreferenceVersion) -> EntryPreferences:
    return EntryPreferences.model_validate({name: getattr(version, name) for name in EntryPreferences.model_fields})


def home_today(home: Home, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(home.time_zone)).date()


def current_version(session: Session, resident_id: str) -> PreferenceVersion | None:
    return session.scalar(select(PreferenceVersion).where(PreferenceVersion.resident_id == resident_id)
                          .order_by(PreferenceVersion.version.desc()).limit(1))


def history(session: Session, resident_id: str) -> list[PreferenceVersion]:
    """Every version, newest first."""
    return list(session.scalars(select(PreferenceVersion).where(PreferenceVersion.resident_id == resident_id)
                                .order_by(PreferenceVersion.version.desc())))


def _check_authority(author: Account, basis: Basis, mca_reference: str | None,
                     review_date: date | None, today: date, supporter_staff_id: str | None) -> None:
    role = AccountRole(author.role)
    if role == AccountRole.RESIDENT and basis == Basis.WITH_SUPPORT:
        if supporter_staff_id is None:
            raise PermissionRefused("basis_not_allowed", "a resident records a with_support version only with a "
                                                         "member of staff beside them, signed in with them")
    elif basis not in ALLOWED_BASES.get(role, frozenset()):
        raise PermissionRefused("basis_not_allowed", f"a {author.role} account cannot record a {basis.value} version")
    elif supporter_staff_id is not None and supporter_staff_id != author.staff_id:
        raise PermissionRefused("not_the_supporter", "a member of staff records support they gave themself")
    if basis == Basis.BEST_INTERESTS:
        if not mca_reference or not mca_reference.strip():
            raise PeopleError("mca_reference_required",
                              "a best-interests decision needs its Mental Capacity Act assessment reference")
        if review_date is None:
            raise PeopleError("review_date_required", "a best-interests decision needs a review date")
        if review_date <= today:
            raise PeopleError("review_date_past", f"the review date {review_date} must be after today ({today})")
    elif mca_reference is not None or review_date is not None:
        raise PeopleError("not_best_interests",
                          "an MCA reference and review date belong only to a best-interests decision")


def _check_staff(session: Session, resident: Resident, staff_ids: list[str]) -> None:
    for staff_id in staff_ids:
        member = session.get(Staff, staff_id)
        if member is None or member.home_id != resident.home_id:
            raise PeopleError("unknown_staff", f"no staff member {staff_id!r} in {resident.home_id!r}")


def record_preferences(
    session: Session,
    *,
    resident: Resident,
    author: Account,
    basis: Basis,
    preferences: EntryPreferences,
    mca_reference: str | None = None,
    review_date: date | None = None,
    supporter_staff_id: str | None = None,
) -> PreferenceVersion:
    """Add the next version; the caller commits. PeopleError (nothing added) when the authority or values are wrong.

    with_support names who supported the resident: the member of staff recording it, or, when the resident records
    it themself, `supporter_staff_id` — the member of staff who signed in beside them (their dashboard session
    says who)."""
    today = home_today(session.get_one(Home, resident.home_id))
    _check_authority(author, basis, mca_reference, review_date, today, supporter_staff_id)
    _check_staff(session, resident, [*preferences.excluded_staff,
                                     *([supporter_staff_id] if supporter_staff_id is not None else [])])
    latest = session.scalar(select(func.max(PreferenceVersion.version))
                            .where(PreferenceVersion.resident_id == resident.id))
    version = PreferenceVersion(
        resident_id=resident.id,
        version=(latest or 0) + 1,
        created_at=datetime.now(UTC),
        set_by_account_id=author.id,
        basis=basis.value,
        supporter_staff_id=(supporter_staff_id or author.staff_id) if basis == Basis.WITH_SUPPORT else None,
        mca_reference=mca_reference.strip() if mca_reference else None,
        review_date=review_date,
        **preferences.model_dump(mode="json", by_alias=True),
    )
    session.add(version)
    session.flush()
    tenancy = current_tenancy(session, resident.id)
    record_for_chain(
        session, resident.home_id, HubEventType.PREFERENCES_VERSIONED,
        {"resident": resident.id, "version": version.version, "basis": version.basis, "set_by": author.username,
         "supporter": version.supporter_staff_id, "values": preferences.model_dump(mode="json", by_alias=True)},
        room=tenancy.room_id if tenancy else None,
    )
    if tenancy is not None:
        bump_configs(session, tenancy.home_id, {tenancy.room_id})
    return version


def due_for_review(session: Session, home: Home, today: date | None = None) -> list[PreferenceVersion]:
    """Residents of the home whose current version is a best-interests decision with its review date today or past."""
    today = today or home_today(home)
    newest = (select(PreferenceVersion.resident_id, func.max(PreferenceVersion.version).label("version"))
              .join(Resident, Resident.id == PreferenceVersion.resident_id)
              .where(Resident.home_id == home.id)
              .group_by(PreferenceVersion.resident_id).subquery())
    query = (select(PreferenceVersion)
             .join(newest, (newest.c.resident_id == PreferenceVersion.resident_id)
                   & (newest.c.version == PreferenceVersion.version))
             .where(PreferenceVersion.basis == Basis.BEST_INTERESTS.value, PreferenceVersion.review_date <= today)
             .order_by(PreferenceVersion.review_date, PreferenceVersion.resident_id))
    return list(session.scalars(query))
