"""The API application: `create_app(settings)` builds it on its own engine."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.api.routes import accounts, devices, events, health, people, preferences
from hub.core.config import HubSettings
from hub.db.engine import make_engine, make_session_factory


def create_app(settings: HubSettings | None = None) -> FastAPI:
    settings = settings or HubSettings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Threshold hub",
        version="1",
        description="Devices, their status and the events they recorded (read-only here, always); homes, residents, "
        "staff and accounts; residents' entry preferences, versioned.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessions = make_session_factory(engine)
    for module in (health, devices, events, accounts, people, preferences):
        app.include_router(module.router, prefix="/api/v1")
    return app
