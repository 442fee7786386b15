import threading

from edge.clock import AgentClock
from edge.outbox import Outbox
from protocol.envelope import split_envelope
from protocol.events import parse_event
from protocol.signing import GENESIS_PREV, chain_hash, generate_private_key, verify


def open_outbox(path, key, boot="boot-1"):
    return Outbox(path / "outbox.db", "door-01", key, boot, AgentClock())


def assert_chain(payloads, key, first_prev=GENESIS_PREV):
    prev = first_prev
    for n, payload in enumerate(payloads, start=1):
        body, sig = split_envelope(payload, "event")
        event = parse_event(body)
        signed = verify(key.public_key(), body, sig)
        assert event.seq == n and event.prev == prev
        prev = chain_hash(signed)


def test_events_are_signed_chained_and_kept_until_a_receipt(tmp_path):
    key = generate_private_key()
    outbox = open_outbox(tmp_path, key)
    payloads = [outbox.append("door.opened", "d1", {})[1] for _ in range(5)]
    assert_chain(payloads, key)
    assert outbox.pending_count() == 5
    assert outbox.confirm_through(3) == 3
    assert [p.seq for p in outbox.pending()] == [4, 5]


def test_the_chain_continues_in_a_new_process(tmp_path):
    key = generate_private_key()
    first = open_outbox(tmp_path, key, "boot-1")
    payloads = [first.append("door.opened", "d1", {})[1] for _ in range(3)]
    first.confirm_through(3)
    first.close()
    second = open_outbox(tmp_path, key, "boot-2")
    seq, payload = second.append("door.closed", "d1", {})
    assert seq == 4
    assert_chain(payloads + [payload], key)
    assert parse_event(split_envelope(payload, "event")[0]).boot == "boot-2"


def test_resend_is_oldest_first_and_only_after_the_timeout(tmp_path):
    outbox = open_outbox(tmp_path, generate_private_key())
    for _ in range(3):
        seq, _ = outbox.append("help.requested", "d1", {})
        outbox.mark_sent(seq, at=100.0)
    assert outbox.due_for_resend(10.0, now=105.0) == []
    assert [p.seq for p in outbox.due_for_resend(10.0, now=110.0)] == [1, 2, 3]
    outbox.confirm_through(1)
    assert [p.seq for p in outbox.due_for_resend(10.0, now=110.0, limit=1)] == [2]


def test_a_new_process_resends_everything_still_pending(tmp_path):
    key = generate_private_key()
    first = open_outbox(tmp_path, key)
    for _ in range(2):
        first.append("help.requested", "d1", {})
    first.close()
    assert [p.seq for p in open_outbox(tmp_path, key).due_for_resend(3600.0)] == [1, 2]


def test_nothing_is_deleted_without_a_receipt(tmp_path):
    outbox = open_outbox(tmp_path, generate_private_key())
    for _ in range(10):
        outbox.append("motion.detected", None, {})
    outbox.due_for_resend(0.0)
    assert outbox.pending_count() == 10
    assert outbox.confirm_through(0) == 0 and outbox.pending_count() == 10


def test_two_threads_appending_make_one_unbroken_chain(tmp_path):
    key = generate_private_key()
    outbox = open_outbox(tmp_path, key)

    def write():
        for _ in range(100):
            outbox.append("motion.detected", None, {})

    threads = [threading.Thread(target=write) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pending = outbox.pending()
    assert [p.seq for p in pending] == list(range(1, 201))
    assert_chain([p.payload for p in pending], key)
