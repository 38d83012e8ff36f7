"""Read-ahead and write-behind threads: order kept, failures re-raised where the caller is,
threads gone when the work stops (finished, failed or abandoned)."""

from __future__ import annotations

import threading
import time

import pytest

from sopkit.capture.pipeline import Prefetch, WriteBehind, prefetch


def test_prefetch_starts_at_once_and_keeps_order():
    started = threading.Event()

    def items():
        started.set()
        yield from range(500)

    before = threading.active_count()
    ahead = Prefetch(items(), depth=3)
    assert started.wait(5)  # the producer runs before anyone iterates
    assert list(ahead) == list(range(500))
    assert list(ahead) == []  # exhausted stays exhausted
    assert threading.active_count() == before


def test_prefetch_reraises_and_close_stops_an_endless_producer():
    def failing():
        yield "a"
        raise ValueError("cut record at offset 4096 in x.pcap")

    got = []
    with pytest.raises(ValueError, match="offset 4096"):
        for v in Prefetch(failing()):
            got.append(v)
    assert got == ["a"]
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    before = threading.active_count()
    with Prefetch(endless(), depth=2) as ahead:
        assert [next(ahead) for _ in range(4)] == [0, 1, 2, 3]
    assert threading.active_count() == before and len(produced) <= 4 + 2 + 2


def test_write_behind_handles_in_order_and_close_waits():
    seen = []

    def slow(x):
        time.sleep(0.001)
        seen.append(x)

    before = threading.active_count()
    w = WriteBehind(slow, depth=2)
    for i in range(50):
        w.put(i)
    w.close()
    assert seen == list(range(50))
    assert threading.active_count() == before


def test_write_behind_failure_is_reraised_by_put_or_close():
    def handle(x):
        if x == 3:
            raise OSError(28, "No space left on device")

    w = WriteBehind(handle, depth=1)
    with pytest.raises(OSError, match="No space"):
        for i in range(100):  # a later put sees the failure
            w.put(i)
    w.close()  # already re-raised once: close does not raise it again
    w = WriteBehind(handle, depth=8)
    for i in range(5):
        w.put(i)
    with pytest.raises(OSError, match="No space"):
        w.close()


def test_write_behind_abort_drops_queued_items():
    gate = threading.Event()
    seen = []

    def blocked(x):
        gate.wait(5)
        seen.append(x)

    before = threading.active_count()
    w = WriteBehind(blocked, depth=4)
    for i in range(4):
        w.put(i)
    threading.Timer(0.05, gate.set).start()
    w.abort()
    time.sleep(0.1)
    assert seen in ([0], [])  # at most the item being handled when abort came
    assert threading.active_count() <= before + 1  # the Timer thread may still be ending
    with pytest.raises(RuntimeError, match="aborted"):
        w.put(9)


def test_prefetch_generator_stops_its_thread_when_left_early():
    before = threading.active_count()
    assert list(prefetch(iter(range(300)), depth=2)) == list(range(300))
    it = prefetch(iter(range(10**9)), depth=2)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    assert threading.active_count() == before


def test_prefetch_weight_budget_bounds_the_read_ahead():
    produced = []

    def items():
        for i in range(40):
            produced.append(i)
            yield [i] * 3  # weight 3 each

    ahead = Prefetch(items(), depth=1000, weigh=len, budget=10)
    time.sleep(0.2)  # the producer runs ahead until the budget stops it
    assert 3 <= len(produced) <= 3 + 2  # 3 items (weight 9) wait, one more is being offered
    first = next(ahead)
    assert first == [0, 0, 0]
    assert [x[0] for x in ahead] == list(range(1, 40))
    big = Prefetch(iter([[1] * 50, [2]]), weigh=len, budget=10)  # one item over budget still passes
    assert [len(x) for x in big] == [50, 1]
