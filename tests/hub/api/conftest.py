import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from firmware_sim.local_services import free_port
from hub.api.app import create_app
from hub.core.config import HubSettings
from hub.db.models import AlertChangeRecord, AlertRecord
from hub.rules.alerts import AlertType, raise_alert
from tests.hub.conftest import People, wait_until


@pytest.fixture
def api(hub_settings: HubSettings, people: People) -> Iterator[TestClient]:
    """The API on the same database as `people` (set up first), its MQTT client on the test's own broker."""
    app = create_app(hub_settings)
    with TestClient(app) as client:
        wait_until(lambda: app.state.live.connected, what="the API's broker link")
        yield client


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` served for real by uvicorn on a free port, in a thread, its broker link up; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api-server", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="uvicorn to start")
        wait_until(lambda: app.state.live.connected, what="the API's broker link")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture
def served(hub_settings: HubSettings, people: People) -> Iterator[str]:
    """The API served for real by uvicorn on a free port, in a thread; yields its base URL."""
    settings = hub_settings.model_copy(update={"live_heartbeat_s": 0.5, "live_retry_ms": 1500})
    with serving(create_app(settings)) as url:
        yield url


def add_alert(sessions: sessionmaker[Session], alert_id: str, *, site: str = "oakwood", room: str | None = "room-12",
              type: AlertType = AlertType.UNPERMITTED_ENTRY, subject: str | None = None,
              subject_staff: str | None = None, raised_at: datetime | None = None, **columns: Any) -> None:
    """An alert as the worker raises one: its row and its `raised` history line."""
    raised = raise_alert(alert_id, type, subject or f"{site}/{room}", raised_at or datetime.now(UTC),
                         subject_staff=subject_staff)
    alert = raised.alert
    with sessions() as session:
        session.add(AlertRecord(
            id=alert.id, site=site, room=room, type=alert.type.value, subject=alert.subject,
            subject_staff=alert.subject_staff, sentence=alert.sentence, rests_on=list(alert.rests_on),
            raised_at=alert.raised_at, escalated=[], **columns,
        ))
        session.flush()
        session.add(AlertChangeRecord(alert_id=alert.id, action="raised", by="hub", at=alert.raised_at, note=None,
                                      status=raised.change.status.value))
        session.commit()
