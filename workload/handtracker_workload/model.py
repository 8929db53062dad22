"""What the served model is: the settings it runs with, the MediaPipe release and
the bundle's sha256 and revision.

Kept apart from inference.py so that routes, probes and /v2 metadata can
describe the model without importing mediapipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from .config import Settings

NAME = "hand-landmarker"
MEDIAPIPE_VERSION = version("mediapipe")


@dataclass(frozen=True)
class ModelInfo:
    complexity: str
    max_hands: int
    min_detection_confidence: float
    min_tracking_confidence: float
    mediapipe_version: str = MEDIAPIPE_VERSION
    # The digest start-up verified (None when the app was not started by
    # `python -m handtracker_workload`, e.g. gunicorn run directly or tests).
    sha256: str | None = None
    revision: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelInfo:
        return cls(
            complexity=settings.model_complexity,
            max_hands=settings.max_hands,
            min_detection_confidence=settings.min_detection_confidence,
            min_tracking_confidence=settings.min_tracking_confidence,
            sha256=settings.model_sha256,
            revision=settings.model_revision,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": "mediapipe-hand-landmarker",
            "complexity": self.complexity,
            "maxHands": self.max_hands,
            "minDetectionConfidence": self.min_detection_confidence,
            "minTrackingConfidence": self.min_tracking_confidence,
            "mediapipeVersion": self.mediapipe_version,
            "sha256": self.sha256,
            "revision": self.revision,
        }
