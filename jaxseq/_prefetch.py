"""Run a host-side generator in a background thread, a few items ahead of its consumer.

JAX dispatch is asynchronous but the CPU client keeps only about fifteen computations in flight;
when the host prepares the next batches between dispatches (NumPy windows, shuffles, reshapes),
the device idles for that long. `prefetch` moves the producer to its own thread: NumPy releases
the GIL in its array loops and a blocked dispatch releases it too, so on a 2-core machine the host
work and the device work overlap. The items come out in the producer's order, so a seeded producer
gives the same sequence as it would inline.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Yield the items of `items`, produced by a daemon thread at most `depth` items ahead.

    An exception raised by the producer is re-raised here, at the point in the sequence where it
    happened. Closing the returned generator (``.close()``, or a ``with contextlib.closing(...)``
    around the loop) stops the producer within 0.1 s; a consumer that may stop early should close
    it, since a generator kept alive by a traceback is not closed.
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"`depth` must be a positive int; got {depth!r}")
    return _prefetch(items, depth)


def _prefetch(items: Iterable[T], depth: int) -> Iterator[T]:
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, re-raised there
            put(_Failure(error))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="jaxseq-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
