"""threshold-edge: make the device key, show it, run the agent."""

import argparse
import logging
import signal
import threading
from pathlib import Path

from edge.keys import load_or_create_key
from edge.settings import AgentSettings
from protocol.signing import public_key_b64


def _data_dir(args: argparse.Namespace) -> tuple[Path, str | None]:
    if args.config:
        settings = AgentSettings.from_file(args.config)
        return settings.data_dir, settings.device_id
    if args.data_dir:
        return args.data_dir, None
    raise SystemExit("give --config FILE or --data-dir DIR")


def keygen(args: argparse.Namespace) -> None:
    data_dir, device = _data_dir(args)
    existed = (data_dir / "device.key").exists()
    key = load_or_create_key(data_dir)
    if device:
        print(f"device {device}")
    print(f"public key {public_key_b64(key)}")
    print("(key already existed)" if existed else f"(new key in {data_dir})")


def pubkey(args: argparse.Namespace) -> None:
    data_dir, _ = _data_dir(args)
    if not (data_dir / "device.key").exists():
        raise SystemExit(f"no device key in {data_dir}; run `threshold-edge keygen` first")
    print(public_key_b64(load_or_create_key(data_dir)))


def run(args: argparse.Namespace) -> None:
    from gpiozero.exc import BadPinFactory

    from edge.agent import DoorAgent  # gpiozero and paho load only to run

    settings = AgentSettings.from_file(args.config)
    try:
        agent = DoorAgent(settings).start()
    except BadPinFactory:
        raise SystemExit("no GPIO on this machine; to try the agent without hardware set GPIOZERO_PIN_FACTORY=mock")
    logging.getLogger(__name__).info("agent %s running (key %s)", settings.device_id, agent.public_key_b64)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    agent.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="threshold-edge", description="Threshold door agent")
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, help_text in (
        ("keygen", keygen, "make the device key if there is none; print the device id and public key"),
        ("pubkey", pubkey, "print the device's public key (base64)"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--data-dir", type=Path)
        command.add_argument("--config", type=Path, help="the agent's settings file (.toml or .json)")
        command.set_defaults(handler=handler)
    command = commands.add_parser("run", help="run the door agent")
    command.add_argument("--config", type=Path, required=True, help="the agent's settings file (.toml or .json)")
    command.set_defaults(handler=run)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args.handler(args)
