"""The hub's paho clients (the worker's and each API process's) are made one way: MQTT 5, the hub's broker
identity and TLS from the settings, the same reconnect pacing, and Nagle off once connected."""

import socket

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.core.config import HubSettings


def hub_client(settings: HubSettings, client_id: str, manual_ack: bool = False) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                         manual_ack=manual_ack)
    if settings.mqtt_username:
        client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
    if settings.mqtt_tls_ca_file:
        client.tls_set(
            ca_certs=str(settings.mqtt_tls_ca_file),
            certfile=str(settings.mqtt_tls_cert_file) if settings.mqtt_tls_cert_file else None,
            keyfile=str(settings.mqtt_tls_key_file) if settings.mqtt_tls_key_file else None,
        )
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client


def turn_nagle_off(client: mqtt.Client) -> None:
    """Small messages must not wait 10-20 ms for Nagle's algorithm (call from on_connect)."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
