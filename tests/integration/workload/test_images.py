"""Annotated images and big-image decoding, on the real photos (in-process)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from handtracker_workload import decode
from handtracker_workload.render import FINGER_COLOURS, JOINT_COLOUR

pytestmark = pytest.mark.photos

LIMITS = decode.Limits(max_bytes=64 * 2**20, max_pixels=100_000_000)


def _decode(body: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)


def _colour_pixels(bgr: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    return int((np.abs(bgr.astype(int) - colour).max(axis=2) <= tolerance).sum())


@pytest.mark.parametrize(
    ("name", "accept", "media_type"),
    [
        ("mpsamples_hand_thumb_up.jpg", "image/jpeg", "image/jpeg"),
        ("tfjs_hands.jpg", "image/png", "image/png"),
        ("mpsamples_thumbs_up_1920.png", "*/*", "image/jpeg"),
    ],
)
def test_annotate_draws_the_rainbow_skeleton(client, hands_dir: Path, name, accept, media_type):
    source = (hands_dir / name).read_bytes()
    original = _decode(source)
    response = client.post(
        "/v1/annotate", data=source, content_type="image/jpeg", headers={"Accept": accept}
    )
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert int(response.headers["X-Hands-Detected"]) >= 1
    annotated = _decode(response.data)
    assert annotated.shape == original.shape
    for finger, colour in FINGER_COLOURS.items():
        # Present now, and (nearly) absent from the photo itself.
        added = _colour_pixels(annotated, colour, 10) - _colour_pixels(original, colour, 10)
        assert added > 50, finger
    assert _colour_pixels(annotated, JOINT_COLOUR, 10) > _colour_pixels(original, JOINT_COLOUR, 10)


def test_annotate_leaves_a_photo_without_hands_unchanged(client, hands_dir: Path):
    source = (hands_dir / "nohand_skimage_coffee.png").read_bytes()
    response = client.post(
        "/v1/annotate", data=source, content_type="image/png", headers={"Accept": "image/png"}
    )
    assert response.headers["X-Hands-Detected"] == "0"
    assert np.array_equal(_decode(response.data), _decode(source))


def _upscaled_jpeg(hands_dir: Path, name: str, width: int, height: int) -> bytes:
    image = cv2.imread(str(hands_dir / name))
    big = cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("mpsamples_thumbs_up_1920.png", (4000, 2667)),
        ("tfjs_hands.jpg", (4000, 3000)),
        ("hagrid_tile_r2c4.jpg", (3000, 4000)),
        ("mpsamples_hand_victory_3000x4000.jpg", None),
    ],
)
def test_reduced_decode_gives_the_landmarks_of_a_full_decode(detector, hands_dir, name, size):
    """Phone-size JPEGs are decoded at 1/4 size; landmarks stay within 1% of the
    image (in original pixels) of those from the full-resolution decode."""
    if size is None:
        body = (hands_dir / name).read_bytes()
    else:
        body = _upscaled_jpeg(hands_dir, name, *size)
    reduced = decode.to_rgb(body, LIMITS)
    full = decode.to_rgb(body, LIMITS, allow_reduced=False)
    assert reduced.reduction == 4 and full.reduction == 1
    assert (reduced.width, reduced.height) == (full.width, full.height)
    assert max(reduced.rgb.shape) == 1000
    assert reduced.decode_seconds < full.decode_seconds

    fast = detector.detect(reduced.rgb)
    slow = detector.detect(full.rgb)
    assert [h.handedness for h in fast] == [h.handedness for h in slow]
    if name.startswith("mpsamples_hand_victory"):
        # The hand fills the frame: MediaPipe's palm detector finds nothing at
        # any resolution, and reduced decoding must not change that.
        assert fast == [] and slow == []
        return
    assert len(fast) >= 1
    scale = max(full.width, full.height)
    for a, b in zip(
        sorted(fast, key=lambda h: h.landmarks[0].x),
        sorted(slow, key=lambda h: h.landmarks[0].x),
        strict=True,
    ):
        diff = np.array(a.pixels(full.width, full.height)) - b.pixels(full.width, full.height)
        assert np.linalg.norm(diff, axis=1).mean() < 0.01 * scale


def test_an_8000_pixel_jpeg_decodes_small(hands_dir: Path):
    body = _upscaled_jpeg(hands_dir, "mpsamples_hand_thumb_up.jpg", 8000, 8000)
    image = decode.to_rgb(body, LIMITS)
    assert (image.width, image.height, image.reduction) == (8000, 8000, 8)
    assert image.rgb.shape == (1000, 1000, 3)


def test_annotating_into_a_reused_buffer_gives_the_same_image(client, hands_dir: Path):
    """The second decode of a photo lands in the buffer a bigger one used before it."""
    small = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
    big = _upscaled_jpeg(hands_dir, "tfjs_hands.jpg", 2000, 1500)
    answers = [
        client.post("/v1/annotate", data=body, content_type="image/jpeg").data
        for body in (small, big, small)
    ]
    assert answers[0] == answers[2]
    assert _decode(answers[1]).shape == (1500, 2000, 3)
