from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.core.config import HubSettings
from tests.hub.conftest import People


@pytest.fixture
def api(migrated_url: str, people: People) -> Iterator[TestClient]:
    """The API on the same database as `people`, which is set up first."""
    with TestClient(create_app(HubSettings(database_url=migrated_url, _env_file=None))) as client:
        yield client
