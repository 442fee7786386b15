"""What the MQTT adapter hands the writer: one received message, exactly as it came."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    received_at: datetime
