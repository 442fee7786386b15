"""The hub: ingest (MQTT → verify → store → receipt), the device registry, config publishing and the API."""
