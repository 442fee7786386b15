"""The agent's clocks: monotonic time since start, the wall clock, and whether the OS keeps it in sync."""

import ctypes
import ctypes.util
import sys
import time
from datetime import datetime


class AgentClock:
    """Time as the agent sees it. Tests may pass their own with the same methods."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def monotonic(self) -> float:
        return time.monotonic()

    def mono_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def ts_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def local_time(self) -> datetime:
        return datetime.now().astimezone()


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> on Linux (glibc, LP64 and ILP32 alike: the longs follow the ABI).
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


_TIME_ERROR = 5
_STA_UNSYNC = 0x0040
_STA_NANO = 0x2000


def clock_sync() -> tuple[bool, int | None]:
    """(synced, offset_ms) from the kernel's NTP state (what chrony, ntpd and timesyncd keep up to date).

    Where the kernel cannot be asked (not Linux, no libc), the clock is reported unsynced with no offset.
    """
    if not sys.platform.startswith("linux"):
        return False, None
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False, None
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return False, None
    if state < 0 or state == _TIME_ERROR or timex.status & _STA_UNSYNC:
        return False, None
    divisor = 1_000_000 if timex.status & _STA_NANO else 1_000
    return True, int(timex.offset // divisor)
