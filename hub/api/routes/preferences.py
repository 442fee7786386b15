"""A resident's entry preferences: recorded as versions by the resident, staff supporting them, or a manager's
best-interests decision; read by the resident and their home's staff (not by admins)."""

from datetime import date, datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hub.api.deps import CallerDep, ManagerDep, ResidentInCareDep, SessionDep
from hub.api.problems import PROBLEMS, people_change
from hub.db.models import Account, Basis, Home, PreferenceVersion
from hub.people import preferences as versions
from hub.people.preferences import EntryPreferences

router = APIRouter(tags=["preferences"], responses=PROBLEMS)


class PreferencesIn(BaseModel):
    """A new version of a resident's entry preferences, and on what authority it is set.

    own_choice: the resident, signed in themself. with_support: a member of their home's staff who helped them
    (recorded as the supporter). best_interests: a manager, with the Mental Capacity Act assessment reference and
    a review date after today."""

    model_config = ConfigDict(extra="forbid")

    basis: Basis = Field(title="Basis")
    mca_reference: str | None = Field(default=None, max_length=200, title="MCA assessment reference",
                                      description="Required for best_interests, absent otherwise.")
    review_date: date | None = Field(default=None, title="Review date",
                                     description="Required for best_interests (after today), absent otherwise.")
    preferences: EntryPreferences


class PreferenceVersionOut(BaseModel):
    resident: str
    version: int = Field(title="Version, from 1")
    created_at: datetime
    set_by: str = Field(title="Username of the account that recorded it")
    basis: Basis
    supporter_staff: str | None = Field(title="Staff member who supported the resident (with_support)")
    mca_reference: str | None
    review_date: date | None
    preferences: EntryPreferences


class PreferencesOut(BaseModel):
    resident: str
    current: PreferenceVersionOut | None = Field(title="The version in force; null if none was ever set")
    in_force: EntryPreferences = Field(title="What the door follows now", description="The defaults when unset.")
    history: list[PreferenceVersionOut] = Field(title="Every version, newest first")


def _out(session: Session, version: PreferenceVersion) -> PreferenceVersionOut:
    return PreferenceVersionOut(
        resident=version.resident_id, version=version.version, created_at=version.created_at,
        set_by=session.get_one(Account, version.set_by_account_id).username, basis=Basis(version.basis),
        supporter_staff=version.supporter_staff_id, mca_reference=version.mca_reference,
        review_date=version.review_date, preferences=versions.preferences_of(version),
    )


@router.post("/residents/{resident_id}/preferences", response_model=PreferenceVersionOut,
             status_code=status.HTTP_201_CREATED)
def post_preferences(body: PreferencesIn, resident: ResidentInCareDep, caller: CallerDep,
                     session: SessionDep) -> PreferenceVersionOut:
    """Record a new version (never an edit). Its door gets a new signed config within seconds.
    The resident (own_choice); their home's staff or night lead (with_support); their home's manager
    (with_support, or best_interests)."""
    with people_change(session):
        version = versions.record_preferences(
            session, resident=resident, author=caller.account, basis=body.basis,
            preferences=body.preferences, mca_reference=body.mca_reference, review_date=body.review_date,
        )
    return _out(session, version)


@router.get("/residents/{resident_id}/preferences", response_model=PreferencesOut)
def get_preferences(resident: ResidentInCareDep, session: SessionDep) -> PreferencesOut:
    """The version in force and every earlier one. The resident, or their home's staff."""
    history = [_out(session, version) for version in versions.history(session, resident.id)]
    current = history[0] if history else None
    return PreferencesOut(resident=resident.id, current=current,
                          in_force=current.preferences if current else versions.DEFAULT_PREFERENCES,
                          history=history)


@router.get("/preferences/review", response_model=list[PreferenceVersionOut])
def get_review(manager: ManagerDep, session: SessionDep) -> list[PreferenceVersionOut]:
    """The manager's list: residents of their home whose best-interests decision is due for review (review date
    today or past). Manager."""
    home = session.get_one(Home, manager.home_id)
    return [_out(session, version) for version in versions.due_for_review(session, home)]
