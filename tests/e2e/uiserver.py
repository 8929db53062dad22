"""Starting the real server (`python -m handtracker_workload`) for browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fixtures.workload_server import running_server


@contextmanager
def serving(tmp: Path, **env: str) -> Iterator[str]:
    """The production server on a free port, with one warm worker; yields its URL."""
    settings = {
        "HANDTRACKER_WORKERS": "1",
        "HANDTRACKER_UI_TITLE": "HandTracker browser test",
        **env,
    }
    with running_server(tmp / "models", tmp / "server.log", **settings) as server:
        yield server.url
