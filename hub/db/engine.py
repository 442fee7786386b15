"""The engine: SQLite in WAL for one home, PostgreSQL (psycopg 3) for production."""

from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_S = 30
JSON_COLUMNS = {"json_deserializer": msgspec.json.decode}
"""JSON columns (a device's doors, what a decision rests on…) decoded by msgspec, as the signed bodies are: a
timeline reads the whole registry's doors on every read."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while the worker writes; NORMAL is durable across a process crash in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **JSON_COLUMNS)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True, **JSON_COLUMNS)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
