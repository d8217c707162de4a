"""Every llama.cpp computation on one long-lived thread.

llama.cpp's CPU backend parallelises each graph with OpenMP, and libgomp keeps a thread
team per calling thread; once the process holds more libgomp threads than CPUs, its
barriers stop spinning and sleep instead. On the 2-core reference machine the 0.5B draft
decoded at 36 ms/token while one thread had ever called llama.cpp, and at 57-66 ms/token
on every thread as soon as a second one had (the daemon warmed the models on one thread
and answered each turn on another).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_LOGGER = logging.getLogger(__name__)
_NAME = "sage-llama"
_llama = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_NAME)


def on_llama_thread(work: Callable[[], T]) -> T:
    """Run ``work`` on the llama.cpp thread and wait for it (at once when already there)."""
    if threading.current_thread().name.startswith(_NAME):
        return work()
    return _llama.submit(work).result()


def in_background(work: Callable[[], object]) -> Future[object]:
    """Queue ``work`` on the llama.cpp thread without waiting; later calls run after it.
    A failure is logged, not raised."""

    def logged(done: Future[object]) -> None:
        if (exc := done.exception()) is not None:
            _LOGGER.warning("background model work failed: %s", exc)

    future = _llama.submit(work)
    future.add_done_callback(logged)
    return future


def pinned(items: Iterator[T]) -> Iterator[T]:
    """``items`` advanced (and closed) on the llama.cpp thread, one item at a time."""
    try:
        while True:
            try:
                item = on_llama_thread(lambda: next(items))
            except StopIteration:
                return
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            on_llama_thread(close)
