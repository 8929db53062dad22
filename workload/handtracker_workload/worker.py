"""A gunicorn `gthread` worker that leaves new connections to less busy siblings.

With plain gthread, every worker waits on the shared listening socket and the
first to wake accepts, whatever it already holds. A keep-alive connection then
stays with that worker for its whole life, so two clients can both end up on
one worker (one detector, serialised) while the other worker idles: at
concurrency 2 on two workers that halves throughput about half the time.

This worker accepts at once only while it holds no connection. Holding k, it
first lets the listening socket alone for k x ACCEPT_DELAY_STEP seconds (at
most ACCEPT_DELAY_MAX) so that an idle worker, which accepts at once, gets the
connection; if the connection is still waiting after that, it accepts it
itself. So connections go to the worker holding the fewest, and none waits
longer than ACCEPT_DELAY_MAX for a worker to take it, even when every worker
is busy or holds long-lived WebSocket sessions. With a single worker there is
nobody to leave a connection to, and it behaves exactly like gthread.

Request bodies of a known length are read in large pieces (LengthBody).

Everything else (the thread pool, keep-alive, timeouts, graceful shutdown) is
gunicorn's ThreadWorker; only its event loop is restated, to wake up when a
deferral ends.
"""

from __future__ import annotations

import io
import selectors
import socket
import time
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn.http.body import Body, LengthReader
from gunicorn.workers.gthread import ThreadWorker


def accept_delay(connections: int, step: float, cap: float) -> float:
    """Seconds a worker holding `connections` waits before taking a new one."""
    return min(connections * step, cap)


class LengthBody(Body):
    """A request body of known length whose read() asks for all it wants at once.

    gunicorn's Body.read pulls 1 KiB per loop from its reader, which re-buffers
    the socket's data through two BytesIO objects each time: reading a 2.5 MB
    photo so costs about 7 ms of CPU, more than the detector on a 640 px one.
    readline() and iteration are gunicorn's own."""

    def read(self, size: int | None = None) -> bytes:
        size = self.getsize(size)
        data = self.buf.getvalue()  # what a readline() read beyond its line
        self.buf = io.BytesIO()
        if len(data) < size:
            data += self.reader.read(size - len(data))  # never past the body's end
        elif len(data) > size:
            self.buf.write(data[size:])
            data = data[:size]
        return data


class BalancedThreadWorker(ThreadWorker):
    ACCEPT_DELAY_STEP = 0.005
    ACCEPT_DELAY_MAX = 0.05
    # gthread's own idle wake-up, for the arbiter heartbeat and keep-alive expiry.
    IDLE_WAKEUP = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Listening sockets this worker has stepped back from, and until when.
        self._deferred: dict[socket.socket, tuple[Any, float]] = {}

    def accept(self, server: Any, listener: socket.socket) -> None:
        delay = 0.0
        if self.cfg.workers > 1:
            delay = accept_delay(self.nr_conns, self.ACCEPT_DELAY_STEP, self.ACCEPT_DELAY_MAX)
        if delay <= 0:
            super().accept(server, listener)
            return
        with self._lock:
            self.poller.unregister(listener)
        self._deferred[listener] = (server, time.monotonic() + delay)

    def handle_request(self, req: Any, conn: Any) -> bool:
        if type(req.body.reader) is LengthReader:  # not chunked: nothing read yet
            req.body = LengthBody(req.body.reader)
        return super().handle_request(req, conn)  # type: ignore[no-any-return]

    def _resume_deferred(self) -> None:
        """Takes a connection still waiting after a deferral, then listens again."""
        now = time.monotonic()
        for listener, (server, until) in list(self._deferred.items()):
            if until > now:
                continue
            del self._deferred[listener]
            # Non-blocking: if a sibling took the connection, this is EAGAIN,
            # which gunicorn's accept ignores.
            super().accept(server, listener)
            with self._lock:
                self.poller.register(listener, selectors.EVENT_READ, partial(self.accept, server))

    def _wait_timeout(self) -> float:
        if not self._deferred:
            return self.IDLE_WAKEUP
        soonest = min(until for _, until in self._deferred.values())
        return max(0.0, min(self.IDLE_WAKEUP, soonest - time.monotonic()))

    def run(self) -> None:
        # gunicorn 23's ThreadWorker.run, waking up for deferrals that end.
        for sock in self.sockets:
            sock.setblocking(False)
            server = sock.getsockname()
            self.poller.register(sock, selectors.EVENT_READ, partial(self.accept, server))

        while self.alive:
            self.notify()
            self._resume_deferred()
            if self.nr_conns < self.worker_connections:
                for key, _ in self.poller.select(self._wait_timeout()):
                    key.data(key.fileobj)
                result = futures.wait(self.futures, timeout=0, return_when=futures.FIRST_COMPLETED)
            else:
                result = futures.wait(
                    self.futures, timeout=self.IDLE_WAKEUP, return_when=futures.FIRST_COMPLETED
                )
            for fut in result.done:
                self.futures.remove(fut)
            if not self.is_parent_alive():
                break
            self.murder_keepalived()

        self.tpool.shutdown(False)
        self.poller.close()
        for sock in self.sockets:
            sock.close()
        futures.wait(self.futures, timeout=self.cfg.graceful_timeout)
