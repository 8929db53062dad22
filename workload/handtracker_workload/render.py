"""The rainbow skeleton drawn over a photo, and image encoding.

Each finger is a polyline from the wrist through its four landmarks, in the
colours of CONVENTIONS (BGR, as OpenCV draws); joints are white dots. Line
width grows with the image so the skeleton stays visible on phone photos.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from .hands import FINGERS, Hand

# BGR, the order OpenCV draws and encodes in.
FINGER_COLOURS: dict[str, tuple[int, int, int]] = {
    "thumb": (0, 255, 255),  # yellow
    "index": (128, 0, 128),  # purple
    "middle": (255, 255, 0),  # cyan
    "ring": (0, 255, 0),  # green
    "pinky": (0, 0, 255),  # red
}
JOINT_COLOUR = (255, 255, 255)

MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}


def line_width(width: int, height: int) -> int:
    """About 1/200 of the short side: 2 px on a thumbnail, 15 px at 4000x3000."""
    return max(2, round(min(width, height) / 200))


def draw(bgr: np.ndarray, hands: Iterable[Hand]) -> np.ndarray:
    """Draws on (and returns) a BGR image; landmarks are normalised, so any scale works."""
    height, width = bgr.shape[:2]
    thickness = line_width(width, height)
    radius = max(2, round(thickness * 1.2))
    for hand in hands:
        points = [(round(x), round(y)) for x, y in hand.pixels(width, height)]
        for finger, indices in FINGERS.items():
            chain = np.array([points[0], *(points[i] for i in indices)], np.int32)
            cv2.polylines(bgr, [chain], False, FINGER_COLOURS[finger], thickness, cv2.LINE_AA)
        for point in points:
            cv2.circle(bgr, point, radius, JOINT_COLOUR, -1, cv2.LINE_AA)
    return bgr


def encode(bgr: np.ndarray, fmt: str = "jpeg") -> bytes:
    if fmt == "png":
        # Fast compression: these images go straight to a browser or a script.
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    else:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError(f"could not encode a {bgr.shape} image as {fmt}")
    return buf.tobytes()
