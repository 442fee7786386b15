import gc
from collections.abc import Iterator

import pytest

from hub.core.heap import YOUNG_THRESHOLD, settle


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settling_puts_start_up_out_of_the_collectors_walks_and_still_collects_cycles(collector: None) -> None:
    settle()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD

    class Node:
        other: "Node"

    first, second = Node(), Node()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2, "a cycle made after settling is still collected"
