"""The real server (gunicorn, 2 workers) under bad input and concurrent load."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
from handtracker_workload import __main__, bundle
from handtracker_workload.config import Settings

pytestmark = [pytest.mark.photos, pytest.mark.slow]

PHOTOS = (
    "mpsamples_hand_thumb_up.jpg",
    "tfjs_hands.jpg",
    "hagrid_tile_r2c4.jpg",
    "onehand10k_1402.jpg",
    "nohand_skimage_rocket.jpg",
    "openpose_hand.jpg",
    "freihand_00000355.jpg",
    "hamer_test5.jpg",
)


@pytest.fixture(scope="module")
def server(start_server):
    with start_server(HANDTRACKER_MAX_UPLOAD_BYTES="2Mi", HANDTRACKER_MAX_PIXELS="4M") as srv:
        yield srv


def _jpeg(width: int, height: int, quality: int = 90) -> bytes:
    image = np.full((height, width, 3), 127, np.uint8)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def _claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """The same file with a frame header claiming another size: only a reader
    that trusts the header before decoding can tell it is too big."""
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[: sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9 :]


def _bad_inputs(photo: bytes, png: bytes) -> list[tuple[str, dict, int, str]]:
    gif = b"GIF89a\x10\x00\x10\x00\x80\x00\x00" + b"\x00" * 32
    return [
        ("empty", {"data": b""}, 400, "empty_body"),
        ("text as jpeg", {"data": b"hello, this is not a picture"}, 400, "not_an_image"),
        ("truncated jpeg", {"data": photo[: len(photo) // 2]}, 400, "truncated_image"),
        ("header-only jpeg", {"data": photo[:600]}, 400, "truncated_image"),
        ("truncated png", {"data": png[: len(png) // 2], "content_type": "image/png"},
         400, "truncated_image"),
        ("gif body", {"data": gif}, 415, "unsupported_media_type"),
        ("gif content type", {"data": photo, "content_type": "image/gif"},
         415, "unsupported_media_type"),
        ("text content type", {"data": b"abc", "content_type": "text/plain"},
         415, "unsupported_media_type"),
        ("too many bytes", {"data": photo + b"\0" * (2 * 2**20)}, 413, "payload_too_large"),
        ("too many pixels", {"data": _claiming(_jpeg(64, 64), 20000, 20000)},
         413, "too_many_pixels"),
        ("real 5 MP jpeg", {"data": _jpeg(2500, 2000, 20)}, 413, "too_many_pixels"),
        ("tiny image", {"data": _jpeg(8, 8)}, 422, "unusable_image"),
    ]  # fmt: skip


def test_every_bad_input_gets_its_error_and_the_server_keeps_answering(server, hands_dir):
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
    png = (hands_dir / "nohand_skimage_chelsea.png").read_bytes()
    for name, request, status, code in _bad_inputs(photo, png):
        for path in ("/v1/landmarks", "/v1/annotate"):
            response = server.post(path, **request)
            assert response.status_code == status, (name, path, response.text)
            assert response.headers["Content-Type"] == "application/json", name
            assert response.json()["error"]["code"] == code, name
            assert response.json()["error"]["message"], name
            follow_up = server.post("/v1/landmarks", photo)
            assert follow_up.status_code == 200, (name, follow_up.text)
            assert len(follow_up.json()["hands"]) == 1
    assert server.logged("Booting worker") == 2  # no worker died and was replaced


def test_multipart_uploads_and_the_compat_route(server, hands_dir):
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
    files = {"image": ("hand.jpg", photo, "image/jpeg")}
    response = requests.post(server.url + "/v1/landmarks", files=files, timeout=30)
    assert response.status_code == 200 and len(response.json()["hands"]) == 1
    response = requests.post(server.url + "/predict", files=files, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(response.content, np.uint8), 1).shape == (521, 640, 3)
    response = requests.post(server.url + "/v1/landmarks", files={"other": photo}, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["code"] == "missing_image"
    big = {"image": ("big.jpg", photo + b"\0" * (2 * 2**20), "image/jpeg")}
    response = requests.post(server.url + "/v1/landmarks", files=big, timeout=30)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def _scrape(server) -> str:
    response = server.get("/metrics")
    assert response.status_code == 200
    return response.text


def _value(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        metric, _, label_text = sample.partition("{")
        got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if metric == name and got == want:
            return float(value)
    return 0.0


def test_concurrent_requests_match_sequential_ones_and_are_counted(start_server, hands_dir):
    bodies = {name: (hands_dir / name).read_bytes() for name in PHOTOS}
    with start_server() as server:
        sequential = {}
        for name, body in bodies.items():
            response = server.post("/v1/landmarks", body)
            assert response.status_code == 200
            sequential[name] = response.json()["hands"]
        assert any(sequential.values()) and not all(sequential.values())

        names = [PHOTOS[i % len(PHOTOS)] for i in range(200)]

        def call(name: str) -> tuple[str, int, list]:
            response = server.post("/v1/landmarks", bodies[name])
            return name, response.status_code, response.json().get("hands")

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, names))

        assert Counter(status for _, status, _ in results) == {200: 200}
        for name, _, hands in results:
            assert hands == sequential[name], name

        text = _scrape(server)
        labels = {"route": "/v1/landmarks", "method": "POST", "code": "200"}
        assert _value(text, "handtracker_http_requests_total", **labels) == 200 + len(PHOTOS)
        assert _value(text, "handtracker_http_request_duration_seconds_count",
                      route="/v1/landmarks") == 200 + len(PHOTOS)  # fmt: skip
        assert _value(text, "handtracker_inference_duration_seconds_count",
                      model="full", mode="standard") == 208  # fmt: skip
        assert _value(text, "handtracker_hands_detected_count", mode="standard") == 208
        assert _value(text, "handtracker_image_decode_duration_seconds_count") == 208
        assert _value(text, "handtracker_inflight_requests") == 0
        # Both workers served part of the load, and the scrape saw all of it.
        pids = {
            entry["pid"]
            for entry in map(json.loads, _json_lines(server.log))
            if entry.get("route") == "/v1/landmarks"
        }
        assert len(pids) == 2


def _json_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("{")]


# One worker, one request in flight, up to eight waiting.
ONE_SLOT = {
    "HANDTRACKER_WORKERS": "1",
    "HANDTRACKER_MAX_INFLIGHT": "1",
    "HANDTRACKER_MAX_QUEUE": "8",
}


def _annotate_together(server, body: bytes, count: int) -> list[requests.Response]:
    def call(_: int) -> requests.Response:
        return server.post("/v1/annotate", body, "image/png", headers={"Accept": "image/png"})

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(call, range(count)))


def test_without_a_queue_overload_answers_503_with_retry_after(start_server, hands_dir):
    body = (hands_dir / "mpsamples_thumbs_up_1920.png").read_bytes()
    env = {
        "HANDTRACKER_WORKERS": "1",
        "HANDTRACKER_MAX_INFLIGHT": "1",
        "HANDTRACKER_MAX_QUEUE": "0",
    }
    with start_server(**env) as server:
        responses = _annotate_together(server, body, 8)
        statuses = Counter(r.status_code for r in responses)
        assert statuses[200] >= 1 and statuses[503] >= 1, statuses
        assert set(statuses) == {200, 503}
        for response in responses:
            if response.status_code == 503:
                assert int(response.headers["Retry-After"]) >= 1
                assert response.json()["error"]["code"] == "overloaded"
                # The client reconnects, and its retry can go to a less busy worker.
                assert response.headers["Connection"] == "close"
            else:
                assert response.headers.get("Connection", "keep-alive") == "keep-alive"
        assert server.post("/v1/landmarks", body, "image/png").status_code == 200
        text = _scrape(server)
        assert (
            _value(text, "handtracker_rejected_requests_total", reason="overloaded")
            == (statuses[503])
        )


def test_a_burst_waits_in_the_queue_instead_of_being_refused(start_server, hands_dir):
    body = (hands_dir / "mpsamples_thumbs_up_1920.png").read_bytes()
    with start_server(**ONE_SLOT, HANDTRACKER_QUEUE_TIMEOUT="30") as server:
        responses = _annotate_together(server, body, 8)
        assert Counter(r.status_code for r in responses) == {200: 8}
        text = _scrape(server)
        assert _value(text, "handtracker_queue_wait_seconds_count") == 8
        # One ran at once; the others waited for it in turn.
        assert _value(text, "handtracker_queue_wait_seconds_bucket", le="0.0") < 8
        assert _value(text, "handtracker_queue_wait_seconds_sum") > 0
        assert _value(text, "handtracker_queue_depth") == 0
        assert _value(text, "handtracker_inflight_requests") == 0


def test_a_request_that_waits_past_the_deadline_gets_503(start_server, hands_dir):
    body = (hands_dir / "mpsamples_thumbs_up_1920.png").read_bytes()
    with start_server(**ONE_SLOT, HANDTRACKER_QUEUE_TIMEOUT="0.05") as server:
        responses = _annotate_together(server, body, 8)
        refused = [r for r in responses if r.status_code == 503]
        assert refused and len(refused) < 8, Counter(r.status_code for r in responses)
        for response in refused:
            assert response.json()["error"]["code"] == "overloaded"
            assert "0.05 s" in response.json()["error"]["message"]
            assert int(response.headers["Retry-After"]) >= 1
        # Every admitted request waited at most the deadline.
        text = _scrape(server)
        admitted = _value(text, "handtracker_queue_wait_seconds_count")
        assert admitted == 8 - len(refused)
        assert _value(text, "handtracker_queue_wait_seconds_bucket", le="0.1") == admitted


def test_sigterm_lets_the_request_in_flight_finish(start_server, hands_dir):
    image = cv2.imread(str(hands_dir / "mpsamples_thumbs_up_1920.png"))
    body = cv2.imencode(".png", cv2.resize(image, (4000, 2667)))[1].tobytes()
    env = {"HANDTRACKER_WORKERS": "1", "HANDTRACKER_MAX_UPLOAD_BYTES": "64Mi"}
    with start_server(**env) as server, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            server.post, "/v1/annotate", body, "image/png", headers={"Accept": "image/png"}
        )
        for _ in range(200):
            if _value(_scrape(server), "handtracker_inflight_requests") >= 1:
                break
        else:
            pytest.fail("the request never started")
        server.process.terminate()
        response = pending.result(timeout=60)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        assert server.process.wait(timeout=30) == 0
        assert server.logged("Shutting down") >= 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HANDTRACKER_MAX_HANDS", "9"),
        ("HANDTRACKER_MODEL_COMPLEXITY", "huge"),
        ("HANDTRACKER_MAX_SESSIONS", "-1"),
        ("HANDTRACKER_SESSION_IDLE_SECONDS", "soon"),
        ("HANDTRACKER_VIDEO_MAX_SECONDS", "0"),
        ("HANDTRACKER_VIDEO_MAX_BYTES", "50MB"),
    ],
)
def test_an_invalid_setting_stops_the_server_naming_the_variable(variable, value):
    env = {**os.environ, variable: value}
    done = subprocess.run(
        [sys.executable, "-m", "handtracker_workload", "--bind", "127.0.0.1:1"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{variable}={value!r} is invalid" in done.stderr


def test_a_missing_bundle_is_built_in_tmp_when_its_directory_is_unusable(tmp_path, hands_dir):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    assert __main__.bundle_dir(Settings(model_bundle_dir=blocker / "models")) == (
        __main__.FALLBACK_BUNDLE_DIR
    )
    assert (__main__.FALLBACK_BUNDLE_DIR / "hand_landmarker_full.task").is_file()


def test_logs_are_json_lines_with_each_request(server, hands_dir):
    assert server.post("/v1/landmarks", (hands_dir / "openpose_hand.jpg").read_bytes()).ok
    entries = [json.loads(line) for line in _json_lines(server.log)]
    assert entries and all({"time", "level", "logger", "message", "pid"} <= set(e) for e in entries)
    requests_logged = [e for e in entries if e["message"] == "Answered request"]
    assert any(
        e["route"] == "/v1/landmarks" and e["status"] == 200 and e["durationMs"] > 0
        for e in requests_logged
    )
    assert any(e["logger"] == "gunicorn.error" for e in entries)  # the server's own lines too
    assert not any(e["logger"] == "gunicorn.access" for e in entries)  # the app logs requests


def test_a_pinned_model_path_is_served_and_named_in_every_answer(start_server, hands_dir, tmp_path):
    """A bundle copied in from elsewhere (as an init container does), pinned by digest."""
    path = bundle.build(tmp_path, "lite").rename(tmp_path / "hand_landmarker.task")
    digest = bundle.sha256_of(path)
    env = {"HANDTRACKER_MODEL_PATH": str(path), "HANDTRACKER_MODEL_SHA256": digest,
           "HANDTRACKER_MODEL_REVISION": "hands-3f2a9c1d", "HANDTRACKER_WORKERS": "1"}
    with start_server(**env) as server:
        ready = server.get("/readyz").json()["model"]
        answer = server.post("/v1/landmarks", (hands_dir / "openpose_hand.jpg").read_bytes())
        entries = [json.loads(line) for line in _json_lines(server.log)]
    assert (ready["sha256"], ready["revision"]) == (digest, "hands-3f2a9c1d")
    assert answer.ok and answer.json()["model"] == ready and answer.json()["hands"]
    (verified,) = [e for e in entries if e.get("event") == "model_verified"]
    assert (verified["path"], verified["sha256"]) == (str(path), digest)


def test_the_builtin_bundle_is_reported_by_its_digest(server, bundle_dir):
    builtin = bundle_dir / bundle.bundle_name("full")
    assert server.get("/readyz").json()["model"]["sha256"] == bundle.sha256_of(builtin)
