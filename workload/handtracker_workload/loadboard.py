"""How busy each worker of one server is, in memory shared by the workers.

Balancing connections at accept time (worker.py) is not enough: a keep-alive
client that opened its connections while one worker was slow to accept keeps
them there, and its requests queue on that worker while its sibling idles. So
each worker publishes its load (requests in flight plus queued, from
admission.py) on this board, and before each request looks at its siblings':
a worker that holds LEAVE_MARGIN more than the least busy sibling answers that
request with `Connection: close`. The client's next request opens a new
connection, which worker.py gives to a less busy worker. One request per
imbalance pays for a reconnect (on a LAN, well under a millisecond).

The board is an anonymous shared mapping made by gunicorn's arbiter before it
forks (gunicorn_conf.py), one row (pid, load) per worker slot. The arbiter
assigns slots before each fork and frees them when a worker exits, so slots
never race; each worker writes only its own row (an aligned 8-byte store).
"""

from __future__ import annotations

import mmap

LEAVE_MARGIN = 3
_FREE, _RESERVED = 0, -1


class LoadBoard:
    def __init__(self, slots: int) -> None:
        self._memory = mmap.mmap(-1, slots * 16)  # MAP_SHARED: children see one table
        self._cells = memoryview(self._memory).cast("q")  # pid, load, pid, load, ...
        self.slots = slots

    def reserve(self) -> int:
        """A free slot for a worker about to be forked (in the arbiter)."""
        for slot in range(self.slots):
            if self._cells[2 * slot] == _FREE:
                self._cells[2 * slot + 1] = 0
                self._cells[2 * slot] = _RESERVED
                return slot
        raise RuntimeError("no free slot on the load board")

    def occupy(self, slot: int, pid: int) -> None:
        self._cells[2 * slot + 1] = 0
        self._cells[2 * slot] = pid

    def release(self, pid: int) -> None:
        """Frees the slot of a worker that exited (in the arbiter)."""
        for slot in range(self.slots):
            if self._cells[2 * slot] == pid:
                self._cells[2 * slot] = _FREE
                self._cells[2 * slot + 1] = 0

    def publish(self, slot: int, load: int) -> None:
        self._cells[2 * slot + 1] = load

    def load(self, slot: int) -> int:
        return self._cells[2 * slot + 1]

    def should_leave(self, slot: int, margin: int = LEAVE_MARGIN) -> bool:
        """True when this worker is `margin` busier than its least busy live sibling."""
        cells = self._cells
        others = [
            cells[2 * other + 1]
            for other in range(self.slots)
            if other != slot and cells[2 * other] > 0
        ]
        return bool(others) and cells[2 * slot + 1] - min(others) >= margin
