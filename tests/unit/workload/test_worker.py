"""How long a worker leaves a new connection to its siblings; how it reads request bodies."""

from __future__ import annotations

from gunicorn.http.body import LengthReader
from gunicorn.http.unreader import IterUnreader
from handtracker_workload.worker import BalancedThreadWorker, LengthBody, accept_delay


def test_a_worker_holding_no_connection_accepts_at_once():
    assert accept_delay(0, 0.005, 0.05) == 0


def test_the_delay_grows_with_connections_held_up_to_the_cap():
    delays = [accept_delay(n, 0.005, 0.05) for n in range(1, 20)]
    assert delays == sorted(delays)
    assert delays[0] == 0.005 and delays[1] == 0.01
    assert max(delays) == 0.05


def test_the_worker_waits_less_than_the_keep_alive_heartbeat():
    # The arbiter's heartbeat and keep-alive expiry run on the same loop.
    assert BalancedThreadWorker.ACCEPT_DELAY_MAX < BalancedThreadWorker.IDLE_WAKEUP


def _body(chunks: list[bytes], length: int) -> tuple[LengthBody, IterUnreader]:
    unreader = IterUnreader(chunks)
    return LengthBody(LengthReader(unreader, length)), unreader


def test_a_body_is_read_whole_in_one_call_and_not_past_its_length():
    body, unreader = _body([b"abc", b"defgh", b"ijGET /next"], 10)
    assert body.read() == b"abcdefghij"
    assert body.read() == b""
    # The next request's bytes stay with the connection's parser.
    assert unreader.read() == b"GET /next"


def test_a_body_is_read_in_pieces_of_the_size_asked():
    body, _ = _body([b"abcdefghij"], 10)
    assert [body.read(4), body.read(4), body.read(4), body.read(4)] == [
        b"abcd", b"efgh", b"ij", b""
    ]  # fmt: skip


def test_readline_then_read_loses_nothing():
    body, _ = _body([b"line one\nline two\nrest"], 22)
    assert body.readline() == b"line one\n"
    assert body.read(4) == b"line"
    assert body.read() == b" two\nrest"


def test_a_body_cut_short_by_the_client_returns_what_came():
    body, _ = _body([b"abc"], 10)
    assert body.read() == b"abc"
