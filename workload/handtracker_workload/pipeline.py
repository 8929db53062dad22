"""One image, frame or video through the workload: decode -> detect -> gestures -> JSON.

The only place this chain is written. /v1/landmarks, /v1/annotate, /predict
and /v2 infer call analyse() (and annotate()); /v1/stream calls track_frame();
/v1/video calls track_video(). hand_json() is the one JSON shape of a hand,
in every response that carries hands. Routes above this module know HTTP
only; nothing above it imports OpenCV or MediaPipe, and this module imports
neither Flask nor MediaPipe (detectors come in as arguments).

Admission (admission.py) is taken after the checks that need no decoding, so
a hostile upload is refused without waiting in the queue or holding a slot,
and released once the pixels are no longer needed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from . import decode, errors, gestures, render
from .admission import Admission
from .buffers import BufferPool
from .hands import LANDMARK_NAMES, Hand
from .metrics import DECODE_DURATION, HANDS_DETECTED, INFERENCE_DURATION, QUEUE_WAIT
from .videofile import VideoLimits, open_video


class Detection(Protocol):
    hands: tuple[Hand, ...]
    inference_seconds: float


class ImageDetector(Protocol):
    def run(self, rgb: np.ndarray) -> Detection: ...


class VideoTracker(Protocol):
    def run(self, rgb: np.ndarray, timestamp_ms: int) -> Detection: ...


class FrameSession(Protocol):
    frames: int

    def track(self, rgb: np.ndarray) -> Detection: ...


@dataclass(frozen=True)
class Stage:
    """What one image request runs against: this worker's limits, queue and
    detectors, one per detection mode (config.DETECTION_MODES)."""

    limits: decode.Limits
    admission: Admission
    detectors: Mapping[str, ImageDetector]
    default_mode: str  # HANDTRACKER_DETECTION_MODE
    model: str  # the complexity, the inference metric's label
    buffers: BufferPool  # for the full-size decodes of annotate()

    def mode(self, requested: str | None) -> str:
        """The mode a request asked for, else the default; 400 bad_mode if unknown."""
        if requested is None:
            return self.default_mode
        if requested not in self.detectors:
            raise errors.bad_mode(requested, tuple(self.detectors))
        return requested


@dataclass(frozen=True)
class Analysis:
    image: decode.DecodedImage
    hands: tuple[Hand, ...]
    inference_seconds: float
    queue_seconds: float
    started: float  # perf_counter() when analysis began

    def timings(self) -> dict[str, float]:
        return {
            "queueMs": round(self.queue_seconds * 1000, 2),
            "decodeMs": round(self.image.decode_seconds * 1000, 2),
            "inferenceMs": round(self.inference_seconds * 1000, 2),
            "totalMs": round((time.perf_counter() - self.started) * 1000, 2),
        }


def analyse(data: bytes, stage: Stage, mode: str | None = None) -> Analysis:
    """Hands in an uploaded image, decoded no larger than the detector can use;
    `mode` is a detection mode, None for the stage's default."""
    analysis, _ = _run(data, stage, None, mode)
    return analysis


def annotate(
    data: bytes, stage: Stage, fmt: str, quality: int, mode: str | None = None
) -> tuple[Analysis, bytes]:
    """Hands in an uploaded image, and the image with their skeletons, encoded."""
    analysis, body = _run(data, stage, (fmt, quality), mode)
    assert body is not None
    return analysis, body


def _run(
    data: bytes, stage: Stage, encoding: tuple[str, int] | None, requested: str | None
) -> tuple[Analysis, bytes | None]:
    started = time.perf_counter()
    mode = stage.mode(requested)  # a bad mode is refused before anything is decoded
    header = decode.check(data, stage.limits)  # refuses hostile input before queueing
    body = None
    # Drawing needs every pixel of the original; detection does not. Those
    # pixels go into a leased buffer: after this block only their size is read.
    full_size = encoding is not None
    with (
        stage.admission.slot() as waited,
        stage.buffers.lease(header.pixels * 3 if full_size else 0) as buffer,
    ):
        QUEUE_WAIT.observe(waited)
        image = decode.to_rgb(
            data, stage.limits, allow_reduced=not full_size, header=header, buffer=buffer
        )
        DECODE_DURATION.observe(image.decode_seconds)
        detection = stage.detectors[mode].run(decode.for_detection(image.rgb))
        hands = gestures.labelled(detection.hands, (image.width, image.height))
        if encoding is not None:
            fmt, quality = encoding
            body = render.encode(render.draw(image.rgb, hands), fmt, quality)
    INFERENCE_DURATION.labels(model=stage.model, mode=mode).observe(detection.inference_seconds)
    HANDS_DETECTED.labels(mode=mode).observe(len(hands))
    return Analysis(image, hands, detection.inference_seconds, waited, started), body


def landmarks_json(analysis: Analysis, model: dict[str, Any]) -> dict[str, Any]:
    image = analysis.image
    return {
        "image": {
            "width": image.width,
            "height": image.height,
            "format": image.format,
            "decodedWidth": image.rgb.shape[1],
            "decodedHeight": image.rgb.shape[0],
        },
        "hands": hands_json(analysis.hands, image.width, image.height),
        "timings": analysis.timings(),
        "model": model,
    }


def hands_json(hands: Iterable[Hand], width: int, height: int) -> list[dict[str, Any]]:
    return [hand_json(hand, width, height) for hand in hands]


def hand_json(hand: Hand, width: int, height: int) -> dict[str, Any]:
    """The JSON shape of one hand, wherever hands are returned."""
    bbox = hand.bbox(width, height)
    return {
        "handedness": {"label": hand.handedness, "score": round(hand.score, 4)},
        "gesture": hand.gesture,
        "landmarks": [
            {"name": n, "x": p.x, "y": p.y, "z": p.z}
            for n, p in zip(LANDMARK_NAMES, hand.landmarks, strict=True)
        ],
        "pixel": [
            {"name": n, "x": round(p.x * width, 2), "y": round(p.y * height, 2)}
            for n, p in zip(LANDMARK_NAMES, hand.landmarks, strict=True)
        ],
        "worldLandmarks": [
            {"name": n, "x": p.x, "y": p.y, "z": p.z}
            for n, p in zip(LANDMARK_NAMES, hand.world_landmarks, strict=True)
        ],
        "boundingBox": {k: round(v, 2) for k, v in bbox.items()},
    }


def track_frame(session: FrameSession, data: bytes, limits: decode.Limits) -> dict[str, Any]:
    """One live camera frame -> its result message; a bad frame -> an error message."""
    start = time.perf_counter()
    try:
        image = decode.to_rgb(data, limits, allow_reduced=False)
    except errors.ApiError as err:
        return {"type": "error", **err.to_json()}
    detection = session.track(image.rgb)
    w, h = image.width, image.height
    return {
        "type": "result",
        "frame": session.frames,
        "width": w,
        "height": h,
        "hands": hands_json(gestures.labelled(detection.hands, (w, h)), w, h),
        "timings": {
            "decodeMs": round(image.decode_seconds * 1000, 2),
            "inferenceMs": round(detection.inference_seconds * 1000, 2),
            "totalMs": round((time.perf_counter() - start) * 1000, 2),
        },
    }


def track_video(
    data: bytes, content_type: str, limits: VideoLimits, tracker: VideoTracker
) -> dict[str, Any]:
    """Every frame of a short video, tracked in order."""
    start = time.perf_counter()
    spent = 0.0
    frames: list[dict[str, Any]] = []
    with open_video(data, content_type, limits) as reader:
        w, h = reader.info.width, reader.info.height
        for index, ms, rgb in reader.frames():
            detection = tracker.run(rgb, ms)
            spent += detection.inference_seconds
            hands = gestures.labelled(detection.hands, (w, h))
            frames.append({"index": index, "timestampMs": ms, "hands": hands_json(hands, w, h)})
    count = len(frames)
    return {
        "video": {**reader.info.to_json(), "framesRead": count},
        "mode": "tracking",
        "framesWithHands": sum(1 for f in frames if f["hands"]),
        "frames": frames,
        "timings": {
            "inferenceMs": round(spent * 1000, 2),
            "inferenceMsPerFrame": round(spent * 1000 / count, 3),
            "totalMs": round((time.perf_counter() - start) * 1000, 2),
        },
    }
