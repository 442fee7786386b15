"""The web pages people use, served by the hub through its own API: night board, resident page, timelines, admin."""
