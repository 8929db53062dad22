"""POST /v1/video: an mp4/webm/mov/mkv file -> per-frame hands in tracking mode, as JSON.

The raw body with its video/* content type, or the multipart field "video"
(its type then comes from the part, else from the file name's suffix).
?maxHands=N as for /v1/stream. One video at a time per worker.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from . import errors, pipeline, services
from .live import max_hands
from .videofile import VIDEO_TYPES, VideoLimits

# Room for multipart boundaries and headers on top of the video byte limit.
VIDEO_MULTIPART_SLACK = 64 * 1024

bp = Blueprint("video", __name__)


@bp.post("/v1/video")
def video() -> Response:
    app = services.current()
    hands = max_hands(app.settings.max_hands)
    data, content_type = _upload(app.video_limits)
    if not app.video_slot.acquire(blocking=False):
        raise errors.video_busy()
    try:
        tracker = app.make_tracker(hands)
        try:
            return jsonify(pipeline.track_video(data, content_type, app.video_limits, tracker))
        finally:
            tracker.close()
    finally:
        app.video_slot.release()


def _upload(limits: VideoLimits) -> tuple[bytes, str]:
    # The app-wide body limit is sized for images; a video has its own.
    request.max_content_length = limits.max_bytes + VIDEO_MULTIPART_SLACK
    if request.content_length is not None and request.content_length > request.max_content_length:
        raise errors.video_too_large(f"the upload exceeds the {limits.max_bytes}-byte limit")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("video")
        if upload is None:
            raise errors.missing_video()
        data = upload.read(limits.max_bytes + 1)
        content_type = upload.mimetype or ""
        if content_type not in VIDEO_TYPES:
            content_type = _type_from_name(upload.filename or "") or content_type
        return data, content_type
    return request.get_data(cache=False), request.mimetype


def _type_from_name(name: str) -> str | None:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return next((t for t, s in VIDEO_TYPES.items() if s == suffix), None)
