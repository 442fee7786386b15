"""Timelines: every fact about a room, a member of staff or a home over a window, in one order and in lanes, with
what is not known drawn as items of its own and the entry decisions laid over them (DESIGN.md "Timelines")."""
