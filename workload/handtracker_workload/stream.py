"""Tracking-mode endpoints: the live camera WebSocket and POST /v1/video.

GET /v1/stream (WebSocket). The client sends each camera frame as one binary
message (a JPEG, PNG or WebP, ideally about 640 px wide) and receives one JSON
text message per frame, in order:

    {"type": "result", "frame": 1, "width": 640, "height": 480,
     "hands": [{"handedness": "Right", "score": 0.98, "gesture": "open_palm",
                "landmarks": [[x, y, z], ... 21 normalised points]}],
     "timings": {"decodeMs": 1.2, "inferenceMs": 4.6, "totalMs": 6.3}}

The first message is {"type": "ready", ...} once a session is admitted, or
{"type": "error", "error": {"code": "busy", ...}} followed by close code 1013
when this worker already runs its maximum number of sessions. A frame that
cannot be decoded gets an error message and the session goes on; a session
that sends nothing for the idle timeout is closed, and so is every session
when the worker starts draining (SIGTERM), with close code 1001. Clients keep one or two
frames in flight, so latency stays bounded by the server's own speed.

POST /v1/video: an mp4/webm/mov/mkv file (raw body with its video/* content
type, or multipart field "video") -> per-frame hands in tracking mode, as JSON.

Both take ?maxHands=N (1 to the configured maximum, default 1). MediaPipe's
VIDEO mode skips the palm detector only while it tracks maxHands hands, so
asking for two hands when one is in view costs as much as image mode.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_sock import Sock

from . import decode, gestures, inference, state
from .config import Settings
from .errors import ApiError
from .hands import Hand
from .sessions import SessionLimits, SessionPool
from .video import VIDEO_TYPES, VideoLimits, open_video

# Live frames are small camera pictures; anything bigger is a client bug.
FRAME_MAX_BYTES = 2 * 2**20
FRAME_MAX_PIXELS = 1920 * 1088
# Room for multipart boundaries and headers on top of the video byte limit.
VIDEO_MULTIPART_SLACK = 64 * 1024
# Close codes from RFC 6455: normal, going away (idle), try again later (busy).
CLOSE_NORMAL, CLOSE_IDLE, CLOSE_BUSY = 1000, 1001, 1013


def _hand_json(hand: Hand) -> dict[str, Any]:
    return {
        "handedness": hand.handedness,
        "score": round(hand.score, 4),
        "gesture": hand.gesture,
        "landmarks": [[round(p.x, 5), round(p.y, 5), round(p.z, 5)] for p in hand.landmarks],
    }


def _error(code: str, message: str) -> str:
    return json.dumps({"type": "error", "error": {"code": code, "message": message}})


def _max_hands(settings: Settings) -> int:
    raw = request.args.get("maxHands", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= settings.max_hands:
        raise ApiError(
            f"maxHands must be an integer from 1 to {settings.max_hands}", 400, "bad_max_hands"
        )
    return int(raw)


def create_blueprint(
    settings: Settings, make_tracker: Callable[[int], Any] | None = None
) -> Blueprint:
    """make_tracker(max_hands) builds a fresh VIDEO-mode tracker per stream or video.

    The session and video limits come from `settings`, like every other setting.
    """
    if make_tracker is None:

        def make_tracker(max_hands: int) -> inference.Tracker:
            return inference.Tracker(replace(settings, max_hands=max_hands))

    bp = Blueprint("stream", __name__)
    sock = Sock()
    pool = SessionPool(SessionLimits.from_settings(settings), make_tracker)
    vlimits = VideoLimits.from_settings(settings)
    frame_limits = decode.Limits(max_bytes=FRAME_MAX_BYTES, max_pixels=FRAME_MAX_PIXELS)
    # One video decoded and tracked at a time per worker: a video is hundreds
    # of inferences, and a second one would only halve the speed of both.
    video_slot = threading.BoundedSemaphore(1)

    @bp.record_once
    def _socket_options(state: Any) -> None:
        # Bounds the size of one incoming message before it is buffered whole.
        state.app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": FRAME_MAX_BYTES})

    @sock.route("/v1/stream", bp=bp)
    def live(ws: Any) -> None:
        try:
            max_hands = _max_hands(settings)
        except ApiError as err:
            ws.send(json.dumps({"type": "error", **err.to_json()}))
            ws.close(CLOSE_NORMAL, err.code)
            return
        with pool.session(max_hands) as session:
            if session is None:
                ws.send(_error("busy", "this server is tracking as many cameras as it can"))
                ws.close(CLOSE_BUSY, "busy")
                return
            ws.send(
                json.dumps(
                    {
                        "type": "ready",
                        "idleSeconds": pool.limits.idle_seconds,
                        "maxHands": max_hands,
                        "model": settings.model_complexity,
                    }
                )
            )
            runtime = state.current().runtime
            last_frame = time.monotonic()
            while True:
                # Wake up every second to notice a drain (SIGTERM) or an idle client.
                data = ws.receive(timeout=1.0)
                if runtime.draining:
                    ws.send(_error("shutting_down", "the server is restarting; reconnect"))
                    ws.close(CLOSE_IDLE, "shutting down")
                    return
                if data is None:
                    if time.monotonic() - last_frame < pool.limits.idle_seconds:
                        continue
                    ws.send(_error("idle_timeout", "no frame received; session closed"))
                    ws.close(CLOSE_IDLE, "idle")
                    return
                last_frame = time.monotonic()
                if isinstance(data, str):
                    continue  # text messages are reserved; frames are binary
                ws.send(json.dumps(_track_frame(session, data, frame_limits)))

    @bp.post("/v1/video")
    def video() -> tuple[Response, int]:
        max_hands = _max_hands(settings)
        data, content_type = _video_upload(vlimits)
        if not video_slot.acquire(blocking=False):
            raise ApiError(
                "another video is being processed; retry shortly",
                503,
                "overloaded",
                {"Retry-After": "2"},
            )
        try:
            tracker = make_tracker(max_hands)
            try:
                result = _track_video(data, content_type, vlimits, tracker)
            finally:
                tracker.close()
            return jsonify(result), 200
        finally:
            video_slot.release()

    return bp


def _track_frame(session: Any, data: bytes, limits: decode.Limits) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        image = decode.to_rgb(data, limits, allow_reduced=False)
    except ApiError as err:
        return {"type": "error", "error": err.to_json()["error"]}
    detection = session.track(image.rgb)
    w, h = image.width, image.height
    return {
        "type": "result",
        "frame": session.frames,
        "width": w,
        "height": h,
        "hands": [_hand_json(hand) for hand in gestures.labelled(detection.hands, (w, h))],
        "timings": {
            "decodeMs": round(image.decode_seconds * 1000, 2),
            "inferenceMs": round(detection.inference_seconds * 1000, 2),
            "totalMs": round((time.perf_counter() - start) * 1000, 2),
        },
    }


def _video_upload(limits: VideoLimits) -> tuple[bytes, str]:
    # The app-wide body limit is sized for images; a video has its own.
    request.max_content_length = limits.max_bytes + VIDEO_MULTIPART_SLACK
    if request.content_length is not None and request.content_length > request.max_content_length:
        raise ApiError(
            f"the upload exceeds the {limits.max_bytes}-byte limit", 413, "video_too_large"
        )
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("video")
        if upload is None:
            raise ApiError("multipart upload without a 'video' file field", 400, "missing_video")
        data = upload.read(limits.max_bytes + 1)
        content_type = upload.mimetype or ""
        if content_type not in VIDEO_TYPES:
            content_type = _type_from_name(upload.filename or "") or content_type
        return data, content_type
    return request.get_data(cache=False), request.mimetype


def _type_from_name(name: str) -> str | None:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return next((t for t, s in VIDEO_TYPES.items() if s == suffix), None)


def _track_video(
    data: bytes, content_type: str, limits: VideoLimits, tracker: Any
) -> dict[str, Any]:
    start = time.perf_counter()
    spent = 0.0
    frames: list[dict[str, Any]] = []
    with open_video(data, content_type, limits) as reader:
        info = reader.info
        for index, ms, rgb in reader.frames():
            detection = tracker.run(rgb, ms)
            spent += detection.inference_seconds
            frames.append(
                {
                    "index": index,
                    "timestampMs": ms,
                    "hands": [
                        hand.to_json(info.width, info.height)
                        for hand in gestures.labelled(detection.hands, (info.width, info.height))
                    ],
                }
            )
    total = time.perf_counter() - start
    count = len(frames)
    return {
        "video": {**info.to_json(), "framesRead": count},
        "mode": "tracking",
        "framesWithHands": sum(1 for f in frames if f["hands"]),
        "frames": frames,
        "timings": {
            "inferenceMs": round(spent * 1000, 2),
            "inferenceMsPerFrame": round(spent * 1000 / count, 3),
            "totalMs": round(total * 1000, 2),
        },
    }
