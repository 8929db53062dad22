"""The project's version, read from `[project] version` in pyproject.toml: the chart, the
image tags and the tests take it from here rather than from the installed metadata, which
is only as new as the last `make venv`."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def read() -> str:
    with PYPROJECT.open("rb") as file:
        return tomllib.load(file)["project"]["version"]
