"""The active/standby decision, from the peering object kopf keeps."""

from __future__ import annotations

import datetime

from handtracker_operator.leadership import (
    Leadership,
    decide,
    decide_all,
    start_priority,
)

NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)


def keepalive(priority: int, seconds_ago: float, lifetime: int = 10,
              now: datetime.datetime = NOW) -> dict:
    seen = now - datetime.timedelta(seconds=seconds_ago)
    return {"priority": priority, "lifetime": lifetime, "lastseen": seen.isoformat()}


def peering(**entries: dict) -> dict:
    return {"metadata": {"name": "handtracker"}, "status": entries}


def test_older_replicas_have_higher_priorities() -> None:
    assert start_priority(1_000.0) > start_priority(1_000.5) > 0


def test_the_highest_priority_live_replica_is_active() -> None:
    body = peering(a=keepalive(200, 1), b=keepalive(100, 1))
    assert decide(body, "a", 200, NOW).active
    standby = decide(body, "b", 100, NOW)
    assert not standby.active and standby.reason == "standby for a"


def test_a_peer_whose_keepalive_ran_out_does_not_count() -> None:
    body = peering(a=keepalive(200, 10.5), b=keepalive(100, 1))
    assert decide(body, "b", 100, NOW).active
    # still within its lifetime: b waits
    assert not decide(peering(a=keepalive(200, 9.5), b=keepalive(100, 1)), "b", 100, NOW).active


def test_equal_priorities_pause_both_as_kopf_does() -> None:
    body = peering(a=keepalive(5, 1), b=keepalive(5, 1))
    assert not decide(body, "a", 5, NOW).active
    assert not decide(body, "b", 5, NOW).active


def test_no_object_or_no_own_keepalive_yet_means_standby() -> None:
    assert not decide(None, "a", 1, NOW).active
    assert not decide(peering(b=keepalive(0, 1)), "a", 1, NOW).active
    assert decide(peering(a=keepalive(1, 0)), "a", 1, NOW).active


def test_unreadable_entries_are_ignored() -> None:
    body = peering(a=keepalive(1, 0), junk={"lastseen": "yesterday"}, gone=None)
    assert decide(body, "a", 1, NOW).active


def test_every_namespace_must_agree() -> None:
    mine, theirs = peering(a=keepalive(9, 0)), peering(a=keepalive(9, 0), b=keepalive(10, 0))
    assert decide_all([mine, mine], "a", 9, NOW).active
    assert not decide_all([mine, theirs], "a", 9, NOW).active


def test_leadership_reports_changes_and_keeps_its_decision_when_the_api_fails() -> None:
    changes: list[bool] = []
    now = datetime.datetime.now(datetime.UTC)  # check() reads the clock
    replies = iter([
        [peering(a=keepalive(9, 0, now=now))],
        RuntimeError("connection refused"),
        [peering(a=keepalive(9, 0, now=now), b=keepalive(10, 0, now=now))],
    ])

    def read() -> list:
        reply = next(replies)
        if isinstance(reply, Exception):
            raise reply
        return reply

    leader = Leadership(read, "a", 9, changes.append, settle=0)
    assert leader.check().active and changes == [True]
    assert leader.check() is None and leader.active and changes == [True]
    assert not leader.check().active and changes == [True, False]


def test_a_new_replica_settles_before_it_first_acts() -> None:
    now = datetime.datetime.now(datetime.UTC)
    alone = [peering(a=keepalive(9, 0, now=now))]
    older = [peering(a=keepalive(9, 0, now=now), b=keepalive(10, 0, now=now))]
    clock = [0.0]
    replies = iter([alone, alone, older, alone])
    changes: list[bool] = []
    leader = Leadership(lambda: next(replies), "a", 9, changes.append, settle=5,
                        clock=lambda: clock[0])
    assert leader.check().reason.startswith("settling")  # t=0: alone, but just started
    clock[0] = 3
    assert not leader.check().active
    clock[0] = 4  # an older replica that started alongside registers: it goes first
    assert leader.check().reason == "standby for b"
    clock[0] = 30  # later it is gone: the standby takes over at once
    assert leader.check().active and changes == [True]


def test_a_standby_says_why_from_its_first_decision_and_whenever_that_changes(caplog) -> None:
    now = datetime.datetime.now(datetime.UTC)
    unregistered = [peering(b=keepalive(10, 0, now=now))]
    older = [peering(a=keepalive(9, 0, now=now), b=keepalive(10, 0, now=now))]
    alone = [peering(a=keepalive(9, 0, now=now))]
    replies = iter([unregistered, older, older, alone, alone])
    changes: list[bool] = []
    leader = Leadership(lambda: next(replies), "a", 9, changes.append, settle=0)
    with caplog.at_level("INFO", logger="handtracker_operator.leadership"):
        for _ in range(5):
            leader.check()
    assert [r.getMessage() for r in caplog.records] == [
        "Standby: waiting for this replica's keep-alive", "Standby: standby for b",
        "Active: no live replica with a higher priority"]
    assert changes == [True]  # only a change is passed on
