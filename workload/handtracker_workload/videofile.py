"""A short uploaded video file -> its frames, within limits on bytes, frames and duration.

OpenCV's VideoCapture reads only from a path, so the upload is written to a
private temporary file (the container's only writable place is /tmp) and
removed as soon as the frames have been read. The container's stated frame
count and rate are checked before any frame is decoded, and the count is
checked again while decoding because headers can lie.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from . import errors
from .config import Settings

# Content types accepted, and the file suffix that lets FFmpeg pick the demuxer fast.
VIDEO_TYPES: dict[str, str] = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
}


@dataclass(frozen=True)
class VideoLimits:
    max_bytes: int
    max_frames: int
    max_seconds: float
    max_frame_pixels: int

    @classmethod
    def from_settings(cls, settings: Settings) -> VideoLimits:
        """HANDTRACKER_VIDEO_MAX_{BYTES,FRAMES,SECONDS,FRAME_PIXELS}."""
        return cls(
            max_bytes=settings.video_max_bytes,
            max_frames=settings.video_max_frames,
            max_seconds=settings.video_max_seconds,
            max_frame_pixels=settings.video_max_frame_pixels,
        )


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int  # as the container states it (may be 0 when unknown)

    def to_json(self) -> dict[str, float | int]:
        return {
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 3),
            "frames": self.frames,
        }


@contextmanager
def open_video(data: bytes, content_type: str, limits: VideoLimits) -> Iterator[VideoReader]:
    """The frames of an uploaded video, with its temporary file removed afterwards."""
    suffix = VIDEO_TYPES.get(content_type)
    if suffix is None:
        raise errors.unsupported_video(content_type or "(none)", ", ".join(VIDEO_TYPES))
    if not data:
        raise errors.empty_video()
    if len(data) > limits.max_bytes:
        raise errors.video_too_large(f"the upload exceeds the {limits.max_bytes}-byte limit")
    fd, path = tempfile.mkstemp(prefix="handtracker-video-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        try:
            yield VideoReader(capture, limits)
        finally:
            capture.release()
    finally:
        os.unlink(path)


class VideoReader:
    """Checks a capture against the limits, then yields its frames as RGB arrays."""

    def __init__(self, capture: cv2.VideoCapture, limits: VideoLimits) -> None:
        if not capture.isOpened():
            raise errors.undecodable_video("the video could not be opened or decoded")
        self._capture = capture
        self._limits = limits
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        if width <= 0 or height <= 0:
            raise errors.undecodable_video("the video has no decodable picture")
        if width * height > limits.max_frame_pixels:
            raise errors.video_too_large(
                f"frames are {width}x{height}, over the {limits.max_frame_pixels}-pixel limit"
            )
        if frames > limits.max_frames:
            raise errors.video_too_large(
                f"the video has {frames} frames, over the {limits.max_frames} limit"
            )
        if fps > 0 and frames / fps > limits.max_seconds:
            raise errors.video_too_large(
                f"the video lasts {frames / fps:.1f} s, over the {limits.max_seconds:g} s limit"
            )
        self.info = VideoInfo(width, height, fps if fps > 0 else 25.0, frames)

    def frames(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """(index, timestamp in ms, RGB frame) for each frame, in order."""
        index = 0
        last_ms = -1
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                break
            if index >= self._limits.max_frames:
                raise errors.video_too_large(
                    f"the video has more than {self._limits.max_frames} frames"
                )
            # Presentation time from the container; fall back to the frame rate
            # and force it to increase, as tracking mode requires.
            ms = int(self._capture.get(cv2.CAP_PROP_POS_MSEC))
            if ms <= last_ms:
                ms = max(last_ms + 1, int(index * 1000 / self.info.fps))
            if ms > self._limits.max_seconds * 1000:
                raise errors.video_too_large(f"the video lasts over {self._limits.max_seconds:g} s")
            last_ms = ms
            yield index, ms, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
        if index == 0:
            raise errors.undecodable_video("the video has no decodable frames")
