"""Ingest: MQTT → verify → store once → receipt."""
