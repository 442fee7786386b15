"""The timeline of a case's scope — its rooms and its staff over its window — for the case's bundle."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hub.core.config import HubSettings
from hub.db.models import Case
from hub.timelines.assemble import OFFLINE_AFTER, Found, assemble
from hub.timelines.load import load_home
from hub.timelines.model import Timeline, View
from hub.timelines.pdf import render_pdf


def case_timeline(session: Session, case: Case, now: datetime, offline_after: timedelta = OFFLINE_AFTER) -> Timeline:
    found = load_home(session, case.site, case.window_from, case.window_to, now, offline_after,
                      default_zone=HubSettings.model_fields["home_time_zone"].default)
    scoped = {name: getattr(found, name) for name in Found.__dataclass_fields__}
    scoped |= {"view": View.CASE, "subject": f"case {case.id}", "scope_rooms": frozenset(case.rooms),
               "scope_staff": frozenset(case.staff)}
    return assemble(Found(**scoped))


def case_timeline_pdf(session: Session, case: Case, now: datetime) -> bytes:
    return render_pdf(case_timeline(session, case, now))
