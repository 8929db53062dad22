"""Builds the HandLandmarker `.task` bundle from the models inside the mediapipe wheel.

mediapipe 0.10.21 ships the palm-detection and hand-landmark `.tflite` files but
not the `.task` bundle the Tasks API loads; newer releases download it at run
time, which clusters without egress cannot do. A `.task` file is a zip, stored
uncompressed, holding the two models under fixed names. The lite palm detector
has no metadata and fails inside a bundle, so both variants use the full one.

The build is reproducible: the same wheel gives the same bytes, so a bundle's
sha256 can be pinned and compared with one copied from elsewhere (a model
image, a volume). `verify` is the check made before a bundle is served.

This module finds mediapipe without importing it (only inference.py does).

    python -m handtracker_workload.bundle DIR   # writes DIR/hand_landmarker_{full,lite}.task
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import zipfile
from pathlib import Path

COMPLEXITIES = ("full", "lite")
# The names the Tasks API looks the two models up by inside a `.task` zip.
DETECTOR, LANDMARKS = "hand_detector.tflite", "hand_landmarks_detector.tflite"
MEMBERS = (DETECTOR, LANDMARKS)
# A zip stores each member's time and mode; fixed ones keep the bytes (and so the
# sha256) independent of when and where the bundle was built.
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_MODE = 0o100644  # a regular file, rw-r--r--
_CHUNK = 1 << 20


class ModelRejected(Exception):
    """A bundle that must not be served; `reason` is a stable CamelCase word."""

    @property
    def reason(self) -> str:
        return type(self).__name__


class ModelInvalid(ModelRejected):
    """The file is missing, unreadable, not a zip, or lacks one of MEMBERS."""


class ModelDigestMismatch(ModelRejected):
    """The file is a bundle, but not the one whose sha256 was pinned."""


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
    members = (
        (DETECTOR, palm_detector_model()),
        (LANDMARKS, modules / "hand_landmark" / f"hand_landmark_{complexity}.tflite"),
    )
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / bundle_name(complexity)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".bundle-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
            for name, source in members:
                info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.create_system = 3  # unix, whatever the building machine
                info.external_attr = _FIXED_MODE << 16
                zf.writestr(info, source.read_bytes())
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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, sha256: str | None = None) -> str:
    """The bundle's sha256 if it can be served, else ModelRejected saying why.

    The zip is checked first, so a damaged copy is reported as ModelInvalid even
    when a digest was pinned; ModelDigestMismatch then means a well-formed
    bundle, just not the pinned one (another model or release).
    """
    try:
        actual = sha256_of(path)
        with zipfile.ZipFile(path) as zf:
            missing = [name for name in MEMBERS if name not in zf.namelist()]
            damaged = None if missing else zf.testzip()
    except FileNotFoundError:
        raise ModelInvalid(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ModelInvalid(f"{path} is a directory, not a .task file") from None
    except OSError as exc:
        raise ModelInvalid(f"{path} cannot be read: {exc.strerror or exc}") from None
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ModelInvalid(f"{path} is not a .task bundle: {exc}") from None
    except (NotImplementedError, RuntimeError) as exc:  # unsupported compression, encryption
        raise ModelInvalid(f"{path} cannot be unpacked: {exc}") from None
    if missing:
        raise ModelInvalid(f"{path} is not a hand landmarker bundle: no {', '.join(missing)}")
    if damaged is not None:
        raise ModelInvalid(f"{path} is damaged: {damaged} fails its CRC check")
    if sha256 is not None and actual != sha256:
        raise ModelDigestMismatch(f"{path} has sha256 {actual}, expected {sha256}")
    return actual


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m handtracker_workload.bundle DIR", file=sys.stderr)
        return 2
    for complexity in COMPLEXITIES:
        print(build(Path(argv[0]), complexity))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
