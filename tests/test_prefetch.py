"""jaxseq._prefetch: order, errors and early stop of the background producer."""
import threading
import time

import pytest

from jaxseq._prefetch import prefetch


def test_items_come_out_in_order():
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))


def test_producer_error_is_raised_in_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise KeyError("bad chunk")

    got = []
    with pytest.raises(KeyError, match="bad chunk"):
        for item in prefetch(items(), depth=2):
            got.append(item)
    assert got == [1, 2]


def test_closing_early_stops_the_producer():
    produced = []

    def items():
        for i in range(10_000):
            produced.append(i)
            yield i

    it = prefetch(items(), depth=2)
    assert next(it) == 0
    it.close()
    time.sleep(0.3)
    n = len(produced)
    time.sleep(0.3)
    assert len(produced) == n < 10  # stopped within depth + a few items
    assert not any(t.name == "jaxseq-prefetch" and t.is_alive() for t in threading.enumerate())


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        next(prefetch(iter([1]), depth=0))
