"""The purge removes payloads past their time, keeps every chain verifiable, never touches a held case, and is the
one change the database lets through."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.db.models import PurgedEvent, StoredEvent
from hub.evidence.cases import close_case, open_case
from hub.evidence.retention import DataClass, RetentionSettings, purge
from tests.hub.evidence.conftest import SITE, T0, EvidenceHome, unlock

LATER = datetime.now(UTC) + timedelta(days=400)


def _signed(session: Session, device: str, type: str) -> list[str]:
    return list(session.scalars(select(StoredEvent.signed).where(StoredEvent.device == device,
                                                                 StoredEvent.type == type).order_by(StoredEvent.seq)))


def test_a_purge_blanks_payloads_and_the_database_still_checks(home: EvidenceHome) -> None:
    home.night(3)
    home.checkpoint()
    with home.sessions() as session:
        result = purge(session, DataClass.ENVIRONMENT, timedelta(days=90), LATER)
        session.commit()
    assert (result.purged, result.held) == (3, 0)
    with home.sessions() as session:
        assert _signed(session, "door-01", "env.reading") == ["", "", ""]
        assert all(_signed(session, "door-01", "knock.requested"))
        assert session.scalars(select(PurgedEvent.seq).order_by(PurgedEvent.seq)).all() == [4, 8, 12]
    report = home.check()
    assert report.ok, report.findings
    assert report.purged == 3


def test_nothing_younger_than_the_period_is_purged(home: EvidenceHome) -> None:
    home.night(1)
    with home.sessions() as session:
        assert purge(session, DataClass.ENVIRONMENT, timedelta(days=90), T0 + timedelta(days=89)).purged == 0


def test_an_open_case_holds_its_scope_and_closing_it_releases_it(home: EvidenceHome) -> None:
    home.night(2)
    with home.sessions() as session:
        case = open_case(session, site=SITE, opened_by="meg", reason="conflicting accounts", rooms=[], staff=["sam"],
                         window_from=T0, window_to=T0 + timedelta(hours=1), now=T0 + timedelta(days=1))
        session.commit()
        held = purge(session, DataClass.DOOR, timedelta(days=1), LATER)
        session.commit()
        # sam's knocks are held; the answers and openings on both doors, naming nobody, are not.
        assert (held.purged, held.held) == (8, 2)
        assert all(_signed(session, "door-01", "knock.requested"))
        assert _signed(session, "door-01", "consent.granted") == ["", ""]
        close_case(session, case.id, LATER)
        session.commit()
        assert purge(session, DataClass.DOOR, timedelta(days=1), LATER).held == 0
        session.commit()
        assert _signed(session, "door-01", "knock.requested") == ["", ""]
    assert home.check().ok


def test_a_held_room_keeps_the_hubs_own_events_about_it(home: EvidenceHome) -> None:
    home.night(2)
    with home.sessions() as session:
        open_case(session, site=SITE, opened_by="meg", reason="a fall", rooms=["room-01"], staff=[],
                  window_from=T0, window_to=T0 + timedelta(hours=1), now=T0)
        result = purge(session, DataClass.HUB, timedelta(days=1), LATER)
        assert (result.purged, result.held) == (0, 2)


@pytest.mark.parametrize("statement", [
    "UPDATE events SET signed = '' WHERE seq = 2",  # not named in purged_events
    "UPDATE events SET signed = '', hash = 'x' WHERE seq = 1",  # named, but more than the payload changes
    "UPDATE events SET signed = '{}' WHERE seq = 1",  # named, but not blanked
    "DELETE FROM events WHERE seq = 1",
])
def test_the_database_lets_through_only_the_named_blanking(home: EvidenceHome, statement: str) -> None:
    home.night(1)
    with home.sessions() as session:
        session.add(PurgedEvent(device="door-01", seq=1, data_class="door", purged_at=LATER))
        session.commit()
    with home.sessions() as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement + " AND device = 'door-01'"))
        session.flush()
    with home.sessions() as session:
        session.execute(text("UPDATE events SET signed = '' WHERE device = 'door-01' AND seq = 1"))
        session.commit()
        assert _signed(session, "door-01", "knock.requested") == [""]


def test_a_blank_payload_without_a_purge_record_is_named(home: EvidenceHome) -> None:
    home.night(1)
    with home.sessions() as session:
        unlock(session)
        session.execute(text("UPDATE events SET signed = '' WHERE device = 'door-01' AND seq = 2"))
        findings = [str(finding) for finding in home.check(session).findings]
        session.rollback()
    assert findings == ["door-01 seq 2: signed bytes removed without a purge record"]


def test_retention_periods_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THRESHOLD_HUB_RETENTION_DOOR_DAYS", "730")
    periods = RetentionSettings(_env_file=None).periods()
    assert periods[DataClass.DOOR] == timedelta(days=730)
    assert DataClass.SAFETY not in periods
