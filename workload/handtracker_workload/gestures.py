"""Rule-based gesture labels from the 21 landmarks of one hand.

No model is involved: each finger is judged extended or curled from the angles
at its joints and from how far its tip is from the wrist, the thumb from how far
its tip is from the palm, and the labels follow from those states plus the
distance between the thumb and index tips. This is cheap (microseconds per
hand), explainable, and good enough for a demo UI; it is not a trained
gesture recogniser.

The geometry uses the image landmarks scaled to pixels (x by width, y by
height, z by width, as MediaPipe defines z), because the world landmarks are
noticeably less reliable for hands seen from the back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .hands import FINGERS, Hand

OPEN_PALM = "open_palm"
FIST = "fist"
POINTING = "pointing"
VICTORY = "victory"
THUMBS_UP = "thumbs_up"
THUMBS_DOWN = "thumbs_down"
OK = "ok"
PINCH = "pinch"
UNKNOWN = "unknown"

# Every label label() can return, in the order the documentation lists them.
LABELS: tuple[str, ...] = (
    OPEN_PALM, FIST, POINTING, VICTORY, THUMBS_UP, THUMBS_DOWN, OK, PINCH, UNKNOWN,
)  # fmt: skip

# Sum of the bend angles (degrees) at a finger's MCP, PIP and DIP joints. A
# relaxed open finger bends 15-60 degrees in total, a curled one 150-250; the
# band between is left undecided on purpose so that half-bent fingers give
# "unknown" rather than a wrong label.
EXTENDED_MAX_BEND = 75.0
CURLED_MIN_BEND = 95.0

# Distances below are in units of the palm length (wrist to middle-finger MCP),
# which makes them independent of how big the hand is in the image.
TOUCH_MAX = 0.4  # thumb tip to index tip when the two touch (OK, pinch)
THUMB_OUT_MIN = 0.85  # thumb tip to middle-finger MCP when the thumb sticks out
# |cos| of the thumb's angle to the vertical for "up"/"down" (0.5 = within 60 degrees).
THUMB_VERTICAL_MIN = 0.5

_Vec = tuple[float, float, float]


@dataclass(frozen=True)
class HandShape:
    """What the rules look at, kept separate so tests and the UI can show it."""

    extended: frozenset[str]  # of index, middle, ring, pinky
    curled: frozenset[str]
    thumb_out: bool
    thumb_up: float  # +1 tip straight up in the image, -1 straight down
    touch: float  # thumb tip to index tip, in palm lengths


def _sub(a: _Vec, b: _Vec) -> _Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _norm(v: _Vec) -> float:
    return math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


def _angle(u: _Vec, v: _Vec) -> float:
    """Angle between two vectors in degrees (0 when they point the same way)."""
    nu, nv = _norm(u), _norm(v)
    if nu == 0.0 or nv == 0.0:
        return 0.0
    cos = (u[0] * v[0] + u[1] * v[1] + u[2] * v[2]) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _points(hand: Hand, width: float, height: float) -> list[_Vec]:
    return [(p.x * width, p.y * height, p.z * width) for p in hand.landmarks]


def shape(hand: Hand, image_size: tuple[int, int] | None = None) -> HandShape | None:
    """Finger states of a hand; None when the landmarks are degenerate.

    image_size is (width, height) of the image the landmarks are normalised to;
    without it the image is taken as square, which only matters for very
    elongated frames.
    """
    if len(hand.landmarks) != 21:
        return None
    width, height = image_size or (1, 1)
    pts = _points(hand, float(width), float(height))
    wrist = pts[0]
    palm = _norm(_sub(pts[9], wrist))
    if palm == 0.0:
        return None

    extended: set[str] = set()
    curled: set[str] = set()
    for name, (mcp, pip, dip, tip) in FINGERS.items():
        if name == "thumb":
            continue
        chain = [wrist, pts[mcp], pts[pip], pts[dip], pts[tip]]
        bend = sum(
            _angle(_sub(chain[i + 1], chain[i]), _sub(chain[i + 2], chain[i + 1])) for i in range(3)
        )
        # A tip nearer the wrist than the PIP joint is folded whatever the
        # angles say (they can be understated when the finger points at the camera).
        folded_back = _norm(_sub(pts[tip], wrist)) < _norm(_sub(pts[pip], wrist))
        if bend >= CURLED_MIN_BEND or folded_back:
            curled.add(name)
        elif bend <= EXTENDED_MAX_BEND:
            extended.add(name)

    thumb_tip, thumb_mcp = pts[4], pts[2]
    thumb_out = _norm(_sub(thumb_tip, pts[9])) / palm >= THUMB_OUT_MIN
    direction = _sub(thumb_tip, thumb_mcp)
    planar = math.hypot(direction[0], direction[1])
    thumb_up = -direction[1] / planar if planar else 0.0
    touch = _norm(_sub(thumb_tip, pts[8])) / palm
    return HandShape(frozenset(extended), frozenset(curled), thumb_out, thumb_up, touch)


def classify(s: HandShape) -> str:
    """The label for a hand shape (see LABELS)."""
    others = {"middle", "ring", "pinky"}
    if s.touch <= TOUCH_MAX:
        # OK: thumb and index form a ring while the other three stay up.
        if others <= s.extended:
            return OK
        # Pinch: thumb and index meet, the rest are not splayed out, and the
        # index is not folded into the palm (in a fist the thumb tip rests
        # near the index tip too).
        if "index" not in s.curled and not s.extended & others:
            return PINCH
    fingers = {"index", "middle", "ring", "pinky"}
    if s.extended == fingers:
        return OPEN_PALM
    if s.curled == fingers:
        if s.thumb_out and s.thumb_up >= THUMB_VERTICAL_MIN:
            return THUMBS_UP
        if s.thumb_out and s.thumb_up <= -THUMB_VERTICAL_MIN:
            return THUMBS_DOWN
        return FIST if not s.thumb_out else UNKNOWN
    if s.extended == {"index"} and s.curled == others:
        return POINTING
    if s.extended == {"index", "middle"} and s.curled == {"ring", "pinky"}:
        return VICTORY
    return UNKNOWN


def label(hand: Hand, image_size: tuple[int, int] | None = None) -> str:
    """The gesture of one hand: one of LABELS."""
    s = shape(hand, image_size)
    return classify(s) if s is not None else UNKNOWN


def labelled(hands: Iterable[Hand], image_size: tuple[int, int] | None = None) -> tuple[Hand, ...]:
    """The hands with their gesture set: the per-hand post-processing every route shares."""
    return tuple(replace(hand, gesture=label(hand, image_size)) for hand in hands)
