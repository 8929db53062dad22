from __future__ import annotations

from handtracker_workload.hands import LANDMARK_NAMES, Hand, Point3
from handtracker_workload.pipeline import hand_json


def test_landmark_names_are_mediapipe_order():
    assert len(LANDMARK_NAMES) == 21
    assert LANDMARK_NAMES[0] == "WRIST" and LANDMARK_NAMES[4] == "THUMB_TIP"
    assert LANDMARK_NAMES[8] == "INDEX_FINGER_TIP" and LANDMARK_NAMES[20] == "PINKY_TIP"


def test_hand_json_gives_pixels_and_a_clipped_box():
    points = tuple(Point3(0.1 + i * 0.04, 0.2 + i * 0.03, -0.01 * i) for i in range(21))
    points = points[:20] + (Point3(1.2, 0.5, 0.0),)  # one joint outside the photo
    body = hand_json(Hand("Left", 0.987654, points, points, gesture="open_palm"), 200, 100)
    assert body["handedness"] == {"label": "Left", "score": 0.9877}
    assert body["gesture"] == "open_palm"
    assert [p["name"] for p in body["landmarks"]] == list(LANDMARK_NAMES)
    assert body["pixel"][0] == {"name": "WRIST", "x": 20.0, "y": 20.0}
    assert body["pixel"][20]["x"] == 240.0
    box = body["boundingBox"]
    assert box["x"] == 20.0 and box["x"] + box["width"] == 200.0
    assert len(body["worldLandmarks"]) == 21
