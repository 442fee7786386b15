"""The live feed over a real HTTP server (uvicorn) and the real broker: the whole current state on connect, then
alert and room changes as the hub publishes them, only for the caller's own home, for as long as the token or
dashboard session that opened it is live."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text

from firmware_sim.local_services import LocalBroker
from hub.core.config import HubSettings
from hub.db.models import Account, WebSession
from hub.live import AlertMessage, RoomState, RoomStateMessage, alerts_topic, room_topic
from hub.people.accounts import account_named
from hub.people.passwords import token_digest
from hub.people.web_sessions import SESSION_COOKIE, SignInMethod, Started, start_session
from tests.hub.api.conftest import add_alert
from tests.hub.conftest import DeviceSide, People, wait_until


@dataclass
class Stream:
    """An SSE client reading in a thread: each event as (event name, data), and the other fields."""

    response: httpx.Response
    events: list[tuple[str, dict]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        name, data = "message", ""
        try:
            for line in self.response.iter_lines():
                if line.startswith("event: "):
                    name = line[len("event: "):]
                elif line.startswith("data: "):
                    data = line[len("data: "):]
                elif line == "" and data:
                    self.events.append((name, json.loads(data)))
                    name, data = "message", ""
                elif line:
                    self.fields.append(line)
        except httpx.HTTPError:
            pass  # the test closed the stream
        finally:
            self.ended.set()

    def named(self, name: str) -> list[dict]:
        return [data for event, data in list(self.events) if event == name]


@pytest.fixture
def open_stream(served: str, people: People) -> Iterator:
    opened: list[tuple[httpx.Client, httpx.Response]] = []

    def open_as(who: str, *, session_cookie: str | None = None, **params: str) -> Stream:
        """`who`'s stream, opened with their token, or with `session_cookie` (theirs) as a browser opens it."""
        headers = people.auth(who) if session_cookie is None else {"Cookie": f"{SESSION_COOKIE}={session_cookie}"}
        client = httpx.Client(base_url=served, timeout=httpx.Timeout(10.0, read=30.0))
        response = client.send(client.build_request("GET", "/api/v1/live", params=params, headers=headers),
                               stream=True)
        opened.append((client, response))
        stream = Stream(response)
        if response.status_code == 200:
            threading.Thread(target=stream.read, daemon=True).start()
        return stream

    yield open_as
    for client, response in opened:
        response.close()
        client.close()


def room_state(site: str, room: str, state: RoomState) -> bytes:
    return RoomStateMessage(site=site, room=room, state=state, since=datetime.now(UTC)).model_dump_json().encode()


def alert_message(alert_id: str, site: str = "oakwood") -> bytes:
    now = datetime.now(UTC)
    return AlertMessage(id=alert_id, site=site, room="room-14", type="help_requested", status="active_unacknowledged",
                        sentence="The resident asked for help.", subject_staff=None, raised_at=now, change="raised",
                        changed_at=now).model_dump_json().encode()


def test_on_connect_the_rooms_and_active_alerts_then_live_changes(
    open_stream, people: People, devices_side: DeviceSide, served: str
) -> None:
    devices_side.publish(room_topic("oakwood", "room-12"), room_state("oakwood", "room-12", RoomState.OCCUPIED),
                         retain=True)
    devices_side.publish(room_topic("elmfield", "room-01"), room_state("elmfield", "room-01", RoomState.IDLE),
                         retain=True)
    add_alert(people.sessions, "a1")
    add_alert(people.sessions, "e1", site="elmfield", room="room-01")

    # The API's client picks retained room states up as it subscribes; a board connecting later still sees them.
    def snapshot_with_rooms() -> Stream | None:
        stream = open_stream("sam")
        wait_until(lambda: stream.named("ready"), what="the end of the snapshot")
        return stream if stream.named("room") else None

    stream = wait_until(snapshot_with_rooms, what="a snapshot with the retained room states")
    assert stream.response.headers["content-type"].startswith("text/event-stream")
    assert stream.fields[0] == "retry: 1500"
    assert [(r["room"], r["state"]) for r in stream.named("room")] == [("room-12", "occupied")]
    (alert,) = stream.named("alert")
    assert alert["id"] == "a1" and alert["change"] == "raised" and alert["status"] == "active_unacknowledged"
    assert stream.named("ready") == [{"rooms": 1, "alerts": 1}]

    devices_side.publish(alerts_topic("elmfield"), alert_message("e2", site="elmfield"))
    devices_side.publish(alerts_topic("oakwood"), alert_message("a2"))
    devices_side.publish(room_topic("oakwood", "room-14"), room_state("oakwood", "room-14", RoomState.KNOCK_WAITING))
    wait_until(lambda: any(a["id"] == "a2" for a in stream.named("alert")), what="the live alert")
    wait_until(lambda: any(r["room"] == "room-14" for r in stream.named("room")), what="the live room state")
    assert {a["id"] for a in stream.named("alert")} == {"a1", "a2"}  # nothing of another home

    # An acknowledgement through the API reaches the board live, through the broker.
    with httpx.Client(base_url=served) as client:
        assert client.post("/api/v1/alerts/a1/acknowledge", headers=people.auth("nia")).status_code == 200
    wait_until(lambda: any(a["id"] == "a1" and a["acknowledged_by"] == "nia" for a in stream.named("alert")),
               what="the acknowledgement on the board")
    wait_until(lambda: stream.named("heartbeat"), what="a heartbeat while idle")


def test_the_live_feed_is_for_the_home_staff(open_stream) -> None:
    for who, params, status in (("eve", {"site": "oakwood"}, 403), ("ada", {}, 403), ("admin", {"site": "oakwood"},
                                                                                       403)):
        stream = open_stream(who, **params)
        assert stream.response.status_code == status
    elmfield = open_stream("eve")
    assert elmfield.response.status_code == 200
    wait_until(lambda: elmfield.named("ready"), what="eve's snapshot")


def test_losing_the_broker_ends_every_stream_and_refuses_new_ones_until_it_is_back(
    open_stream, broker: LocalBroker
) -> None:
    """A stream that went on while the API hears nothing would tell a board it is live when it is not."""
    stream = open_stream("sam")
    wait_until(lambda: stream.named("ready"), what="the snapshot")
    broker.stop()
    wait_until(stream.ended.is_set, what="the stream to end as the API loses the broker")
    refused = open_stream("sam")
    assert refused.response.status_code == 503
    assert refused.response.headers["retry-after"] == "2"  # the served app's retry, 1500 ms, in whole seconds
    assert json.loads(refused.response.read())["detail"]["reason"] == "broker_unavailable"

    broker.start()

    def streaming() -> Stream | None:
        again = open_stream("sam")
        return again if again.response.status_code == 200 else None

    again = wait_until(streaming, timeout_s=30, what="a stream once the API has the broker again")
    wait_until(lambda: again.named("ready"), what="a fresh snapshot")


# A stream lasts as long as its sign-in ---------------------------------------------------------------------------

ENDS_WITHIN_S = 5.0
"""The served app's heartbeat is 0.5 s: a stream whose sign-in has ended closes well within this."""


def signed_in_on_the_dashboard(people: People, username: str) -> Started:
    with people.sessions() as session:
        started = start_session(session, account_named(session, username), address="127.0.0.1",
                                method=SignInMethod.PASSWORD)
        session.commit()
        return started


def ready(stream: Stream) -> Stream:
    assert stream.response.status_code == 200
    wait_until(lambda: stream.named("ready"), what="the snapshot")
    return stream


def test_a_stream_opened_with_a_token_ends_when_its_account_is_disabled(
    open_stream, people: People, served: str
) -> None:
    sams = ready(open_stream("sam"))
    nias = ready(open_stream("nia"))
    wait_until(lambda: sams.named("heartbeat"), what="a heartbeat while sam is signed in")
    with people.sessions() as session:
        sam_id = session.scalar(select(Account.id).where(Account.username == "sam"))
    with httpx.Client(base_url=served) as client:
        disabled = client.post(f"/api/v1/accounts/{sam_id}/disable", headers=people.auth("admin"))
    assert disabled.status_code == 200
    wait_until(sams.ended.is_set, timeout_s=ENDS_WITHIN_S, what="sam's stream to close")
    again = open_stream("sam")
    assert again.response.status_code == 401
    # Nia is still signed in: her stream goes on.
    heartbeats = len(nias.named("heartbeat"))
    wait_until(lambda: len(nias.named("heartbeat")) > heartbeats + 1, what="nia's stream to go on")
    assert not nias.ended.is_set()


def test_a_stream_opened_with_a_dashboard_session_ends_at_sign_out(
    open_stream, people: People, served: str
) -> None:
    page = signed_in_on_the_dashboard(people, "sam")
    by_cookie = ready(open_stream("sam", session_cookie=page.cookie))
    by_token = ready(open_stream("sam"))
    with httpx.Client(base_url=served) as client:
        signed_out = client.post("/sign-out", data={"csrf_token": page.record.csrf_token},
                                 headers={"Cookie": f"{SESSION_COOKIE}={page.cookie}"})
    assert signed_out.status_code == 303
    wait_until(by_cookie.ended.is_set, timeout_s=ENDS_WITHIN_S, what="the session's stream to close")
    # His token is another sign-in, still live.
    heartbeats = len(by_token.named("heartbeat"))
    wait_until(lambda: len(by_token.named("heartbeat")) > heartbeats + 1, what="the token's stream to go on")
    assert not by_token.ended.is_set()


def test_an_open_stream_keeps_its_session_from_the_idle_timeout_but_not_the_absolute_one(
        open_stream, people: People, hub_settings: HubSettings) -> None:
    page = signed_in_on_the_dashboard(people, "nia")
    stream = ready(open_stream("nia", session_cookie=page.cookie))
    idle_since = datetime.now(UTC) - timedelta(minutes=hub_settings.session_idle_minutes, seconds=-5)
    with people.sessions() as session:
        row = session.scalars(select(WebSession).where(WebSession.id_sha256 == token_digest(page.cookie))).one()
        row.last_seen_at = idle_since
        session.commit()

    def seen_again() -> bool:
        with people.sessions() as session:
            return session.scalars(select(WebSession.last_seen_at)
                                   .where(WebSession.id_sha256 == token_digest(page.cookie))).one() > idle_since
    wait_until(seen_again, timeout_s=ENDS_WITHIN_S, what="the open board to count as using its session")
    assert not stream.ended.is_set()
    with people.sessions() as session:
        row = session.scalars(select(WebSession).where(WebSession.id_sha256 == token_digest(page.cookie))).one()
        row.created_at = datetime.now(UTC) - timedelta(hours=hub_settings.session_absolute_hours, seconds=1)
        session.commit()
    wait_until(stream.ended.is_set, timeout_s=ENDS_WITHIN_S, what="the session's stream to close at its absolute end")
    assert open_stream("nia", session_cookie=page.cookie).response.status_code == 401


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_open_stream_holds_no_transaction_open(open_stream, people: People) -> None:
    """A board open all night must not hold a transaction open all night: PostgreSQL could then vacuum nothing the
    hub updates meanwhile (the devices' heads, every batch), and every query of the hub would slow as they bloat."""
    stream = open_stream("sam")
    wait_until(lambda: stream.named("heartbeat"), what="a heartbeat after the snapshot")
    with people.sessions() as session:
        held = session.scalars(text(
            "SELECT left(query, 80) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()")).all()
    assert held == []
