"""Two Python threads, each with its own Recognizer, on two cores: at least 1.6x one.

Run alone (ctest RUN_SERIAL): a timing on a shared machine. Best of five rounds.
"""

import os
import threading
import time

import pytest

import ocrcore
from conftest import SAMPLES


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_two_threads_read_a_batch_faster_than_one():
    model = ocrcore.Model.load()
    lines = sorted(str(p) for p in SAMPLES.glob("*.png")) * 100
    readers = [ocrcore.Recognizer(model), ocrcore.Recognizer(model)]
    readers[0].read_many(lines[:12])
    readers[1].read_many(lines[:12])

    def one_thread():
        start = time.perf_counter()
        readers[0].read_many(lines)
        return time.perf_counter() - start

    def two_threads():
        halves = [lines[0::2], lines[1::2]]
        threads = [threading.Thread(target=readers[i].read_many, args=(halves[i],)) for i in (0, 1)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start

    # Alternating rounds, the best of each: a neighbour's burst on this shared
    # machine slows some rounds, never speeds one up. Up to three attempts: a
    # binding that held the GIL would stay near 1.0x in every one of them.
    attempts = []
    for _ in range(3):
        ones, twos = [], []
        for _ in range(5):
            ones.append(one_thread())
            twos.append(two_threads())
        one, two = min(ones), min(twos)
        attempts.append(f"one thread {one:.3f} s, two threads {two:.3f} s: {one / two:.2f}x")
        if one / two >= 1.6:
            break
    print("; ".join(attempts))
    assert one / two >= 1.6, "two threads below 1.6x one: " + "; ".join(attempts)
