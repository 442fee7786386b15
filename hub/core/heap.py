"""How a long-running hub process (the worker, the API) asks the cyclic garbage collector to behave.

CPython walks every tracked object of a generation when enough new ones have outlived a younger collection. A
home's night on the timeline, or a burst of messages in the worker, makes tens of thousands of short-lived objects
that outlive young collections only because they are still being used; each collection of the oldest generation
then walks the whole heap too, start-up's modules and all. Measured with bench/timeline_reads.py: those
collections were the home timeline's p95 (130 ms against a 50 ms median, on a 40-night run in one process).
"""

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations between collections of the youngest generation (CPython's default is 700)."""


def settle() -> None:
    """Once start-up is done: put what it made (modules, the app, settings) out of the collector's walks for good,
    and collect the youngest generation less often. Cycles are still collected; only fewer, cheaper walks."""
    gc.collect()
    gc.freeze()
    _young, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
