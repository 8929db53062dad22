"""The per-app values routes need, stored once in app.extensions by create_app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .config import Settings
from .decode import Limits
from .inference import ModelInfo
from .lifecycle import Runtime

KEY = "handtracker"


@dataclass(frozen=True)
class AppState:
    settings: Settings
    limits: Limits
    model: ModelInfo
    runtime: Runtime


def current() -> AppState:
    return current_app.extensions[KEY]
