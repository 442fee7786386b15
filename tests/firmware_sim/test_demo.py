"""`make demo` as a new user runs it: a home of 12 rooms comes up, its events reach the hub, and the printed
accounts open the API for each role."""

import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from firmware_sim.local_services import free_port
from hub.db.models import ApiToken, Resident, Shift, Staff, Tenancy
from hub.people.accounts import sign_in


def test_demo_runs_a_night_and_every_door_reports(tmp_path: Path) -> None:
    port = free_port()
    run = subprocess.run(
        [sys.executable, "-m", "firmware_sim.demo", "--seconds", "1", "--data-dir", str(tmp_path / "demo"),
         "--api-port", str(port)],
        capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "/docs" in run.stdout
    played = re.search(r"night 1 played: (\d+)/(\d+) doors online, (\d+) events stored", run.stdout)
    assert played, run.stdout
    online, doors, stored = map(int, played.groups())
    assert (online, doors) == (12, 12)
    # A night has knocks, answers, doors, motion and readings in every room: far more than one event a door.
    assert stored > 12 * 3

    # One printed account per role, each with a password that signs in.
    printed = re.findall(r"^  (\w+) +(\S+) +password (\S+)  token (\S+)$", run.stdout, flags=re.M)
    assert {role for role, *_ in printed} == {"admin", "manager", "night_lead", "staff", "resident"}
    engine = create_engine(f"sqlite:///{tmp_path / 'demo' / 'hub.db'}")
    with Session(engine) as session:
        for role, username, password, _token in printed:
            signed = sign_in(session, username, password)
            assert signed is not None and signed[0].role == role, username
        session.rollback()
        # The home: a resident living in each of its 12 rooms, staff on shift, and tokens for the printed accounts.
        rooms = {tenancy.room_id for tenancy in session.scalars(select(Tenancy).where(Tenancy.ended_at.is_(None)))}
        assert rooms == {f"room-{n:02d}" for n in range(1, 13)}
        assert len(session.scalars(select(Resident)).all()) == 12
        assert {member.role for member in session.scalars(select(Staff))} >= {"night_lead", "manager"}
        assert session.scalars(select(Shift)).all()
        assert len(session.scalars(select(ApiToken)).all()) == len(printed)
    engine.dispose()
