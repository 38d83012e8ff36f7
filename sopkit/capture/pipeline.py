"""Background threads of the capture pipeline: read-ahead (:class:`Prefetch`) and write-behind
(:class:`WriteBehind`).

Why: the three stages of ``sopkit flows`` — decoding capture blocks, the flow kernel, and turning
removed connections into rows and writing them — are each a third of the work, and the decoder,
the flow kernel and the SHA-1 of the community ids are numba code that releases the GIL, while
Arrow and Parquet release it in C++. Run in one thread each they overlap on the machine's second
core instead of taking turns. The decoder thread starts as soon as the input is opened, so it
decodes during the rest of the start-up (loading the flow kernel, importing Parquet support).

Both keep a bounded queue (memory stays bounded) and hand an exception raised in their thread to
the caller, where it is re-raised: nothing fails silently in the background.
Our own small code because :mod:`concurrent.futures` has no bounded, ordered producer/consumer
stream that stops cleanly when the consumer leaves early.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_END = object()


class Prefetch(Generic[T]):
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead of the consumer.

    With ``weigh`` (e.g. ``len``), the items waiting also weigh at most ``budget`` in total (one item
    is always let through), so the read-ahead is bounded by packets rather than by a count of
    batches of varying size. The thread starts when the object is made. An exception raised by
    ``items`` is re-raised by the iteration; :meth:`close` (or leaving a ``with`` block) stops the
    thread after its current item.
    """

    def __init__(self, items: Iterable[T], depth: int = 2, name: str = "sopkit-prefetch", *,
                 weigh: Callable[[T], int] | None = None, budget: int = 0) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._done = False
        self._weigh, self._budget, self._held = weigh, budget, 0
        self._room = threading.Condition()
        self._thread = threading.Thread(target=self._work, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _reserve(self, item: T) -> bool:
        """Wait until ``item``'s weight fits the budget (always, when nothing is waiting)."""
        w = self._weigh(item)  # type: ignore[misc]
        with self._room:
            while self._held and self._held + w > self._budget:
                if self._stop.is_set():
                    return False
                self._room.wait(0.05)
            self._held += w
        return True

    def _put(self, entry: tuple) -> bool:
        if self._weigh is not None and entry[0] is not _END and not self._reserve(entry[0]):
            return False
        while not self._stop.is_set():
            try:
                self._q.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, items: Iterable[T]) -> None:
        try:
            for item in items:
                if not self._put((item, None)):
                    return
            self._put((_END, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put((_END, exc))

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item, exc = self._q.get()
        if self._weigh is not None and item is not _END:
            with self._room:
                self._held -= self._weigh(item)
                self._room.notify()
        if item is _END:
            self._done = True
            self.close()
            if exc is not None:
                raise exc
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the thread (after its current item) and wait for it."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead (see :class:`Prefetch`);
    leaving the loop early stops the thread."""
    with Prefetch(items, depth) as ahead:
        yield from ahead


class WriteBehind(Generic[T]):
    """Call ``handle(item)`` in a background thread for each :meth:`put` item, in order.

    At most ``depth`` items wait; :meth:`put` blocks beyond that. An exception in ``handle`` stops
    the thread and is re-raised by the next :meth:`put` or by :meth:`close`, which waits for every
    item to be handled. :meth:`abort` drops what is still queued.
    """

    def __init__(self, handle: Callable[[T], Any], depth: int = 2, name: str = "sopkit-writer") -> None:
        self._handle = handle
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._q.get()
            if item is _END or self._abort.is_set():
                return
            try:
                self._handle(item)
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc
                self._abort.set()
                return

    def _raise(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def put(self, item: T) -> None:
        """Queue ``item`` (blocks while ``depth`` items wait); re-raises a failure of the thread."""
        while True:
            self._raise()
            if self._abort.is_set():
                raise RuntimeError("the writer thread was aborted")
            try:
                self._q.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait until every queued item is handled; re-raises a failure of the thread."""
        if self._thread.is_alive():
            while self._thread.is_alive():
                try:
                    self._q.put(_END, timeout=0.05)
                    break
                except queue.Full:
                    continue
            self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Stop after the current item, dropping the queued ones (used when the run fails)."""
        self._abort.set()
        while self._thread.is_alive():
            try:
                self._q.put_nowait(_END)
            except queue.Full:
                try:
                    self._q.get_nowait()
                except queue.Empty:
                    pass
            self._thread.join(timeout=0.05)
