"""`make demo`: a simulated home of 12 rooms, end to end, on this machine, opening on the dashboard.

Mosquitto (the project's config), the hub worker and API (with the dashboard) on SQLite, and twelve real door
agents on gpiozero mock pins playing a night again and again. The home has its rooms, a resident in each, staff on
shift (a night lead and a manager among them) and an admin, each with a sign-in account whose password and API
token are printed; the manager's and the admin's second factor is set up already and its key printed, to add to
an authenticator app. The dashboard's address comes first, and a browser opens on it where there is a display.
Everything lives under `data/demo/` and is made anew each run, passwords, keys and tokens included.
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
import webbrowser
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from firmware_sim.home import SimulatedHome
from firmware_sim.local_services import PROJECT_ROOT, LocalBroker, free_port, wait_for_port
from firmware_sim.scenario import load_scenario, play
from firmware_sim.stop import stop_on_signals
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.models import Account, AccountRole, StaffRole
from hub.keys import load_or_create_hub_key
from hub.people.accounts import create_account, issue_token
from hub.people.second_factor import needs_second_factor, pending_secret, provisioning_uri
from hub.people.homes import add_home, add_resident, add_room, add_shift, add_staff, move_in
from hub.registry import register_device
from protocol.signing import public_key_b64

SITE = "demo-home"
ROOMS = 12
RESIDENTS = ("ada", "bill", "cora", "dev", "edna", "frank", "gwen", "hal", "iris", "joe", "kath", "len")
STAFF = {"sam": StaffRole.STAFF, "tia": StaffRole.STAFF, "nia": StaffRole.NIGHT_LEAD, "meg": StaffRole.MANAGER}
# One account per role, in the order they are printed: username → (role, resident, staff member).
ACCOUNTS: dict[str, tuple[AccountRole, str | None, str | None]] = {
    "ada": (AccountRole.RESIDENT, "ada", None),
    "sam": (AccountRole.STAFF, None, "sam"),
    "nia": (AccountRole.NIGHT_LEAD, None, "nia"),
    "meg": (AccountRole.MANAGER, None, "meg"),
    "admin": (AccountRole.ADMIN, None, None),
}


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: AccountRole
    password: str
    token: str
    second_factor: str | None = None
    """The otpauth:// URI of the account's authenticator key, for those that sign in with a code."""


def enrol_second_factor(session: Session, account: Account) -> str:
    """Set up the account's second factor on its owner's behalf, so the demo opens without the enrolment step;
    returns the otpauth:// URI to add to an authenticator app."""
    secret = pending_secret(session, account)
    account.totp_enrolled_at = datetime.now(UTC)
    session.flush()
    return provisioning_uri(account, secret)


def set_up_home(session: Session, home: SimulatedHome) -> dict[str, DemoAccount]:
    """The home, its rooms with a resident in each, staff on shift now, its doors, and an account per role."""
    add_home(session, home_id=SITE, name="Demo Home", time_zone="Europe/London")
    for number, resident in enumerate(RESIDENTS, start=1):
        room = f"room-{number:02d}"
        add_room(session, SITE, room)
        add_resident(session, resident_id=resident, display_name=resident.title(), home_id=SITE)
        move_in(session, resident, room)
    now = datetime.now(UTC)
    for staff_id, role in STAFF.items():
        add_staff(session, staff_id=staff_id, name=staff_id.title(), home_id=SITE, role=role)
        add_shift(session, staff_id=staff_id, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=12))
    for site, device, public_key, doors in home.devices():
        register_device(session, site=site, device=device, public_key=public_key, doors=doors)
    accounts: dict[str, DemoAccount] = {}
    for username, (role, resident, staff) in ACCOUNTS.items():
        password = secrets.token_urlsafe(9)
        account = create_account(session, username=username, password=password, role=role, resident_id=resident,
                                 staff_id=staff)
        second_factor = enrol_second_factor(session, account) if needs_second_factor(account) else None
        accounts[username] = DemoAccount(username, role, password, issue_token(session, account), second_factor)
    return accounts


def resident_and_carer(accounts: dict[str, DemoAccount]) -> tuple[DemoAccount, DemoAccount]:
    resident = next(account for account in accounts.values() if account.role == AccountRole.RESIDENT)
    carer = next(account for account in accounts.values() if account.role == AccountRole.NIGHT_LEAD)
    return resident, carer


def welcome(base: str, accounts: dict[str, DemoAccount]) -> str:
    """What the demo prints first: where the dashboard is, who can sign in and how."""
    resident, carer = resident_and_carer(accounts)
    room = f"room-{RESIDENTS.index(resident.username) + 1:02d}"
    lines = [
        "",
        "Threshold demo: open the dashboard",
        f"  {base}/sign-in",
        "",
        "Demo accounts, one per role (made anew each run; the token is for the API):",
    ]
    for account in accounts.values():
        lines.append(f"  {account.role.value:<10} {account.username:<6} password {account.password}  "
                     f"token {account.token}")
        if account.second_factor:
            lines.append(f"  {'':<10} second factor, set up already: add this to an authenticator app, then sign in "
                         "with its code")
            lines.append(f"  {'':<10} {account.second_factor}")
    lines += [
        "",
        f"A resident signs in with a member of staff beside them: type {resident.username}'s username and password,",
        f"then, under \"A member of staff is with me\", {carer.username}'s (or any carer's of the home).",
        f"Or on a tablet paired with their room: on the tablet, sign in as {carer.username}, open",
        f"  {base}/rooms/{room}/tablet",
        f"and press \"Pair this device with {room}\"; {resident.username} then signs in on it alone.",
        "No tablet is paired yet.",
    ]
    return "\n".join(lines)


def open_browser(url: str) -> bool:
    """Open `url` in the desktop's browser, only where there is a desktop to show it on."""
    if sys.platform not in ("darwin", "win32") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def hub_process(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "hub", *command], env=env, stdout=out, stderr=out)


def get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / "data" / "demo")
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser on the dashboard")
    args = parser.parse_args(argv)

    shutil.rmtree(args.data_dir, ignore_errors=True)
    args.data_dir.mkdir(parents=True)
    broker = LocalBroker(args.data_dir / "broker").start()
    api_port = args.api_port if _free(args.api_port) else free_port()
    database_url = f"sqlite:///{args.data_dir / 'hub.db'}"
    env = {
        **os.environ,
        "THRESHOLD_HUB_DATABASE_URL": database_url,
        "THRESHOLD_HUB_MQTT_PORT": str(broker.port),
        "THRESHOLD_HUB_KEY_FILE": str(args.data_dir / "hub-key.pem"),
    }
    upgrade(database_url)
    hub_key = load_or_create_hub_key(args.data_dir / "hub-key.pem")
    home = SimulatedHome(
        ROOMS, broker_port=broker.port, data_dir=args.data_dir / "doors", hub_public_key=public_key_b64(hub_key),
        site=SITE, default_heartbeat_s=30, default_reading_s=30,
    )
    engine = make_engine(database_url)
    with Session(engine) as session:
        accounts = set_up_home(session, home)
        session.commit()
    engine.dispose()
    admin = accounts["admin"].token
    doors = {device for _site, device, _key, _doors in home.devices()}

    worker = hub_process(["worker"], env, args.data_dir / "hub-worker.log")
    api = hub_process(["api", "--host", "127.0.0.1", "--port", str(api_port)], env, args.data_dir / "hub-api.log")
    scenario = load_scenario("night")
    base = f"http://127.0.0.1:{api_port}"
    stopping = stop_on_signals()  # Ctrl-C stops the loop between steps, then the hub processes below
    try:
        wait_for_port(api_port, 30)
        home.start()
        print(
            welcome(base, accounts) + "\n\n"
            f"Underneath: {ROOMS} door agents, Mosquitto on 127.0.0.1:{broker.port}, hub on {database_url}\n"
            f"  API and its OpenAPI docs   {base}/docs\n"
            f"  devices, status, last seen {base}/api/v1/devices\n"
            f"  events as stored           {base}/api/v1/events?site={SITE}\n"
            f"  logs                       {args.data_dir}/hub-worker.log, hub-api.log, broker/mosquitto.log\n"
            f"Every API call needs a token: the printed ones, or POST /api/v1/auth/token (managers and admins add "
            f"their code; a resident signs in there with staff beside them or on their room's tablet): "
            f"curl -H 'Authorization: Bearer <token>' {base}/api/v1/devices\n"
            "Ctrl-C stops it.\n",
            flush=True,
        )
        if not args.no_browser and open_browser(f"{base}/sign-in"):
            print("The dashboard is open in your browser.", flush=True)
        started = time.monotonic()
        rounds = 0
        while not stopping() and (args.seconds is None or time.monotonic() - started < args.seconds):
            rounds += 1
            for offset in range(0, ROOMS - scenario.rooms + 1, scenario.rooms):
                play(home, scenario, speed=1.0, room_offset=offset, stopped=stopping)
            if stopping():
                break
            # The doors only: the hub lists its own signed chain among the devices too.
            devices = [device for device in get_json(f"{base}/api/v1/devices?site={SITE}", admin)
                       if device["id"] in doors]
            stored = sum(device["acked_seq"] for device in devices)
            online = sum(device["status"] == "online" for device in devices)
            print(f"night {rounds} played: {online}/{len(devices)} doors online, {stored} events stored", flush=True)
    finally:
        home.stop()
        for process in (api, worker):
            process.terminate()
            process.wait(30)
        broker.stop()


def _free(port: int) -> bool:
    try:
        wait_for_port(port, 0.1)
    except TimeoutError:
        return True
    return False


if __name__ == "__main__":
    main()
