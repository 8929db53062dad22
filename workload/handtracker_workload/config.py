"""Settings from HANDTRACKER_* environment variables, parsed and checked once.

The operator's ConfigMap sets these names; every one is optional. A bad value
stops the service at start with a message naming the variable, rather than
surfacing later as odd behaviour under load.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

LOG_LEVELS = ("debug", "info", "warning", "error")
MODEL_COMPLEXITIES = ("lite", "full")
# standard: one MediaPipe pass over the whole image; thorough: that pass plus
# palm detection on tiles, for small hands (thorough.py).
STANDARD, THOROUGH = "standard", "thorough"
DETECTION_MODES = (STANDARD, THOROUGH)

# Binary and decimal suffixes as Kubernetes quantities spell them ("10Mi", "40M").
_SUFFIXES = {
    "": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
}  # fmt: skip
_QUANTITY = re.compile(r"^\s*(\d+)\s*([kKMG]i?|)\s*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Where Kubernetes reads a container's termination message by default.
TERMINATION_LOG = Path("/dev/termination-log")


class ConfigError(ValueError):
    """A HANDTRACKER_* variable has a value the service cannot run with."""


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The container's CPU limit rounded up (cgroup v2, else v1), or None when unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else max(1, math.ceil(quota_us / period_us))
    except (OSError, ValueError):
        return None


def default_workers() -> int:
    """One worker per core the container may use: its CPU limit, else the cores it sees."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = cgroup_cpu_limit()
    return max(1, min(limit or cores or 1, cores or 1))


@dataclass(frozen=True)
class Settings:
    ui_title: str = "HandTracker"
    log_level: str = "info"
    model_complexity: str = "full"
    max_hands: int = 2
    # The image routes' mode when a request names none; live streams are always standard.
    detection_mode: str = STANDARD
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    max_upload_bytes: int = 10 * 2**20
    max_pixels: int = 40_000_000
    workers: int = field(default_factory=default_workers)
    # Threads per worker; 0 = enough for every admitted, queued and live
    # request plus a few probes (see worker_threads), so that a request waits in
    # the admission queue, where it is timed and bounded, not in gunicorn's.
    threads: int = 0
    # Image requests decoding, detecting or encoding at once per worker: they
    # hold decoded pixels, so this bounds memory; more buys no speed on one core.
    max_inflight: int = 4
    # Requests waiting for an in-flight slot per worker (holding only their
    # upload), and how long one may wait before it gets 503 + Retry-After.
    max_queue: int = 16
    queue_timeout: float = 1.0
    # JPEG quality of /v1/annotate and /predict.
    jpeg_quality: int = 90
    port: int = 8080
    model_bundle_dir: Path = Path("/tmp/handtracker-models")
    # A .task bundle to serve instead of the one built from the wheel (None), and
    # the sha256 it must have. Start-up verifies it, then hands the workers the
    # path and digest it checked in these same variables.
    model_path: Path | None = None
    model_sha256: str | None = None
    # Whatever names the bundle to its owner (the operator's revision); only echoed.
    model_revision: str | None = None
    # Where a rejected model is reported for `kubectl describe pod` (the kubelet
    # creates this file; it is not created here).
    termination_log: Path = TERMINATION_LOG
    # Live camera sessions per worker; each holds one of its threads while open.
    # Zero turns live tracking off.
    max_sessions: int = 4
    session_idle_seconds: float = 30.0
    # POST /v1/video: bytes of the upload, frames, duration and picture size.
    video_max_bytes: int = 50 * 2**20
    video_max_frames: int = 1500
    video_max_seconds: float = 60.0
    video_max_frame_pixels: int = 1920 * 1088

    # Threads for probes, metrics and rejected requests on top of the admitted ones.
    SPARE_THREADS = 4

    @property
    def worker_threads(self) -> int:
        if self.threads:
            return self.threads
        return self.max_inflight + self.max_queue + self.max_sessions + self.SPARE_THREADS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        reader = _Reader(env)
        defaults = cls()
        return cls(
            ui_title=reader.get("UI_TITLE", str, defaults.ui_title),
            log_level=reader.choice("LOG_LEVEL", LOG_LEVELS, defaults.log_level),
            model_complexity=reader.choice(
                "MODEL_COMPLEXITY", MODEL_COMPLEXITIES, defaults.model_complexity
            ),
            max_hands=reader.ranged("MAX_HANDS", int, 1, 4, defaults.max_hands),
            detection_mode=reader.choice(
                "DETECTION_MODE", DETECTION_MODES, defaults.detection_mode
            ),
            min_detection_confidence=reader.ranged(
                "MIN_DETECTION_CONFIDENCE", float, 0.0, 1.0, defaults.min_detection_confidence
            ),
            min_tracking_confidence=reader.ranged(
                "MIN_TRACKING_CONFIDENCE", float, 0.0, 1.0, defaults.min_tracking_confidence
            ),
            max_upload_bytes=reader.ranged(
                "MAX_UPLOAD_BYTES", parse_quantity, 1, 2**31, defaults.max_upload_bytes
            ),
            max_pixels=reader.ranged("MAX_PIXELS", parse_quantity, 1, 10**9, defaults.max_pixels),
            workers=reader.ranged("WORKERS", int, 1, 256, defaults.workers),
            threads=reader.ranged("THREADS", int, 0, 1024, defaults.threads),
            max_inflight=reader.ranged("MAX_INFLIGHT", int, 1, 1024, defaults.max_inflight),
            max_queue=reader.ranged("MAX_QUEUE", int, 0, 4096, defaults.max_queue),
            queue_timeout=reader.positive("QUEUE_TIMEOUT", float, defaults.queue_timeout),
            jpeg_quality=reader.ranged("JPEG_QUALITY", int, 1, 100, defaults.jpeg_quality),
            port=reader.ranged("PORT", int, 1, 65535, defaults.port),
            model_bundle_dir=reader.get("MODEL_BUNDLE_DIR", Path, defaults.model_bundle_dir),
            model_path=reader.get("MODEL_PATH", Path, defaults.model_path),
            model_sha256=reader.get("MODEL_SHA256", parse_sha256, defaults.model_sha256),
            model_revision=reader.get("MODEL_REVISION", str, defaults.model_revision),
            termination_log=reader.get("TERMINATION_LOG", Path, defaults.termination_log),
            max_sessions=reader.at_least("MAX_SESSIONS", int, 0, defaults.max_sessions),
            session_idle_seconds=reader.positive(
                "SESSION_IDLE_SECONDS", float, defaults.session_idle_seconds
            ),
            video_max_bytes=reader.positive(
                "VIDEO_MAX_BYTES", parse_quantity, defaults.video_max_bytes
            ),
            video_max_frames=reader.positive("VIDEO_MAX_FRAMES", int, defaults.video_max_frames),
            video_max_seconds=reader.positive(
                "VIDEO_MAX_SECONDS", float, defaults.video_max_seconds
            ),
            video_max_frame_pixels=reader.positive(
                "VIDEO_MAX_FRAME_PIXELS", parse_quantity, defaults.video_max_frame_pixels
            ),
        )


def parse_quantity(text: str) -> int:
    """'10485760', '10Mi' or '40M' -> an integer."""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"not an integer quantity: {text!r}")
    return int(match.group(1)) * _SUFFIXES[match.group(2)]


def parse_sha256(text: str) -> str:
    """A sha256 as sha256sum prints it: 64 lowercase hex digits, no prefix."""
    if not _SHA256.match(text):
        raise ValueError("expected 64 lowercase hex digits (a sha256)")
    return text


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, name: str, parse: Callable[[str], T], default: T) -> T:
        key = f"HANDTRACKER_{name}"
        raw = self._env.get(key, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            raise self.invalid(name, str(exc)) from None

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(name, str.lower, default)
        if value not in choices:
            raise self.invalid(name, f"expected one of {', '.join(choices)}")
        return value

    def ranged(self, name: str, parse: Callable[[str], T], low: T, high: T, default: T) -> T:
        value = self.get(name, parse, default)
        if not low <= value <= high:  # type: ignore[operator]
            raise self.invalid(name, f"expected {low} to {high}")
        return value

    def at_least(self, name: str, parse: Callable[[str], T], low: T, default: T) -> T:
        value = self.get(name, parse, default)
        if not value >= low:  # type: ignore[operator]
            raise self.invalid(name, f"expected {low} or more")
        return value

    def positive(self, name: str, parse: Callable[[str], T], default: T) -> T:
        value = self.get(name, parse, default)
        # Written as "not >" so that NaN is rejected too.
        if not value > 0:  # type: ignore[operator]
            raise self.invalid(name, "expected a positive number")
        return value

    def invalid(self, name: str, reason: str) -> ConfigError:
        key = f"HANDTRACKER_{name}"
        return ConfigError(f"{key}={self._env.get(key, '').strip()!r} is invalid: {reason}")
