"""The Threshold door agent: knock and wait at a door, on a Raspberry Pi (PROTOCOL.md in practice)."""
