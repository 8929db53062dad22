"""MediaPipe HandLandmarker behind a small, thread-safe interface.

The only module that imports mediapipe. One landmarker per worker process,
created after fork (a MediaPipe graph does not survive fork) and guarded by a
lock because a graph must not run two images at once. Results leave as
hands.Hand values.

Handedness: MediaPipe's Tasks API labels a hand as the person's own hand when
the image is an ordinary, non-mirrored photo (checked on photos with known
sides); the legacy `mp.solutions.hands` API reports the opposite because it
assumes a mirrored selfie view. We report the person's own hand for the image
as sent: a client sending a mirrored webcam frame gets mirrored labels, and
should flip the frame first.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from . import bundle
from .config import Settings
from .hands import Detection, Hand, Point3
from .model import ModelInfo


class _Landmarker:
    """A HandLandmarker in one running mode, serialised by a lock."""

    mode = vision.RunningMode.IMAGE

    def __init__(self, settings: Settings) -> None:
        self.info = ModelInfo.from_settings(settings)
        # The file start-up verified; else (tests, gunicorn run directly) the builtin one.
        path = settings.model_path or bundle.ensure(
            settings.model_bundle_dir, settings.model_complexity
        )
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=self.mode,
            num_hands=settings.max_hands,
            # The detection threshold gates both the palm detector and the
            # landmark model's hand-presence score, as in the legacy API.
            min_hand_detection_confidence=settings.min_detection_confidence,
            min_hand_presence_confidence=settings.min_detection_confidence,
            min_tracking_confidence=settings.min_tracking_confidence,
        )
        self._landmarker = vision.HandLandmarker.create_from_options(options)
        self._lock = threading.Lock()

    def _run(self, rgb: np.ndarray, timestamp_ms: int | None) -> Detection:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        with self._lock:
            start = time.perf_counter()
            if timestamp_ms is None:
                result = self._landmarker.detect(image)
            else:
                result = self._landmarker.detect_for_video(image, timestamp_ms)
            elapsed = time.perf_counter() - start
        return Detection(hands=_to_hands(result), inference_seconds=elapsed)

    def close(self) -> None:
        with self._lock:
            self._landmarker.close()


class Detector(_Landmarker):
    """Independent images (IMAGE mode): every call runs the palm detector."""

    def __init__(self, settings: Settings, warm_up: bool = True) -> None:
        super().__init__(settings)
        if warm_up:
            # Loads the delegates and allocates buffers outside any request.
            self.detect(np.zeros((256, 256, 3), np.uint8))

    def run(self, rgb: np.ndarray) -> Detection:
        return self._run(rgb, None)

    def detect(self, rgb: np.ndarray) -> list[Hand]:
        return list(self.run(rgb).hands)


class Tracker(_Landmarker):
    """A stream of frames (VIDEO mode): hands found in one frame are tracked in
    the next without re-running the palm detector. One Tracker per stream;
    timestamps must increase."""

    mode = vision.RunningMode.VIDEO

    def run(self, rgb: np.ndarray, timestamp_ms: int) -> Detection:
        return self._run(rgb, int(timestamp_ms))

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[Hand]:
        return list(self.run(rgb, timestamp_ms).hands)


def _to_hands(result: Any) -> tuple[Hand, ...]:
    hands = []
    for handedness, points, world in zip(
        result.handedness, result.hand_landmarks, result.hand_world_landmarks, strict=True
    ):
        top = handedness[0]
        hands.append(
            Hand(
                handedness=top.category_name,
                score=float(top.score),
                landmarks=tuple(Point3(p.x, p.y, p.z) for p in points),
                world_landmarks=tuple(Point3(p.x, p.y, p.z) for p in world),
            )
        )
    return tuple(hands)
