"""Gesture rules on hands built joint by joint, where the intended pose is known exactly,
and on real photos whose gesture is obvious (with the real detector).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from handtracker_workload import decode, gestures
from handtracker_workload.config import Settings
from handtracker_workload.hands import Hand, Point3
from handtracker_workload.inference import Detector

Vec = tuple[float, float, float]

# A right hand seen palm-on, in palm lengths (wrist to middle MCP = 1), y down,
# negative z towards the camera, as MediaPipe orders its axes.
MCP: dict[str, Vec] = {
    "index": (-0.3, -0.95, 0.0),
    "middle": (0.0, -1.0, 0.0),
    "ring": (0.25, -0.95, 0.0),
    "pinky": (0.45, -0.85, 0.0),
}
SEGMENTS: dict[str, tuple[float, float, float]] = {
    "index": (0.45, 0.27, 0.22),
    "middle": (0.5, 0.3, 0.23),
    "ring": (0.45, 0.28, 0.22),
    "pinky": (0.35, 0.22, 0.2),
}
STRAIGHT = (5.0, 5.0, 5.0)
CURLED = (70.0, 95.0, 60.0)
THUMB_CMC: Vec = (-0.25, -0.2, 0.0)
THUMB_MCP: Vec = (-0.5, -0.4, 0.0)
THUMB_SEGMENTS = (0.35, 0.3)


def _add(a: Vec, b: Vec, k: float = 1.0) -> Vec:
    return (a[0] + k * b[0], a[1] + k * b[1], a[2] + k * b[2])


def _finger(mcp: Vec, lengths: tuple[float, ...], curls: tuple[float, ...]) -> list[Vec]:
    """PIP, DIP and tip of a finger that starts upright and folds towards the camera."""
    points, pos, angle = [], mcp, 0.0
    for length, curl in zip(lengths, curls, strict=True):
        angle += math.radians(curl)
        pos = _add(pos, (0.0, -math.cos(angle), -math.sin(angle)), length)
        points.append(pos)
    return points


def _thumb(direction: tuple[float, float], tip: Vec | None = None) -> list[Vec]:
    """IP and tip of the thumb: straight along direction, or bent to end at tip."""
    if tip is None:
        norm = math.hypot(*direction)
        d = (direction[0] / norm, direction[1] / norm, 0.0)
        ip = _add(THUMB_MCP, d, THUMB_SEGMENTS[0])
        return [ip, _add(ip, d, THUMB_SEGMENTS[1])]
    middle = tuple((a + b) / 2 for a, b in zip(THUMB_MCP, tip, strict=True))
    return [middle, tip]  # type: ignore[list-item]


def make_hand(
    curls: dict[str, tuple[float, float, float]],
    thumb_direction: tuple[float, float] = (-0.8, -0.6),
    thumb_tip: Vec | None = None,
    rotate_degrees: float = 0.0,
) -> Hand:
    """A Hand with the given finger curls, turned in the image plane, in normalised units."""
    pts: list[Vec] = [(0.0, 0.0, 0.0), THUMB_CMC, THUMB_MCP]
    pts += _thumb(thumb_direction, thumb_tip)
    for name in ("index", "middle", "ring", "pinky"):
        chain = _finger(MCP[name], SEGMENTS[name], curls.get(name, STRAIGHT))
        pts += [MCP[name], *chain]
    r = math.radians(rotate_degrees)
    cos, sin = math.cos(r), math.sin(r)
    scale, cx, cy = 0.2, 0.5, 0.7
    landmarks = tuple(
        Point3(cx + scale * (x * cos - y * sin), cy + scale * (x * sin + y * cos), scale * z)
        for x, y, z in pts
    )
    return Hand(handedness="Right", score=0.99, landmarks=landmarks, world_landmarks=landmarks)


ALL_CURLED = {n: CURLED for n in ("index", "middle", "ring", "pinky")}
# The thumb folded across the curled fingers, as in a fist.
THUMB_ACROSS: Vec = (-0.05, -0.6, -0.3)


OK_INDEX = (40.0, 70.0, 40.0)  # folded into a ring with the thumb
PINCH_INDEX = (15.0, 35.0, 20.0)  # bent towards the thumb, not folded


def _index_tip(curls: tuple[float, float, float]) -> Vec:
    return _finger(MCP["index"], SEGMENTS["index"], curls)[-1]


CASES = {
    "open_palm": make_hand({}),
    "fist": make_hand(ALL_CURLED, thumb_tip=THUMB_ACROSS),
    "pointing": make_hand(
        {"middle": CURLED, "ring": CURLED, "pinky": CURLED}, thumb_tip=THUMB_ACROSS
    ),
    "victory": make_hand({"ring": CURLED, "pinky": CURLED}, thumb_tip=THUMB_ACROSS),
    # Knuckles turned to face the side, thumb sticking up (or down).
    "thumbs_up": make_hand(ALL_CURLED, thumb_direction=(-1.0, -0.1), rotate_degrees=90),
    "thumbs_down": make_hand(ALL_CURLED, thumb_direction=(-1.0, -0.1), rotate_degrees=-90),
    # Index bent to meet the thumb, the other three up.
    "ok": make_hand(
        {"index": OK_INDEX},
        thumb_tip=_add(_index_tip(OK_INDEX), (0.03, 0.02, 0.0)),
    ),
    # Index and thumb meet, the other three folded.
    "pinch": make_hand(
        {"index": PINCH_INDEX, "middle": CURLED, "ring": CURLED, "pinky": CURLED},
        thumb_tip=_add(_index_tip(PINCH_INDEX), (0.03, 0.02, 0.0)),
    ),
}


@pytest.mark.parametrize("expected", sorted(CASES))
def test_each_pose_gets_its_label(expected: str) -> None:
    assert gestures.label(CASES[expected]) == expected


@pytest.mark.parametrize("degrees", [-30, -10, 10, 30])
def test_labels_survive_a_tilted_hand(degrees: float) -> None:
    for expected in ("open_palm", "fist", "pointing", "victory", "ok", "pinch"):
        hand = CASES[expected]
        tilted = make_hand_from(hand, degrees)
        assert gestures.label(tilted) == expected, (expected, degrees)


def make_hand_from(hand: Hand, degrees: float) -> Hand:
    """The same hand turned about the image centre of its landmarks."""
    r = math.radians(degrees)
    cos, sin = math.cos(r), math.sin(r)
    cx, cy = 0.5, 0.6
    pts = tuple(
        Point3(
            cx + (p.x - cx) * cos - (p.y - cy) * sin, cy + (p.x - cx) * sin + (p.y - cy) * cos, p.z
        )
        for p in hand.landmarks
    )
    return Hand(hand.handedness, hand.score, pts, pts)


def test_labels_do_not_depend_on_hand_size() -> None:
    for expected, hand in CASES.items():
        small = Hand(
            hand.handedness,
            hand.score,
            tuple(Point3(0.1 + p.x / 4, 0.1 + p.y / 4, p.z / 4) for p in hand.landmarks),
            hand.world_landmarks,
        )
        assert gestures.label(small) == expected


def test_rock_sign_is_unknown() -> None:
    hand = make_hand({"middle": CURLED, "ring": CURLED}, thumb_tip=THUMB_ACROSS)
    assert gestures.label(hand) == gestures.UNKNOWN


def test_half_bent_fingers_are_undecided() -> None:
    half = (30.0, 30.0, 20.0)
    hand = make_hand({n: half for n in ("index", "middle", "ring", "pinky")})
    s = gestures.shape(hand)
    assert s is not None and not s.extended and not s.curled
    assert gestures.label(hand) == gestures.UNKNOWN


def test_fist_with_thumb_sideways_is_not_thumbs_up() -> None:
    hand = make_hand(ALL_CURLED, thumb_direction=(-1.0, 0.0))
    assert gestures.label(hand) == gestures.UNKNOWN


def test_image_aspect_is_taken_into_account() -> None:
    # In a tall 300x900 image the same hand spans three times more of the
    # normalised x axis; the rules must see it in pixels to recognise it.
    hand = CASES["thumbs_up"]
    tall = Hand(
        hand.handedness,
        hand.score,
        tuple(Point3(p.x * 3, p.y, p.z * 3) for p in hand.landmarks),
        hand.world_landmarks,
    )
    assert gestures.label(tall, image_size=(300, 900)) == "thumbs_up"
    assert gestures.label(tall) != "thumbs_up"


def test_degenerate_landmarks_are_unknown() -> None:
    zero = tuple(Point3(0.5, 0.5, 0.0) for _ in range(21))
    assert gestures.label(Hand("Left", 0.9, zero, zero)) == gestures.UNKNOWN
    assert gestures.label(Hand("Left", 0.9, zero[:5], zero[:5])) == gestures.UNKNOWN


def test_every_label_is_listed() -> None:
    produced = {gestures.label(h) for h in CASES.values()} | {gestures.UNKNOWN}
    assert produced == set(gestures.LABELS)


# ---- real photos, real detector ----

# Photos whose gesture is obvious to a person, with the label for every hand
# the detector finds in them.
PHOTOS = {
    "mpsamples_hand_thumb_up.jpg": ["thumbs_up"],
    "mpsamples_thumbs_up_1920.png": ["thumbs_up"],
    "hagrid_tile_r4c7.jpg": ["thumbs_up"],
    "onehand10k_1402.jpg": ["ok"],
    "openpose_hand.jpg": ["ok"],
    "onehand10k_784.jpg": ["pinch"],
    "tfjs_hands.jpg": ["open_palm", "open_palm"],
}


@pytest.fixture(scope="module")
def photo_detector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Detector]:
    detector = Detector(Settings(model_bundle_dir=tmp_path_factory.mktemp("models")))
    yield detector
    detector.close()


@pytest.mark.photos
@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_the_gesture_of_each_hand_in_a_photo_is_the_expected_one(
    name: str, photo_detector: Detector, hands_dir: Path,
) -> None:
    data = (hands_dir / name).read_bytes()
    image = decode.to_rgb(data, decode.Limits(max_bytes=2**26, max_pixels=10**8))
    hands = photo_detector.detect(decode.for_detection(image.rgb))
    labels = sorted(gestures.label(h, (image.width, image.height)) for h in hands)
    assert labels == PHOTOS[name]
