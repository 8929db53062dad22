"""The Open Inference Protocol (/v2) on the real server, called with Triton's HTTP client."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest
import requests
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from hack import version

pytestmark = [pytest.mark.photos, pytest.mark.slow]

MODEL = "hand-landmarker"


@pytest.fixture(scope="module")
def server(start_server):
    with start_server(HANDTRACKER_MAX_UPLOAD_BYTES="2Mi", HANDTRACKER_MAX_PIXELS="4M") as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    client = triton.InferenceServerClient(urlsplit(server.url).netloc)
    yield client
    client.close()


def _infer(client, body: bytes, binary_out: bool = True) -> triton.InferResult:
    image = triton.InferInput("image", [1], "BYTES")
    image.set_data_from_numpy(np.array([body], dtype=np.object_), binary_data=True)
    outputs = [
        triton.InferRequestedOutput(name, binary_data=binary_out)
        for name in ("landmarks", "world_landmarks", "handedness", "scores")
    ]
    return client.infer(MODEL, [image], outputs=outputs)


def test_health_and_metadata_through_the_client(client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(MODEL) and client.is_model_ready(MODEL, "1")
    assert not client.is_model_ready("no-such-model")
    meta = client.get_model_metadata(MODEL)
    assert meta["name"] == MODEL and meta["versions"] == ["1"]
    assert meta["inputs"] == [{"name": "image", "datatype": "BYTES", "shape": [1]}]
    assert {o["name"]: (o["datatype"], o["shape"]) for o in meta["outputs"]} == {
        "landmarks": ("FP32", [-1, 21, 3]),
        "world_landmarks": ("FP32", [-1, 21, 3]),
        "handedness": ("BYTES", [-1]),
        "scores": ("FP32", [-1]),
    }
    server = client.get_server_metadata()
    assert server["extensions"] == ["binary_tensor_data"]
    assert server["version"] == version.read()


@pytest.mark.parametrize("binary_out", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize(
    "name",
    ["mpsamples_hand_thumb_up.jpg", "mpsamples_two_thumbs_up.jpg", "nohand_skimage_rocket.jpg"],
)
def test_infer_gives_the_landmarks_of_v1(server, client, hands_dir: Path, name, binary_out):
    body = (hands_dir / name).read_bytes()
    v1 = server.post("/v1/landmarks", body).json()["hands"]
    result = _infer(client, body, binary_out)
    landmarks = result.as_numpy("landmarks")
    assert landmarks.dtype == np.float32 and landmarks.shape == (len(v1), 21, 3)
    assert result.as_numpy("world_landmarks").shape == (len(v1), 21, 3)
    expected = np.array([[(p["x"], p["y"], p["z"]) for p in h["landmarks"]] for h in v1])
    np.testing.assert_allclose(landmarks, expected.reshape(-1, 21, 3), atol=1e-6)
    world = np.array([[(p["x"], p["y"], p["z"]) for p in h["worldLandmarks"]] for h in v1])
    np.testing.assert_allclose(result.as_numpy("world_landmarks"), world.reshape(-1, 21, 3),
                               atol=1e-6)  # fmt: skip
    # The client gives BYTES elements as bytes from binary data, as str from JSON.
    labels = [h.decode() if isinstance(h, bytes) else h for h in result.as_numpy("handedness")]
    assert labels == [h["handedness"]["label"] for h in v1]
    np.testing.assert_allclose(
        result.as_numpy("scores"), [h["handedness"]["score"] for h in v1], atol=1e-4
    )


def test_a_png_through_the_client(client, hands_dir: Path):
    result = _infer(client, (hands_dir / "mpsamples_thumbs_up_1920.png").read_bytes())
    assert result.as_numpy("landmarks").shape == (1, 21, 3)


def _jpeg(width: int, height: int) -> bytes:
    return cv2.imencode(".jpg", np.full((height, width, 3), 127, np.uint8))[1].tobytes()


def _claiming(jpeg: bytes, width: int, height: int) -> bytes:
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[: sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9 :]


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda photo: photo[: len(photo) // 2], 400, "truncated_image"),
        (lambda photo: b"hello, this is not a picture", 400, "not_an_image"),
        (lambda photo: b"", 400, "empty_body"),
        (lambda photo: b"GIF89a" + b"\0" * 64, 415, "unsupported_media_type"),
        (lambda photo: _claiming(_jpeg(64, 64), 20000, 20000), 413, "too_many_pixels"),
        (lambda photo: _jpeg(8, 8), 422, "unusable_image"),
    ],
    ids=["truncated", "text", "empty", "gif", "pixels", "tiny"],
)
def test_bad_images_get_the_statuses_of_v1(server, client, hands_dir: Path, make, status, code):
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
    with pytest.raises(InferenceServerException) as caught:
        _infer(client, make(photo))
    assert caught.value.status() == str(status)
    v1 = server.post("/v1/landmarks", make(photo))
    assert (v1.status_code, v1.json()["error"]["code"]) == (status, code)
    assert _infer(client, photo).as_numpy("landmarks").shape == (1, 21, 3)  # still serving


def _post(server, body: bytes, headers: dict | None = None, model: str = MODEL):
    return requests.post(f"{server.url}/v2/models/{model}/infer", data=body,
                         headers=headers or {}, timeout=30)  # fmt: skip


def _request(**image_fields) -> dict:
    return {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], **image_fields}]}


def test_a_base64_json_request_gets_json_outputs(server, hands_dir: Path):
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
    body = _request(data=[base64.b64encode(photo).decode()],
                    parameters={"content_type": "base64"})  # fmt: skip
    response = _post(server, json.dumps({**body, "id": "req-1"}).encode())
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    answer = response.json()
    assert answer["model_name"] == MODEL and answer["id"] == "req-1"
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["landmarks"]["shape"] == [1, 21, 3] and len(outputs["landmarks"]["data"]) == 63
    assert outputs["handedness"]["data"] in (["Left"], ["Right"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "bad_tensor"),
        (json.dumps({"inputs": []}).encode(), 400, "bad_tensor"),
        (json.dumps(_request(data=["aGVsbG8="])).encode(), 400, "bad_tensor"),  # no base64 flag
        (json.dumps(_request(data=["!!"], parameters={"content_type": "base64"})).encode(),
         400, "bad_tensor"),
        (json.dumps({**_request(data=["aGk="], parameters={"content_type": "base64"}),
                     "outputs": [{"name": "nope"}]}).encode(), 400, "bad_tensor"),
        (json.dumps({"inputs": [{"name": "image", "datatype": "FP32", "shape": [1],
                                 "data": [1.0]}]}).encode(), 400, "bad_tensor"),
    ],
    ids=["not-json", "no-input", "not-base64-flagged", "bad-base64", "unknown-output", "fp32"],
)  # fmt: skip
def test_malformed_requests_are_400_in_the_protocols_error_shape(server, body, status, code):
    response = _post(server, body)
    assert response.status_code == status
    assert response.json()["code"] == code and isinstance(response.json()["error"], str)


def test_binary_framing_is_checked(server, hands_dir: Path):
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
    head = json.dumps(_request(parameters={"binary_data_size": len(photo) + 4})).encode()
    tensor = struct.pack("<I", len(photo)) + photo
    ok = _post(server, head + tensor, {"Inference-Header-Content-Length": str(len(head))})
    assert ok.status_code == 200
    for header, tail in (
        (str(len(head) + 10**6), tensor),  # header longer than the body
        (str(len(head)), tensor[:-10]),  # fewer bytes than declared
        (str(len(head)), struct.pack("<I", 5) + photo),  # element length lies
        ("-1", tensor),
    ):
        bad = _post(server, head + tail, {"Inference-Header-Content-Length": header})
        assert bad.status_code == 400 and bad.json()["code"] == "bad_tensor", header


def test_limits_unknown_models_and_metrics_match_v1(server, hands_dir: Path):
    big = b"\0" * (3 * 2**20)
    assert _post(server, big).status_code == 413
    missing = _post(server, b"{}", model="nope")
    assert missing.status_code == 404 and missing.json()["code"] == "model_not_found"
    assert requests.get(f"{server.url}/v2/models/{MODEL}/versions/7", timeout=10).status_code == 404
    text = server.get("/metrics").text
    assert 'route="/v2/models/<name>/infer"' in text
    assert 'handtracker_rejected_requests_total{reason="bad_tensor"}' in text
    assert server.logged("Booting worker") == 2  # no worker died on the way
