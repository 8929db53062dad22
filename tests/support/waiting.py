"""Waiting for a condition instead of for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    fn: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.2,
    message: str = "",
) -> T:
    """Calls `fn` until it returns something truthy without an AssertionError.

    Returns that value; after `timeout` seconds fails with the last error or value.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last = value
        except AssertionError as err:
            last = err
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{message or getattr(fn, '__name__', 'condition')} not met within "
                f"{timeout} s; last result: {last!r}"
            )
        time.sleep(interval)
