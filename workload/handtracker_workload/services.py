"""What the routes of one app share, built once by create_app and kept in app.extensions.

Everything here is per app, so per worker process: limits, model description,
readiness and detector, admission queue, live sessions, the video slot and the
decode buffers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from . import pipeline
from .admission import Admission
from .buffers import BufferPool
from .config import Settings
from .decode import Limits
from .model import ModelInfo
from .readiness import Readiness
from .sessions import SessionPool
from .videofile import VideoLimits

KEY = "handtracker"
# app.config key of a function that closes the current request's connection after
# its response; the server sets it (gunicorn_conf.py), tests and other servers do not.
CLOSE_CONNECTION = "HANDTRACKER_CLOSE_CONNECTION"


@dataclass(frozen=True)
class Services:
    settings: Settings
    limits: Limits
    frame_limits: Limits
    video_limits: VideoLimits
    model: ModelInfo
    model_json: dict[str, Any]  # model.to_json(), built once
    readiness: Readiness[Any]
    admission: Admission
    sessions: SessionPool
    # One video decoded and tracked at a time per worker: a video is hundreds
    # of inferences, and a second one would only halve the speed of both.
    video_slot: threading.BoundedSemaphore
    make_tracker: Callable[[int], Any]
    buffers: BufferPool = field(default_factory=BufferPool)

    def stage(self) -> pipeline.Stage:
        """What an image request runs against; 503 not_ready while the model loads."""
        return pipeline.Stage(
            self.limits,
            self.admission,
            self.readiness.detector(),  # one detector per detection mode
            self.settings.detection_mode,
            self.model.complexity,
            self.buffers,
        )


def current() -> Services:
    return current_app.extensions[KEY]
