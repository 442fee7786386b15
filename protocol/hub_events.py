"""The hub as a source (PROTOCOL.md §4): its own events are signed and chained exactly as a device's are.

Their `device` is `HUB_SOURCE` and their types start with `hub.`; no device may send either. A verifier checks
the hub's chain with the hub's public key, by the same rules as any device's.
"""

from enum import StrEnum

HUB_SOURCE = "hub"


class HubEventType(StrEnum):
    PREFERENCES_VERSIONED = "hub.preferences.versioned"
    TENANCY_CHANGED = "hub.tenancy.changed"
    KNOCK_SENT = "hub.knock.sent"
    CHECK_IN = "hub.check_in"
    ENTRY_DECIDED = "hub.entry.decided"
    ENTRY_EXPLAINED = "hub.entry.explained"
    ALERT_CHANGED = "hub.alert.changed"
    TIMELINE_READ = "hub.timeline.read"
    LADDER_CHANGED = "hub.ladder.changed"
    ENVIRONMENT_LIMITS_CHANGED = "hub.environment_limits.changed"
