"""Builds the HandLandmarker `.task` bundle from the models inside the mediapipe wheel.

mediapipe 0.10.21 ships the palm-detection and hand-landmark `.tflite` files but
not the `.task` bundle the Tasks API loads; newer releases download it at run
time, which clusters without egress cannot do. A `.task` file is a zip, stored
uncompressed, holding the two models under fixed names. The lite palm detector
has no metadata and fails inside a bundle, so both variants use the full one.

This module finds mediapipe without importing it (only inference.py does).

    python -m handtracker_workload.bundle DIR   # writes DIR/hand_landmarker_{full,lite}.task
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import zipfile
from pathlib import Path

COMPLEXITIES = ("full", "lite")


def mediapipe_root() -> Path:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the mediapipe package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def palm_detector_model(variant: str = "full") -> Path:
    """A palm detector in the wheel: the full one goes in every bundle; palms.py
    runs the lite one alone, on tiles."""
    return mediapipe_root() / "modules" / "palm_detection" / f"palm_detection_{variant}.tflite"


def bundle_name(complexity: str) -> str:
    return f"hand_landmarker_{complexity}.task"


def build(directory: Path, complexity: str) -> Path:
    """Writes the bundle for one model complexity; atomic, so workers may race."""
    if complexity not in COMPLEXITIES:
        raise ValueError(f"unknown model complexity {complexity!r}")
    modules = mediapipe_root() / "modules"
    members = {
        "hand_detector.tflite": palm_detector_model(),
        "hand_landmarks_detector.tflite": (
            modules / "hand_landmark" / f"hand_landmark_{complexity}.tflite"
        ),
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / bundle_name(complexity)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".bundle-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
            for name, source in members.items():
                zf.write(source, arcname=name)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def ensure(directory: Path, complexity: str) -> Path:
    """The bundle's path, building it first when it is missing."""
    target = directory / bundle_name(complexity)
    if target.is_file():
        return target
    return build(directory, complexity)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m handtracker_workload.bundle DIR", file=sys.stderr)
        return 2
    for complexity in COMPLEXITIES:
        print(build(Path(argv[0]), complexity))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
