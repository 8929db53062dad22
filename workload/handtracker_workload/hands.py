"""The values one detection produces, and their JSON shape.

These dataclasses are what crosses module lines in the workload: inference
produces them, gestures and rendering read them, pipeline.py gives them their
JSON shape. No MediaPipe type leaves inference.py.
"""

from __future__ import annotations

from dataclasses import dataclass

# MediaPipe's 21 hand landmarks, in its order.
LANDMARK_NAMES: tuple[str, ...] = (
    "WRIST",
    "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP",
    "INDEX_FINGER_MCP", "INDEX_FINGER_PIP", "INDEX_FINGER_DIP", "INDEX_FINGER_TIP",
    "MIDDLE_FINGER_MCP", "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP", "MIDDLE_FINGER_TIP",
    "RING_FINGER_MCP", "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP",
    "PINKY_MCP", "PINKY_PIP", "PINKY_DIP", "PINKY_TIP",
)  # fmt: skip

# Landmark indices of each finger, from its base to its tip (the wrist, 0, is
# the root of every finger when drawing the skeleton).
FINGERS: dict[str, tuple[int, int, int, int]] = {
    "thumb": (1, 2, 3, 4),
    "index": (5, 6, 7, 8),
    "middle": (9, 10, 11, 12),
    "ring": (13, 14, 15, 16),
    "pinky": (17, 18, 19, 20),
}

# The skeleton's colours from CONVENTIONS, in BGR as they are written there;
# render.py and the web page (ui.py) both draw with them.
FINGER_COLOURS: dict[str, tuple[int, int, int]] = {
    "thumb": (0, 255, 255),  # yellow
    "index": (128, 0, 128),  # purple
    "middle": (255, 255, 0),  # cyan
    "ring": (0, 255, 0),  # green
    "pinky": (0, 0, 255),  # red
}
JOINT_COLOUR = (255, 255, 255)


@dataclass(frozen=True)
class Point3:
    x: float
    y: float
    z: float


@dataclass(frozen=True)
class Hand:
    """One detected hand.

    landmarks: normalised to the image (x, y in [0, 1] of width/height; z is
        depth relative to the wrist, roughly in the same scale as x).
    world_landmarks: metres, origin at the hand's approximate geometric centre.
    handedness: "Left" or "Right" as the hand belongs to the person in the
        photo (see inference.py for how MediaPipe's label is mapped).
    gesture: a label from gestures.py, or None when not classified.
    """

    handedness: str
    score: float
    landmarks: tuple[Point3, ...]
    world_landmarks: tuple[Point3, ...]
    gesture: str | None = None

    def pixels(self, width: int, height: int) -> list[tuple[float, float]]:
        """Landmarks in pixel coordinates of an image of the given size."""
        return [(p.x * width, p.y * height) for p in self.landmarks]

    def area(self, width: int, height: int) -> float:
        """Pixels of the landmarks' bounding box: how big the hand is in the image."""
        box = self.bbox(width, height)
        return box["width"] * box["height"]

    def bbox(self, width: int, height: int) -> dict[str, float]:
        """Axis-aligned box around the landmarks, clipped to the image, in pixels."""
        xs = [min(max(p.x, 0.0), 1.0) * width for p in self.landmarks]
        ys = [min(max(p.y, 0.0), 1.0) * height for p in self.landmarks]
        x0, y0 = min(xs), min(ys)
        return {"x": x0, "y": y0, "width": max(xs) - x0, "height": max(ys) - y0}


@dataclass(frozen=True)
class Detection:
    """The hands one detector pass found in one image, and its time."""

    hands: tuple[Hand, ...]
    inference_seconds: float
