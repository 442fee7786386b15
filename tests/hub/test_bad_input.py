"""Property: whatever arrives on an event topic that breaks the contract is recorded as rejected with a reason,
changes no stored event, and the ingest path carries on and stores the next good event."""

import base64
import json
import threading
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import RejectedMessage, StoredEvent
from hub.ingest.store import VerifyKeys, store_batch
from protocol import MAX_PAYLOAD_BYTES
from protocol.envelope import seal
from protocol.signing import generate_private_key, sign
from tests.hub.conftest import (
    DEVICE,
    EVENT_TOPIC,
    VECTOR_KEY,
    VECTORS,
    DeviceSide,
    received,
    signed_chain,
    wait_until,
)

GOOD_BODY: dict[str, Any] = {**VECTORS["chain"][1]["payload"]["event"], "seq": 100}
OTHER_KEY = generate_private_key()
CHECKS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
not_int = st.none() | st.booleans() | st.floats() | st.text(max_size=10) | st.lists(json_scalars, max_size=2)
not_str = st.none() | st.booleans() | st.integers() | st.floats() | st.lists(json_scalars, max_size=2)
not_dict = st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.lists(json_scalars, max_size=2)
MISTYPES = {"v": not_int | st.integers().filter(lambda v: v != 1), "seq": not_int | st.integers(max_value=0),
            "mono_ms": not_int | st.integers(max_value=-1), "ts_ms": not_int, "device": not_str,
            "prev": not_str | st.text(max_size=50), "boot": not_str, "type": not_str | st.just("door.kicked"),
            "door": st.booleans() | st.integers() | st.lists(json_scalars, max_size=2), "data": not_dict}
signable_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)


def _mistyped(draw: st.DrawFn) -> bytes:
    """A well-signed event with one field of the wrong type or out of range."""
    field = draw(st.sampled_from(sorted(MISTYPES)))
    body = {**GOOD_BODY, field: draw(MISTYPES[field])}
    try:
        return seal(VECTOR_KEY, "event", body)
    except (ValueError, UnicodeEncodeError):  # NaN or a lone surrogate: send it unsigned, still mistyped
        return json.dumps({"event": body, "sig": "x"}).encode()


@st.composite
def bad_payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "envelope", "oversized", "mistyped", "mis-signed"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "envelope":
        return json.dumps({"event": draw(json_values), "sig": draw(json_values)}).encode()
    if kind == "oversized":
        padding = "x" * (MAX_PAYLOAD_BYTES + draw(st.integers(1, 4096)))
        return seal(VECTOR_KEY, "event", {**GOOD_BODY, "data": {**GOOD_BODY["data"], "pad": padding}})
    if kind == "mistyped":
        return _mistyped(draw)
    how = draw(st.sampled_from(["random", "other key", "changed after signing", "not base64"]))
    if how == "random":
        sig = base64.b64encode(draw(st.binary(min_size=64, max_size=64))).decode()
    elif how == "other key":
        sig = sign(OTHER_KEY, GOOD_BODY)
    elif how == "not base64":
        sig = draw(signable_text)
    else:
        sig = sign(VECTOR_KEY, {**GOOD_BODY, "ts_ms": GOOD_BODY["ts_ms"] + 1})
    return json.dumps({"event": GOOD_BODY, "sig": sig}).encode()


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        return (session.scalar(select(func.count()).select_from(StoredEvent).where(StoredEvent.device == DEVICE)),
                session.scalar(select(func.count()).select_from(RejectedMessage)))


def test_the_store_records_every_bad_payload(registered: sessionmaker[Session]) -> None:
    keys = VerifyKeys()
    good = signed_chain(VECTOR_KEY, DEVICE, range(1, 3))
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, good[1])], keys)
        session.commit()

    @CHECKS
    @given(payload=bad_payloads())
    def check(payload: bytes) -> None:
        stored, rejected = counts(registered)
        with registered() as session:
            outcome = store_batch(session, [received(EVENT_TOPIC, payload)], keys)
            session.commit()
        assert outcome.stored == 0 and len(outcome.rejected) == 1
        with registered() as session:
            latest = session.scalars(select(RejectedMessage).order_by(RejectedMessage.id.desc()).limit(1)).one()
        assert latest.reason and latest.payload == payload
        assert counts(registered) == (stored, rejected + 1)

    check()
    with registered() as session:
        assert store_batch(session, [received(EVENT_TOPIC, good[2])], keys).stored == 1
        session.commit()


def test_the_running_worker_records_bad_payloads_and_stays_up(
    worker: threading.Thread, registered: sessionmaker[Session], devices_side: DeviceSide
) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(payload=bad_payloads())
    def check(payload: bytes) -> None:
        _, rejected = counts(registered)
        devices_side.publish(EVENT_TOPIC, payload)
        wait_until(lambda: counts(registered)[1] == rejected + 1, what="the payload recorded as rejected")

    check()
    assert worker.is_alive()
    devices_side.publish(EVENT_TOPIC, signed_chain(VECTOR_KEY, DEVICE, range(1, 2))[1])
    wait_until(lambda: counts(registered)[0] == 1, what="a good event stored after the bad ones")
