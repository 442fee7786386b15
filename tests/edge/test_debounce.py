from edge.debounce import Debouncer


def test_a_change_counts_only_once_it_has_held():
    contact = Debouncer(level=True, hold_ms=50)
    contact.observe(False, 1.000)
    assert contact.settle(1.049) is None
    assert contact.settle(1.050) is False
    assert contact.level is False


def test_chatter_that_returns_to_the_old_level_is_no_change():
    contact = Debouncer(level=True, hold_ms=50)
    for n, level in enumerate([False, True, False, True]):
        contact.observe(level, 1.0 + n * 0.005)
    assert contact.next_deadline() is None
    assert contact.settle(2.0) is None and contact.level is True


def test_chatter_is_timed_from_the_last_edge():
    contact = Debouncer(level=True, hold_ms=50)
    for n, level in enumerate([False, True, False]):
        contact.observe(level, 1.0 + n * 0.010)
    assert contact.next_deadline() == 1.020 + 0.050
    assert contact.settle(1.060) is None
    assert contact.settle(1.071) is False
