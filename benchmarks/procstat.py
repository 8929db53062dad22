"""CPU time of processes, from /proc, for the benchmarks' per-request figures."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of these processes (all their threads) so far; a
    process that is gone counts 0."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / HZ
