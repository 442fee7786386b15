"""The hub's settings, from the environment (`THRESHOLD_HUB_…`) or a `.env` file."""

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THRESHOLD_HUB_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///data/hub.db",
        title="Database URL",
        description="SQLAlchemy URL: sqlite:///path for one home, postgresql+psycopg://… for production.",
    )
    mqtt_host: str = Field(default="127.0.0.1", title="MQTT broker host")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, title="MQTT broker port")
    mqtt_username: str | None = Field(default=None, title="MQTT user name")
    mqtt_password: str | None = Field(default=None, title="MQTT password")
    mqtt_tls_ca_file: Path | None = Field(
        default=None, title="TLS CA file", description="Setting this turns TLS on for the broker connection."
    )
    mqtt_tls_cert_file: Path | None = Field(default=None, title="TLS client certificate file")
    mqtt_tls_key_file: Path | None = Field(default=None, title="TLS client key file")
    mqtt_client_id: str = Field(
        default="threshold-hub",
        title="MQTT client id",
        description="Fixed, so the broker keeps the hub's persistent session (and its queued events) across restarts.",
    )
    mqtt_session_expiry_s: int = Field(
        default=14 * 24 * 3600,
        ge=0,
        title="Session expiry (seconds)",
        description="How long the broker holds the hub's session and queued events while the hub is away.",
    )
    shared_subscription_group: str | None = Field(
        default=None,
        title="Shared subscription group",
        description="When set, events are subscribed as $share/<group>/… so several hub processes split them.",
    )
    key_file: Path = Field(
        default=Path("data/hub-key.pem"),
        title="Hub key file",
        description="The hub's Ed25519 private key (PEM); made on first start. Configs and commands are signed with it.",
    )
    batch_max: int = Field(default=500, ge=1, le=10_000, title="Most messages stored in one transaction")
    receive_maximum: int = Field(
        default=1000,
        ge=1,
        le=65535,
        title="MQTT Receive Maximum",
        description="How many unacknowledged events the broker may have in flight to the hub.",
    )
    config_poll_s: float = Field(
        default=2.0, gt=0, title="Registry poll (seconds)", description="How often the worker looks for config changes."
    )
    api_mqtt_client_id_prefix: str = Field(
        default="threshold-api",
        title="API MQTT client id prefix",
        description="Each API process connects as <prefix>-<random>, with a clean session: it only listens live "
        "and publishes what people do, so it needs no session kept while it is away.",
    )
    live_heartbeat_s: float = Field(
        default=15.0, gt=0, le=300, title="Live stream heartbeat (seconds)",
        description="How often a Server-Sent Events stream sends a heartbeat event, so proxies keep it open, after "
        "checking that the token or session that opened it is still live (it ends when not).",
    )
    live_retry_ms: int = Field(
        default=3000, ge=100, le=600_000, title="Live stream retry (milliseconds)",
        description="The `retry:` a browser waits before reconnecting a dropped stream.",
    )
    live_queue_size: int = Field(
        default=1000, ge=1, le=100_000, title="Live stream queue per client",
        description="Messages held for one slow client; past this its stream ends, and on reconnecting it gets "
        "the whole current state again rather than a silently thinned one.",
    )
    checkpoint_s: float = Field(
        default=600.0,
        ge=1,
        title="Checkpoint interval (seconds)",
        description="How often the worker signs a checkpoint over the head of every chain and publishes it retained "
        "on threshold/v1/{site}/hub/checkpoint.",
    )
    rounds_s: float = Field(
        default=5.0,
        gt=0,
        title="Scheduler rounds (seconds)",
        description="How often the worker's scheduler escalates alerts and looks for doors held open, devices "
        "offline, rooms out of range, lone workers overdue and welfare prompts.",
    )
    door_held_open_s: int = Field(default=300, ge=10, title="Door held open (seconds)",
                                  description="A door open this long raises a door-held-open alert.")
    lone_worker_check_in_s: int = Field(
        default=1200, ge=60, title="Lone worker check-in (seconds)",
        description="Staff in a room behind a closed door this long without checking in raise a lone-worker alert.",
    )
    device_offline_s: int = Field(default=130, ge=10, title="Device offline (seconds)",
                                  description="No heartbeat received for this long raises a device-offline alert.")
    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, title="Dashboard session idle timeout (minutes)",
        description="A signed-in page session unused this long ends; the person signs in again.",
    )
    session_absolute_hours: float = Field(
        default=13.0, gt=0, le=7 * 24, title="Dashboard session absolute timeout (hours)",
        description="Every page session ends this long after sign-in, used or not: a night shift and its handover.",
    )
    sign_in_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60, title="Sign-in rate limit window (minutes)",
        description="Failed sign-ins are counted over this sliding window.",
    )
    sign_in_account_failures: int = Field(
        default=5, ge=1, le=1000, title="Failed sign-ins allowed per account",
        description="After this many failures for one username within the window, its sign-ins get 429 until the "
        "oldest failure leaves the window.",
    )
    sign_in_address_failures: int = Field(
        default=20, ge=1, le=10_000, title="Failed sign-ins allowed per address",
        description="After this many failures from one network address within the window, sign-ins from it get 429.",
    )
    home_time_zone: str = Field(
        default="Europe/London",
        title="Home time zone",
        description="IANA zone of the home; times given without an offset are read in it.",
    )

    @field_validator("home_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.home_time_zone)
