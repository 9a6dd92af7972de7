"""jaxseq._prefetch: order, errors and early stop of the background producer."""
import threading

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


def _producer_threads():
    return [t for t in threading.enumerate() if t.name == "jaxseq-prefetch"]


def test_closing_early_stops_the_producer():
    before = set(_producer_threads())
    produced = []

    def items():
        for i in range(10_000):
            produced.append(i)
            yield i

    it = prefetch(items(), depth=2)
    assert next(it) == 0
    (thread,) = set(_producer_threads()) - before
    it.close()
    thread.join(timeout=5.0)  # the producer polls its stop flag every 0.1 s
    assert not thread.is_alive()
    assert len(produced) < 10  # it stopped at the buffer's depth, not at the end of the items


def test_a_failing_consumer_that_closes_stops_the_producer():
    import contextlib

    before = set(_producer_threads())
    it = prefetch(iter(range(10_000)), depth=2)
    with pytest.raises(ZeroDivisionError):
        with contextlib.closing(it):
            for i in it:
                1 / (i - 3)  # fails at the fourth item
    for thread in set(_producer_threads()) - before:
        thread.join(timeout=5.0)
        assert not thread.is_alive()


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        prefetch(iter([1]), depth=0)  # refused at the call, not at the first item
