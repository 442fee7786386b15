"""Decisions, live: after each ingest batch the worker decides entries and raises alerts from what it just stored.

Adapters between the pure rules (hub/rules/) and the database, the hub's own chain and the hub's live topics:
facts.py reads what the rules need, entries.py and alerts.py write what they decide, live.py publishes it.
"""
