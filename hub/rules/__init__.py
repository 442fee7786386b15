"""The hub's rules: pure functions from facts, preferences and the roster to entry decisions, alerts and prompts.

Nothing here reads a clock, a database, a broker or the network: time comes in as an argument, so every
decision can be recomputed from what it rests on (DESIGN.md principle 1).
"""
