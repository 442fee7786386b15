"""The one error the protocol raises: a message that breaks the contract, with a reason a person can read."""


class ProtocolError(ValueError):
    """A payload, topic or signature that does not meet PROTOCOL.md.

    `reason` is a short machine-friendly code (stored with rejected messages); the message says more.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
