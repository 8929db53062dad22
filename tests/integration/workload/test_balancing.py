"""Keep-alive connections, and their requests, spread over the workers (worker.py,
loadboard.py), on the real server."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.slow]

TRIALS = 20


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
    workers = server.workers()
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


def _landmarks_by_worker(log: Path) -> Counter:
    entries = (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    return Counter(e["pid"] for e in entries if e.get("route") == "/v1/landmarks")


@pytest.mark.photos
def test_requests_of_connections_piled_on_one_worker_spread_to_the_other(server, hands_dir):
    port = urlsplit(server.url).port
    busy, idle = server.workers()
    os.kill(idle, signal.SIGSTOP)  # `idle` cannot accept: every connection lands on `busy`
    try:
        conns = _connect_together(port, 16)
    finally:
        os.kill(idle, signal.SIGCONT)
    assert {_holder([busy, idle], port, c.sock.getsockname()[1]) for c in conns} == {busy}
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
    before = _landmarks_by_worker(server.log)
    statuses: Counter = Counter()

    def client(conn: http.client.HTTPConnection) -> None:
        for _ in range(15):
            # http.client reconnects by itself after a `Connection: close`.
            conn.request("POST", "/v1/landmarks", photo, {"Content-Type": "image/jpeg"})
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in conns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for conn in conns:
        conn.close()
    served = _landmarks_by_worker(server.log) - before
    assert statuses == {200: 16 * 15}
    # Without the load board the second worker would serve none of these.
    assert served[idle] >= 0.25 * sum(served.values()), served
