"""The Threshold wire protocol, version 1 (PROTOCOL.md in code).

This package is the shared vocabulary of the door agents, the hub and the simulator. It imports nothing
else of ours, so a third-party device maker can read it on its own.
"""

PROTOCOL_VERSION = 1
MAX_PAYLOAD_BYTES = 16 * 1024
