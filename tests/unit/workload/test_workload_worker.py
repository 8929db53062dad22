"""How long a worker leaves a new connection to its siblings."""

from __future__ import annotations

from handtracker_workload.worker import BalancedThreadWorker, accept_delay


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
