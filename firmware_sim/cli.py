"""threshold-sim: a simulated care home of real door agents on mock pins, playing scenarios or load."""

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from firmware_sim.home import SimulatedHome
from firmware_sim.load import run_load
from firmware_sim.registration import TOKEN_ENV, RegistrationError, register_at_hub
from firmware_sim.scenario import load_scenario, play
from firmware_sim.stop import sleep_until, stop_on_signals


def print_keys(home: SimulatedHome) -> None:
    """One hub command per door, to register it (the hub's device registry)."""
    for site, device, key, doors in home.devices():
        door_args = " ".join(f"--door {door}={room}" for door, room in doors.items())
        print(f"threshold-hub device add --site {site} --device {device} --public-key {key} {door_args}", flush=True)


def _first_line(path: Path, what: str) -> str:
    try:
        text = path.read_text().strip()
    except OSError as error:
        raise SystemExit(f"threshold-sim: cannot read the {what} from {path}: {error.strerror}") from None
    if not text:
        raise SystemExit(f"threshold-sim: {path} holds no {what}")
    return text.splitlines()[0].strip()


def _admin_token(args: argparse.Namespace) -> str:
    if args.admin_token_file:
        return _first_line(args.admin_token_file, "admin token")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise SystemExit(f"threshold-sim: --register-at needs an admin's API token: set {TOKEN_ENV} or give "
                         "--admin-token-file (make one with: threshold-hub token create --username ADMIN)")
    return token


def make_home(args: argparse.Namespace, rooms: int) -> SimulatedHome:
    """The home the options describe; its doors registered at the hub first when --register-at is given."""
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="threshold-sim-"))
    hub_public_key = args.hub_public_key
    if args.hub_public_key_file:
        hub_public_key = _first_line(args.hub_public_key_file, "hub public key")
    try:
        home = SimulatedHome(
            rooms, broker_port=args.broker_port, broker_host=args.broker_host, data_dir=data_dir,
            hub_public_key=hub_public_key, site=args.site, tls_dir=args.tls_dir,
            default_heartbeat_s=args.heartbeat_s, default_reading_s=args.heartbeat_s,
        )
    except FileNotFoundError as error:
        raise SystemExit(f"threshold-sim: {error}") from None
    if args.register_at:
        try:
            for line in register_at_hub(home, args.register_at, _admin_token(args)):
                print(line, flush=True)
        except RegistrationError as error:
            raise SystemExit(f"threshold-sim: {error}") from None
    return home


def keys(args: argparse.Namespace) -> None:
    print_keys(make_home(args, args.rooms))


def run(args: argparse.Namespace) -> None:
    scenario = load_scenario(args.scenario)
    if scenario.rooms > args.rooms:
        raise SystemExit(f"scenario {scenario.name} needs {scenario.rooms} rooms; --rooms is {args.rooms}")
    home = make_home(args, args.rooms)
    if args.print_keys:
        print_keys(home)
    home.start()
    stopping = stop_on_signals()
    try:
        rounds = 0
        while not stopping():
            rounds += 1
            # Rooms beyond the scenario's play it again, shifted, so every room of the home takes part.
            for offset in range(0, args.rooms - scenario.rooms + 1, scenario.rooms):
                if stopping():
                    break
                print(f"round {rounds}: {scenario.name} in rooms {offset + 1}-{offset + scenario.rooms}", flush=True)
                play(home, scenario, speed=args.speed, room_offset=offset, stopped=stopping)
            if not args.loop or sleep_until(time.monotonic() + args.pause_s, stopping):
                break
        time.sleep(1.0)  # let the last events go out
    finally:
        home.stop()


def load(args: argparse.Namespace) -> None:
    home = make_home(args, args.doors)
    if args.print_keys:
        print_keys(home)
    home.start()
    try:
        print(run_load(home, args.rate, args.seconds, drain_s=args.drain_s), flush=True)
    finally:
        home.stop()


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="threshold-sim", description="A simulated home of Threshold door agents")
    parser.add_argument("--log-level", default="WARNING")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(command: argparse.ArgumentParser) -> None:
        command.add_argument("--broker-host", default="127.0.0.1")
        command.add_argument("--broker-port", type=int, default=1883)
        key = command.add_mutually_exclusive_group()
        key.add_argument("--hub-public-key", help="base64; configs and commands signed by it are obeyed")
        key.add_argument("--hub-public-key-file", type=Path, help="a file holding it (threshold-hub hub-key > FILE)")
        command.add_argument("--data-dir", type=Path, help="keys and outboxes (a new temporary folder if not given)")
        command.add_argument("--site", default="home-1")
        command.add_argument("--heartbeat-s", type=int, default=60, help="heartbeat and reading interval")
        command.add_argument("--print-keys", action="store_true", help="print a hub registration line per door")
        command.add_argument("--tls-dir", type=Path,
                             help="connect with TLS, each door as its own identity: ca.crt and devices/DOOR.crt|.key"
                                  " as scripts/make-certs.sh makes them")
        command.add_argument("--register-at", metavar="HUB_URL",
                             help=f"register the doors at this hub's API first (an admin token: {TOKEN_ENV})")
        command.add_argument("--admin-token-file", type=Path, help=f"read the admin token from this file, not {TOKEN_ENV}")

    command = commands.add_parser("keys", help="make the doors' keys and print their hub registration lines")
    common(command)
    command.add_argument("--rooms", type=int, default=12)
    command.set_defaults(handler=keys)

    command = commands.add_parser("run", help="play a scenario")
    common(command)
    command.add_argument("--rooms", type=int, default=12)
    command.add_argument("--scenario", default="night", help="a name from firmware_sim/scenarios or a file")
    command.add_argument("--speed", type=float, default=1.0)
    command.add_argument("--loop", action="store_true", help="play again and again until stopped")
    command.add_argument("--pause-s", type=float, default=5.0, help="pause between rounds with --loop")
    command.set_defaults(handler=run)

    command = commands.add_parser("load", help="many doors at a target event rate")
    common(command)
    command.add_argument("--doors", type=int, default=10)
    command.add_argument("--rate", type=float, default=100.0, help="events per second, all doors together")
    command.add_argument("--seconds", type=float, default=10.0)
    command.add_argument("--drain-s", type=float, default=30.0, help="how long to wait for receipts afterwards")
    command.set_defaults(handler=load)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args.handler(args)
