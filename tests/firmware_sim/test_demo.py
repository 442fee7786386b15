"""`make demo` as a new user runs it: a home of 12 rooms comes up, its events reach the hub, the dashboard's
address comes first, and every printed account signs in through the dashboard (the manager and admin with a code
from the printed authenticator key) and opens the API with its token."""

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pyotp
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from dashboard.viewer import LANDING
from firmware_sim.local_services import free_port
from hub.db.models import AccountRole, ApiToken, Resident, Shift, Staff, Tenancy
from hub.people.accounts import credentials_match
from hub.people.web_sessions import SESSION_COOKIE

ACCOUNT_LINE = re.compile(r"^  (\w+) +(\S+) +password (\S+)  token (\S+)$", flags=re.M)


class Output:
    """The demo's standard output, read line by line in a thread so the test can wait for a line with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.text = ""
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: [self.lines.put(line) for line in stream], daemon=True).start()

    def until(self, pattern: str, timeout_s: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while not (found := re.search(pattern, self.text, flags=re.M)):
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} in the demo's output after {timeout_s} s:\n{self.text}"
            try:
                self.text += self.lines.get(timeout=min(left, 1))
            except queue.Empty:
                pass
        return found


def _session_cookie(response: httpx.Response) -> str:
    # Read from the header: a client's jar keeps a Secure cookie off plain http, as it should.
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie(header)
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value
    raise AssertionError(f"no session cookie in {response.headers}")


def test_demo_opens_on_the_dashboard_and_every_door_reports(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "stderr.log").open("w") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "-m", "firmware_sim.demo", "--data-dir", str(tmp_path / "demo"), "--api-port", str(port),
             "--no-browser"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
        try:
            output = Output(demo)
            played = output.until(r"night 1 played: (\d+)/(\d+) doors online, (\d+) events stored", 180)
            _dashboard_answers_each_account(base, output.text)
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(60)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait(10)
    assert demo.returncode == 0, (tmp_path / "stderr.log").read_text()[-2000:]

    online, doors, stored = map(int, played.groups())
    assert (online, doors) == (12, 12)
    # A night has knocks, answers, doors, motion and readings in every room: far more than one event a door.
    assert stored > 12 * 3
    assert "/docs" in output.text

    printed = ACCOUNT_LINE.findall(output.text)
    engine = create_engine(f"sqlite:///{tmp_path / 'demo' / 'hub.db'}")
    with Session(engine) as session:
        for role, username, password, _token in printed:
            account = credentials_match(session, username, password)
            assert account is not None and account.role == role, username
        # The home: a resident living in each of its 12 rooms, staff on shift, and tokens for the printed accounts.
        rooms = {tenancy.room_id for tenancy in session.scalars(select(Tenancy).where(Tenancy.ended_at.is_(None)))}
        assert rooms == {f"room-{n:02d}" for n in range(1, 13)}
        assert len(session.scalars(select(Resident)).all()) == 12
        assert {member.role for member in session.scalars(select(Staff))} >= {"night_lead", "manager"}
        assert session.scalars(select(Shift)).all()
        assert len(session.scalars(select(ApiToken)).all()) == len(printed)
    engine.dispose()


def _dashboard_answers_each_account(base: str, text: str) -> None:
    # The dashboard's address comes first.
    first = next(line for line in text.splitlines() if "http" in line)
    assert first.strip() == f"{base}/sign-in"
    printed = ACCOUNT_LINE.findall(text)
    assert [role for role, *_ in printed] == ["resident", "staff", "night_lead", "manager", "admin"]
    keys = dict(re.findall(r"^ +(otpauth://totp/Threshold:(\w+)\S*)$", text, flags=re.M))
    uris = {username: uri for uri, username in keys.items()}
    assert set(uris) == {username for role, username, *_ in printed if role in ("manager", "admin")}
    assert "authenticator app" in text
    carer = next((username, password) for role, username, password, _ in printed if role == "night_lead")
    resident = next(username for role, username, *_ in printed if role == "resident")
    assert f"under \"A member of staff is with me\", {carer[0]}'s" in text and "/tablet" in text and resident in text

    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        sign_in_page = client.get("/sign-in")
        assert sign_in_page.status_code == 200 and "<h1>Sign in</h1>" in sign_in_page.text
        for role, username, password, token in printed:
            form = {"username": username, "password": password}
            if username in uris:
                form["totp"] = pyotp.parse_uri(uris[username]).now()
            if role == "resident":
                form |= {"staff_username": carer[0], "staff_password": carer[1]}
            signed = client.post("/sign-in", data=form)
            landing = LANDING[AccountRole(role)]
            assert (signed.status_code, signed.headers.get("location")) == (303, landing), (username, signed.text)
            page = client.get(landing, headers={"Cookie": f"{SESSION_COOKIE}={_session_cookie(signed)}"})
            assert page.status_code == 200, (username, landing)
            assert f"Signed in as {username}." in page.text
            me = client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["username"] == username
