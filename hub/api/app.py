"""The API application: `create_app(settings)` builds it on its own engine, with its own MQTT client, and the
dashboard's pages beside it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dashboard.pages import mount_dashboard
from hub.api.broker import LiveLink
from hub.api.docs import mount_api_docs
from hub.api.routes import (
    accounts,
    alerts,
    cases,
    check_ins,
    checkpoints,
    devices,
    entries,
    events,
    health,
    home_settings,
    knocks,
    live,
    people,
    preferences,
    room_entries,
    summary,
    timelines,
)
from hub.core.config import HubSettings
from hub.db.engine import make_engine, make_session_factory
from hub.keys import load_or_create_hub_key


def create_app(settings: HubSettings | None = None) -> FastAPI:
    settings = settings or HubSettings()
    engine = make_engine(settings.database_url)
    link = LiveLink(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The same key file as the worker's: commands are signed by the hub, whichever process sends them.
        app.state.hub_key = load_or_create_hub_key(settings.key_file)
        link.start(asyncio.get_running_loop())
        yield
        link.stop()
        engine.dispose()

    app = FastAPI(
        title="Threshold hub",
        version="1",
        description="Devices, their status and the events they recorded (read-only here, always); homes, residents, "
        "staff and accounts; residents' entry preferences, versioned; alerts, acknowledged and resolved by named "
        "people; a live stream of alerts and room states (Server-Sent Events); remote knocks; lone-worker "
        "check-ins; entry decisions; the night summary; each home's escalation ladder and its rooms' environment "
        "limits.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessions = make_session_factory(engine)
    app.state.live = link
    for module in (health, devices, events, accounts, people, preferences, alerts, live, knocks, check_ins, entries,
                   room_entries, summary, timelines, cases, checkpoints, home_settings):
        app.include_router(module.router, prefix="/api/v1")
    # The pages people use, on the same process and the same dependencies as the API.
    mount_api_docs(app)
    mount_dashboard(app)
    return app
