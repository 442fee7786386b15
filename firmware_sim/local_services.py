"""Throwaway local services for the demo, the benchmarks and the tests.

Mosquitto runs the project's own `config/mosquitto/mosquitto.conf` with only its port and data folder
changed; PostgreSQL runs from the installed server binaries in a folder of its own. PostgreSQL refuses to
run as root, so as root the cluster is started as the `postgres` user.
"""

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BROKER_CONFIG = PROJECT_ROOT / "config" / "mosquitto" / "mosquitto.conf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def find_binary(name: str, *extra_dirs: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([*extra_dirs, os.environ.get("PATH", ""), "/usr/sbin"]))
    if not found:
        raise FileNotFoundError(f"{name} is not installed (run `make setup`)")
    return found


class LocalBroker:
    """Mosquitto with the project's config on a free loopback port; stop and start keep its persistence."""

    def __init__(self, workdir: Path | None = None, port: int | None = None) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="threshold-broker-"))
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "mosquitto.log"

    def config_text(self) -> str:
        text = BROKER_CONFIG.read_text()
        text = re.sub(r"^listener \d+.*$", f"listener {self.port} 127.0.0.1", text, flags=re.M)
        return re.sub(r"^persistence_location .*$", f"persistence_location {self.workdir}/data/", text, flags=re.M)

    def start(self) -> "LocalBroker":
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        config = self.workdir / "mosquitto.conf"
        config.write_text(self.config_text())
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([find_binary("mosquitto"), "-c", str(config)], stdout=log, stderr=log)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class LocalPostgres:
    """A PostgreSQL cluster in a folder of its own, trusted on loopback, for one run."""

    def __init__(self, workdir: Path | None = None, port: int | None = None) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="threshold-pg-"))
        self._made_workdir = workdir is None
        self.port = port or free_port()
        self.datadir = self.workdir / "data"
        self.bindir = self._bindir()
        self.as_postgres = os.geteuid() == 0

    @staticmethod
    def _bindir() -> str:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        return str(candidates[0]) if candidates else os.path.dirname(find_binary("pg_ctl"))

    def _run(self, *args: str) -> None:
        command = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> "LocalPostgres":
        if self.as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.workdir, owner.pw_uid, owner.pw_gid)
        if not self.datadir.exists():
            self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.workdir / "postgres.log"), "-w", "-o",
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=on", "start",
        )
        return self

    def stop(self) -> None:
        """Stop the cluster; a folder it made for itself goes with it (a benchmark's cluster is ~400 MB)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        if self._made_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self) -> None:
        """Stop the server and start it again, as an update or a failover does: every connection to it is dropped."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "restart")

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"
