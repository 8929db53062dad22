"""The decode buffers kept between requests."""

from __future__ import annotations

from handtracker_workload.buffers import BufferPool


def test_a_released_buffer_serves_the_next_lease():
    pool = BufferPool(1000)
    with pool.lease(600) as first:
        assert first is not None and first.size >= 600
    with pool.lease(500) as second:
        assert second is first


def test_leases_held_at_once_get_separate_buffers():
    pool = BufferPool(1000)
    with pool.lease(100) as a, pool.lease(100) as b:
        assert a is not None and b is not None
        assert a is not b
    # Both are kept, one per lease that was held at once.
    with pool.lease(100) as c, pool.lease(100) as d:
        assert {id(c), id(d)} == {id(a), id(b)}


def test_a_buffer_too_small_is_replaced_by_a_bigger_one():
    pool = BufferPool(1000)
    with pool.lease(100) as small:
        pass
    with pool.lease(800) as big:
        assert big is not small and big.size >= 800
    with pool.lease(100) as again:
        assert again is big


def test_nothing_is_leased_for_no_bytes_or_more_than_the_limit():
    pool = BufferPool(1000)
    with pool.lease(0) as none:
        assert none is None
    with pool.lease(1001) as none:
        assert none is None
