"""Debouncing for the door contact: a reed switch chatters for a few milliseconds as the door moves.

gpiozero's mock pins do not debounce, and a debounce that fires on the first edge would record the chatter,
so a change counts only once the new level has held for `hold_ms`. Pure: times are passed in.
"""


class Debouncer:
    def __init__(self, level: bool, hold_ms: int) -> None:
        self.level = level
        self.hold_s = hold_ms / 1000
        self._candidate: bool | None = None
        self._since = 0.0

    def observe(self, level: bool, now: float) -> None:
        """A raw edge seen at `now` (monotonic seconds)."""
        if level == self.level:
            self._candidate = None
        elif level != self._candidate:
            self._candidate, self._since = level, now

    def next_deadline(self) -> float | None:
        return self._since + self.hold_s if self._candidate is not None else None

    def settle(self, now: float) -> bool | None:
        """The new level once it has held long enough, else None."""
        if self._candidate is not None and now - self._since >= self.hold_s:
            self.level, self._candidate = self._candidate, None
            return self.level
        return None
