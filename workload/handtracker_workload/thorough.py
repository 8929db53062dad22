"""Thorough detection: small hands the single full-frame pass misses.

The standard pass shows the palm detector the whole image at 192x192, so a
hand under about a tenth of the image's long side is a few pixels there and is
lost. Thorough mode keeps that pass and adds:

1. tiles: squares of a quarter of the image's long side, overlapping by a
   quarter, each shrunk to 192x192 and given to the palm detector alone
   (palms.py), which so sees a hand 2.5 times larger than the full-frame pass
   does; tiles with nothing in them (one flat colour, such as a letterbox) are
   skipped. Tiles of half the long side were tried too: they found no more
   hands on the test frames and cost a third more;
2. the palms found, merged across tiles, minus those inside a hand the
   full-frame pass already has, at most MAX_CANDIDATES of them, best first;
3. for each, the standard detector (MediaPipe's palm detector and landmark
   model, unchanged) on a crop around the palm, so the crop's hand fills a
   good part of what MediaPipe sees, and on a wider crop when the first shows
   no hand there; a candidate counts only when such a second look finds a hand
   over the palm, which keeps a lone palm-detector false alarm from becoming a
   reported hand;
4. the crop's landmarks mapped back to the whole image, duplicates dropped,
   hands sorted largest first and cut to max_hands.

Landmarks, handedness and presence scores so all come from the stock model.
MediaPipe itself is not imported here: the standard detector comes in.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Protocol

import cv2
import numpy as np

from . import bundle
from .config import STANDARD, THOROUGH, Settings
from .hands import Detection, Hand, Point3
from .palms import INPUT_SIZE, Palm, PalmDetector, suppress

# Tile sides as fractions of the image's long side, and how much neighbouring
# tiles overlap, so that a hand on a border is whole in one of them.
TILE_DIVISORS = (4,)
TILE_OVERLAP = 0.25
# Tiles smaller than the detector's input would only be upscaled: no new detail.
MIN_TILE_SIDE = INPUT_SIZE
# A tile whose colour channels each vary less than this (standard deviation,
# 0-255) holds no hand: a flat colour, with at most compression noise on it.
FLAT_STD = 2.0
# Palms from different tiles overlapping more than this are one palm.
PALM_MAX_IOU = 0.3
# Palms checked by the landmark model per image, beyond the full-frame pass:
# the ceiling of this mode's extra cost, and of the hands it can add.
MAX_CANDIDATES = 6
# The crops around a candidate palm, tried in turn until one shows a hand over it:
# this many palm sizes wide, the centre moved half a palm from the palm's centre
# towards the fingers (where the hand is). On the benchmark's frames the tighter
# crop finds hands the wider one misses and the other way round; either alone
# found 3-4 % fewer.
CROP_PALMS = (5.0, 8.0)
CROP_SHIFT = 0.5
# Two hands are one when this much of the smaller one's box lies in the other's.
SAME_HAND_OVERLAP = 0.5


class ImageDetector(Protocol):
    def run(self, rgb: np.ndarray) -> Detection: ...


class PalmFinder(Protocol):
    def detect(self, tile: np.ndarray) -> list[Palm]: ...


@dataclass(frozen=True)
class Box:
    """An axis-aligned region of an image, in whole pixels."""

    x: int
    y: int
    width: int
    height: int


def tile_plan(width: int, height: int) -> list[Box]:
    """The square tiles of the pyramid for an image of this size."""
    tiles: list[Box] = []
    long_side = max(width, height)
    for divisor in TILE_DIVISORS:
        side = min(round(long_side / divisor), width, height)
        if side < MIN_TILE_SIDE:
            continue
        for y in _positions(height, side):
            for x in _positions(width, side):
                tile = Box(x, y, side, side)
                if tile not in tiles:
                    tiles.append(tile)
    return tiles


def _positions(extent: int, side: int) -> list[int]:
    """Evenly spaced starts of tiles covering 0..extent, overlapping by TILE_OVERLAP or more."""
    count = math.ceil((extent - side) / (side * (1 - TILE_OVERLAP))) + 1
    if count == 1:
        return [0]
    return [round(i * (extent - side) / (count - 1)) for i in range(count)]


def is_flat(tile: np.ndarray) -> bool:
    """Whether a tile is one colour, give or take compression noise."""
    _, std = cv2.meanStdDev(tile)
    return bool((std < FLAT_STD).all())


def crop_box(palm: Palm, width: int, height: int, palms_wide: float) -> Box:
    """The region the standard detector is shown for one candidate palm, `palms_wide`
    palm sizes wide, clipped to the image."""
    dx, dy = palm.middle_base[0] - palm.wrist[0], palm.middle_base[1] - palm.wrist[1]
    norm = math.hypot(dx, dy) or 1.0
    cx = palm.x + CROP_SHIFT * palm.size * dx / norm
    cy = palm.y + CROP_SHIFT * palm.size * dy / norm
    half = palms_wide * palm.size / 2
    x0, y0 = max(0, math.floor(cx - half)), max(0, math.floor(cy - half))
    x1, y1 = min(width, math.ceil(cx + half)), min(height, math.ceil(cy + half))
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def from_crop(hand: Hand, crop: Box, width: int, height: int) -> Hand:
    """A hand found in a crop, with its landmarks normalised to the whole image.
    z is in units of the image width, as MediaPipe defines it."""
    sx, sy = crop.width / width, crop.height / height
    ox, oy = crop.x / width, crop.y / height
    return replace(
        hand,
        landmarks=tuple(Point3(ox + p.x * sx, oy + p.y * sy, p.z * sx) for p in hand.landmarks),
    )


def _overlap(a: Hand, b: Hand, width: int, height: int) -> float:
    """Intersection of two hands' boxes over the smaller box."""
    ba, bb = a.bbox(width, height), b.bbox(width, height)
    w = min(ba["x"] + ba["width"], bb["x"] + bb["width"]) - max(ba["x"], bb["x"])
    h = min(ba["y"] + ba["height"], bb["y"] + bb["height"]) - max(ba["y"], bb["y"])
    smaller = min(ba["width"] * ba["height"], bb["width"] * bb["height"])
    return 0.0 if w <= 0 or h <= 0 or smaller <= 0 else w * h / smaller


def _contains(hand: Hand, x: float, y: float, width: int, height: int) -> bool:
    box = hand.bbox(width, height)
    return box["x"] <= x <= box["x"] + box["width"] and box["y"] <= y <= box["y"] + box["height"]


class ThoroughDetector:
    """The standard detector plus the tile pyramid, as one ImageDetector."""

    def __init__(self, standard: ImageDetector, palms: PalmFinder, max_hands: int) -> None:
        self._standard = standard
        self._palms = palms
        self.max_hands = max_hands

    def run(self, rgb: np.ndarray) -> Detection:
        start = time.perf_counter()
        height, width = rgb.shape[:2]
        hands = list(self._standard.run(rgb).hands)
        for palm in self.candidates(rgb, hands):
            # A hand confirmed from one palm covers the other palms found on it.
            if any(_contains(h, palm.x, palm.y, width, height) for h in hands):
                continue
            hand = self._confirm(rgb, palm)
            if hand is not None and not any(
                _overlap(hand, h, width, height) > SAME_HAND_OVERLAP for h in hands
            ):
                hands.append(hand)
        hands.sort(key=lambda h: -h.area(width, height))
        return Detection(tuple(hands[: self.max_hands]), time.perf_counter() - start)

    def candidates(self, rgb: np.ndarray, found: list[Hand]) -> list[Palm]:
        """Palms in the tiles, merged, that no hand in `found` already covers, best first."""
        height, width = rgb.shape[:2]
        palms: list[Palm] = []
        tiles = tile_plan(width, height)
        for side in sorted({t.width for t in tiles}):
            # One shrink of the whole image per tile size: each tile is then a
            # 192x192 window of it, three times cheaper than shrinking every tile.
            shrunk = cv2.resize(
                rgb,
                (round(width * INPUT_SIZE / side), round(height * INPUT_SIZE / side)),
                interpolation=cv2.INTER_AREA,
            )
            scale = width / shrunk.shape[1]
            for tile in (t for t in tiles if t.width == side):
                x = min(round(tile.x / scale), shrunk.shape[1] - INPUT_SIZE)
                y = min(round(tile.y / scale), shrunk.shape[0] - INPUT_SIZE)
                pixels = shrunk[y : y + INPUT_SIZE, x : x + INPUT_SIZE]
                if is_flat(pixels):
                    continue
                palms += [p.moved(x * scale, y * scale, scale) for p in self._palms.detect(pixels)]
        fresh = [
            p for p in suppress(palms, PALM_MAX_IOU)
            if not any(_contains(h, p.x, p.y, width, height) for h in found)
        ]  # fmt: skip
        return fresh[:MAX_CANDIDATES]

    def _confirm(self, rgb: np.ndarray, palm: Palm) -> Hand | None:
        """The hand over a candidate palm, as the standard detector sees it in a
        crop around the palm (the tighter first, then the wider); None when it sees
        none there."""
        height, width = rgb.shape[:2]
        for palms_wide in CROP_PALMS:
            crop = crop_box(palm, width, height, palms_wide)
            if crop.width < 16 or crop.height < 16:
                continue
            pixels = np.ascontiguousarray(
                rgb[crop.y : crop.y + crop.height, crop.x : crop.x + crop.width]
            )
            hands = [from_crop(h, crop, width, height) for h in self._standard.run(pixels).hands]
            over = [h for h in hands if _contains(h, palm.x, palm.y, width, height)]
            if over:
                return max(over, key=lambda h: h.area(width, height))
        return None


def by_mode(standard: ImageDetector, settings: Settings) -> dict[str, ImageDetector]:
    """A worker's detector for each detection mode, all over its one standard
    detector; the palm detector is gated at MediaPipe's own minimum detection
    confidence."""
    palms = PalmDetector(bundle.palm_detector_model("lite"), settings.min_detection_confidence)
    return {STANDARD: standard, THOROUGH: ThoroughDetector(standard, palms, settings.max_hands)}
