"""Preference versions in the database: append-only, and the review list by date."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.db.models import Account, Basis, Home, Resident
from hub.people.preferences import EntryPreferences, due_for_review, record_preferences
from tests.hub.conftest import People


def ada_resident(session: Session) -> Resident:
    return session.get_one(Resident, "ada")


@pytest.mark.parametrize("statement", [
    "UPDATE preference_versions SET wait_s = 0",
    "DELETE FROM preference_versions",
])
def test_the_database_refuses_to_change_a_version(people: People, statement: str) -> None:
    with people.sessions() as session:
        ada = session.scalar(select(Account).where(Account.username == "ada"))
        record_preferences(session, resident=ada_resident(session), author=ada, basis=Basis.OWN_CHOICE,
                           preferences=EntryPreferences(wait_s=40))
        session.commit()
    with people.sessions() as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
        session.flush()
    with people.sessions() as session:
        assert session.execute(text("SELECT version, wait_s FROM preference_versions")).all() == [(1, 40)]


def test_a_best_interests_decision_lapses_to_the_review_list_on_its_date(people: People) -> None:
    review = date.today() + timedelta(days=30)
    with people.sessions() as session:
        meg = session.scalar(select(Account).where(Account.username == "meg"))
        record_preferences(session, resident=ada_resident(session), author=meg, basis=Basis.BEST_INTERESTS,
                           preferences=EntryPreferences(wait_s=None), mca_reference="MCA-9", review_date=review)
        session.commit()
        oakwood, elmfield = session.get_one(Home, "oakwood"), session.get_one(Home, "elmfield")
        assert due_for_review(session, oakwood, today=review - timedelta(days=1)) == []
        assert [v.mca_reference for v in due_for_review(session, oakwood, today=review)] == ["MCA-9"]
        assert due_for_review(session, elmfield, today=review + timedelta(days=1)) == []
