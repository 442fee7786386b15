"""`threshold-hub`: migrate the database, run the worker or the API, manage the device registry, make accounts and
API tokens, show the hub key; checkpoints, the database check, cases and their bundles, retention, the witness."""

import argparse
import getpass
import logging
import sys

from hub.core.config import HubSettings
from hub.core.heap import settle
from hub.db.engine import make_engine, make_session_factory
from hub.db.migrate import upgrade
from hub.db.models import AccountRole
from hub.evidence import commands as evidence_commands
from hub.keys import load_or_create_hub_key
from hub.people.accounts import account_named, create_account, issue_token
from hub.people.errors import PeopleError
from hub.registry import RegistryError, list_devices, register_device, retire_device, set_doors
from protocol.signing import public_key_b64


def _doors(pairs: list[str]) -> dict[str, str]:
    doors: dict[str, str] = {}
    for pair in pairs:
        door, sep, room = pair.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"--door {pair!r}: expected DOOR=ROOM, e.g. d1=room-01")
        doors[door] = room
    return doors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="threshold-hub", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser("worker", help="run the ingest worker (MQTT → verify → store → receipt)")
    api = commands.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    commands.add_parser("hub-key", help="print the hub's public key, making the key first if there is none")

    device = commands.add_parser("device", help="the device registry").add_subparsers(dest="action", required=True)
    add = device.add_parser("add", help="register a door agent")
    add.add_argument("--site", required=True)
    add.add_argument("--device", required=True)
    add.add_argument("--public-key", required=True, help="base64 of the device's 32-byte Ed25519 public key")
    add.add_argument("--door", action="append", required=True, metavar="DOOR=ROOM")
    doors = device.add_parser("doors", help="replace the doors → rooms of a device")
    doors.add_argument("device")
    doors.add_argument("--door", action="append", required=True, metavar="DOOR=ROOM")
    device.add_parser("list", help="list registered devices with their status")
    retire = device.add_parser("retire", help="retire a device: its events are refused from now on")
    retire.add_argument("device")

    account = commands.add_parser("account", help="sign-in accounts").add_subparsers(dest="action", required=True)
    add_account = account.add_parser("add", help="make an account; the password is read from stdin or asked for")
    add_account.add_argument("--username", required=True)
    add_account.add_argument("--role", required=True, choices=[role.value for role in AccountRole])
    link = add_account.add_mutually_exclusive_group()
    link.add_argument("--resident", help="the resident a resident account belongs to")
    link.add_argument("--staff", help="the staff member a staff, night lead, manager (or admin) account belongs to")
    token = commands.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="make an API token for an account and print it (shown only once)")
    create.add_argument("--username", required=True)
    evidence_commands.add_commands(commands)
    return parser


def _password() -> str:
    """From a terminal, asked twice without echo; otherwise the first line of stdin (for scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise PeopleError("password_mismatch", "the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _people_command(settings: HubSettings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            if args.command == "account":
                made = create_account(session, username=args.username, password=_password(),
                                      role=AccountRole(args.role), resident_id=args.resident, staff_id=args.staff)
                session.commit()
                print(f"account {made.username} ({made.role}) made")
            else:
                token = issue_token(session, account_named(session, args.username))
                session.commit()
                print(token)
            return 0
    except PeopleError as error:
        print(f"threshold-hub: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _registry_command(settings: HubSettings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            if args.action == "list":
                for entry in list_devices(session):
                    doors = ",".join(f"{door}={room}" for door, room in sorted(entry.doors.items()))
                    state = "retired" if entry.retired_at else entry.status
                    seen = entry.last_seen_at.isoformat() if entry.last_seen_at else "never"
                    print(f"{entry.site}\t{entry.id}\t{doors}\tconfig v{entry.config_version}\t{state}\tseen {seen}")
                return 0
            if args.action == "add":
                entry = register_device(session, site=args.site, device=args.device, public_key=args.public_key,
                                        doors=_doors(args.door))
            elif args.action == "doors":
                entry = set_doors(session, args.device, _doors(args.door))
            else:
                entry = retire_device(session, args.device)
            session.commit()
            print(f"{entry.id}: config version {entry.config_version}")
            return 0
    except (RegistryError, argparse.ArgumentTypeError) as error:
        print(f"threshold-hub: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = HubSettings()
    if args.command == "migrate":
        upgrade(settings.database_url)
        return 0
    if args.command == "worker":
        from hub.ingest.worker import run_worker

        settle()
        run_worker(settings)
        return 0
    if args.command == "api":
        import uvicorn

        from hub.api.app import create_app

        app = create_app(settings)
        settle()
        # Live streams never end on their own: give them a few seconds, then stop anyway.
        uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=5)
        return 0
    if args.command == "hub-key":
        print(public_key_b64(load_or_create_hub_key(settings.key_file)))
        return 0
    if args.command in ("account", "token"):
        return _people_command(settings, args)
    if args.command in evidence_commands.COMMANDS:
        return evidence_commands.run(settings, args)
    return _registry_command(settings, args)

