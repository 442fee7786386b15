"""The API on a real database: what a client sees, who may see it, and a 4xx with a reason for bad input."""

import gc
import json
import weakref
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.api.app import create_app
from hub.core.config import HubSettings
from hub.db.models import PendingHubEvent
from hub.ingest.store import VerifyKeys, store_batch
from protocol.signing import generate_private_key, public_key_b64, public_key_from_b64, verify_bytes
from tests.hub.conftest import (
    DEVICE,
    EVENT_TOPIC,
    SITE,
    VECTOR_KEY,
    People,
    received,
    signed_chain,
    vector_payload,
)

FIRST_TS_MS = 1795654800000  # the vector chain's seq 1: 2026-11-26T01:00:00Z


class Caller:
    """A TestClient that sends one person's token with every request."""

    def __init__(self, api: TestClient, people: People, who: str) -> None:
        self.api, self.headers = api, people.auth(who)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.api.get(url, headers=self.headers, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.api.post(url, headers=self.headers, **kwargs)


@pytest.fixture
def admin(api: TestClient, people: People) -> Caller:
    return Caller(api, people, "admin")


@pytest.fixture
def manager(api: TestClient, people: People) -> Caller:
    """meg, manager of oakwood (the vector device's site)."""
    return Caller(api, people, "meg")


@pytest.fixture
def client(manager: Caller) -> Caller:
    return manager


@pytest.fixture
def chain_stored(registered: sessionmaker[Session]) -> None:
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, vector_payload(i)) for i in range(8)], VerifyKeys())
        session.commit()


def test_health(client: Caller) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}


def test_register_then_list_a_device(admin: Caller, api: TestClient, people: People) -> None:
    key = public_key_b64(generate_private_key())
    body = {"site": "oakwood", "device": "door-0042", "public_key": key, "doors": {"d1": "room-04"}}
    created = admin.post("/api/v1/devices", json=body)
    assert created.status_code == 201
    assert created.json()["config_version"] == 1 and created.json()["status"] == "unknown"
    listed = admin.get("/api/v1/devices").json()
    assert [(d["id"], d["doors"], d["last_seen_at"]) for d in listed] == [("door-0042", {"d1": "room-04"}, None)]
    assert [d["id"] for d in Caller(api, people, "sam").get("/api/v1/devices").json()] == ["door-0042"]
    assert Caller(api, people, "eve").get("/api/v1/devices").json() == []  # elmfield's staff: not oakwood's doors

    again = admin.post("/api/v1/devices", json=body)
    assert again.status_code == 409 and again.json()["detail"]["reason"] == "device_exists"


@pytest.mark.parametrize(("who", "status"), [("meg", 403), ("sam", 403), ("ada", 403), (None, 401)])
def test_only_an_admin_registers_a_device(api: TestClient, people: People, admin: Caller, who: str | None,
                                          status: int) -> None:
    body = {"site": "oakwood", "device": "door-0042", "public_key": public_key_b64(generate_private_key()),
            "doors": {"d1": "room-04"}}
    response = api.post("/api/v1/devices", json=body, headers=people.auth(who) if who else {})
    assert response.status_code == status
    assert admin.get("/api/v1/devices").json() == []


@pytest.mark.parametrize(("who", "params", "status", "reason"), [
    ("ada", {}, 403, "role_not_allowed"),
    ("eve", {"site": "oakwood"}, 403, "not_your_home"),
    (None, {}, 401, "not_signed_in"),
])
def test_devices_are_for_admins_and_the_home_staff(api: TestClient, people: People, chain_stored: None,
                                                   who: str | None, params: dict, status: int, reason: str) -> None:
    for url in ("/api/v1/devices", f"/api/v1/devices/{DEVICE}/gaps"):
        response = api.get(url, params=params, headers=people.auth(who) if who else {})
        assert response.status_code == status and response.json()["detail"]["reason"] == reason, url


@pytest.mark.parametrize(("change", "status", "reason"), [
    ({"public_key": "AAAA"}, 400, "bad_public_key"),
    ({"public_key": "%%%"}, 400, "bad_public_key"),
    ({"device": "Door 42"}, 400, "bad_id"),
    ({"doors": {}}, 400, "no_doors"),
    ({"doors": {"d1": "Room 4"}}, 400, "bad_id"),
    ({"doors": "d1"}, 422, None),
    ({"site": None}, 422, None),
])
def test_a_bad_registration_is_refused_with_a_reason(
    admin: Caller, change: dict, status: int, reason: str | None
) -> None:
    body = {"site": "oakwood", "device": "door-0042", "public_key": public_key_b64(generate_private_key()),
            "doors": {"d1": "room-04"}, **change}
    response = admin.post("/api/v1/devices", json=body)
    assert response.status_code == status
    if reason:
        assert response.json()["detail"]["reason"] == reason
    assert admin.get("/api/v1/devices").json() == []


def test_devices_show_last_seen_and_how_far_the_chain_reaches(client: Caller, chain_stored: None) -> None:
    (device,) = client.get("/api/v1/devices").json()
    assert device["id"] == DEVICE and device["last_seen_at"] is not None
    assert (device["acked_seq"], device["max_seq"]) == (8, 8)
    assert device["last_heartbeat"]["data"]["fw"] == "1.0.0"


def test_events_carry_their_signed_bytes(client: Caller, chain_stored: None) -> None:
    page = client.get("/api/v1/events", params={"device": DEVICE}).json()
    assert [event["seq"] for event in page["events"]] == list(range(1, 9)) and page["next_cursor"] is None
    public = public_key_from_b64(public_key_b64(VECTOR_KEY))
    for event in page["events"]:
        verify_bytes(public, event["signed"].encode(), event["sig"])
        assert json.loads(event["signed"]) == event["event"] and event["event"]["seq"] == event["seq"]
    assert page["events"][1]["room"] == "room-12"


@pytest.mark.parametrize(("params", "seqs"), [
    ({"room": "room-12"}, [2, 3, 4, 5, 6, 7, 8]),
    ({"room": "room-99"}, []),
    ({"site": SITE, "from": str(FIRST_TS_MS + 3000), "to": str(FIRST_TS_MS + 7501)}, [3, 4, 5, 6]),
    ({"from": "2026-11-26T01:00:03Z", "to": "2026-11-26T01:00:07.500+00:00"}, [3, 4, 5]),
    # No offset: read in the home's zone (Europe/London is on UTC in November).
    ({"from": "2026-11-26T01:00:09"}, [7, 8]),
    ({"site": SITE, "device": "door-9999"}, []),
])
def test_events_filters(client: Caller, chain_stored: None, params: dict, seqs: list[int]) -> None:
    response = client.get("/api/v1/events", params=params)
    assert response.status_code == 200
    assert [event["seq"] for event in response.json()["events"]] == seqs


def test_events_page_through_with_a_cursor(client: Caller, chain_stored: None) -> None:
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/events", params=params).json()
        seen += [event["seq"] for event in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, 9))


@pytest.mark.parametrize(("params", "status"), [
    ({"limit": 1001}, 422),
    ({"limit": 0}, 422),
    ({"from": "yesterday"}, 400),
    ({"to": "99999999999999999999999"}, 400),
    ({"cursor": "nonsense"}, 400),
    ({"cursor": "1.x"}, 400),
])
def test_events_bad_input(client: Caller, params: dict, status: int) -> None:
    response = client.get("/api/v1/events", params=params)
    assert response.status_code == status
    if status == 400:
        assert response.json()["detail"]["reason"] in {"bad_time", "bad_cursor"}


def test_admins_read_the_devices_health_never_a_room_timeline(admin: Caller, chain_stored: None) -> None:
    page = admin.get("/api/v1/events", params={"device": DEVICE})
    assert page.status_code == 200
    types = {event["type"] for event in page.json()["events"]}
    assert types == {"device.heartbeat"}
    refused = admin.get("/api/v1/events", params={"room": "room-12"})
    assert refused.status_code == 403 and refused.json()["detail"]["reason"] == "not_for_admin"


@pytest.mark.parametrize(("who", "params", "status", "reason"), [
    ("sam", {}, 403, "role_not_allowed"),
    ("ada", {}, 403, "role_not_allowed"),
    ("max", {"site": SITE}, 403, "not_your_home"),
    (None, {}, 401, "not_signed_in"),
])
def test_a_home_events_are_for_its_night_lead_and_managers(api: TestClient, people: People, chain_stored: None,
                                                          who: str | None, params: dict, status: int,
                                                          reason: str) -> None:
    response = api.get("/api/v1/events", params=params, headers=people.auth(who) if who else {})
    assert response.status_code == status and response.json()["detail"]["reason"] == reason


def test_every_read_of_a_home_events_is_recorded(api: TestClient, people: People, chain_stored: None) -> None:
    assert len(Caller(api, people, "nia").get("/api/v1/events", params={"room": "room-12"}).json()["events"]) == 7
    assert Caller(api, people, "max").get("/api/v1/events").json()["events"] == []  # elmfield: nothing of oakwood
    with people.sessions() as session:
        reads = [(row.site, row.room, row.data["by"]) for row in session.scalars(
            select(PendingHubEvent).where(PendingHubEvent.type == "hub.timeline.read").order_by(PendingHubEvent.id))]
    assert reads == [(SITE, "room-12", "nia"), ("elmfield", None, "max")]


def test_gaps(client: Caller, registered: sessionmaker[Session]) -> None:
    chain = signed_chain(VECTOR_KEY, DEVICE, range(1, 5))
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, chain[seq]) for seq in (1, 2, 4)], VerifyKeys())
        session.commit()
    assert client.get(f"/api/v1/devices/{DEVICE}/gaps").json() == {
        "device": DEVICE, "acked_seq": 2, "max_seq": 4, "gaps": [[3, 3]],
    }
    missing = client.get("/api/v1/devices/door-9999/gaps")
    assert missing.status_code == 404 and missing.json()["detail"]["reason"] == "unknown_device"


def test_openapi_describes_the_routes(client: Caller) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/health", "/api/v1/devices", "/api/v1/events", "/api/v1/devices/{device_id}/gaps"} <= set(
        schema["paths"]
    )
    assert schema["components"]["schemas"]["EventOut"]["properties"]["signed"]["title"]


def test_a_time_without_offset_is_read_in_the_home_zone(hub_settings: HubSettings, people: People,
                                                        chain_stored: None) -> None:
    settings = hub_settings.model_copy(update={"home_time_zone": "Europe/Paris"})
    with TestClient(create_app(settings)) as paris:
        page = paris.get("/api/v1/events", params={"from": "2026-11-26T02:00:09"}, headers=people.auth("meg")).json()
    assert [event["seq"] for event in page["events"]] == [7, 8]


def test_an_app_let_go_lets_go_of_its_broker_link(hub_settings: HubSettings, people: People) -> None:
    """Nothing process-wide (FastAPI's caches of endpoints among them) may keep an app, and with it its broker link
    and sockets: a process that makes many apps, the test run itself, would run out of descriptors."""
    app = create_app(hub_settings)
    with TestClient(app) as client:
        assert client.get("/docs").status_code == 200
        link = weakref.ref(app.state.live)
    del app, client
    gc.collect()
    assert link() is None
