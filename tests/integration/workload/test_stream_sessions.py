"""Live sessions over the WebSocket of the real server: tracking, the count limit, idle timeout."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import cv2
import pytest
import websocket

pytestmark = [pytest.mark.photos, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(start_server):
    with start_server(
        HANDTRACKER_WORKERS="1",
        HANDTRACKER_MAX_SESSIONS="2",
        HANDTRACKER_SESSION_IDLE_SECONDS="2",
    ) as srv:
        yield srv


def _connect(server, query: str = "") -> websocket.WebSocket:
    url = server.url.replace("http://", "ws://") + "/v1/stream" + query
    return websocket.create_connection(url, timeout=20)


def _frames(hand_video: Path, count: int) -> list[bytes]:
    capture = cv2.VideoCapture(str(hand_video))
    out = []
    for _ in range(count):
        ok, bgr = capture.read()
        assert ok
        small = cv2.resize(bgr, (368, 640), interpolation=cv2.INTER_AREA)
        out.append(cv2.imencode(".jpg", small)[1].tobytes())
    capture.release()
    return out


def test_a_session_tracks_frames_in_order(server, hand_video: Path) -> None:
    ws = _connect(server, "?maxHands=1")
    try:
        ready = json.loads(ws.recv())
        assert ready["type"] == "ready" and ready["maxHands"] == 1
        results = []
        for jpeg in _frames(hand_video, 30):
            ws.send_binary(jpeg)
            results.append(json.loads(ws.recv()))
        assert [r["frame"] for r in results] == list(range(1, 31))
        assert sum(1 for r in results if r["hands"]) >= 28
        hand = next(r["hands"][0] for r in results if r["hands"])
        assert len(hand["landmarks"]) == 21 and hand["gesture"] and hand["handedness"]["label"]
        # The same shape as a hand of /v1/landmarks and /v1/video.
        assert list(hand) == ["handedness", "gesture", "landmarks", "pixel", "worldLandmarks",
                              "boundingBox"]  # fmt: skip
        assert hand["landmarks"][0]["name"] == "WRIST" and hand["pixel"][0]["x"] > 0
        assert (results[-1]["width"], results[-1]["height"]) == (368, 640)
        # A bad frame is answered with an error and the session goes on.
        ws.send_binary(b"not a picture")
        assert json.loads(ws.recv())["error"]["code"] == "not_an_image"
        ws.send_binary(_frames(hand_video, 1)[0])
        assert json.loads(ws.recv())["type"] == "result"
    finally:
        ws.close()


def test_sessions_beyond_the_limit_are_told_the_server_is_busy(server) -> None:
    first, second = _connect(server), _connect(server)
    try:
        assert json.loads(first.recv())["type"] == "ready"
        assert json.loads(second.recv())["type"] == "ready"
        third = _connect(server)
        message = json.loads(third.recv())
        assert message["error"]["code"] == "busy"
        opcode, data = third.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(data[:2], "big") == 1013
        third.close()
    finally:
        first.close()
        second.close()
    # Closing frees the slots.
    deadline = time.monotonic() + 5
    while True:
        again = _connect(server)
        reply = json.loads(again.recv())
        again.close()
        if reply["type"] == "ready" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert reply["type"] == "ready"


def test_an_idle_session_is_closed(server) -> None:
    ws = _connect(server)
    try:
        assert json.loads(ws.recv())["type"] == "ready"
        start = time.monotonic()
        message = json.loads(ws.recv())
        assert message["error"]["code"] == "idle_timeout"
        assert 1.5 <= time.monotonic() - start <= 10
    finally:
        ws.close()


def test_max_hands_is_checked(server) -> None:
    ws = _connect(server, "?maxHands=7")
    try:
        assert json.loads(ws.recv())["error"]["code"] == "bad_max_hands"
    finally:
        ws.close()


def test_sigterm_closes_live_sessions_promptly(start_server) -> None:
    with start_server(HANDTRACKER_WORKERS="1") as srv:
        ws = _connect(srv)
        try:
            assert json.loads(ws.recv())["type"] == "ready"
            start = time.monotonic()
            srv.process.send_signal(signal.SIGTERM)
            assert json.loads(ws.recv())["error"]["code"] == "shutting_down"
            opcode, data = ws.recv_data(control_frame=True)
            assert opcode == websocket.ABNF.OPCODE_CLOSE
            assert int.from_bytes(data[:2], "big") == 1001
            ws.close()  # answers the close, as a browser does
            srv.process.wait(timeout=15)
            # Well within gunicorn's graceful timeout (25 s): the session did not hold it up.
            assert time.monotonic() - start < 10
        finally:
            ws.close()
