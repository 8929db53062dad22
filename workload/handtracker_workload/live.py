"""GET /v1/stream: live camera tracking over a WebSocket.

The client sends each camera frame as one binary message (a JPEG, PNG or WebP,
ideally about 640 px wide) and receives one JSON text message per frame, in
order:

    {"type": "result", "frame": 1, "width": 640, "height": 480,
     "hands": [... each as in /v1/landmarks ...],
     "timings": {"decodeMs": 1.2, "inferenceMs": 4.6, "totalMs": 6.3}}

The first message is {"type": "ready", ...} once a session is admitted, or
{"type": "error", "error": {"code": "busy", ...}} followed by close code 1013
when this worker already runs its maximum number of sessions. A frame that
cannot be decoded gets an error message and the session goes on; a session
that sends nothing for the idle timeout is closed, and so is every session
when the worker starts draining (SIGTERM), with close code 1001. Clients keep
one or two frames in flight, so latency stays bounded by the server's own speed.

?maxHands=N (1 to the configured maximum, default 1): MediaPipe's VIDEO mode
skips the palm detector only while it tracks maxHands hands, so asking for two
hands when one is in view costs as much as image mode.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from flask import Blueprint, request
from flask.blueprints import BlueprintSetupState
from flask_sock import Sock

from . import errors, pipeline, services

# Live frames are small camera pictures; anything bigger is a client bug.
FRAME_MAX_BYTES = 2 * 2**20
FRAME_MAX_PIXELS = 1920 * 1088
# Close codes from RFC 6455: normal, going away (idle, draining), try again later (busy).
CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_BUSY = 1000, 1001, 1013

bp = Blueprint("live", __name__)
sock = Sock()


@bp.record_once
def _socket_options(state: BlueprintSetupState) -> None:
    # Bounds the size of one incoming message before it is buffered whole.
    state.app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": FRAME_MAX_BYTES})


def max_hands(limit: int) -> int:
    """?maxHands=N, 1 to `limit`, default 1 (shared with /v1/video)."""
    raw = request.args.get("maxHands", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= limit:
        raise errors.bad_max_hands(limit)
    return int(raw)


def _send(ws: Any, message: dict[str, Any]) -> None:
    ws.send(orjson.dumps(message).decode())


def _close(ws: Any, err: errors.ApiError, code: int) -> None:
    _send(ws, {"type": "error", **err.to_json()})
    ws.close(code, err.code)


@sock.route("/v1/stream", bp=bp)
def live(ws: Any) -> None:
    app = services.current()
    try:
        hands = max_hands(app.settings.max_hands)
    except errors.ApiError as err:
        _close(ws, err, CLOSE_NORMAL)
        return
    with app.sessions.session(hands) as session:
        if session is None:
            _close(ws, errors.busy(), CLOSE_BUSY)
            return
        _send(ws, {
            "type": "ready",
            "idleSeconds": app.sessions.limits.idle_seconds,
            "maxHands": hands,
            "model": app.settings.model_complexity,
        })  # fmt: skip
        last_frame = time.monotonic()
        while True:
            # Wake up every second to notice a drain (SIGTERM) or an idle client.
            data = ws.receive(timeout=1.0)
            if app.readiness.draining:
                _close(ws, errors.shutting_down(), CLOSE_GOING_AWAY)
                return
            if data is None:
                if time.monotonic() - last_frame < app.sessions.limits.idle_seconds:
                    continue
                _close(ws, errors.idle_timeout(), CLOSE_GOING_AWAY)
                return
            last_frame = time.monotonic()
            if isinstance(data, str):
                continue  # text messages are reserved; frames are binary
            _send(ws, pipeline.track_frame(session, data, app.frame_limits))
