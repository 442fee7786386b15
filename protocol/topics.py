"""Topic names (PROTOCOL.md §2): builders and a strict parser."""

import re
from dataclasses import dataclass
from enum import StrEnum

from protocol.errors import ProtocolError

ROOT = "threshold/v1"
ID_PATTERN = re.compile(r"^[a-z0-9-]{1,64}$")


class DeviceChannel(StrEnum):
    EVENT = "event"
    STATUS = "status"
    RECEIPT = "receipt"
    CONFIG = "config"
    COMMAND = "command"


def check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ProtocolError("bad_id", f"{kind} id {value!r} is not 1-64 characters of [a-z0-9-]")
    return value


def device_topic(site: str, device: str, channel: DeviceChannel) -> str:
    return f"{ROOT}/{check_id('site', site)}/device/{check_id('device', device)}/{channel.value}"


def hub_topic(site: str, *parts: str) -> str:
    """A topic under the hub's own branch, `threshold/v1/{site}/hub/...` (§8)."""
    return "/".join([ROOT, check_id("site", site), "hub", *parts])


def event_subscription(site: str = "+", shared_group: str | None = None) -> str:
    topic = f"{ROOT}/{site}/device/+/event"
    return f"$share/{shared_group}/{topic}" if shared_group else topic


def status_subscription(site: str = "+") -> str:
    return f"{ROOT}/{site}/device/+/status"


@dataclass(frozen=True)
class DeviceTopic:
    site: str
    device: str
    channel: DeviceChannel


def parse_device_topic(topic: str) -> DeviceTopic:
    parts = topic.split("/")
    if len(parts) != 6 or "/".join(parts[:2]) != ROOT or parts[3] != "device":
        raise ProtocolError("bad_topic", f"{topic!r} is not threshold/v1/{{site}}/device/{{device}}/{{channel}}")
    try:
        channel = DeviceChannel(parts[5])
    except ValueError:
        raise ProtocolError("bad_topic", f"unknown channel {parts[5]!r}") from None
    return DeviceTopic(check_id("site", parts[2]), check_id("device", parts[4]), channel)
