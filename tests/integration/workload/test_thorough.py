"""Thorough detection mode on the real photos, through the Flask app (in-process):
every image route and /v2 infer, the small hands it adds, and none on photos
without hands."""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from handtracker_workload import create_app

from tests.integration.workload.test_photos import NO_HANDS, _nearest_truth, landmarks_json

pytestmark = pytest.mark.photos

# Two people at 1280x720: one full-frame pass finds neither's hands.
PEOPLE = "panoptic_mpii_005880453_01.jpg"
# A close-up hand (85 px in a 224 px photo), shrunk into a 1080p frame below.
CLOSE_UP = "freihand_00000355.jpg"


def _post(client, path: str, body: bytes, mode: str | None, **kwargs):
    query = "" if mode is None else f"?mode={mode}"
    return client.post(path + query, data=body, content_type="image/jpeg", **kwargs)


def _pixels(hand: dict) -> np.ndarray:
    return np.array([(p["x"], p["y"]) for p in hand["pixel"]])


@pytest.fixture(scope="module")
def small_hand_frame(hands_dir: Path, groundtruth: dict) -> tuple[bytes, list[dict]]:
    """CLOSE_UP shrunk so its hand is 80 px wide or tall, on a grey 1920x1080
    frame, as JPEG; with its ground truth moved into the frame."""
    photo = cv2.imread(str(hands_dir / CLOSE_UP))
    (truth,) = groundtruth[CLOSE_UP]
    points = np.array(truth["points"], float)
    scale = 80 / float((points.max(axis=0) - points.min(axis=0)).max())
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((1080, 1920, 3), 114, np.uint8)
    x0, y0 = 1300, 600
    frame[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    moved = {**truth, "points": (points * scale + [x0, y0]).tolist()}
    return cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes(), [moved]


def test_thorough_finds_a_small_hand_standard_misses_with_landmarks_on_the_truth(
    client, small_hand_frame
) -> None:
    body, truths = small_hand_frame
    standard = _post(client, "/v1/landmarks", body, "standard").json
    found = _post(client, "/v1/landmarks", body, "thorough").json
    assert standard["hands"] == []
    (hand,) = found["hands"]
    error, size, _ = _nearest_truth(_pixels(hand), truths)
    assert error < 0.2 * size, (error, size)
    # The same JSON shape as a standard answer's hands, and gestures are labelled.
    assert set(hand) == {
        "handedness", "gesture", "landmarks", "pixel", "worldLandmarks", "boundingBox"
    }  # fmt: skip
    assert hand["handedness"]["label"] in ("Left", "Right") and hand["gesture"]
    assert [round(p["x"] * 1920, 2) for p in hand["landmarks"]] == [p["x"] for p in hand["pixel"]]


def test_thorough_adds_a_hand_of_the_people_photo_and_it_is_on_the_truth(
    client, hands_dir: Path, groundtruth: dict
) -> None:
    body = (hands_dir / PEOPLE).read_bytes()
    assert _post(client, "/v1/landmarks", body, None).json["hands"] == []  # standard by default
    hands = _post(client, "/v1/landmarks", body, "thorough").json["hands"]
    assert hands
    for hand in hands:
        error, size, _ = _nearest_truth(_pixels(hand), groundtruth[PEOPLE])
        assert error < 0.2 * size, (error, size)


@pytest.mark.parametrize("name", NO_HANDS)
def test_thorough_finds_no_hand_in_photos_without_one(client, hands_dir: Path, name: str):
    kind = "image/png" if name.endswith(".png") else "image/jpeg"
    response = client.post(
        "/v1/landmarks?mode=thorough", data=(hands_dir / name).read_bytes(), content_type=kind
    )
    assert response.status_code == 200 and response.json["hands"] == []


def test_annotate_and_predict_draw_every_hand_thorough_finds(client, hands_dir: Path) -> None:
    body = (hands_dir / PEOPLE).read_bytes()
    plain = _post(client, "/v1/annotate", body, "standard")
    drawn = _post(client, "/v1/annotate", body, "thorough")
    assert plain.headers["X-Hands-Detected"] == "0"
    assert int(drawn.headers["X-Hands-Detected"]) >= 1
    # The skeleton's pixels: the thorough image differs from the plain one.
    plain_rgb = cv2.imdecode(np.frombuffer(plain.data, np.uint8), cv2.IMREAD_COLOR)
    drawn_rgb = cv2.imdecode(np.frombuffer(drawn.data, np.uint8), cv2.IMREAD_COLOR)
    assert (np.abs(plain_rgb.astype(int) - drawn_rgb).max(axis=2) > 60).sum() > 200
    predicted = client.post(
        "/predict?mode=thorough",
        data={"image": (io.BytesIO((hands_dir / PEOPLE).read_bytes()), PEOPLE)},
        content_type="multipart/form-data",
    )
    assert predicted.status_code == 200
    assert predicted.headers["X-Hands-Detected"] == drawn.headers["X-Hands-Detected"]


def _v2(client, body: bytes, parameters: dict) -> tuple[int, dict]:
    request = {
        "inputs": [{
            "name": "image", "datatype": "BYTES", "shape": [1],
            "data": [base64.b64encode(body).decode()],
            "parameters": {"content_type": "base64"},
        }],
        "parameters": parameters,
    }  # fmt: skip
    response = client.post("/v2/models/hand-landmarker/infer", data=json.dumps(request))
    return response.status_code, response.json


def test_v2_infer_takes_the_mode_as_a_request_parameter(client, hands_dir: Path) -> None:
    body = (hands_dir / PEOPLE).read_bytes()
    status, standard = _v2(client, body, {})
    assert status == 200
    status, found = _v2(client, body, {"mode": "thorough"})
    assert status == 200
    shapes = {o["name"]: o["shape"] for o in found["outputs"]}
    assert {o["name"]: o["shape"] for o in standard["outputs"]}["landmarks"] == [0, 21, 3]
    assert shapes["landmarks"][0] >= 1 and shapes["landmarks"][1:] == [21, 3]


@pytest.mark.parametrize("mode", ["fast", "THOROUGH", ""])
def test_an_unknown_mode_is_a_400_on_every_route(client, hands_dir: Path, mode: str) -> None:
    body = (hands_dir / PEOPLE).read_bytes()
    for path in ("/v1/landmarks", "/v1/annotate"):
        response = _post(client, path, body, mode)
        assert response.status_code == 400, path
        assert response.json["error"]["code"] == "bad_mode"
    predicted = client.post(
        f"/predict?mode={mode}",
        data={"image": (io.BytesIO((hands_dir / PEOPLE).read_bytes()), PEOPLE)},
        content_type="multipart/form-data",
    )
    assert predicted.status_code == 400 and predicted.json["error"]["code"] == "bad_mode"
    status, answer = _v2(client, body, {"mode": mode})
    assert status == 400 and answer["code"] == "bad_mode" and mode in answer["error"]


def test_a_mode_that_is_not_a_string_is_a_bad_tensor_request(client, hands_dir: Path) -> None:
    status, answer = _v2(client, (hands_dir / PEOPLE).read_bytes(), {"mode": 2})
    assert status == 400 and answer["code"] == "bad_tensor"


def test_the_service_default_mode_applies_when_a_request_names_none(
    settings, detector, hands_dir: Path
) -> None:
    app = create_app(replace(settings, detection_mode="thorough"), detector=detector)
    client = app.test_client()
    body = (hands_dir / PEOPLE).read_bytes()
    assert _post(client, "/v1/landmarks", body, None).json["hands"]
    assert _post(client, "/v1/landmarks", body, "standard").json["hands"] == []
    page = app.test_client().get("/").text
    config = re.search(r'id="page-config">(.*?)</script>', page, re.S)
    assert config and json.loads(config.group(1))["thorough"] is True  # the UI's switch is on


def test_max_hands_keeps_the_largest_hands(settings, detector, hands_dir: Path) -> None:
    # Two hands of different sizes; with maxHands 1 thorough keeps the larger.
    path = hands_dir / "tfjs_hands.jpg"
    both = landmarks_json(create_app(settings, detector=detector).test_client(), path)["hands"]
    assert len(both) == 2
    one = create_app(replace(settings, max_hands=1), detector=detector).test_client()
    (kept,) = _post(one, "/v1/landmarks", path.read_bytes(), "thorough").json["hands"]

    def area(hand: dict) -> float:
        return hand["boundingBox"]["width"] * hand["boundingBox"]["height"]

    assert area(kept) == pytest.approx(max(area(h) for h in both), rel=0.05)


def test_the_metrics_count_thorough_requests_under_their_own_label(client, hands_dir) -> None:
    def count(text: str) -> float:
        for line in text.splitlines():
            if line.startswith("handtracker_hands_detected_count") and 'mode="thorough"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = count(client.get("/metrics").text)
    _post(client, "/v1/landmarks", (hands_dir / PEOPLE).read_bytes(), "thorough")
    assert count(client.get("/metrics").text) == before + 1
