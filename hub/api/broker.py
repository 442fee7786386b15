"""The API process's own MQTT client: it listens to the hub's live topics for the Server-Sent Events streams, and
publishes what people do through the API (an alert acknowledged, a remote knock).

paho runs its network loop in its own thread; its callbacks never block: each message is handed to the asyncio
loop with `call_soon_threadsafe`, and everything about subscribers and room states happens in that loop only,
so nothing here needs a lock.
"""

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from pydantic import ValidationError

from hub.core.config import HubSettings
from hub.live import LIVE_SUBSCRIPTIONS, AlertMessage, RoomStateMessage
from hub.mqtt_client import hub_client, turn_nagle_off
from protocol.topics import ROOT

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
PUBLISH_CONFIRM_S = 5.0

LiveMessage = AlertMessage | RoomStateMessage


@dataclass(eq=False)
class LiveListener:
    """One SSE client's bounded queue. `None` in the queue ends its stream: it fell too far behind."""

    site: str
    queue: "asyncio.Queue[LiveMessage | None]"
    dropped: bool = field(default=False)


class LiveLink:
    """Connects (clean session, a fresh client id per process), subscribes to LIVE_SUBSCRIPTIONS on every connect,
    keeps the latest retained state of every room, and fans live messages out to the listeners of their site."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self.rooms: dict[tuple[str, str], RoomStateMessage] = {}
        self._listeners: dict[str, set[LiveListener]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._was_connected = False
        self.client = hub_client(settings, f"{settings.api_mqtt_client_id_prefix}-{uuid.uuid4().hex[:12]}")
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # lifecycle (from the API's lifespan) ---------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Asynchronous: the API serves (and says 503 where it needs the broker) while the broker is away.
        self.client.connect_async(self.settings.mqtt_host, self.settings.mqtt_port, keepalive=KEEPALIVE_S,
                                  clean_start=True)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    # publishing (from request threads; paho's publish is thread-safe) ----------------------------------

    def publish(self, topic: str, payload: bytes, confirm: bool = False) -> bool:
        """Publish at QoS 1. With `confirm`, wait (in the caller's worker thread, never the event loop) for the
        broker's PUBACK; returns whether it came. Without, returns whether paho took the message."""
        info = self.client.publish(topic, payload, qos=1)
        if not confirm:
            return info.rc == mqtt.MQTT_ERR_SUCCESS
        try:
            info.wait_for_publish(PUBLISH_CONFIRM_S)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    # listening (in the event loop) ---------------------------------------------------------------------

    def listen(self, site: str) -> LiveListener:
        listener = LiveListener(site, asyncio.Queue(self.settings.live_queue_size))
        self._listeners[site].add(listener)
        return listener

    def forget(self, listener: LiveListener) -> None:
        self._listeners[listener.site].discard(listener)

    def room_states(self, site: str) -> list[RoomStateMessage]:
        return [state for (state_site, _room), state in sorted(self.rooms.items()) if state_site == site]

    def _deliver(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        # threshold/v1/{site}/hub/alerts or threshold/v1/{site}/hub/rooms/{room}
        if "/".join(parts[:2]) != ROOT or len(parts) < 5 or parts[3] != "hub":
            return
        site = parts[2]
        message: LiveMessage
        try:
            if parts[4:] == ["alerts"]:
                message = AlertMessage.model_validate_json(payload)
            elif parts[4] == "rooms" and len(parts) == 6:
                if not payload:  # a retained room state deleted: the room is gone
                    self.rooms.pop((site, parts[5]), None)
                    return
                message = RoomStateMessage.model_validate_json(payload)
                self.rooms[(site, message.room)] = message
            else:
                return
        except ValidationError as error:
            # Only the hub may write here (PROTOCOL.md §8), so this is a hub bug: say so, and carry on.
            log.warning("unreadable live message on %s: %s", topic, error.errors()[0]["msg"])
            return
        for listener in self._listeners.get(site, ()):
            if not listener.dropped:
                try:
                    listener.queue.put_nowait(message)
                except asyncio.QueueFull:
                    # A client that cannot keep up is cut off rather than silently thinned; it reconnects to a
                    # fresh snapshot of everything current.
                    self._drop(listener)

    def _drop(self, listener: LiveListener) -> None:
        listener.dropped = True
        while not listener.queue.empty():
            listener.queue.get_nowait()
        listener.queue.put_nowait(None)

    def _resync_everyone(self) -> None:
        """End every stream: when the link is lost (a stream would go on looking live while nothing can reach
        it; its client is refused until the link is back, and says it is not live), and when it is back (what
        streams sent may be stale). Each client reconnects to a fresh snapshot."""
        for listeners in self._listeners.values():
            for listener in listeners:
                if not listener.dropped:
                    self._drop(listener)

    # paho callbacks (its network thread: hand over, never block) ---------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: mqtt.ConnectFlags, reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("broker refused the API's live client: %s", reason_code)
            return
        turn_nagle_off(client)
        client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in LIVE_SUBSCRIPTIONS])
        if self._was_connected:
            self._hand_over(self._resync_everyone)
        self._was_connected = True

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: mqtt.DisconnectFlags, reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("the API's live client lost the broker: %s", reason_code)
        self._hand_over(self._resync_everyone)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._hand_over(self._deliver, message.topic, bytes(message.payload))

    def _hand_over(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed as the API shut down
            pass
