"""The door agent against the real broker, on gpiozero's mock pins."""

import time

from edge.hardware import COLOURS
from protocol.envelope import split_envelope
from protocol.events import IndicatorState
from protocol.signing import GENESIS_PREV, chain_hash, public_key_from_b64, verify
from protocol.topics import DeviceChannel
from tests.edge.conftest import PINS, wait_until


def press(factory, pin):
    factory.pin(pin).drive_low()
    factory.pin(pin).drive_high()


def colour(factory):
    return tuple(int(factory.pin(p).state) for p in (PINS.led_red, PINS.led_green, PINS.led_blue))


def receipt(wire, device, seq):
    wire.publish(device, DeviceChannel.RECEIPT, b'{"acked_seq": %d}' % seq, retain=True)


def test_agent_says_online_and_its_events_arrive_signed_and_chained(make_agent, wire):
    agent, factory = make_agent()
    wait_until(lambda: any(b'"online"' in p for p in wire.on("door-01", DeviceChannel.STATUS)), what="online status")
    press(factory, PINS.knock)
    wait_until(lambda: wire.of_type("door-01", "knock.requested"), what="knock.requested")
    public = public_key_from_b64(agent.public_key_b64)
    payloads = {}
    for payload in wire.on("door-01", DeviceChannel.EVENT):
        body, sig = split_envelope(payload, "event")
        payloads[body["seq"]] = (body, verify(public, body, sig))
    prev = GENESIS_PREV
    for seq in sorted(payloads):
        body, signed = payloads[seq]
        assert body["prev"] == prev
        prev = chain_hash(signed)
    knock = wire.of_type("door-01", "knock.requested")[0]
    assert knock.door == "d1" and knock.data["source"] == "button"
    assert colour(factory) == COLOURS[IndicatorState.WAITING]


def test_status_online_is_retained_and_offline_is_left_when_stopped(make_agent, wire, broker):
    agent, _ = make_agent()
    wait_until(lambda: agent.link.connected.is_set(), what="connected")
    agent.stop()
    late = type(wire)(broker.port)
    try:
        wait_until(lambda: late.on("door-01", DeviceChannel.STATUS), what="retained status")
        assert b'"offline"' in late.on("door-01", DeviceChannel.STATUS)[-1]
    finally:
        late.close()


def test_a_receipt_clears_the_outbox(make_agent, wire):
    agent, factory = make_agent()
    press(factory, PINS.knock)
    wait_until(lambda: wire.of_type("door-01", "knock.requested"), what="knock")
    last = agent.outbox.last_seq()
    assert agent.outbox.pending_count() >= 1
    receipt(wire, "door-01", last)
    wait_until(lambda: agent.last_receipt == last, what="receipt taken")
    assert [p.seq for p in agent.outbox.pending() if p.seq <= last] == []


def test_unreceipted_events_are_resent_and_a_stale_receipt_is_refused(make_agent, wire):
    agent, _ = make_agent(resend_after_s=0.5)
    seq = agent.record("help.requested", "d1", {})
    wait_until(lambda: len([p for p in wire.on("door-01", DeviceChannel.EVENT) if b'"help.requested"' in p]) >= 3,
               what="resends")
    copies = {p for p in wire.on("door-01", DeviceChannel.EVENT) if b'"help.requested"' in p}
    assert len(copies) == 1  # the same bytes each time
    receipt(wire, "door-01", seq + 1000)
    wait_until(lambda: agent.rejected, what="receipt refused")
    assert agent.rejected[-1].reason == "receipt_ahead" and agent.outbox.pending_count() >= 1


def test_a_signed_config_changes_the_wait_and_is_kept_on_disk(make_agent, wire, hub, tmp_path):
    agent, factory = make_agent()
    wire.publish("door-01", DeviceChannel.CONFIG, hub.config("door-01", 2, wait_s=1), retain=True)
    wait_until(lambda: agent.config and agent.config.version == 2, what="config taken")
    press(factory, PINS.knock)
    expired = wait_until(lambda: wire.of_type("door-01", "knock.expired"), what="knock.expired")
    assert expired[0].data["waited_ms"] >= 1000
    wait_until(lambda: colour(factory) == COLOURS[IndicatorState.MAY_ENTER], what="may enter shown")
    agent.stop()
    again, _ = make_agent(data_dir=agent.settings.data_dir, start=False)
    assert again.config.version == 2 and again.doors["d1"].machine.policy.wait_s == 1


def test_a_config_by_another_key_or_older_is_ignored(make_agent, wire, hub):
    from tests.edge.conftest import Hub

    agent, _ = make_agent()
    wait_until(agent.link.subscribed.is_set, what="subscribed")
    wire.publish("door-01", DeviceChannel.CONFIG, hub.config("door-01", 5, wait_s=30))
    wait_until(lambda: agent.config and agent.config.version == 5, what="config 5")
    wire.publish("door-01", DeviceChannel.CONFIG, Hub().config("door-01", 9, wait_s=1))
    wire.publish("door-01", DeviceChannel.CONFIG, hub.config("door-01", 4, wait_s=1))
    wait_until(lambda: len(agent.rejected) == 2, what="two rejections")
    assert [r.reason for r in agent.rejected] == ["bad_signature", "old_version"]
    assert agent.config.version == 5 and agent.doors["d1"].machine.policy.wait_s == 30


def test_a_signed_knock_command_knocks_as_remote_once(make_agent, wire, hub):
    agent, factory = make_agent()
    wait_until(agent.link.subscribed.is_set, what="subscribed")
    command = hub.command("door-01", "knock", {"door": "d1", "staff": "s-4", "staff_name": "Sam"})
    wire.publish("door-01", DeviceChannel.COMMAND, command)
    knocks = wait_until(lambda: wire.of_type("door-01", "knock.requested"), what="remote knock")
    assert knocks[0].data["source"] == "remote" and knocks[0].data["staff"] == "s-4"
    wire.publish("door-01", DeviceChannel.COMMAND, command)
    wire.publish("door-01", DeviceChannel.COMMAND, hub.command("door-01", "knock", {"door": "d1", "staff": "s-4"},
                                                              expires_in_ms=-1))
    wait_until(lambda: len(agent.rejected) == 2, what="two rejections")
    assert sorted(r.reason for r in agent.rejected) == ["already_run", "expired"]
    time.sleep(0.3)  # a wrongly run command would show within this time; nothing must
    assert len(wire.of_type("door-01", "knock.requested")) == 1


def test_the_door_contact_is_debounced(make_agent, wire):
    agent, factory = make_agent()
    contact = factory.pin(PINS.contact)
    contact.drive_low()  # shut
    wait_until(lambda: wire.of_type("door-01", "door.closed"), what="door.closed")
    for _ in range(5):  # chatter as the door swings
        contact.drive_high()
        contact.drive_low()
    contact.drive_high()
    wait_until(lambda: wire.of_type("door-01", "door.opened"), what="door.opened")
    time.sleep(0.2)
    assert len(wire.of_type("door-01", "door.opened")) == 1
    assert len(wire.of_type("door-01", "door.closed")) == 1


def test_the_door_works_with_the_broker_gone_and_delivers_when_it_is_back(make_agent, wire, broker):
    agent, factory = make_agent()
    wait_until(lambda: agent.link.connected.is_set(), what="connected")
    broker.stop()
    wait_until(lambda: not agent.link.connected.is_set(), what="disconnected")
    press(factory, PINS.knock)
    wait_until(lambda: colour(factory) == COLOURS[IndicatorState.WAITING], what="waiting shown")
    press(factory, PINS.come_in)
    wait_until(lambda: colour(factory) == COLOURS[IndicatorState.COME_IN], what="come in shown")
    wait_until(lambda: agent.outbox.pending_count() >= 5, what="events kept")
    last = agent.outbox.last_seq()
    broker.start()
    wire.client.reconnect()
    wait_until(lambda: {e.seq for e in wire.events("door-01")} >= set(range(1, last + 1)), timeout_s=20,
               what="every event delivered")
    assert wire.of_type("door-01", "consent.granted")[0].data["request"] == wire.of_type("door-01", "knock.requested")[0].data["request"]


def test_heartbeat_reports_outbox_and_firmware(make_agent, wire):
    agent, _ = make_agent(fw="test-fw 1")
    beat = wait_until(lambda: wire.of_type("door-01", "device.heartbeat"), what="heartbeat")[0]
    assert beat.data["fw"] == "test-fw 1" and beat.data["uptime_s"] >= 0
    assert isinstance(beat.data["clock_synced"], bool)


def test_panel_dnd_help_and_motion_become_events(make_agent, wire):
    agent, factory = make_agent()
    press(factory, PINS.dnd)
    wait_until(lambda: colour(factory) == COLOURS[IndicatorState.DO_NOT_DISTURB], what="dnd shown")
    press(factory, PINS.help)
    # MotionSensor samples on its own thread; its first sample sets the starting state without an event.
    assert agent.doors["d1"].hardware.motion.wait_for_no_motion(timeout=5)
    factory.pin(PINS.motion).drive_high()
    wait_until(lambda: wire.of_type("door-01", "motion.detected"), what="motion")
    types = [e.type for e in wire.events("door-01")]
    assert "dnd.on" in types and "help.requested" in types


def test_broker_accepts_reach_on_broker_accepted_with_the_seq(make_agent, wire):
    from edge.link import HubLink

    class CountingLink(HubLink):
        seen: list[int] = []

        def on_broker_accepted(self, seq):
            self.seen.append(seq)

    agent, _ = make_agent(link_class=CountingLink)
    wait_until(agent.link.subscribed.is_set, what="subscribed")
    seqs = [agent.record("help.requested", "d1", {}) for _ in range(20)]
    wait_until(lambda: set(seqs) <= set(CountingLink.seen), what="every publish accepted")
    assert agent.outbox.pending_count() >= 20  # the broker's accept deletes nothing
