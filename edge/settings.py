"""The door agent's settings: environment variables `THRESHOLD_EDGE_*` or a TOML / JSON file.

Nested fields come from the environment with `__`, e.g. `THRESHOLD_EDGE_DOORS__D1__CONTACT=17`.
A file given on the command line takes precedence over the environment.
"""

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.topics import ID_PATTERN

def _bcm_number(value: Any) -> Any:
    # Environment variables are text: "17" means BCM 17, as it would in a file.
    return int(value) if isinstance(value, str) and value.isdigit() else value


Pin = Annotated[
    int | str,
    BeforeValidator(_bcm_number),
    Field(title="GPIO pin", description="A BCM number (17) or a gpiozero pin name (GPIO17, BOARD11)"),
]


class DoorPins(BaseModel):
    """Where one door's parts are wired. Only the door contact is required."""

    model_config = ConfigDict(extra="forbid")

    contact: Pin = Field(title="Door contact", description="Reed switch to ground; closed when the door is shut")
    knock: Pin | None = Field(default=None, title="Knock button outside")
    come_in: Pin | None = Field(default=None, title='Inside panel: "come in"')
    not_now: Pin | None = Field(default=None, title='Inside panel: "not now"')
    dnd: Pin | None = Field(default=None, title='Inside panel: "do not disturb" (toggles)')
    help: Pin | None = Field(default=None, title="Inside panel: help")
    led_red: Pin | None = Field(default=None, title="Outside indicator, red")
    led_green: Pin | None = Field(default=None, title="Outside indicator, green")
    led_blue: Pin | None = Field(default=None, title="Outside indicator, blue")
    buzzer: Pin | None = Field(default=None, title="Chime inside")
    motion: Pin | None = Field(default=None, title="Motion sensor inside the room")


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THRESHOLD_EDGE_", env_nested_delimiter="__", extra="forbid")

    device_id: Annotated[str, Field(pattern=ID_PATTERN.pattern, title="Device id", description="Also the MQTT user")]
    site: Annotated[str, Field(pattern=ID_PATTERN.pattern, title="Site id")]
    data_dir: Path = Field(title="Data folder", description="Holds the device key, outbox.db and the last good config")
    broker_host: str = Field(default="127.0.0.1", title="MQTT broker host")
    broker_port: int = Field(default=1883, title="MQTT broker port")
    username: str | None = Field(default=None, title="MQTT user", description="Defaults to the device id")
    password: str | None = Field(default=None, title="MQTT password")
    tls_ca_file: Path | None = Field(default=None, title="CA certificate", description="Set to connect with TLS")
    tls_cert_file: Path | None = Field(default=None, title="Client certificate")
    tls_key_file: Path | None = Field(default=None, title="Client certificate key")
    hub_public_key: str | None = Field(
        default=None,
        title="Hub public key (base64)",
        description="Configs and commands not signed by this key are ignored; without it, all are ignored",
    )
    fw: str = Field(default="threshold-edge 0.1.0", title="Firmware version reported in heartbeats")
    resend_after_s: float = Field(default=10.0, gt=0, title="Resend an event not receipted after this many seconds")
    keepalive_s: int = Field(default=30, ge=5, title="MQTT keepalive")
    doors: dict[str, DoorPins] = Field(default_factory=dict, title="Doors this device serves, by door id")
    door_debounce_ms: int = Field(default=50, ge=0, title="A door contact change counts once held this long")
    env_sensor: Literal["simulated", "bme280"] | None = Field(default=None, title="Room environment sensor")
    bme280_bus: int = Field(default=1, title="I2C bus of the BME280")
    bme280_address: int = Field(default=0x76, title="I2C address of the BME280")
    default_wait_s: int | None = Field(
        default=None,
        title="Wait before the first config",
        description='Used until a signed config arrives; None: "never enter without an answer"',
    )
    default_heartbeat_s: int = Field(default=60, ge=1, title="Heartbeat interval before the first config")
    default_reading_s: int = Field(default=60, ge=1, title="Reading interval before the first config")
    not_now_hold_s: float = Field(default=120.0, gt=0, title='How long "not now" shows')
    answer_hold_s: float = Field(default=60.0, gt=0, title='How long "come in" / "may enter" show without entry')

    @classmethod
    def from_file(cls, path: Path, **overrides: Any) -> "AgentSettings":
        """Settings from a `.toml` or `.json` file (environment variables fill what it leaves out)."""
        text = Path(path).read_bytes()
        data = tomllib.loads(text.decode()) if str(path).endswith(".toml") else json.loads(text)
        return cls(**{**data, **overrides})
