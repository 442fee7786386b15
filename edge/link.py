"""HubLink: the agent's MQTT connection to the site broker (paho 2.x, MQTT 5, persistent session).

Callbacks run on paho's network thread and only hand work on: received messages go to `deliver`, nothing
here blocks or publishes-and-waits. A broker's PUBACK is *not* the hub's receipt: it is only counted (and
offered to `on_broker_accepted`); the agent deletes from its outbox on receipts alone.
"""

import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.settings import AgentSettings
from protocol.topics import DeviceChannel, device_topic

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 14 * 24 * 3600  # PROTOCOL.md §1: at least 7 days
SUBSCRIBED = (DeviceChannel.RECEIPT, DeviceChannel.CONFIG, DeviceChannel.COMMAND)


class HubLink:
    def __init__(
        self,
        settings: AgentSettings,
        boot: str,
        deliver: Callable[[DeviceChannel, bytes], None],
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._deliver = deliver
        self._on_connected = on_connected
        self.device, self.site = settings.device_id, settings.site
        self.accepted = 0
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # set once the broker has granted this connection's subscriptions
        self._mids: dict[int, int] = {}
        self._early_acks: set[int] = set()
        self._status_mids: set[int] = set()
        self._mid_lock = threading.Lock()
        self._status_topic = device_topic(self.site, self.device, DeviceChannel.STATUS)
        self._event_topic = device_topic(self.site, self.device, DeviceChannel.EVENT)
        self._topics = {device_topic(self.site, self.device, channel): channel for channel in SUBSCRIBED}
        self._status = {"boot": boot, "fw": settings.fw}

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.device, protocol=mqtt.MQTTv5)
        client.username_pw_set(settings.username or self.device, settings.password)
        if settings.tls_ca_file:
            client.tls_set(
                ca_certs=str(settings.tls_ca_file),
                certfile=str(settings.tls_cert_file) if settings.tls_cert_file else None,
                keyfile=str(settings.tls_key_file) if settings.tls_key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        client.will_set(self._status_topic, self._status_payload("offline"), qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_subscribe = self._handle_subscribe
        client.on_message = self._handle_message
        client.on_publish = self._handle_publish
        client.on_socket_open = self._handle_socket_open
        self.client = client

    def _status_payload(self, state: str) -> bytes:
        return json.dumps({"state": state, **self._status}, separators=(",", ":")).encode()

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        # connect_async: the agent starts (and the door works) whether or not the broker is there.
        self.client.connect_async(
            self.settings.broker_host, self.settings.broker_port, keepalive=self.settings.keepalive_s,
            clean_start=False, properties=properties,
        )
        self.client.loop_start()

    def stop(self) -> None:
        """Say offline (a clean disconnect sends no will) and close."""
        if self.connected.is_set():
            info = self._publish_status("offline")
            info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    def _publish_status(self, state: str) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(self._status_topic, self._status_payload(state), qos=1, retain=True)
        with self._mid_lock:
            self._status_mids.add(info.mid)
        return info

    def publish_event(self, seq: int, payload: bytes) -> None:
        """Hand an event to paho (queued while the broker is away); never waits."""
        info = self.client.publish(self._event_topic, payload, qos=1)
        with self._mid_lock:
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
                early = True
            else:
                self._mids[info.mid] = seq
                early = False
        if early:
            self._accepted(seq)

    def on_broker_accepted(self, seq: int) -> None:
        """The broker PUBACKed the event `seq`. That is not the hub's receipt: do not delete anything here."""

    def _accepted(self, seq: int) -> None:
        self.accepted += 1
        self.on_broker_accepted(seq)

    # paho callbacks (network thread) -----------------------------------------------------------------

    def _handle_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.warning("broker refused %s: %s", self.device, reason_code)
            return
        self._publish_status("online")
        client.subscribe([(topic, 1) for topic in self._topics])
        self.connected.set()
        if self._on_connected:
            self._on_connected()

    def _handle_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()

    def _handle_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            log.warning("broker refused %s's subscriptions: %s", self.device, failed)
        else:
            self.subscribed.set()

    def _handle_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        channel = self._topics.get(message.topic)
        if channel is not None:
            self._deliver(channel, bytes(message.payload))

    def _handle_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        with self._mid_lock:
            if mid in self._status_mids:
                self._status_mids.discard(mid)
                return
            seq = self._mids.pop(mid, None)
            if seq is None:
                self._early_acks.add(mid)
        if seq is not None and not reason_code.is_failure:
            self._accepted(seq)
