"""Pixel buffers reused from one request to the next, for full-size decodes.

A 12 MP photo decoded into fresh memory makes the kernel clear 36 MB of pages
first, about 5 ms of CPU (a tenth of the decode) that also evicts the caches;
decoding into the buffer an earlier request used skips that. /v1/annotate and
/predict decode at full size inside an admission slot, so a worker holds at
most HANDTRACKER_MAX_INFLIGHT buffers, each of at most MAX_BYTES (a 16 MP
image); a larger image gets fresh memory, as without the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

MAX_BYTES = 16_000_000 * 3


class BufferPool:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()

    @contextmanager
    def lease(self, nbytes: int) -> Iterator[np.ndarray | None]:
        """A flat uint8 buffer of at least nbytes, this caller's until the block
        ends (so is anything decoded into it); None when 0 or over max_bytes."""
        if not 0 < nbytes <= self.max_bytes:
            yield None
            return
        with self._lock:
            buffer = self._free.pop() if self._free else None
        if buffer is None or buffer.size < nbytes:
            buffer = np.empty(nbytes, np.uint8)  # a smaller one is dropped
        try:
            yield buffer
        finally:
            with self._lock:
                self._free.append(buffer)
