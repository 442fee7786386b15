"""PROTOCOL.md §1: MQTT 3.1.1 must also work for devices. A 3.1.1 device's events are stored and receipted."""

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import HubSettings
from hub.db.models import StoredEvent
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import DEVICE, EVENT_TOPIC, SITE, VECTORS, vector_payload, wait_until


def test_a_device_on_mqtt_3_1_1_is_stored_and_receipted(
    hub_settings: HubSettings, registered: sessionmaker[Session], worker: threading.Thread
) -> None:
    receipts: list[dict[str, Any]] = []
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DEVICE, protocol=mqtt.MQTTv311,
                         clean_session=False)
    device.on_message = lambda _c, _u, message: receipts.append(json.loads(message.payload))
    device.connect("127.0.0.1", hub_settings.mqtt_port)
    device.loop_start()
    try:
        device.subscribe(device_topic(SITE, DEVICE, DeviceChannel.RECEIPT), qos=1)
        for index in range(len(VECTORS["chain"])):
            device.publish(EVENT_TOPIC, vector_payload(index), qos=1).wait_for_publish(10)
        wait_until(lambda: any(receipt["acked_seq"] == 8 for receipt in receipts), what="a receipt covering seq 8")
    finally:
        device.loop_stop()
        device.disconnect()
    with registered() as session:
        assert list(session.scalars(select(StoredEvent.seq).where(StoredEvent.device == DEVICE).order_by(StoredEvent.seq))) == list(range(1, 9))
