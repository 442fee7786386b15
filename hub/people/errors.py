"""What the people functions refuse, each with a short reason code and a sentence; the caller's change is not made."""


class PeopleError(ValueError):
    """Bad input: `reason` is a short code, `detail` says what is wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class NotFound(PeopleError):
    """An id that names nothing."""


class Conflict(PeopleError):
    """A change that clashes with what is already recorded (an id taken, a room occupied, a shift overlapping)."""
