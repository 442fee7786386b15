"""The hub's one MQTT client: a thin paho 2.x adapter. Callbacks only hand messages over; they never block or publish."""

import logging
import queue
import threading
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub.core.config import HubSettings
from hub.ingest.message import ReceivedMessage
from hub.mqtt_client import hub_client, turn_nagle_off
from protocol.topics import event_subscription, status_subscription

log = logging.getLogger(__name__)

KEEPALIVE_S = 30


class BrokerLink:
    """Connects with a persistent session and manual acks, and puts every message on `inbox` for the writer."""

    def __init__(self, settings: HubSettings, inbox: "queue.Queue[ReceivedMessage]") -> None:
        self.settings = settings
        self.inbox = inbox
        self.connected = threading.Event()
        self.client = hub_client(settings, settings.mqtt_client_id, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.mqtt_session_expiry_s
        properties.ReceiveMaximum = self.settings.receive_maximum
        self.client.connect_async(
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            keepalive=KEEPALIVE_S,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()

    def ack(self, mid: int, qos: int) -> None:
        self.client.ack(mid, qos)

    def publish_retained(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1, retain=True)

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: mqtt.ConnectFlags, reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("broker refused the hub: %s", reason_code)
            return
        turn_nagle_off(client)
        # Every connect: a broker that lost the session (or a first start) must learn the subscriptions again.
        client.subscribe([
            (event_subscription(shared_group=self.settings.shared_subscription_group), SubscribeOptions(qos=1)),
            (status_subscription(), SubscribeOptions(qos=1)),
        ])
        log.info("connected to %s:%s (session present: %s)", self.settings.mqtt_host, self.settings.mqtt_port,
                 flags.session_present)
        self.connected.set()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: mqtt.DisconnectFlags, reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self.connected.clear()
        log.warning("disconnected from the broker: %s", reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        # The queue holds at most Receive Maximum unacked messages, so this put does not wait in practice.
        self.inbox.put(ReceivedMessage(
            message.topic, message.payload, message.mid, message.qos, message.retain, datetime.now(UTC)
        ))
