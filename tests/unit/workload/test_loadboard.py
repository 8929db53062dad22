"""The workers' shared load board (loadboard.py), across real forked processes."""

from __future__ import annotations

import os

from handtracker_workload.loadboard import LEAVE_MARGIN, LoadBoard


def test_slots_are_reserved_occupied_and_freed():
    board = LoadBoard(3)
    first, second = board.reserve(), board.reserve()
    assert first != second
    board.occupy(first, 101)
    board.occupy(second, 102)
    third = board.reserve()
    assert third not in (first, second)
    board.release(101)
    assert board.reserve() == first  # freed for a replacement worker


def test_a_worker_leaves_only_when_clearly_busier_than_a_live_sibling():
    board = LoadBoard(4)
    a, b, c = board.reserve(), board.reserve(), board.reserve()
    board.occupy(a, 11)
    board.occupy(b, 12)
    board.publish(a, 9)
    board.publish(b, 9 - LEAVE_MARGIN + 1)
    assert not board.should_leave(a)
    board.publish(b, 9 - LEAVE_MARGIN)
    assert board.should_leave(a) and not board.should_leave(b)
    board.publish(c, 0)  # reserved, not yet running: not a sibling to leave work to
    board.publish(b, 9)
    assert not board.should_leave(a)


def test_a_lone_worker_never_leaves():
    board = LoadBoard(2)
    slot = board.reserve()
    board.occupy(slot, 5)
    board.publish(slot, 100)
    assert not board.should_leave(slot)


def test_forked_workers_see_each_others_loads():
    board = LoadBoard(2)
    parent_slot, child_slot = board.reserve(), board.reserve()
    board.occupy(parent_slot, os.getpid())
    pid = os.fork()
    if pid == 0:  # the child: a worker publishing its load
        board.occupy(child_slot, os.getpid())
        board.publish(child_slot, 42)
        os._exit(0)
    os.waitpid(pid, 0)
    assert board.load(child_slot) == 42
    assert board.should_leave(child_slot) is True  # 42 against the parent's 0
    board.release(pid)
    assert not board.should_leave(parent_slot)
