"""Keep-alive connections spread over the workers (worker.py), on the real server."""

from __future__ import annotations

import http.client
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.slow]

TRIALS = 20


def _workers(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _holder(workers: list[int], server_port: int, client_port: int) -> int | None:
    """The worker process holding the server end of the connection from client_port."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, remote_port = (int(f.split(":")[1], 16) for f in fields[1:3])
        if (local_port, remote_port) == (server_port, client_port):
            inodes.add(f"socket:[{fields[9]}]")
    for pid in workers:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:  # closed meanwhile
                continue
    return None


def _connect_together(port: int, count: int) -> list[http.client.HTTPConnection]:
    """`count` keep-alive connections opened at the same moment, each answered once."""
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(count)]
    gate = threading.Barrier(count)

    def first_request(conn: http.client.HTTPConnection) -> None:
        gate.wait()
        conn.request("GET", "/healthz")
        assert conn.getresponse().read()

    threads = [threading.Thread(target=first_request, args=(c,)) for c in conns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return conns


@pytest.fixture(scope="module")
def server(start_server):
    with start_server(HANDTRACKER_WORKERS="2") as srv:
        yield srv


def test_two_clients_connecting_together_get_one_worker_each(server) -> None:
    # Plain gthread puts both on one worker about half the time (about 10 of 20).
    port = urlsplit(server.url).port
    workers = _workers(server.process.pid)
    assert len(workers) == 2
    spread = 0
    for _ in range(TRIALS):
        conns = _connect_together(port, 2)
        holders = {_holder(workers, port, c.sock.getsockname()[1]) for c in conns}
        assert None not in holders
        spread += len(holders) == 2
        for conn in conns:
            conn.close()
        time.sleep(0.1)  # let the workers see the connections close
    assert spread >= TRIALS - 2


def test_workers_holding_many_connections_still_accept_promptly(server) -> None:
    port = urlsplit(server.url).port
    idle = _connect_together(port, 16)  # kept open: both workers hold 8
    try:
        start = time.perf_counter()
        assert server.get("/healthz").status_code == 200
        # Deferral is capped at 50 ms; a worker that stopped accepting would hang here.
        assert time.perf_counter() - start < 0.5
    finally:
        for conn in idle:
            conn.close()
