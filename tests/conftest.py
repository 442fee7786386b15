"""Real parts for every test: Mosquitto with the project's config, PostgreSQL from the installed binaries,
SQLite files in the test's own folder. Nothing here touches a developer's own database or broker."""

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_sim.local_services import LocalBroker, LocalPostgres

_database_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """One cluster for the run, in a folder directly under the system temp dir: as root it runs as the
    `postgres` user, who cannot enter pytest's own temp folders (mode 0700, owned by root)."""
    cluster = LocalPostgres().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A fresh Mosquitto for one test, on a free port, with the project's own config."""
    running = LocalBroker(tmp_path / "broker").start()
    yield running
    running.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for one test, on each engine the hub supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    cluster: LocalPostgres = request.getfixturevalue("postgres")
    return cluster.create_database(f"test_{next(_database_names)}")
