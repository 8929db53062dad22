"""The rainbow skeleton drawn over a photo, and image encoding.

Each finger is a polyline from the wrist through its four landmarks, in the
colours of CONVENTIONS; joints are white dots. Line width grows with the image
so the skeleton stays visible on phone photos. Images stay in RGB, the order
they were decoded in, from decoding to encoding: the palette is reversed once
instead of converting every pixel of the photo twice.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
import simplejpeg

from .hands import FINGER_COLOURS, FINGERS, JOINT_COLOUR, Hand

__all__ = ["FINGER_COLOURS", "JOINT_COLOUR", "MEDIA_TYPES", "draw", "encode", "line_width"]

MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}

_RGB_COLOURS = {finger: bgr[::-1] for finger, bgr in FINGER_COLOURS.items()}


def line_width(width: int, height: int) -> int:
    """About 1/200 of the short side: 2 px on a thumbnail, 15 px at 4000x3000."""
    return max(2, round(min(width, height) / 200))


def draw(rgb: np.ndarray, hands: Iterable[Hand]) -> np.ndarray:
    """Draws on (and returns) an RGB image; landmarks are normalised, so any scale works."""
    height, width = rgb.shape[:2]
    thickness = line_width(width, height)
    radius = max(2, round(thickness * 1.2))
    for hand in hands:
        points = [(round(x), round(y)) for x, y in hand.pixels(width, height)]
        for finger, indices in FINGERS.items():
            chain = np.array([points[0], *(points[i] for i in indices)], np.int32)
            cv2.polylines(rgb, [chain], False, _RGB_COLOURS[finger], thickness, cv2.LINE_AA)
        for point in points:
            cv2.circle(rgb, point, radius, JOINT_COLOUR, -1, cv2.LINE_AA)
    return rgb


def encode(rgb: np.ndarray, fmt: str = "jpeg", quality: int = 90) -> bytes:
    """JPEG by libjpeg-turbo (4:2:0, as OpenCV writes it), or a fast PNG."""
    if fmt == "jpeg":
        return simplejpeg.encode_jpeg(rgb, quality, "RGB", "420")
    # Fast compression: these images go straight to a browser or a script.
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError(f"could not encode a {rgb.shape} image as {fmt}")
    return buf.tobytes()
