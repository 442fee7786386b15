"""The evidence subcommands of `threshold-hub`: checkpoint, check-db, case, export, purge, witness."""

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from hub.core.config import HubSettings
from hub.db.engine import make_engine, make_session_factory
from hub.db.migrate import upgrade
from hub.db.models import Device
from hub.evidence.bundle import export_bundle
from hub.evidence.cases import CaseError, close_case, open_case
from hub.evidence.check import check_database, describe
from hub.evidence.checkpoints import make_checkpoint
from hub.evidence.retention import DataClass, RetentionSettings, purge
from hub.evidence.witness import WitnessError, read_checkpoints, witness
from hub.keys import load_or_create_hub_key
from protocol.hub_events import HUB_SOURCE
from protocol.signing import private_key_from_pem, public_key_from_b64

COMMANDS = ("checkpoint", "check-db", "case", "export", "purge", "witness")
BAR_WIDTH = 30


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give the offset, e.g. 2026-11-26T22:00:00+00:00")
    return moment.astimezone(UTC)


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser("checkpoint", help="sign a checkpoint over the head of every chain now")
    commands.add_parser("check-db", help="re-verify every signature, chain link and checkpoint; name what is wrong")
    case = commands.add_parser("case", help="investigations").add_subparsers(dest="action", required=True)
    opened = case.add_parser("open", help="open a case: it holds its scope from the retention purge until closed")
    opened.add_argument("--site", required=True)
    opened.add_argument("--by", required=True, help="who opens it (staff id of the manager)")
    opened.add_argument("--reason", required=True)
    opened.add_argument("--room", action="append", default=[])
    opened.add_argument("--staff", action="append", default=[])
    opened.add_argument("--from", dest="window_from", type=_aware, required=True, help="ISO time with offset")
    opened.add_argument("--to", dest="window_to", type=_aware, required=True, help="ISO time with offset")
    closed = case.add_parser("close", help="close a case, ending its hold")
    closed.add_argument("case_id", type=int)
    export = commands.add_parser("export", help="write a case's evidence bundle (zip) with its verifier")
    export.add_argument("case_id", type=int)
    export.add_argument("--out", type=Path, required=True)
    purged = commands.add_parser("purge", help="remove payloads past their retention (never under a legal hold)")
    purged.add_argument("--class", dest="data_class", choices=[item.value for item in DataClass],
                        help="one data class (default: every class with a retention period)")
    purged.add_argument("--older-than-days", type=int, help="default: the class's configured retention")
    watch = commands.add_parser("witness", help="keep the hub's checkpoints elsewhere; report any that do not fit")
    source = watch.add_mutually_exclusive_group(required=True)
    source.add_argument("--dir", type=Path, help="a directory of checkpoint JSON files")
    source.add_argument("--file", type=Path, help="the hub's checkpoint export file")
    source.add_argument("--url", help="the hub's checkpoint export URL")
    watch.add_argument("--state", type=Path, default=Path("witness-state.json"), help="what this witness has seen")
    watch.add_argument("--hub-key", help="the hub's public key (base64); needed on the first run")


def _progress(done: int, total: int) -> None:
    filled = BAR_WIDTH * done // total if total else BAR_WIDTH
    end = "\n" if done >= total else ""
    print(f"\r[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {done}/{total} events", end=end, file=sys.stderr,
          flush=True)


def _hub_public_key(settings: HubSettings, session: Session) -> tuple[Ed25519PublicKey, str]:
    """The hub key from its key file; the database's copy only when there is no file (and the output says so)."""
    if Path(settings.key_file).exists():
        return private_key_from_pem(Path(settings.key_file).read_bytes()).public_key(), "the hub key file"
    hub = session.get(Device, HUB_SOURCE)
    if hub is None:
        raise CaseError("no_hub_key", f"no key file at {settings.key_file} and no hub key in the database")
    return public_key_from_b64(hub.public_key), "the database (no key file found: weaker)"


def run(settings: HubSettings, args: argparse.Namespace) -> int:
    if args.command == "witness":
        try:
            envelopes = read_checkpoints(directory=args.dir, file=args.file, url=args.url)
            report = witness(args.state, envelopes, args.hub_key)
        except (WitnessError, OSError, ValueError) as error:
            print(f"threshold-hub: {error}", file=sys.stderr)
            return 2
        for n in report.accepted:
            print(f"checkpoint {n}: consistent, kept")
        for problem in report.problems:
            print(problem)
        return 1 if report.problems else 0
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    try:
        with make_session_factory(engine)() as session:
            if args.command == "check-db":
                public_key, from_where = _hub_public_key(settings, session)
                print(f"checkpoints checked with the hub key from {from_where}")
                report = check_database(session, public_key)
                for line in describe(report):
                    print(line)
                return 0 if report.ok else 1
            hub_key = load_or_create_hub_key(settings.key_file)
            if args.command == "checkpoint":
                record = make_checkpoint(session, hub_key, now)
                session.commit()
                print(f"checkpoint {record.n}: {record.tree_size} chains, root {record.root}")
            elif args.command == "case" and args.action == "open":
                case = open_case(session, site=args.site, opened_by=args.by, reason=args.reason, rooms=args.room,
                                 staff=args.staff, window_from=args.window_from, window_to=args.window_to, now=now)
                session.commit()
                print(f"case {case.id} opened")
            elif args.command == "case":
                close_case(session, args.case_id, now)
                session.commit()
                print(f"case {args.case_id} closed")
            elif args.command == "export":
                manifest = export_bundle(session, args.case_id, args.out, hub_key, now, progress=_progress)
                print(f"{args.out}: {json.dumps(manifest['files'])}")
            else:
                periods = RetentionSettings().periods()
                classes = [DataClass(args.data_class)] if args.data_class else list(periods)
                for data_class in classes:
                    if args.older_than_days is None and data_class not in periods:
                        print(f"{data_class}: kept for good (no retention period set)")
                        continue
                    older = timedelta(days=args.older_than_days) if args.older_than_days else periods[data_class]
                    result = purge(session, data_class, older, now)
                    session.commit()
                    print(f"{data_class}: {result.purged} purged, {result.held} held by open cases")
            return 0
    except CaseError as error:
        print(f"threshold-hub: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
